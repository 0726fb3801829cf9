"""``reports/matrix.json``: the whole matrix as data, one object per release, for others to build on.

Valid against ``matrix.schema.json`` beside this module (prose companion: ``matrix.schema.md``). Each release
points at its full record (``reports/results/flask-<version>.json``) and its page; every value is read from the
records, and a verdict is worded as the release pages word it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from packaging.version import Version

from scripts.audit.records import MODE_CALLS, MODES, ModeObservation, Observation, verdict
from scripts.packages.catalogue import Release
from scripts.report.release import page_name

__all__ = ["SCHEMA_PATH", "SCHEMA_VERSION", "render_matrix_json"]

SCHEMA_PATH = Path(__file__).with_name("matrix.schema.json")
#: Moves when a reader of the previous version could misread the file (a field removed or meaning otherwise).
SCHEMA_VERSION = 1


def _mode(mode: ModeObservation) -> dict[str, Any]:
    return {
        "verdict": verdict(mode),
        "outcome": mode.outcome,
        "concurrent": mode.concurrent,
        "workers": mode.workers,
        "max_in_flight": mode.max_in_flight,
        "distinct_pids": mode.distinct_pids,
        "sequential": mode.sequential,
        "error": mode.error,
    }


def _release(release: Release, observation: Observation | None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "flask": release.version,
        "released": release.released,
        "page": f"docs/releases/{page_name(release.version)}",
        "record": f"reports/results/flask-{release.version}.json" if observation else None,
        "status": observation.status if observation else None,
        "python": observation.python if observation else None,
        "werkzeug": observation.packages.get("werkzeug") if observation else None,
        "modes": {},
    }
    if observation is not None:
        data["modes"] = {name: _mode(observation.modes[name]) for name in MODES if name in observation.modes}
    return data


def render_matrix_json(releases: list[Release], observations: list[Observation]) -> str:
    """The file's text: releases oldest first, modes in their declared order."""
    found = {o.flask: o for o in observations}
    document = {
        "schema_version": SCHEMA_VERSION,
        "modes": dict(MODE_CALLS),
        "releases": [_release(r, found.get(r.version)) for r in sorted(releases, key=lambda r: Version(r.version))],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

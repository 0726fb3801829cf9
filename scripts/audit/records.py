"""Observation records: what one audit of one release saw, and how it is stored.

One record type flows from the harness to the renderer. Records are JSON files
validated by ``observation.schema.json`` (shipped beside this module) and always
written atomically, so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("observation.schema.json")
SCHEMA_VERSION = 1

#: The ways the probe is started, in report order, with the call each one makes.
MODE_CALLS: dict[str, str] = {
    "default": "app.run()",
    "threaded": "app.run(threaded=True)",
    "processes3": "app.run(threaded=False, processes=3)",
    "threaded_processes3": "app.run(threaded=True, processes=3)",
    "flask_run": "flask run",
    "processes3_nofork": "app.run(threaded=False, processes=3) without os.fork",
}
MODES = tuple(MODE_CALLS)

#: Release-level outcomes. Everything but "ok" names the step that failed.
STATUSES = ("ok", "install-failed", "import-failed", "server-failed", "timeout", "no-interpreter", "no-distribution")

#: Mode-level outcomes: the server answered, exited with an error, listened but dropped every
#: request unanswered, or never answered in time.
OUTCOMES = ("served", "error", "requests-failed", "timeout")

#: How a served mode handled requests, as observed from inside the handler.
WORKER_KINDS = ("threads", "forked processes", "main thread only")


@dataclass
class ModeObservation:
    """What one mode (one way of starting the server) was seen to do."""

    call: str
    outcome: str
    error: str | None = None
    #: Concurrency phase: ``sent`` requests held open at once; how many entered the handler together.
    sent: int = 0
    concurrent: bool | None = None
    max_in_flight: int | None = None
    completed: int | None = None
    #: Sequential phase: ``sequential`` requests one after another.
    sequential: int = 0
    distinct_pids: int | None = None
    distinct_threads: int | None = None
    served_by_server_process: bool | None = None
    workers: str | None = None
    multithread: bool | None = None
    multiprocess: bool | None = None
    server_classes: list[str] = field(default_factory=list)
    seconds: float | None = None


@dataclass
class Observation:
    """One audited release: its environment, its status and what every mode did."""

    flask: str
    released: str | None
    status: str
    python: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    detail: str | None = None
    environment: dict[str, Any] = field(default_factory=dict)
    modes: dict[str, ModeObservation] = field(default_factory=dict)
    observed_at: str | None = None
    cache_key: str | None = None
    #: ``sys.platform`` of the machine that observed it: CI runners add win32 and darwin cells.
    platform: str | None = None
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observation:
        data = dict(data)
        data["modes"] = {name: ModeObservation(**mode) for name, mode in data.get("modes", {}).items()}
        return cls(**data)


def write_json_atomic(path: Path, data: Any) -> None:
    """Write JSON to ``path`` so that readers see the old file or the new one, never a part."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that readers see the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def record_path(results_dir: Path, version: str) -> Path:
    return results_dir / f"flask-{version}.json"


def save(observation: Observation, results_dir: Path) -> Path:
    path = record_path(results_dir, observation.flask)
    write_json_atomic(path, observation.to_json())
    return path


def load(path: Path) -> Observation:
    return Observation.from_json(read_json(path))


def load_all(results_dir: Path) -> list[Observation]:
    """Every record in ``results_dir`` (unordered; callers sort by version)."""
    return [load(path) for path in sorted(results_dir.glob("flask-*.json"))]


def schema() -> dict[str, Any]:
    return read_json(SCHEMA_PATH)

"""The today baseline: what a plain install of each Flask line's newest release gives now.

The era records (``reports/results/``) install every release with the dependencies of its day. A
user who runs ``pip install flask==X`` today gets the newest dependencies the index has instead, so
a new Werkzeug, Jinja2, click or itsdangerous release can change what ``app.run()`` does without any
new Flask release. The today baseline (``reports/today/``) keeps one record per watched release,
installed with no cut-off, and the regression alarm installs them afresh on every run.

Which releases are watched is computed, never listed: the newest release of every Flask line whose
interpreter (the newest one the audit would run it on) is a Python that the newest Flask release
still supports, Flask's own word for "current"; the newest release is always watched.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from packaging.version import Version

from scripts.audit import run as audit
from scripts.audit.plan import Plan, plan
from scripts.audit.records import Observation
from scripts.packages import environments, era
from scripts.packages.catalogue import Release, audited, lines
from scripts.packages.interpreters import Interpreter
from scripts.report.wording import minor_line

__all__ = ["moved", "observe", "superseded", "today_plan", "watched"]

Log = Callable[[str], None]


def today_plan(release: Release, found: list[Interpreter]) -> Plan:
    """The audit's plan for ``release`` with no era: a release without an upload time gets the index's newest files."""
    return plan(replace(release, uploaded=None), found)


def watched(releases: list[Release], found: list[Interpreter]) -> list[Release]:
    """The releases the today baseline watches, oldest first (only installable ones: a yanked file installs nothing)."""
    by_version = {r.version: r for r in audited(releases)}
    newest_of_line = [by_version[found_line.version] for found_line in lines(releases)]
    if not newest_of_line:
        return []
    newest = max(newest_of_line, key=lambda r: r.key)
    chosen = []
    for release in newest_of_line:
        interpreter = today_plan(release, found).interpreter
        current = interpreter is not None and era.admits(newest.requires_python, interpreter.version_text)
        if current or release is newest:
            chosen.append(release)
    return chosen


def observe(
    release: Release, found: list[Interpreter], location: Path, options: audit.Options, log: Log
) -> Observation:
    """Install ``release`` afresh with today's dependencies, observe it in every mode; nothing is written.

    :raises Unavailable: the environment could not be made for a reason that is not the release's own.
    """
    # An environment filled on an earlier day holds that day's newest files: reusing it would hide the very
    # releases the today baseline watches for.
    shutil.rmtree(location, ignore_errors=True)
    seen = audit.observe(today_plan(release, found), location, options, log)
    # The plan dropped the upload time to lift the era; the record keeps the release's own date.
    seen = replace(seen, released=release.released)
    if seen.packages or not location.exists():
        return seen
    # A release that installs but fails today keeps no package list in the audit's record, yet what was installed
    # is what the alarm names when it moves: a Jinja2 release that drops `Markup` breaks Flask 0.12 as surely.
    held = environments.inventory(environments.venv_python(location))
    return replace(seen, packages=held.packages, python=held.python or seen.python)


def moved(before: Observation, after: Observation) -> list[str]:
    """Every installed distribution whose version differs, ``name old -> new`` (``none`` where one lacks it)."""
    names = sorted(set(before.packages) | set(after.packages))
    return [
        f"{name} {before.packages.get(name, 'none')} -> {after.packages.get(name, 'none')}"
        for name in names
        if before.packages.get(name) != after.packages.get(name)
    ]


def superseded(records: list[Observation]) -> list[Observation]:
    """Records whose line has a newer release in ``records``: the line's newest replaced them."""
    newest: dict[str, Observation] = {}
    for record in records:
        kept = newest.get(minor_line(record.flask))
        if kept is None or Version(record.flask) > Version(kept.flask):
            newest[minor_line(record.flask)] = record
    return [r for r in records if newest[minor_line(r.flask)] is not r]

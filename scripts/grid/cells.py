"""Which cells a release gets, and what each one installs, on which interpreter, as of when.

Three kinds of cell, each observed the way an audit observes a release (install, import, start the
probe, watch plain ``app.run()``), with one environment per cell, thrown away afterwards:

- ``era``: the release with its era's dependencies on one Python (every Python its requires_python allows);
- ``declared``: a plain, unpinned install today (``pip install flask==X``) on the newest Python it allows;
- ``werkzeug``: the newest patch of a Flask minor line over the newest patch of one Werkzeug minor line, with
  today's other dependencies as the resolver picks them within what the release declares, held back only by
  bounds the run-it-today search found necessary (``scripts/constraints``), on the newest Python both allow.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from packaging.version import Version

from scripts.common.clock import now
from scripts.common.fingerprint import sources_digest
from scripts.constraints.records import Bound, ConstraintsRecord
from scripts.constraints.run import DECIDING
from scripts.grid.records import CellKind
from scripts.layout import ROOT
from scripts.packages import era
from scripts.packages.catalogue import Line, Release
from scripts.packages.environments import InstallRequest
from scripts.packages.interpreters import Interpreter

__all__ = ["GRID_OBSERVING", "OLDEST_WERKZEUG_LINE", "CellSpec", "minor_text", "relevant", "specs"]

#: The code that decides a cell: the audit's observing folders, the run-it-today search and the grid's own.
GRID_OBSERVING = (*DECIDING, ROOT / "scripts" / "grid")
#: The oldest Werkzeug line any Flask release was built against: older lines predate Flask.
OLDEST_WERKZEUG_LINE = Version("0.6")


def minor_text(interpreter: Interpreter) -> str:
    return f"{interpreter.minor[0]}.{interpreter.minor[1]}"


def line_admits(line: Line, interpreter: Interpreter) -> bool:
    return era.admits(line.requires_python, interpreter.version_text)


@dataclass(frozen=True)
class CellSpec:
    """What one cell installs, on which interpreter, as of when."""

    kind: CellKind
    release: Release
    interpreter: Interpreter | None
    python: str
    werkzeug: Line | None = None
    #: A Werkzeug cell's Pythons, newest first: both the release and the Werkzeug line allow each.
    pythons: tuple[Interpreter, ...] = ()
    #: A Werkzeug cell's first bounds on other dependencies: those the release needed today with its own Werkzeug.
    start: tuple[Bound, ...] = ()
    #: The newest Python minor the release served on today, which no Werkzeug cell goes above.
    ceiling: str | None = None

    @property
    def cutoff(self) -> datetime | None:
        """The release's era; none for a plain install of today or a Werkzeug cell (today's packages)."""
        return era.cutoff(self.release) if self.kind == "era" else None

    @property
    def pinned(self) -> tuple[str, ...]:
        """What a Werkzeug cell installs over the release's own requirement (even where it excludes that line)."""
        return (f"werkzeug=={self.werkzeug.line}.*",) if self.werkzeug else ()

    def request(self, index_url: str, moment: datetime) -> InstallRequest:
        return InstallRequest(
            f"flask=={self.release.version}", index_url, self.cutoff, moment, self.pinned, compiled=False
        )

    def key(self) -> str:
        """Everything that decides the cell; a plain install of today also the day."""
        interpreter = self.interpreter.version_text if self.interpreter else "none"
        wz = self.werkzeug.version if self.werkzeug else ""
        known = f"{self.kind}|{self.release.version}|{interpreter}|{wz}|{self.cutoff}"
        if self.kind == "werkzeug":
            known += f"|{[i.version_text for i in self.pythons]}|{[b.requirement for b in self.start]}|{self.ceiling}"
        if self.kind == "declared":
            # Today's newest dependencies decide it: one observation per day.
            known += "|" + now().strftime("%Y-%m-%d")
        return hashlib.sha256(f"{known}|{sources_digest(GRID_OBSERVING)}".encode()).hexdigest()[:16]


def specs(
    release: Release,
    found: list[Interpreter],
    wz_lines: list[Line],
    flask_lines: list[Line],
    today: ConstraintsRecord | None = None,
) -> list[CellSpec]:
    """Every cell of one release: each Python, the plain install, and Werkzeug lines if it heads its line.

    :param today: the release's run-it-today record, if found: where it served and with which bounds.
    """
    usable = [i for i in found if i.version[0] == 2 or i.version >= (3, 6)]
    cells = [CellSpec("era", release, i, minor_text(i)) for i in usable]
    allowed = [i for i in usable if era.admits(release.requires_python, i.version_text)]
    newest = max(allowed) if allowed else None
    cells.append(CellSpec("declared", release, newest, minor_text(newest) if newest else "none"))
    if any(line.version == release.version for line in flask_lines):
        cells.extend(_werkzeug_cell(release, wz, allowed, today) for wz in wz_lines)
    return cells


def today_python(today: ConstraintsRecord | None) -> str | None:
    """The Python minor a run-it-today record verified the release on, if it did."""
    return today.python if today is not None and today.verified else None


def _werkzeug_cell(release: Release, wz: Line, allowed: list[Interpreter], today: ConstraintsRecord | None) -> CellSpec:
    """Every Python both the release and the Werkzeug line allow, newest first, none newer than the one the
    release served on today (a newer one failed it with its own Werkzeug); its bounds to start from."""
    ceiling = today_python(today)
    below = [i for i in allowed if ceiling is None or Version(minor_text(i)) <= Version(ceiling)]
    pythons = tuple(sorted((i for i in below if line_admits(wz, i)), reverse=True))
    start = tuple(today.bounds) if today is not None and ceiling is not None else ()
    first = pythons[0] if pythons else None
    return CellSpec(
        "werkzeug", release, first, minor_text(first) if first else "none", wz, pythons, start, today_python(today)
    )


def relevant(wz_lines: list[Line]) -> list[Line]:
    """The Werkzeug lines worth pairing: from the one Flask 0.1 came with on."""
    return [line for line in wz_lines if Version(line.line) >= OLDEST_WERKZEUG_LINE]

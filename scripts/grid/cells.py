"""Which cells a release gets, and what each one installs, on which interpreter, as of when.

Three kinds of cell, each observed the way an audit observes a release (install, import, start the
probe, watch plain ``app.run()``), with one environment per cell, thrown away afterwards:

- ``era``: the release with its era's dependencies on one Python (every Python its requires_python allows);
- ``declared``: a plain, unpinned install today (``pip install flask==X``) on the newest Python it allows;
- ``werkzeug``: the newest patch of a Flask minor line with the newest patch of one Werkzeug minor line.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from packaging.version import Version

from scripts.audit.cache import OBSERVING
from scripts.audit.plan import plan
from scripts.common.clock import now
from scripts.common.fingerprint import sources_digest
from scripts.grid.records import CellKind
from scripts.layout import ROOT
from scripts.packages import era
from scripts.packages.catalogue import Line, Release
from scripts.packages.environments import InstallRequest
from scripts.packages.interpreters import Interpreter

__all__ = ["GRID_OBSERVING", "OLDEST_WERKZEUG_LINE", "CellSpec", "minor_text", "relevant", "specs"]

#: The code that decides a cell: the audit's observing folders and the grid's own.
GRID_OBSERVING = (*OBSERVING, ROOT / "scripts" / "grid")
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

    @property
    def cutoff(self) -> datetime | None:
        """The release's era (Werkzeug exempt in a Werkzeug cell); none for a plain install of today."""
        return None if self.kind == "declared" else era.cutoff(self.release)

    @property
    def exempt(self) -> tuple[str, ...]:
        # Only Werkzeug leaves the era, so that the cell shows Werkzeug's effect alone.
        return ("werkzeug",) if self.werkzeug else ()

    def request(self, index_url: str, moment: datetime, exempt: tuple[str, ...] | None = None) -> InstallRequest:
        overrides = (f"werkzeug=={self.werkzeug.line}.*",) if self.werkzeug else ()
        exempt = self.exempt if exempt is None else exempt
        return InstallRequest(f"flask=={self.release.version}", index_url, self.cutoff, moment, overrides, exempt)

    def key(self) -> str:
        """Everything that decides the cell; a plain install of today also the day."""
        interpreter = self.interpreter.version_text if self.interpreter else "none"
        wz = self.werkzeug.version if self.werkzeug else ""
        known = f"{self.kind}|{self.release.version}|{interpreter}|{wz}|{self.cutoff}"
        if self.kind == "declared":
            # Today's newest dependencies decide it: one observation per day.
            known += "|" + now().strftime("%Y-%m-%d")
        return hashlib.sha256(f"{known}|{sources_digest(GRID_OBSERVING)}".encode()).hexdigest()[:16]


def specs(release: Release, found: list[Interpreter], wz_lines: list[Line], flask_lines: list[Line]) -> list[CellSpec]:
    """Every cell of one release: each Python, the plain install, and Werkzeug lines if it heads its line."""
    usable = [i for i in found if i.version[0] == 2 or i.version >= (3, 6)]
    cells = [CellSpec("era", release, i, minor_text(i)) for i in usable]
    allowed = [i for i in usable if era.admits(release.requires_python, i.version_text)]
    newest = max(allowed) if allowed else None
    cells.append(CellSpec("declared", release, newest, minor_text(newest) if newest else "none"))
    if any(line.version == release.version for line in flask_lines):
        proven = plan(release, found).interpreter
        cells.extend(_werkzeug_cell(release, wz, proven, allowed) for wz in wz_lines)
    return cells


def _werkzeug_cell(release: Release, wz: Line, proven: Interpreter | None, allowed: list[Interpreter]) -> CellSpec:
    """The interpreter the audit runs the release on; where the Werkzeug line rules it out, the next newer one.

    Never across Python 2 and 3: a release that runs on Python 2 only is not tried on 3 for a newer Werkzeug.
    """
    fitting = sorted(i for i in allowed if line_admits(wz, i) and (proven is None or i.version[0] == proven.version[0]))
    newer = [i for i in fitting if proven is None or i >= proven]
    # With none that fits, the proven one: the cell then says which Python the Werkzeug line requires.
    chosen = newer[0] if newer else (fitting[-1] if fitting else proven)
    return CellSpec("werkzeug", release, chosen, minor_text(chosen) if chosen else "none", wz)


def relevant(wz_lines: list[Line]) -> list[Line]:
    """The Werkzeug lines worth pairing: from the one Flask 0.1 came with on."""
    return [line for line in wz_lines if Version(line.line) >= OLDEST_WERKZEUG_LINE]

"""Re-rendering the report, one writer at a time (audit sessions may run in parallel)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from scripts import render


def write(root: Path) -> list[Path]:
    """Render reports/ and docs/ from every record under ``root``, holding a lock while doing it.

    Each audit session writes its record, then renders: the lock makes the last session to
    finish render after every record is in place.
    """
    reports = root / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    with (reports / ".render.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return render.write_reports(reports / "releases.json", reports / "results", reports, root / "docs")

"""Re-rendering the report, one writer at a time (audit sessions may run in parallel)."""

from __future__ import annotations

import fcntl
from pathlib import Path

from scripts import render


def write(releases: Path, output: Path) -> list[Path]:
    """Render ``output``/reports and ``output``/docs from the catalogue and every record, under a lock.

    Each audit session writes its record, then renders: the lock makes the last session to
    finish render after every record is in place.
    """
    reports = output / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    with (reports / ".render.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return render.write_reports(releases, reports / "results", reports, output / "docs")

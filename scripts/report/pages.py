"""Re-rendering the report, one writer at a time (audit sessions may run in parallel)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from scripts.report import grid as grid_report
from scripts.report import matrix as render


@contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (blocking) for the duration of the block."""
    with path.open("a+b") as handle:
        if sys.platform == "win32":  # pragma: no cover - CI's Windows runners
            import msvcrt

            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def write(releases: Path, output: Path) -> list[Path]:
    """Render ``output``/reports and ``output``/docs from the catalogue and every record, under a lock.

    Each audit session writes its record, then renders: the lock makes the last session to
    finish render after every record is in place.
    """
    reports = output / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    with _exclusive(reports / ".render.lock"):
        return render.write_reports(releases, reports / "results", reports, output / "docs")


def write_grid(output: Path) -> list[Path]:
    """Render the grid pages from the grid records, under the same lock as the report."""
    reports = output / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    with _exclusive(reports / ".render.lock"):
        return grid_report.write(reports / "grid", reports / "werkzeug-lines.json", reports, output / "docs")

"""Writing records all or nothing: what CI's merge and the alarm's accepting share."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from scripts.common.jsonio import write_text_atomic

__all__ = ["records_in", "unchanged_on_failure"]


def records_in(folder: Path) -> list[Path]:
    """The per-release record files of ``folder`` (none where it is not a folder)."""
    return sorted(folder.glob("flask-*.json")) if folder.is_dir() else []


@contextmanager
def unchanged_on_failure(folders: Sequence[Path], files: Sequence[Path] = ()) -> Iterator[None]:
    """If the block raises (an interruption included), every record in ``folders`` and each of ``files`` is put
    back as it was: none added, none changed, none gone."""
    watched = [*files, *(path for folder in folders for path in records_in(folder))]
    before = {path: path.read_text(encoding="utf-8") for path in watched if path.is_file()}
    try:
        yield
    except BaseException:
        added = [path for folder in folders for path in records_in(folder) if path not in before]
        for path in [*added, *(path for path in files if path not in before and path.exists())]:
            path.unlink()
        for path, text in before.items():
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                write_text_atomic(path, text)
        raise

"""Fingerprints of the code that observes: a cache key changes whenever any of it changes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

__all__ = ["sources_digest"]

#: Digests already made, by the stat of every file they cover: a nox process asks once per session.
_made: dict[tuple[tuple[str, int, int], ...], str] = {}


def _sources(folders: Iterable[Path]) -> list[tuple[str, Path]]:
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" not in path.parts:
                found.append((f"{folder.name}/{path.relative_to(folder).as_posix()}", path))
    return found


def sources_digest(folders: Iterable[Path]) -> str:
    """A digest of every Python file under ``folders``, by path relative to its folder and content.

    Whole folders, not a list of files: a module added to an observing folder counts the day it
    is written, and one that moves out of it stops counting. Files are read again only when one
    of them changed size or modification time.
    """
    sources = _sources(folders)
    signature = tuple((name, (stat := path.stat()).st_mtime_ns, stat.st_size) for name, path in sources)
    if signature not in _made:
        digest = hashlib.sha256()
        for name, path in sources:
            digest.update(f"{name}\0".encode() + path.read_bytes() + b"\0")
        _made[signature] = digest.hexdigest()
    return _made[signature]

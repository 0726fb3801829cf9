"""A record changes only when its evidence does.

A record's stamps (when it was observed, under which key) are not evidence: observing the same again on
another day or machine must leave ``reports/`` as it was, so ``git status`` stays clean. So a record is written
only when what it says differs from what is stored, and parts that did not change keep their first stamp
(``observed_at`` then reads "first observed"). The cache key, which depends on this machine (its interpreters'
patch versions, the index, the day), lives in a :class:`Confirmations` folder under ``.nox/``, beside the work,
with the digest of the evidence it vouches for: a record restored from git, or edited, no longer matches it, and
is observed again.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from scripts.common.jsonio import write_json_atomic

__all__ = ["STAMPS", "Confirmations", "digest", "save"]

#: The fields that say when or under which key something was observed; not evidence, wherever they appear.
STAMPS = frozenset({"observed_at", "cache_key", "verified_on"})


def _evidence(data: Any, stamps: frozenset[str]) -> Any:
    if isinstance(data, dict):
        return {k: _evidence(v, stamps) for k, v in data.items() if k not in stamps}
    if isinstance(data, list):
        return [_evidence(item, stamps) for item in data]
    return data


def digest(data: Any, stamps: frozenset[str] = STAMPS) -> str:
    """SHA-256 of what ``data`` (a record's JSON form) says, its stamps left out."""
    text = json.dumps(_evidence(data, stamps), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _settled(new: Any, old: Any, stamps: frozenset[str]) -> Any:
    """``new``, with the stamps of ``old`` wherever a part of it says the same as a part of ``old``."""
    if digest(new, stamps) == digest(old, stamps):
        return old
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: _settled(v, old[k], stamps) if k in old else v for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        # Items are matched by what they say, not by place: a cell added in the middle moves the others.
        by_evidence = {digest(item, stamps): item for item in old}
        return [by_evidence.get(digest(item, stamps), item) for item in new]
    return new


def _stored(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # unreadable: the new record replaces it


def save(path: Path, data: Any, stamps: frozenset[str] = STAMPS) -> bool:
    """Write the record ``data`` to ``path`` unless the stored one says the same; True when written.

    Parts that say what they said before keep their stamps, so only what changed is new in the file.

    :raises WriteFailed: the machine refused the write; the file is as it was.
    """
    old = _stored(path)
    settled = data if old is None else _settled(data, old, stamps)
    if settled == old:
        return False
    write_json_atomic(path, settled)
    return True


class Confirmations:
    """The keys this machine observed records under, one small file per record, in ``folder`` (under ``.nox/``).

    :param folder: where the keys are kept; records in any folder (``--output``) are told apart by their path.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, record: Path) -> Path:
        where = hashlib.sha256(str(record.resolve()).encode()).hexdigest()[:16]
        return self.folder / f"{record.stem}-{where}.json"

    def key(self, record: Path) -> Any:
        """The key ``record`` was confirmed under here, or None: never, or the file no longer says the same."""
        kept, stored = _stored(self._file(record)), _stored(record)
        if not isinstance(kept, dict) or stored is None or kept.get("evidence") != digest(stored):
            return None
        return kept.get("key")

    def confirm(self, record: Path, key: Any, saved: Any) -> None:
        """Keep ``key`` for ``saved``, the record's JSON form as this run saved it (written, or found the same).

        The digest is of what this run saved, not of the file read again: should another run write the file in
        between, the key does not vouch for that run's evidence, and the record is observed again next time.
        """
        write_json_atomic(self._file(record), {"key": key, "evidence": digest(saved)})

    def keys(self, record: Path, count: int) -> Iterable[str | None]:
        """The per-part keys of ``record`` (a list confirmed for its ``count`` parts), or None for each."""
        kept = self.key(record)
        if isinstance(kept, list) and len(kept) == count:
            return [k if isinstance(k, str) else None for k in kept]
        return [None] * count

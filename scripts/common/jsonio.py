"""Reading and writing the project's files: JSON and text, written atomically, read with errors that name the file."""

from __future__ import annotations

import dataclasses
import json
import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Self, TypeVar

__all__ = [
    "NOT_STORED",
    "DataError",
    "JsonRecord",
    "StoredDocument",
    "WriteFailed",
    "check_writable",
    "parse_record",
    "read_json",
    "read_record",
    "write_json_atomic",
    "write_text_atomic",
]

T = TypeVar("T")


class DataError(RuntimeError):
    """A file the project reads is missing or unreadable; the message names it and what to do."""

    def __init__(self, path: Path, problem: str, remedy: str) -> None:
        super().__init__(f"{path}: {problem}; {remedy}")
        self.path = path


def read_json(path: Path, remedy: str = "restore it from git or regenerate it") -> Any:
    """The JSON document at ``path``; raises DataError naming the file when it is missing or not JSON."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(path, "missing", remedy) from None
    except OSError as exc:
        raise DataError(path, f"cannot be read ({exc.strerror or exc})", remedy) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise DataError(path, f"is not valid JSON ({exc})", remedy) from exc


def parse_record(path: Path, data: Any, parse: Callable[[Any], T], what: str, remedy: str) -> T:
    """``parse(data)``, the JSON read from ``path``; raises DataError naming the file when it is not ``what``."""
    try:
        return parse(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(path, f"is not {what} ({type(exc).__name__}: {exc})", remedy) from exc


def read_record(path: Path, parse: Callable[[Any], T], what: str, remedy: str) -> T:
    """The record stored at ``path``; raises DataError naming the file when it is missing, not JSON, or not ``what``."""
    return parse_record(path, read_json(path, remedy), parse, what, remedy)


#: A dataclass field with this metadata lives in memory only, never in the stored record (``field(metadata=…)``).
NOT_STORED = {"stored": False}


class JsonRecord:
    """A dataclass stored as JSON: its fields, recursively, less those marked NOT_STORED at any depth."""

    #: Where the record type stands in its JSON Schema (a JSON pointer): the whole document by default.
    schema_node: ClassVar[str] = ""

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = _stored_form(self)
        return data


def _stored_form(value: Any) -> Any:
    """``value`` as JSON holds it: dataclasses (at any depth) as their stored fields, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            kept.name: _stored_form(getattr(value, kept.name))
            for kept in dataclasses.fields(value)
            if kept.metadata != NOT_STORED
        }
    if isinstance(value, (list, tuple)):
        return [_stored_form(item) for item in value]
    if isinstance(value, dict):
        return {key: _stored_form(item) for key, item in value.items()}
    return value


class StoredDocument(JsonRecord):
    """A record kept in one file of its own (``reports/servers.json``, ``reports/bench.json``).

    A subclass says what it is and what to do when its file is damaged, as class arguments
    (``class Bench(StoredDocument, what="a benchmark", remedy="…")``), and parses its JSON form.
    """

    what: ClassVar[str]
    remedy: ClassVar[str]

    def __init_subclass__(cls, *, what: str, remedy: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.what, cls.remedy = what, remedy

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Self:
        raise NotImplementedError

    @classmethod
    def read(cls, path: Path) -> Self:
        """The document at ``path``; raises DataError naming the file when it cannot be read."""
        return read_record(path, cls.from_json, cls.what, cls.remedy)

    def write(self, path: Path) -> Path:
        write_json_atomic(path, self.to_json())
        return path


def write_json_atomic(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON; see :func:`write_text_atomic`."""
    write_text_atomic(path, json.dumps(data, indent=2, ensure_ascii=False) + "\n")


class WriteFailed(DataError, OSError):
    """The machine refused a write (read-only, no space left, a name too long, no permission); the message names
    the path and what to do, and the file is as it was. An OSError too, for callers that catch those."""

    def __init__(self, path: Path, exc: OSError) -> None:
        why = exc.strerror or str(exc)
        super().__init__(
            path, f"cannot be written ({why})", "nothing was changed there: free space, make it writable, or give "
            "--output another folder"
        )  # fmt: skip


def write_text_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that readers see the old file or the new one, never a part of either.

    The temporary file is created with mode 0666 filtered by the umask, as ``open()`` would
    create the file itself (``mkstemp`` would make it 0600 whatever the umask).

    :raises WriteFailed: the machine refused the write; the file is as it was.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise WriteFailed(path, exc) from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise WriteFailed(path, exc) from exc
        raise


#: What a check of a folder writes and removes: more than a record or a page takes, so a disk that is nearly full
#: fails here rather than halfway through the pages.
PROBE_BYTES = 1 << 20


def check_writable(folders: list[Path]) -> None:
    """Write and remove a file in each folder, or in the nearest one above it that exists (the folder itself is made
    later, by the write that needs it), as the records and pages will be written. Nothing is left behind, and
    sessions checking the same folders at once do not meet (each file has a name of its own).

    :raises WriteFailed: one cannot be written.
    """
    for folder in folders:
        there = next(parent for parent in (folder, *folder.parents) if parent.exists())
        probe = there / f".write-check-{secrets.token_hex(6)}"
        write_text_atomic(probe, "x" * PROBE_BYTES)
        probe.unlink(missing_ok=True)

"""A run's verdict, as the job that observed hands it to the job that tells people (:mod:`scripts.ci.tell`).

The alarm (``python -m scripts.ci.regression --verdict FILE``) and the audit's merge (``python -m
scripts.ci.fanout merge --verdict FILE``) write one; the write job reads it as data only: it comes
from a job that ran the releases' code.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from scripts.common.jsonio import DataError, read_json, write_json_atomic

__all__ = ["CHANGED", "SAME", "UNAVAILABLE", "Verdict"]

#: The alarm's exits: nothing changed (or what is new behaves the same), a behaviour changed, it could not run.
SAME = 0
CHANGED = 1
UNAVAILABLE = 2


@dataclass(frozen=True)
class Verdict:
    """What one run of the alarm concluded; ``code`` None when its observing job left no verdict."""

    code: int | None
    last_line: str
    summary: str = ""
    changes: tuple[str, ...] = ()
    releases: tuple[str, ...] = ()
    moved: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()
    at: str = ""

    @property
    def could_not_run(self) -> bool:
        return self.code not in (SAME, CHANGED)

    @classmethod
    def from_json(cls, data: Any) -> Verdict:
        """A verdict as the alarm writes it; raises ValueError (or KeyError, TypeError) for anything else."""
        code = data["code"]
        if code is not None and (type(code) is not int or code not in (SAME, CHANGED, UNAVAILABLE)):
            raise ValueError(f"code {code!r} is none of the alarm's exits (0, 1, 2)")

        def texts(name: str) -> tuple[str, ...]:
            items = data.get(name, [])
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise TypeError(f"{name} is not a list of texts")
            return tuple(items)

        releases = texts("releases")
        for release in releases:  # they name the issue: versions, nothing else (no line break reaches an output)
            Version(release)
        return cls(
            code,
            str(data["last_line"]),
            str(data.get("summary", "")),
            texts("changes"),
            releases,
            texts("moved"),
            texts("accepted"),
            str(data.get("at", "")),
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def write(self, path: Path) -> None:
        write_json_atomic(path, self.to_json())

    @classmethod
    def read(cls, path: Path) -> Verdict:
        """The verdict at ``path``; a missing or unreadable file is a run that could not say one."""
        if not path.is_file():
            return cls(None, f"the alarm's observing job left no verdict ({path.name} missing): see its log")
        try:
            return cls.from_json(read_json(path))
        except (DataError, ValueError, KeyError, TypeError, InvalidVersion) as exc:
            return cls(None, f"the alarm's verdict is unreadable ({path.name}: {exc}); see the observing job's log")

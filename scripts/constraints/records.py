"""Constraints records: how one Flask release was made to serve today, and every attempt on the way.

``reports/constraints/flask-<version>.json``, valid against ``constraints.schema.json`` beside this
module (prose companion: ``constraints.schema.md``). The requirements file a user installs from,
``reports/constraints/flask-<version>.txt``, is rendered from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from scripts.common import evidence
from scripts.common.jsonio import NOT_STORED, JsonRecord, read_record
from scripts.layout import release_file
from scripts.packages.culprit import CulpritKind

__all__ = ["SCHEMA_PATH", "Attempt", "AttemptOutcome", "Bound", "ConstraintsRecord", "load", "load_all", "save"]

SCHEMA_PATH = Path(__file__).with_name("constraints.schema.json")
SCHEMA_VERSION = 1

#: How one attempt ended: plain ``app.run()`` served, or the step that failed.
AttemptOutcome = Literal["served", "install-failed", "import-failed", "app-failed", "server-failed", "timeout"]


@dataclass
class Attempt:
    """One real install and probe: on which Python, with which constraints, and what happened."""

    schema_node: ClassVar[str] = "/$defs/attempt"

    python: str
    constraints: list[str]
    outcome: AttemptOutcome
    error: str | None = None
    culprit_kind: CulpritKind | None = None
    #: The distribution (canonical name), the release, or the interpreter's module the failure points at.
    culprit: str | None = None
    #: The exception line that names the culprit (for a fallback that failed in turn, the one before it).
    evidence: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    #: The release's requirements as its installed metadata declares them: bisection stays inside them.
    declared: list[str] = field(default_factory=list)


@dataclass
class Bound:
    """An upper bound and how it was found: the first release of the project that fails, by bisection."""

    schema_node: ClassVar[str] = "/$defs/bound"

    project: str
    first_bad: str
    #: The newest release below ``first_bad`` tried without this failure (it may fail another way).
    last_good: str | None
    #: Whether no release between ``last_good`` and ``first_bad`` went untried: then ``first_bad`` is the
    #: release that introduced the failure; otherwise it is the oldest that may have, and the bound keeps it out.
    exact: bool
    #: What the first bad release raises.
    evidence: str
    #: The release, Python and held packages it was bisected under, and how many trials it took.
    bisected_with: str
    trials: int

    @property
    def requirement(self) -> str:
        return f"{self.project}<{self.first_bad}"


@dataclass
class ConstraintsRecord(JsonRecord):
    """How to run one release today, or why it cannot be run on this machine's interpreters."""

    flask: str
    released: str | None
    requires_python: str | None
    verified: bool
    #: The Python minor it served on, and the day.
    python: str | None = None
    verified_on: str | None = None
    #: The upper bounds it needs (each one from ``bounds``); with ``flask==X`` they make the constraints file.
    bounds: list[Bound] = field(default_factory=list)
    #: The exact set it served with.
    packages: dict[str, str] = field(default_factory=dict)
    #: Why no interpreter here could run it (when not verified).
    reason: str | None = None
    attempts: list[Attempt] = field(default_factory=list)
    #: When this evidence was first observed (found again the same, the record keeps it, and ``verified_on``).
    observed_at: str | None = None
    #: The key it was found under: this machine's and the day's, kept under ``.nox/`` (``evidence.Confirmations``).
    cache_key: str | None = field(default=None, compare=False, repr=False, metadata=NOT_STORED)
    schema_version: int = SCHEMA_VERSION

    @property
    def requirements(self) -> list[str]:
        return [f"flask=={self.flask}", *(bound.requirement for bound in self.bounds)]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConstraintsRecord:
        data = dict(data)
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {data.get('schema_version')!r}, this code reads {SCHEMA_VERSION}")
        data.pop("cache_key", None)  # written by older code: this machine's key, not evidence
        data["bounds"] = [Bound(**bound) for bound in data.get("bounds", [])]
        data["attempts"] = [Attempt(**attempt) for attempt in data.get("attempts", [])]
        return cls(**data)


def save(record: ConstraintsRecord, folder: Path) -> Path:
    """Write the record unless the stored one says the same (see ``evidence.save``)."""
    path = release_file(folder, record.flask)
    evidence.save(path, record.to_json())
    return path


def load(path: Path) -> ConstraintsRecord:
    """The record at ``path``; raises DataError naming the file when it cannot be read."""
    remedy = f"restore it (git checkout -- {path.name}) or find the constraints again with --force"
    return read_record(path, ConstraintsRecord.from_json, "a constraints record", remedy)


def load_all(folder: Path) -> list[ConstraintsRecord]:
    return [load(path) for path in sorted(folder.glob("flask-*.json"))]

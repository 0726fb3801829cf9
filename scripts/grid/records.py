"""Grid records: every cell observed for one Flask release, as data.

``reports/grid/flask-<version>.json``, valid against ``grid.schema.json`` beside this module; a
test proves the dataclasses and the schema agree field by field.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

from scripts.common import evidence
from scripts.common.jsonio import NOT_STORED, JsonRecord, read_record
from scripts.layout import release_file
from scripts.packages.culprit import CulpritKind

__all__ = ["SCHEMA_PATH", "Cell", "CellKind", "CellStatus", "GridRecord", "load", "load_all", "save"]

SCHEMA_PATH = Path(__file__).with_name("grid.schema.json")
SCHEMA_VERSION = 2

#: era: the release's own dependencies; declared: a plain install today; werkzeug: over one Werkzeug line, today.
CellKind = Literal["era", "declared", "werkzeug"]
KINDS: tuple[CellKind, ...] = get_args(CellKind)
#: ok, a failed step (as in the audit), or not run: the metadata rules it out, or no such interpreter here.
CellStatus = Literal[
    "ok", "install-failed", "import-failed", "app-failed", "server-failed", "timeout", "not-allowed", "no-interpreter"
]
#: Statuses of cells that were never installed.
NOT_RUN: tuple[CellStatus, ...] = ("not-allowed", "no-interpreter")


@dataclass
class Cell:
    """One observed (or ruled out) combination."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/$defs/cell"

    kind: CellKind
    flask: str
    python: str | None
    status: CellStatus
    werkzeug_line: str | None = None
    detail: str | None = None
    #: Versions as installed: the interpreter, Flask's dependencies.
    python_version: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    #: Flask's own requirements, as its installed metadata declares them.
    declared: list[str] = field(default_factory=list)
    concurrent: bool | None = None
    #: What had to change from the plan for it to install.
    notes: list[str] = field(default_factory=list)
    #: A Werkzeug cell's upper bounds on other dependencies, each found by bisection, that made it serve.
    bounds: list[str] = field(default_factory=list)
    #: Whose failure a failed Werkzeug cell's last attempt was: the pinned Werkzeug, Flask itself, ...
    culprit_kind: CulpritKind | None = None
    culprit: str | None = None
    #: A Werkzeug cell's attempts in order: the Python, the bounds, and how each ended.
    tried: list[str] = field(default_factory=list)
    #: When this cell's evidence was first observed (a cell observed again with the same evidence keeps it).
    observed_at: str | None = None
    #: The key it was observed under: this machine's, kept under ``.nox/`` (``evidence.Confirmations``).
    cache_key: str | None = field(default=None, compare=False, repr=False, metadata=NOT_STORED)


@dataclass
class GridRecord(JsonRecord):
    """Every grid cell of one Flask release."""

    flask: str
    released: str | None
    requires_python: str | None
    cells: list[Cell] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GridRecord:
        data = dict(data)
        # Records written before the keys moved to .nox/ hold one per cell: it is this machine's, not evidence.
        data["cells"] = [Cell(**{k: v for k, v in cell.items() if k != "cache_key"}) for cell in data.get("cells", [])]
        return cls(**data)


def save(record: GridRecord, folder: Path) -> Path:
    """Write the record unless the stored one says the same (see ``evidence.save``)."""
    path = release_file(folder, record.flask)
    evidence.save(path, record.to_json())
    return path


def load(path: Path) -> GridRecord:
    """The grid record at ``path``; raises DataError naming the file when it cannot be read."""
    remedy = f"restore it (git checkout -- {path.name}) or observe its cells again with --force"
    return read_record(path, GridRecord.from_json, "a grid record", remedy)


def load_all(folder: Path) -> list[GridRecord]:
    return [load(path) for path in sorted(folder.glob("flask-*.json"))]

"""Rendering the grid records: Flask x Python, the plain install of today, Werkzeug lines, breakages.

Reads grid records and the Werkzeug lines only; same records, same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from scripts.constraints.records import Bound, ConstraintsRecord
from scripts.grid.records import NOT_RUN, Cell, CellKind, GridRecord
from scripts.packages.catalogue import Line
from scripts.report import markdown

__all__ = ["code", "render"]

SYMBOLS = {"ok": "✓", "not-allowed": "–", "no-interpreter": "?"}
LEGEND = (
    "✓ installs, imports and serves · ✗ fails (the footnote gives the first error line) · "
    "– ruled out by the metadata (requires_python) · ? no such interpreter on the machine that ran it"
)
#: Which upstream project an error line points at, by the module it names.
_CULPRIT = re.compile(r"(?:from|module named) '(?P<module>[A-Za-z_][A-Za-z0-9_]*)")


def code(text: str) -> str:
    """``text`` as a markdown code span, even when it holds backticks (uv quotes package names in them)."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


class Footnotes:
    """Numbers each distinct error line in the order it is first met."""

    def __init__(self) -> None:
        self.numbers: dict[str, int] = {}

    def mark(self, cell: Cell | None) -> str:
        if cell is None:
            return ""
        if cell.status in SYMBOLS:
            return SYMBOLS[cell.status]
        text = f"{cell.status}: {cell.detail or 'no detail'}"
        number = self.numbers.setdefault(text, len(self.numbers) + 1)
        return f"✗ [{number}]"

    def render(self) -> str:
        return "\n".join(f"{n}. {code(text)}" for text, n in self.numbers.items())


def _cells(record: GridRecord, kind: CellKind) -> list[Cell]:
    return [c for c in record.cells if c.kind == kind]


def _ordered(grids: list[GridRecord]) -> list[GridRecord]:
    return sorted(grids, key=lambda g: Version(g.flask))


def python_table(grids: list[GridRecord], notes: Footnotes) -> str:
    """Flask release x Python minor (era dependencies), plus today's plain install."""
    pythons = sorted({c.python for g in grids for c in _cells(g, "era") if c.python}, key=Version)
    header = ["Flask", *(f"Python {p}" for p in pythons), "plain `pip install` today"]
    rows = []
    for g in _ordered(grids):
        by_python = {c.python: c for c in _cells(g, "era")}
        declared = _cells(g, "declared")
        today = f"{notes.mark(declared[0])} (Python {declared[0].python})" if declared else ""
        rows.append([g.flask, *(notes.mark(by_python.get(p)) for p in pythons), today])
    return markdown.table(header, rows)


def werkzeug_requirement(record: GridRecord) -> Requirement | None:
    """What the release's metadata declares about Werkzeug, from any cell that read it."""
    for cell in record.cells:
        for line in cell.declared:
            try:
                requirement = Requirement(line.replace("(", "").replace(")", ""))
            except InvalidRequirement:
                continue
            if requirement.name.lower() == "werkzeug":
                return requirement
    return None


def declares(requirement: Requirement | None, version: str) -> bool:
    return requirement is None or requirement.specifier.contains(version, prereleases=True)


@dataclass(frozen=True)
class Breakage:
    """A combination the metadata allows that does not work."""

    flask: str
    upstream: str
    requirement: str
    error: str


def werkzeug_table(grids: list[GridRecord], lines: list[Line], notes: Footnotes) -> tuple[str, list[Breakage]]:
    """Newest patch of each Flask line x each Werkzeug line; ✗! marks a declared-but-broken pair."""
    heads = [g for g in _ordered(grids) if _cells(g, "werkzeug")]
    versions = {line.line: line.version for line in lines}
    shown = sorted({c.werkzeug_line for g in heads for c in _cells(g, "werkzeug") if c.werkzeug_line}, key=Version)
    header = ["Flask", "declares", *(f"{line} ({versions.get(line, '?')})" for line in shown)]
    rows, broken = [], []
    for g in heads:
        requirement = werkzeug_requirement(g)
        by_line = {c.werkzeug_line: c for c in _cells(g, "werkzeug")}
        row = [g.flask, f"`{requirement}`" if requirement else "(nothing)"]
        for line in shown:
            cell = by_line.get(line)
            mark = notes.mark(cell)
            failed = cell is not None and cell.status not in SYMBOLS
            if failed and declares(requirement, versions.get(line, line)):
                mark = mark.replace("✗", "✗!")
                assert cell is not None
                broken.append(Breakage(g.flask, f"Werkzeug {line}", str(requirement), cell.detail or cell.status))
            row.append(mark)
        rows.append(row)
    return markdown.table(header, rows), broken


def _culprit(error: str) -> str | None:
    match = _CULPRIT.search(error)
    return match["module"].lower() if match else None


def _bisected(error: str, found: Sequence[ConstraintsRecord]) -> Bound | None:
    """The bound a run-it-today search bisected for this very failure, if one did."""
    return next((b for r in found for b in r.bounds if b.evidence and b.evidence in error), None)


def breakages(grids: list[GridRecord], found: Sequence[ConstraintsRecord] = ()) -> list[str]:
    """Plain installs of today that fail, grouped by error, with the upstream release that brought it."""
    groups: dict[str, list[tuple[GridRecord, Cell]]] = {}
    for g in _ordered(grids):
        for cell in _cells(g, "declared"):
            if cell.status not in SYMBOLS:
                groups.setdefault(f"{cell.status}: {cell.detail}", []).append((g, cell))
    lines = []
    for error, members in groups.items():
        culprit = _culprit(error)
        flasks = ", ".join(g.flask for g, _ in members)
        text = f"- {code(error)} — Flask {flasks}"
        bound = _bisected(error, found)
        if bound is not None and bound.exact:
            text += (
                f". First bad release, by bisection: {bound.project} {bound.first_bad} "
                f"({bound.last_good} does not fail this way; {bound.bisected_with})."
            )
        elif bound is not None:
            text += (
                f". By bisection: {bound.project} {bound.last_good} does not fail this way; from "
                f"{bound.first_bad} on, every release tried does or would not install ({bound.bisected_with})."
            )
        elif culprit:
            text += f". {_upstream_span(culprit, members)}"
        first_line = _first_werkzeug_line(grids, error) if culprit == "werkzeug" else None
        if first_line:
            text += f" The Werkzeug table first shows it with the {first_line} line."
        lines.append(text)
    return lines


def _first_werkzeug_line(grids: list[GridRecord], error: str) -> str | None:
    """The oldest Werkzeug line whose cells fail with ``error``, as the Werkzeug table observed it."""
    failing = [
        c.werkzeug_line
        for g in grids
        for c in _cells(g, "werkzeug")
        if c.werkzeug_line and f"{c.status}: {c.detail}" == error
    ]
    return min(failing, key=Version) if failing else None


def _upstream_span(project: str, members: list[tuple[GridRecord, Cell]]) -> str:
    """Between which releases of ``project`` it broke: the era's (works) and today's (fails)."""
    today = {v for _, cell in members if (v := cell.packages.get(project))}
    worked = {v for g, _ in members for c in _cells(g, "era") if c.status == "ok" and (v := c.packages.get(project))}
    if not today:
        return f"Points at {project}."
    newest_good = max(worked, key=Version, default=None)
    bad = min(today, key=Version)
    if newest_good is None:
        return f"Fails with {project} {bad}; no era install of these releases worked to compare with."
    return (
        f"First bad upstream release: {project} after {newest_good} (the newest seen working with these "
        f"releases), at or before {bad} (installed today)."
    )


def render(
    grids: list[GridRecord],
    lines: list[Line],
    title: str,
    source: str,
    found: Sequence[ConstraintsRecord] = (),
    constraints_page: str = "constraints.md",
) -> str:
    today = (
        "\n\nHow to run each release today anyway, with the fewest upper bounds found by bisection and verified "
        f"by a server answering: [the constraints page]({constraints_page})."
        if found
        else ""
    )
    notes = Footnotes()
    pythons = python_table(grids, notes)
    werkzeug, broken = werkzeug_table(grids, lines, notes)
    declared_broken = "\n".join(
        f"- Flask {b.flask} declares `{b.requirement}`, yet {b.upstream} fails: {code(b.error)}" for b in broken
    )
    cells = sum(len(g.cells) for g in grids)
    observed = sum(1 for g in grids for c in g.cells if c.status not in NOT_RUN)
    return f"""# {title}

Generated from `{source}` by `nox -s grid`; do not edit. {len(grids)} releases, {cells} cells, {observed} of them
installed and run.

Each cell installs Flask in a fresh environment, imports it and starts the probe with plain `app.run()`
on 127.0.0.1 (as the audit does); it counts as working only if the server answered.

{LEGEND}

## Flask × Python

With the dependencies of the release's day (uploaded up to a day after it). The last column is what
a plain, unpinned `pip install flask==X` gives today, on the newest Python the release allows.

{pythons}

## Werkzeug lines

The newest patch of each Flask line, with its day's dependencies but Werkzeug replaced by the newest
patch of each Werkzeug line (installed even where Flask's metadata excludes it; where that line needs a
newer MarkupSafe than the era had, that too). The interpreter is the one the audit uses for the release,
or the next newer one the Werkzeug line allows. **✗!** marks a pair the metadata declares compatible
that does not work.

{werkzeug}

### Declared but broken

{declared_broken or "None observed."}

## Breakages of a plain install today

{chr(10).join(breakages(grids, found)) or "None observed."}{today}

## Footnotes

{notes.render() or "No failures."}
"""

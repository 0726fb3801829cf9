"""Rendering the grid records: Flask x Python, the plain install of today, Werkzeug lines, breakages.

Reads grid records and the Werkzeug lines only; same records, same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from packaging.requirements import InvalidRequirement, Requirement
from packaging.version import Version

from scripts.constraints.records import ConstraintsRecord
from scripts.grid.records import NOT_RUN, Cell, CellKind, GridRecord
from scripts.packages.catalogue import Line
from scripts.report import markdown

__all__ = ["code", "render", "said"]

SYMBOLS = {"ok": "✓", "not-allowed": "–", "no-interpreter": "?"}
LEGEND = (
    "✓ installs, imports and serves · ✗ fails (the footnote gives the first error line) · "
    "– ruled out by the metadata (requires_python) · ? no such interpreter on the machine that ran it"
)
#: Which upstream project an error line points at, by the module it names.
_CULPRIT = re.compile(r"(?:from|module named) '(?P<module>[A-Za-z_][A-Za-z0-9_]*)")


# A retry that failed exactly as the first attempt: "E (with setuptools<46; without: E)".
_SAME_RETRY = re.compile(r"^(?P<error>.*) \(with (?P<change>[^;]+); without: (?P=error)\)$", re.DOTALL)


def said(cell: Cell) -> str:
    """A failed cell's status and error as the pages quote it; a retry that failed the same way, said once."""
    detail = cell.detail or "no detail"
    same = _SAME_RETRY.match(detail)
    if same:
        detail = f"{same['error']} (with or without {same['change']})"
    return f"{cell.status}: {detail}"


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
        # The same failure of different releases is one note: each names itself only in "flask==<version>".
        text = said(cell).replace(f"`flask=={cell.flask}`", "`flask==X`")
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
    #: Whose failure it was, and on which Python.
    whose: str = ""


#: Whose failure makes a Werkzeug cell declared-but-broken: the pinned Werkzeug's, or Flask's own code.
PAIR_CULPRITS = ("werkzeug", "flask")


def _python(cell: Cell) -> str:
    return cell.python or "none"


def werkzeug_table(grids: list[GridRecord], lines: list[Line], notes: Footnotes) -> tuple[str, list[Breakage]]:
    """Newest patch of each Flask line x each Werkzeug line; ✗! marks a declared-but-broken pair.

    A cell on another Python than most of its row says which; a failure counts as the pair's only where the
    search blamed Werkzeug or Flask itself, on every Python it was allowed to try.
    """
    heads = [g for g in _ordered(grids) if _cells(g, "werkzeug")]
    versions = {line.line: line.version for line in lines}
    shown = sorted({c.werkzeug_line for g in heads for c in _cells(g, "werkzeug") if c.werkzeug_line}, key=Version)
    header = ["Flask", "declares", "Python", *(f"{line} ({versions.get(line, '?')})" for line in shown)]
    rows, broken = [], []
    for g in heads:
        requirement = werkzeug_requirement(g)
        by_line = {c.werkzeug_line: c for c in _cells(g, "werkzeug")}
        ran = [_python(c) for c in by_line.values() if c.status not in NOT_RUN]
        usual = max(sorted(set(ran), key=Version, reverse=True), key=ran.count) if ran else ""
        row = [g.flask, f"`{requirement}`" if requirement else "(nothing)", usual]
        for line in shown:
            cell = by_line.get(line)
            mark = notes.mark(cell)
            if cell is not None and cell.status not in NOT_RUN and _python(cell) != usual:
                mark += f" (Python {_python(cell)})"
            pair = cell is not None and cell.status not in SYMBOLS and cell.culprit in PAIR_CULPRITS
            if pair and cell is not None and declares(requirement, versions.get(line, line)):
                mark = mark.replace("✗", "✗!")
                whose = f"its traceback points at {cell.culprit}, on Python {_python(cell)}"
                broken.append(Breakage(g.flask, f"Werkzeug {line}", str(requirement), said(cell), whose))
            row.append(mark)
        rows.append(row)
    return markdown.table(header, rows), broken


def held_back(grids: list[GridRecord]) -> list[str]:
    """The Werkzeug cells that served only with bounds on other dependencies, grouped by those bounds."""
    groups: dict[tuple[str, ...], dict[str, list[str]]] = {}
    for g in _ordered(grids):
        for cell in _cells(g, "werkzeug"):
            if cell.status == "ok" and cell.bounds and cell.werkzeug_line:
                groups.setdefault(tuple(cell.bounds), {}).setdefault(g.flask, []).append(cell.werkzeug_line)
    return [
        f"- {', '.join(f'`{b}`' for b in bounds)}: "
        + "; ".join(f"Flask {flask} with Werkzeug {', '.join(wz)}" for flask, wz in pairs.items())
        for bounds, pairs in sorted(groups.items(), key=lambda item: (len(item[0]), item[0]))
    ]


def _culprit(error: str) -> str | None:
    match = _CULPRIT.search(error)
    return match["module"].lower() if match else None


def _search_of(members: list[tuple[GridRecord, Cell]], found: Sequence[ConstraintsRecord]) -> str | None:
    """What the run-it-today search of these releases found about this very failure: whose it is, and for a
    distribution the first bad release its bisection gave (on the Python and with the packages it names)."""
    releases = {g.flask: c for g, c in members}
    for record in (r for r in found if r.flask in releases):
        cell = releases[record.flask]
        attempt = next((a for a in record.attempts if (a.outcome, a.error) == (cell.status, cell.detail)), None)
        if attempt is None:
            continue
        if attempt.culprit_kind == "interpreter":
            return f"The search blames the interpreter: `{attempt.culprit}` of the standard library."
        if attempt.culprit_kind == "release":
            return "The search blames the release's own code: no bound on a dependency helps on this Python."
        bound = next((b for b in record.bounds if b.project == attempt.culprit), None)
        if bound is not None and bound.exact:
            return (
                f"First bad release, by bisection: {bound.project} {bound.first_bad} "
                f"({bound.last_good} does not fail this way; {bound.bisected_with})."
            )
        if bound is not None:
            return (
                f"By bisection: {bound.project} {bound.last_good} does not fail this way; from "
                f"{bound.first_bad} on, every release tried does or would not install ({bound.bisected_with})."
            )
        if attempt.culprit_kind == "distribution":
            return f"The search blames {attempt.culprit}, and ran the release without a bound on it on an older Python."
    return None


def breakages(grids: list[GridRecord], found: Sequence[ConstraintsRecord] = ()) -> list[str]:
    """Plain installs of today that fail, grouped by error, with what the run-it-today search found about it."""
    groups: dict[str, list[tuple[GridRecord, Cell]]] = {}
    for g in _ordered(grids):
        for cell in _cells(g, "declared"):
            if cell.status not in SYMBOLS:
                groups.setdefault(said(cell), []).append((g, cell))
    lines = []
    for error, members in groups.items():
        flasks = ", ".join(g.flask for g, _ in members)
        text = f"- {code(error)} — Flask {flasks}"
        searched = _search_of(members, found)
        if searched:
            text += f". {searched}"
        first_line = _first_werkzeug_line(grids, error) if _culprit(error) == "werkzeug" else None
        if first_line:
            text += f" The Werkzeug table first shows it with the {first_line} line."
        lines.append(text)
    return lines


def _first_werkzeug_line(grids: list[GridRecord], error: str) -> str | None:
    """The oldest Werkzeug line whose cells fail with ``error``, as the Werkzeug table observed it."""
    failing = [c.werkzeug_line for g in grids for c in _cells(g, "werkzeug") if c.werkzeug_line and said(c) == error]
    return min(failing, key=Version) if failing else None


def render(
    grids: list[GridRecord],
    lines: list[Line],
    title: str,
    source: str,
    found: Sequence[ConstraintsRecord] = (),
    constraints_page: str = "constraints.md",
    chart: str = "",
) -> str:
    """The grid page; ``chart`` is the Flask x Python picture as the page embeds it, shown above its table."""
    today = (
        "\n\nHow to run each release today anyway, with the fewest upper bounds found by bisection and verified "
        f"by a server answering: [the constraints page]({constraints_page})."
        if found
        else ""
    )
    picture = f"\n{chart}\n" if chart else ""
    notes = Footnotes()
    pythons = python_table(grids, notes)
    werkzeug, broken = werkzeug_table(grids, lines, notes)
    declared_broken = "\n".join(
        f"- Flask {b.flask} declares `{b.requirement}`, yet {b.upstream} fails ({b.whose}): {code(b.error)}"
        for b in broken
    )
    bounded = "\n".join(held_back(grids))
    cells = sum(len(g.cells) for g in grids)
    tried = sum(1 for g in grids for c in g.cells if c.status not in NOT_RUN)
    served = sum(1 for g in grids for c in g.cells if c.status == "ok")
    return f"""# {title}

Generated from `{source}` by `nox -s grid`; do not edit. {len(grids)} releases, {cells} cells: {tried} tried
(the others ruled out by the metadata or without an interpreter here), {served} of them served.

Each cell installs Flask in a fresh environment, imports it and starts the probe with plain `app.run()`
on 127.0.0.1 (as the audit does); it counts as working only if the server answered.

{LEGEND}

## Flask × Python

With the dependencies of the release's day (uploaded up to a day after it). The last column is what
a plain, unpinned `pip install flask==X` gives today, on the newest Python the release allows.
{picture}
{pythons}

## Werkzeug lines

The newest patch of each Flask line over the newest patch of each Werkzeug line (installed even where
Flask's metadata excludes it), with today's other dependencies as the resolver picks them within what
the release declares. Each cell is found by the same search as the constraints files, with the Werkzeug
line pinned: where another dependency is what fails, it is bisected to its first bad release and held
below it; where the interpreter is, or the same failure shows on two Pythons of one major version, the
next older Python is tried. Only Pythons both the release and the Werkzeug line allow are tried, none
newer than the one the release served on today. The Python column is where most of the row ran; a cell
elsewhere says where. **✗!** marks a pair the metadata declares compatible that fails on every Python
tried with a traceback that points at Werkzeug or at Flask itself (not at the interpreter or another package).

{werkzeug}

### Declared but broken

{declared_broken or "None observed."}

### Other dependencies held back

The Werkzeug cells that served only with these bounds, each bisected to its first bad release:

{bounded or "None."}

## Breakages of a plain install today

{chr(10).join(breakages(grids, found)) or "None observed."}{today}

## Footnotes

{notes.render() or "No failures."}
"""

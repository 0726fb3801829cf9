"""The grid's Flask x Python table as a picture, ``docs/grid.svg``: each cell coloured by how far it got."""

from __future__ import annotations

from packaging.version import Version

from scripts.grid.records import Cell as GridCell
from scripts.grid.records import GridRecord
from scripts.report import heatmap
from scripts.report.grid import said
from scripts.report.heatmap import Cell, Column, Kind, Row
from scripts.report.wording import minor_line

__all__ = ["NOT_TRIED", "STATUSES", "figure", "render_grid_svg"]

TITLE = "Flask releases on each Python: which combinations install, import and serve"
#: A Python the grid holds no cell for, for this release.
NOT_TRIED = "not-tried"
#: One colour per cell status the grid records (Okabe-Ito, told apart with any colour vision); greys were not run.
STATUSES: dict[str, Kind] = {
    "ok": Kind("#009e73", "green", "served"),
    "install-failed": Kind("#d55e00", "vermillion", "install failed"),
    "import-failed": Kind("#e69f00", "orange", "import failed"),
    "app-failed": Kind("#cc79a7", "pink", "creating the app failed"),
    "server-failed": Kind("#0072b2", "blue", "the server failed to start"),
    "timeout": Kind("#000000", "black", "timed out"),
    # Greys far enough apart from white, from each other and from pink under every simulated colour vision.
    "not-allowed": Kind("#c0c0c0", "light grey", "ruled out by the metadata"),
    "no-interpreter": Kind("#5f5f5f", "dark grey", "no such interpreter here"),
    NOT_TRIED: Kind("#ffffff", "white", "not tried"),
}
TODAY = "plain pip install today"


def _cell(flask: str, python: str, cell: GridCell | None) -> Cell:
    where = f"Flask {flask}, Python {cell.python if cell and cell.python else python}"
    if cell is None:
        return Cell(NOT_TRIED, f"{where}: not tried")
    if cell.status == "ok":
        werkzeug = cell.packages.get("werkzeug")
        return Cell("ok", f"{where}: served" + (f" (Werkzeug {werkzeug})" if werkzeug else ""))
    return Cell(cell.status, f"{where}: {said(cell)}")


def _chart(grids: list[GridRecord]) -> tuple[list[Column], list[Row]]:
    ordered = sorted(grids, key=lambda g: Version(g.flask))
    pythons = sorted({c.python for g in ordered for c in g.cells if c.kind == "era" and c.python}, key=Version)
    era = [{c.python: c for c in g.cells if c.kind == "era"} for g in ordered]
    columns = [Column(g.flask, minor_line(g.flask)) for g in ordered]
    rows = [
        Row(f"Python {p}", [_cell(g.flask, p, cells.get(p)) for g, cells in zip(ordered, era, strict=True)])
        for p in reversed(pythons)
    ]
    today = [next((c for c in g.cells if c.kind == "declared"), None) for g in ordered]
    if any(today):
        rows.append(Row(TODAY, [_cell(g.flask, "?", c) for g, c in zip(ordered, today, strict=True)], apart=True))
    return columns, rows


def render_grid_svg(grids: list[GridRecord]) -> str:
    """A self-contained, deterministic SVG: newest Python on top, releases across in version order."""
    columns, rows = _chart(grids)
    desc = " ".join(heatmap.described(row, columns, STATUSES) for row in rows)
    notes = [
        "With the dependencies of each release's day; the last row is a plain, unpinned install of today on the "
        "newest Python the release allows. Hover a cell for its first error line."
    ]
    return heatmap.render(TITLE, desc, columns, rows, STATUSES, notes)


def figure(grids: list[GridRecord], source: str) -> str:
    """The picture as a page shows it: the image, and its legend in words beneath."""
    _, rows = _chart(grids)
    legend = heatmap.legend_words(heatmap.present(rows, STATUSES))
    said = f"\n\nColours: {legend}." if legend else ""
    return f"![The Flask and Python table as a chart, one coloured cell per combination]({source}){said}"

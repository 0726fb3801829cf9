"""A release x row chart of coloured cells: one column per Flask release, one row per question asked of it.

The matrix chart and the grid chart are both drawn by :func:`render`; each decides what its cells are.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from scripts.report import svg
from scripts.report.wording import plural

__all__ = ["Cell", "Column", "Kind", "Row", "described", "legend_words", "present", "render"]

PAD = 16
#: Horizontal distance between release columns, and the extra space where a minor line begins.
PITCH, GROUP_GAP = 12, 3
#: Vertical distance between rows, and the extra space above a row set apart.
ROW, ROW_GAP = 18, 8
SWATCH = 11
#: Row labels wider than this go above their row; a row set under its label takes ``LABEL_LINE`` more.
LEFT_LABELS, LABEL_LINE = 180, 18
LABEL_SIZE, RELEASE_SIZE, NOTE_SIZE = 11, 11, 11


@dataclass(frozen=True)
class Kind:
    """What a colour stands for: the fill, its name in words for the page's legend, and its meaning."""

    colour: str
    name: str
    label: str


@dataclass(frozen=True)
class Column:
    """One release: its label, and the group (minor line) it starts a gap from when the group changes."""

    label: str
    group: str


@dataclass(frozen=True)
class Cell:
    """One coloured square: the key of its kind."""

    kind: str
    #: What hovering the cell says: the evidence behind its colour.
    tip: str


@dataclass(frozen=True)
class Row:
    """One question asked of every release, labelled as a reader would ask it."""

    label: str
    cells: Sequence[Cell]
    #: Drawn a little apart from the row above (a different question, as the grid's "today" row).
    apart: bool = False


def present(rows: Sequence[Row], kinds: dict[str, Kind]) -> dict[str, Kind]:
    """The kinds the cells use, in the order ``kinds`` declares them: the legend lists nothing absent."""
    used = {cell.kind for row in rows for cell in row.cells}
    return {key: kind for key, kind in kinds.items() if key in used}


def legend_words(kinds: dict[str, Kind]) -> str:
    """The legend as a sentence, for the page beside the picture and for readers who cannot see colours."""
    return "; ".join(f"{kind.name} — {kind.label}" for kind in kinds.values())


def described(row: Row, columns: Sequence[Column], kinds: dict[str, Kind]) -> str:
    """A row in words, each kind with the runs of releases it covers: the picture's text for who cannot see it."""
    runs: dict[str, list[list[str]]] = {}
    previous = None
    for column, cell in zip(columns, row.cells, strict=True):
        spans = runs.setdefault(cell.kind, [])
        if cell.kind == previous:
            spans[-1].append(column.label)
        else:
            spans.append([column.label])
        previous = cell.kind
    said = []
    for key, spans in runs.items():
        count = sum(len(span) for span in spans)
        where = ", ".join(span[0] if len(span) == 1 else f"{span[0]} to {span[-1]}" for span in spans)
        said.append(f"{kinds[key].label} in {where} ({plural(count, 'release')})")
    return f"{row.label}: {'; '.join(said)}."


def _column_xs(columns: Sequence[Column], left: float) -> list[float]:
    xs, gaps = [], 0
    for index, column in enumerate(columns):
        if index and column.group != columns[index - 1].group:
            gaps += 1
        xs.append(left + index * PITCH + gaps * GROUP_GAP)
    return xs


def _legend(kinds: dict[str, Kind], top: float, width: float) -> tuple[list[str], float]:
    """Swatches and their meanings, left to right, wrapping to a new line where one would run past ``width``."""
    parts, x, y = [], float(PAD), top
    for kind in kinds.values():
        needed = SWATCH + 5 + svg.text_width(kind.label, LABEL_SIZE)
        if x > PAD and x + needed > width - PAD:
            x, y = PAD, y + 18
        parts.append(
            f'<rect x="{x}" y="{y - SWATCH + 1}" width="{SWATCH}" height="{SWATCH}" fill="{kind.colour}" '
            'stroke="#757575" stroke-width="0.5"/>'
        )
        parts.append(f'<text x="{x + SWATCH + 5}" y="{y}">{escape(kind.label)}</text>')
        x = round(x + needed + 18, 1)
    return parts, y


def render(
    title: str,
    desc: str,
    columns: Sequence[Column],
    rows: Sequence[Row],
    kinds: dict[str, Kind],
    notes: Sequence[str] = (),
) -> str:
    """A self-contained, deterministic SVG: legend on top, releases below, row labels beside (or, long, above) rows."""
    label_width = max((svg.text_width(row.label, LABEL_SIZE) for row in rows), default=0)
    # Long labels on the left would make the picture so wide that a page shrinks it past reading.
    above = label_width > LEFT_LABELS
    xs = _column_xs(columns, PAD if above else PAD + label_width + 8)
    width = round(max((xs[-1] + PITCH if xs else 0) + PAD, 480, PAD * 2 + label_width if above else 0), 1)
    heading = svg.wrap(title, width - 2 * PAD, 12)
    parts: list[str] = []
    y = 0.0
    for line in heading:
        y += 18
        parts.append(f'<text x="{PAD}" y="{y}" font-size="12" font-weight="bold">{escape(line)}</text>')
    legend, y = _legend(present(rows, kinds), y + 22, width)
    parts += legend
    top = y + 14
    for row in rows:
        top += ROW_GAP if row.apart else 0
        if above:
            parts.append(f'<text x="{PAD}" y="{top + 14}">{escape(row.label)}</text>')
            top += LABEL_LINE
        else:
            parts.append(f'<text x="{PAD + label_width}" y="{top + 12}" text-anchor="end">{escape(row.label)}</text>')
        for x, cell in zip(xs, row.cells, strict=True):
            parts.append(
                f'<rect x="{x}" y="{top}" width="{PITCH - 1}" height="{ROW - 2}" fill="{kinds[cell.kind].colour}">'
                f"<title>{escape(cell.tip)}</title></rect>"
            )
        top += ROW
    longest = max((svg.text_width(c.label, RELEASE_SIZE) for c in columns), default=0)
    for x, column in zip(xs, columns, strict=True):
        # Turned a quarter left, each label reads upwards and hangs below its own column.
        at_x, at_y = round(x + PITCH / 2 + 3, 1), top + 4
        parts.append(
            f'<text x="{at_x}" y="{at_y}" transform="rotate(-90 {at_x} {at_y})" text-anchor="end" '
            f'font-size="{RELEASE_SIZE}">{escape(column.label)}</text>'
        )
    y = top + 4 + longest + 4
    for note in notes:
        for line in svg.wrap(note, width - 2 * PAD, NOTE_SIZE):
            y += 14
            parts.append(f'<text x="{PAD}" y="{y}" font-size="{NOTE_SIZE}" fill="#616161">{escape(line)}</text>')
    height = round(y + PAD, 1)
    return "\n".join([*svg.start(width, height, title, desc), *parts, "</svg>"]) + "\n"

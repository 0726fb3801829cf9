"""The timeline picture: every release on a date axis, coloured by what plain ``app.run()`` did.

Each minor line is labelled once, at its first release. Releases crowd together (six minor lines in
2010), so the labels are spread along one row as little as keeps them apart, each tied to its dot by a
leader line; where the row cannot hold them all, every second (third, ...) line is labelled.
"""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from xml.sax.saxutils import escape

from packaging.version import Version

from scripts.audit.records import Observation
from scripts.packages.catalogue import Release
from scripts.report import svg
from scripts.report.summary import date_order
from scripts.report.wording import minor_line

__all__ = ["KINDS", "kind", "render_timeline_svg", "spread"]

WIDTH = 900
LEFT, RIGHT = 40, 20
#: Space between two labels.
GAP = 8
#: The height of the leaders: a vertical stem off the dot, then a slant to the label.
STEM, SLANT = 10, 40
CAPTION_SIZE = 11
KINDS = {
    "concurrent": ("#009e73", "serves requests concurrently"),
    "serial": ("#e69f00", "one request at a time"),
    "unobserved": ("#9e9e9e", "not observed"),
}


def kind(observation: Observation | None) -> str:
    default = observation.modes.get("default") if observation and observation.status == "ok" else None
    if default is None or default.outcome != "served":
        return "unobserved"
    return "concurrent" if default.concurrent else "serial"


def _day(release: Release) -> date | None:
    return date.fromisoformat(release.released) if release.released else None


def _pooled(targets: list[float]) -> list[float]:
    """The non-decreasing sequence nearest ``targets`` in squares (pool adjacent violators)."""
    blocks: list[tuple[float, int]] = []
    for target in targets:
        total, count = target, 1
        while blocks and blocks[-1][0] / blocks[-1][1] > total / count:
            before, number = blocks.pop()
            total, count = total + before, count + number
        blocks.append((total, count))
    return [total / count for total, count in blocks for _ in range(count)]


def spread(anchors: list[float], widths: list[float], low: float, high: float) -> list[float] | None:
    """Label centres nearest their (ordered) anchors that keep ``GAP`` apart within ``[low, high]``; None if none do."""
    if not anchors:
        return []
    offsets = [0.0]
    for before, after in pairwise(widths):
        offsets.append(offsets[-1] + (before + after) / 2 + GAP)
    # Shifted by the room each label needs before it, the centres only have to be in order.
    fitted = _pooled([anchor - offset for anchor, offset in zip(anchors, offsets, strict=True)])
    least, most = low + widths[0] / 2 - offsets[0], high - widths[-1] / 2 - offsets[-1]
    if least > most:
        return None
    return [round(min(max(q, least), most) + offset, 1) for q, offset in zip(fitted, offsets, strict=True)]


def _placed(anchors: list[float], texts: list[str]) -> tuple[int, list[float]]:
    """Every ``stride``-th label (the fewest left out that lets one row hold them), and their centres."""
    widths = [svg.text_width(text) for text in texts]
    for stride in range(1, len(texts) + 1):
        chosen = range(0, len(texts), stride)
        centres = spread([anchors[i] for i in chosen], [widths[i] for i in chosen], LEFT - 10, WIDTH - 4)
        if centres is not None:
            return stride, centres
    return len(texts), []


def render_timeline_svg(releases: list[Release], observations: list[Observation]) -> str:
    """A self-contained, deterministic SVG."""
    found = {o.flask: o for o in observations}
    dated = sorted((r for r in releases if r.released), key=lambda r: Version(r.version))
    title = "Flask releases: does plain app.run() serve requests concurrently?"
    if not dated:
        return "\n".join([*svg.start(WIDTH, 60, title), '<text x="20" y="40">No dated releases.</text></svg>']) + "\n"
    days = [day for r in dated if (day := _day(r)) is not None]
    first_year, last_year = min(days).year, max(days).year + 1
    start, span = (
        date(first_year, 1, 1).toordinal(),
        date(last_year, 1, 1).toordinal() - date(first_year, 1, 1).toordinal(),
    )

    def x(day: date) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (day.toordinal() - start) / span, 1)

    firsts: dict[str, Release] = {}
    for release in dated:
        firsts.setdefault(minor_line(release.version), release)
    lines = list(firsts)
    anchors = [x(_day(release) or date.min) for release in firsts.values()]
    # Spreading keeps labels in axis order; a minor line first released before an older one must not cross it.
    if anchors != sorted(anchors):
        order = sorted(range(len(lines)), key=lambda i: anchors[i])
        lines, anchors = [lines[i] for i in order], [anchors[i] for i in order]
    stride, centres = _placed(anchors, lines)
    which = "each minor line" if stride == 1 else f"one minor line in {stride} (the matrix lists every release)"
    caption = f"Plain app.run(), one dot per Flask release; a label marks the first release of {which}."
    later = date_order(releases, observations)
    # The dots are in date order, the switch is described in version order: the caption names the exceptions.
    captions = [(line, 11) for line in svg.wrap(caption, WIDTH - LEFT - RIGHT)]
    captions += (
        [(line, CAPTION_SIZE) for line in svg.wrap(f"{later}.", WIDTH - LEFT - RIGHT, CAPTION_SIZE)] if later else []
    )
    parts: list[str] = []
    y = 44.0
    for line, size in captions:
        y += 16 if size == 11 else 14
        parts.append(f'<text x="{LEFT}" y="{y}" fill="#616161" font-size="{size}">{escape(line)}</text>')

    baseline = y + 26
    axis = baseline + 4 + SLANT + STEM + 6
    bend = axis - 6 - STEM
    for line, anchor, centre in zip(lines[::stride], anchors[::stride], centres, strict=True):
        parts.append(
            f'<polyline points="{anchor},{axis - 6} {anchor},{bend} {centre},{baseline + 4}" '
            'fill="none" stroke="#bdbdbd"/>'
        )
        parts.append(f'<text x="{centre}" y="{baseline}" text-anchor="middle">{escape(line)}</text>')

    parts.append(f'<line x1="{LEFT}" y1="{axis}" x2="{WIDTH - RIGHT}" y2="{axis}" stroke="#424242"/>')
    for year in range(first_year, last_year + 1):
        at = x(date(year, 1, 1))
        parts.append(f'<line x1="{at}" y1="{axis}" x2="{at}" y2="{axis + 5}" stroke="#424242"/>')
        if year < last_year:
            parts.append(f'<text x="{at + 2}" y="{axis + 17}" fill="#424242">{year}</text>')
    for release in dated:
        day = _day(release)
        assert day is not None
        colour = KINDS[kind(found.get(release.version))][0]
        parts.append(
            f'<circle cx="{x(day)}" cy="{axis}" r="4.5" fill="{colour}" fill-opacity="0.85">'
            f"<title>Flask {escape(release.version)} ({release.released})</title></circle>"
        )
    legend_x = LEFT
    for colour, label in KINDS.values():
        parts.append(f'<circle cx="{legend_x}" cy="30" r="5" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 10}" y="34">{escape(label)}</text>')
        legend_x += round(30 + svg.text_width(label))
    height = round(axis + 32)
    desc = f"{caption} {later}." if later else caption
    return "\n".join([*svg.start(WIDTH, height, title, desc), *parts, "</svg>"]) + "\n"

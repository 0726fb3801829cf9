"""The timeline picture: every release on a date axis, coloured by what plain ``app.run()`` did."""

from __future__ import annotations

from datetime import date
from xml.sax.saxutils import escape

from packaging.version import Version

from scripts.audit.records import Observation
from scripts.packages.catalogue import Release
from scripts.report import svg
from scripts.report.summary import date_order

__all__ = ["KINDS", "kind", "render_timeline_svg"]

WIDTH, HEIGHT = 900, 250
LEFT, RIGHT, AXIS_Y = 40, 20, 170
#: Label rows above the axis. A label takes the lowest row with room; with none, it is left out.
LABEL_ROWS = (150, 134, 118, 102, 86)
CHAR_WIDTH = 6.5
KINDS = {
    "concurrent": ("#2e7d32", "serves requests concurrently"),
    "serial": ("#e65100", "one request at a time"),
    "unobserved": ("#9e9e9e", "not observed"),
}


def kind(observation: Observation | None) -> str:
    default = observation.modes.get("default") if observation and observation.status == "ok" else None
    if default is None or default.outcome != "served":
        return "unobserved"
    return "concurrent" if default.concurrent else "serial"


def _day(release: Release) -> date | None:
    return date.fromisoformat(release.released) if release.released else None


def render_timeline_svg(releases: list[Release], observations: list[Observation]) -> str:
    """A self-contained, deterministic SVG."""
    found = {o.flask: o for o in observations}
    dated = sorted((r for r in releases if r.released), key=lambda r: Version(r.version))
    parts = svg.start(WIDTH, HEIGHT, "Flask releases: does plain app.run() serve requests concurrently?")
    if not dated:
        parts.append('<text x="20" y="40">No dated releases.</text></svg>')
        return "\n".join(parts) + "\n"
    days = [day for r in dated if (day := _day(r)) is not None]
    first_year, last_year = min(days).year, max(days).year + 1
    start, span = (
        date(first_year, 1, 1).toordinal(),
        date(last_year, 1, 1).toordinal() - date(first_year, 1, 1).toordinal(),
    )

    def x(day: date) -> float:
        return round(LEFT + (WIDTH - LEFT - RIGHT) * (day.toordinal() - start) / span, 1)

    parts.append(f'<line x1="{LEFT}" y1="{AXIS_Y}" x2="{WIDTH - RIGHT}" y2="{AXIS_Y}" stroke="#424242"/>')
    for year in range(first_year, last_year + 1):
        at = x(date(year, 1, 1))
        parts.append(f'<line x1="{at}" y1="{AXIS_Y}" x2="{at}" y2="{AXIS_Y + 5}" stroke="#424242"/>')
        if year < last_year:
            parts.append(f'<text x="{at + 2}" y="{AXIS_Y + 17}" fill="#424242">{year}</text>')
    seen_lines: set[str] = set()
    row_ends = [float("-inf")] * len(LABEL_ROWS)
    for release in dated:
        day = _day(release)
        assert day is not None
        colour = KINDS[kind(found.get(release.version))][0]
        at = x(day)
        parts.append(
            f'<circle cx="{at}" cy="{AXIS_Y}" r="4.5" fill="{colour}" fill-opacity="0.85">'
            f"<title>Flask {escape(release.version)} ({release.released})</title></circle>"
        )
        line = ".".join(release.version.split(".")[:2])
        if line in seen_lines:
            continue
        seen_lines.add(line)
        half = CHAR_WIDTH * len(line) / 2 + 3
        free = [i for i, end in enumerate(row_ends) if end < at - half]
        if not free:
            continue
        row_ends[free[0]] = at + half
        row = LABEL_ROWS[free[0]]
        parts.append(f'<line x1="{at}" y1="{row + 2}" x2="{at}" y2="{AXIS_Y - 5}" stroke="#bdbdbd"/>')
        parts.append(f'<text x="{at}" y="{row}" text-anchor="middle">{escape(line)}</text>')
    legend_x = LEFT
    for colour, label in KINDS.values():
        parts.append(f'<circle cx="{legend_x}" cy="30" r="5" fill="{colour}"/>')
        parts.append(f'<text x="{legend_x + 10}" y="34">{escape(label)}</text>')
        legend_x += 40 + 7 * len(label)
    parts.append(f'<text x="{LEFT}" y="60" fill="#616161">Plain app.run(), one dot per Flask release; '
                 "labels mark the first release of each minor line.</text>")  # fmt: skip
    later = date_order(releases, observations)
    if later:
        # The dots are in date order, the switch is described in version order: the caption names the exceptions.
        parts.append(f'<text x="{LEFT}" y="78" fill="#616161" font-size="10">{escape(later)}.</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

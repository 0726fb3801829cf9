"""Rendering the server comparison: ``reports/servers.md`` and the chart ``docs/servers.svg``.

Reads only a :class:`ServersRun`; same data, same bytes.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from scripts.layout import REPO
from scripts.report import markdown, svg
from scripts.report.claims import claim_7
from scripts.report.wording import facts
from scripts.servers.records import Measurement, ServersRun

__all__ = ["render_chart", "render_page"]

#: Where the page says it comes from and where its chart is, relative to the repository and to reports/.
DATA = REPO.servers_data.relative_to(REPO.root).as_posix()
CHART = "../" + REPO.servers_chart.relative_to(REPO.root).as_posix()
#: The Okabe-Ito palette: the servers stay apart under protanopia, deuteranopia and tritanopia (red and green
#: did not: the dev server and gunicorn's sync workers looked the same under deuteranopia).
COLOURS = ("#d55e00", "#e69f00", "#0072b2", "#009e73", "#56b4e9", "#cc79a7", "#000000")


def _number(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def _spread(measurement: Measurement) -> str:
    values = [r.requests_per_second for r in measurement.rounds]
    return f"{min(values):,.0f} to {max(values):,.0f}" if values else "—"


def _errors(measurement: Measurement) -> str:
    kinds: dict[str, int] = {}
    for round_ in measurement.rounds:
        for kind, count in round_.error_kinds.items():
            kinds[kind] = kinds.get(kind, 0) + count
    text = _number(measurement.errors)
    return text + (f" ({', '.join(f'{k}: {n}' for k, n in sorted(kinds.items()))})" if kinds else "")


def _slots(slots: int | None) -> str:
    """How many requests a server handles at once, as the page says it."""
    return "a thread per connection" if slots is None else str(slots)


def route_table(run: ServersRun, route: str) -> str:
    lines = [
        "| server | clients | req/s | req/s per round | p50 ms | p99 ms | errors (all rounds) |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for server in run.servers:
        if server.outcome != "measured":
            error = markdown.cell(server.error or "")
            lines.append(f"| {markdown.cell(server.label)} | | | | | | did not start: `{error}` |")
            continue
        for concurrency in run.load["concurrency"]:
            m = server.measurement(route, concurrency)
            if m is None:
                continue
            lines.append(
                f"| {markdown.cell(server.label)} | {concurrency} | {_number(m.requests_per_second)} | {_spread(m)} | "
                f"{_number(m.p50_ms, 1)} | {_number(m.p99_ms, 1)} | {_errors(m)} |"
            )
    return "\n".join(lines)


def render_page(run: ServersRun) -> str:
    machine, load, packages = run.machine, run.load, run.packages
    versions = ", ".join(f"{name} {version}" for name, version in packages.items())
    servers = "\n".join(
        f"| {markdown.cell(s.label)} | {_slots(s.slots)} | `{markdown.cell(s.command)}` |" for s in run.servers
    )
    routes = "\n\n".join(
        f"## `{route}` — {what}\n\n{route_table(run, route)}" for route, what in load["routes"].items()
    )
    load_avg = ", ".join(f"{v:g}" for v in machine.get("load_average_before", []))
    verdict = claim_7(run)
    facts_said = "\n".join(f"- {fact}" for fact in facts(verdict.evidence))
    return f"""# Flask's development server next to production WSGI servers

The article's claim 7: {verdict.claim}

Verdict: **{verdict.verdict}**. It rests on speed alone; security, stability over hours and memory were not
measured.

{facts_said}

## How it was measured

The same app ([`probes/load_app.py`](../probes/load_app.py)) under each server, on 127.0.0.1, loaded
by the same client, one server at a time. Measured {run.measured_at} on {machine.get("cpus")} CPUs
(load average before: {load_avg}); Python {machine.get("python")}; {versions}.

- **Load:** {load["client"]}; client and server share the machine's CPUs.
- **Per cell:** {load["rounds"]} rounds of {load["round_seconds"]:g} s; req/s, p50 and p99 latency are medians
  over the rounds (latency of successful requests, connect to last byte). Each request has a
  {load["request_timeout"]:g} s bound.
- **Concurrency** is the number of clients that each keep one request in flight.
- **Slots:** a production server handles at most (workers times threads) requests at once (the
  slots column); the threaded dev server starts a thread for every connection, without a cap;
  `threaded=False` handles one request at a time. Each production server is measured at the settings
  it is usually given and again with as many slots as the dev server had threads at the top load.
  Every server keeps its default logging (the dev server logs each request; waitress and gunicorn
  log no access lines by default).

| server | slots | started as |
|---|---:|---|
{servers}

![Requests per second by server, route and concurrency]({CHART})

{routes}

Generated from `{DATA}` by `nox -s servers` (re-rendered by `nox -s render`); do not edit.
"""


# -- the chart ---------------------------------------------------------------------------------

PANEL_WIDTH, PANEL_HEIGHT = 440, 260
#: The smallest text a picture holds: 11 px, drawn at its own size (the site never scales a picture down).
VALUE_SIZE = 11
TOP, BOTTOM, LEFT = 40, 40, 56
LEGEND_HEIGHT = 24


def _nice_ceiling(value: float) -> float:
    """The smallest 1, 2 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _clients(count: int) -> str:
    return "1 client" if count == 1 else f"{count} clients"


def _panel(run: ServersRun, route: str, x0: float) -> list[str]:
    measured = [s for s in run.servers if s.outcome == "measured"]
    levels = run.load["concurrency"]
    values = [
        (m.requests_per_second or 0.0) for s in measured for c in levels if (m := s.measurement(route, c)) is not None
    ]
    top = _nice_ceiling(max(values, default=0.0))
    plot_w = PANEL_WIDTH - LEFT - 10
    plot_h = PANEL_HEIGHT - TOP - BOTTOM
    base = TOP + plot_h
    parts = [
        f'<text x="{x0 + LEFT + plot_w / 2:.1f}" y="22" text-anchor="middle" font-weight="bold">'
        f"{escape(route)}: requests/s (median)</text>",
    ]
    for tick in range(5):
        value = top * tick / 4
        y = base - plot_h * tick / 4
        parts.append(f'<line x1="{x0 + LEFT}" y1="{y:.1f}" x2="{x0 + LEFT + plot_w}" y2="{y:.1f}" stroke="#eeeeee"/>')
        parts.append(f'<text x="{x0 + LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    parts.append(f'<line x1="{x0 + LEFT}" y1="{base}" x2="{x0 + LEFT + plot_w}" y2="{base}" stroke="#424242"/>')
    group_w = plot_w / max(1, len(levels))
    bar_w = (group_w - 16) / max(1, len(run.servers))
    for g, concurrency in enumerate(levels):
        gx = x0 + LEFT + g * group_w + 8
        centre = gx + (group_w - 16) / 2
        parts.append(f'<text x="{centre:.1f}" y="{base + 16}" text-anchor="middle">{_clients(concurrency)}</text>')
        for i, server in enumerate(run.servers):
            m = server.measurement(route, concurrency)
            if m is None or m.requests_per_second is None:
                continue
            h = plot_h * m.requests_per_second / top
            parts.append(
                f'<rect x="{gx + i * bar_w:.1f}" y="{base - h:.1f}" width="{bar_w - 1:.1f}" height="{h:.1f}" '
                f'fill="{COLOURS[i % len(COLOURS)]}"><title>{escape(server.label)}, {_clients(concurrency)}: '
                f"{m.requests_per_second:,.0f} req/s</title></rect>"
            )
            # The value over its bar where it fits at a readable size; the bar's title and the page's table
            # always carry it.
            shown = f"{m.requests_per_second:.0f}"
            if svg.text_width(shown, VALUE_SIZE) <= bar_w + 2:
                parts.append(
                    f'<text x="{gx + i * bar_w + (bar_w - 1) / 2:.1f}" y="{base - h - 3:.1f}" text-anchor="middle" '
                    f'font-size="{VALUE_SIZE}">{shown}</text>'
                )
    return parts


def render_chart(run: ServersRun) -> str:
    """Grouped bars, one panel per route: a self-contained, deterministic SVG."""
    routes = list(run.load["routes"])
    width = PANEL_WIDTH * max(1, len(routes))
    height = PANEL_HEIGHT + LEGEND_HEIGHT * ((len(run.servers) + 2) // 3) + 10
    parts = svg.start(width, height, "Requests per second: Flask's development server and production WSGI servers")
    for p, route in enumerate(routes):
        parts.extend(_panel(run, route, p * PANEL_WIDTH))
    for i, server in enumerate(run.servers):
        x = 20 + (i % 3) * (width - 40) / 3
        y = PANEL_HEIGHT + 8 + LEGEND_HEIGHT * (i // 3)
        parts.append(f'<rect x="{x:.1f}" y="{y}" width="12" height="12" fill="{COLOURS[i % len(COLOURS)]}"/>')
        parts.append(f'<text x="{x + 18:.1f}" y="{y + 10}">{escape(server.label)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

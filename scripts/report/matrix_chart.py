"""The matrix as a picture, ``docs/matrix.svg``: one cell per release and mode, coloured by what was observed."""

from __future__ import annotations

from packaging.version import Version

from scripts.audit.records import CLI_MODES, MODE_CALLS, MODES, Mode, Observation, behaviour
from scripts.packages.catalogue import Release
from scripts.report import heatmap
from scripts.report.heatmap import Cell, Column, Kind, Row
from scripts.report.summary import by_version
from scripts.report.wording import minor_line

__all__ = ["KINDS", "figure", "kind", "render_matrix_svg"]

TITLE = "How each Flask release served requests, by way of starting the development server"
#: Colours of the Okabe-Ito palette, told apart with any colour vision; greys say nothing was seen.
KINDS = {
    "threads": Kind("#009e73", "green", "a thread per request"),
    "forked": Kind("#0072b2", "blue", "a forked process per request"),
    "concurrent": Kind("#56b4e9", "sky blue", "concurrent, worker kind not seen"),
    "serial": Kind("#e69f00", "orange", "one request at a time"),
    "refused": Kind("#d55e00", "vermillion", "refused (exited with an error)"),
    # Black, not the palette's pink: pink and the grey of "not observed" look alike under deuteranopia.
    "dropped": Kind("#000000", "black", "listened but answered no request"),
    "no-command": Kind("#eeeeee", "light grey", "no flask command in this release"),
    "unobserved": Kind("#9e9e9e", "grey", "not observed"),
}


def kind(observation: Observation | None, mode: Mode) -> str:
    """The colour key of one cell, from the mode's observed outcome, concurrency and workers only."""
    seen = observation.modes.get(mode) if observation else None
    if seen is None:
        without_command = observation is not None and observation.cli is False and mode in CLI_MODES
        return "no-command" if without_command else "unobserved"
    if seen.outcome == "error":
        return "refused"
    if seen.outcome != "served":
        return "dropped"
    if not seen.concurrent:
        return "serial"
    # A concurrent mode is named by the workers the handler saw, never by the call that was made.
    return {"threads": "threads", "forked processes": "forked"}.get(seen.workers or "", "concurrent")


def _tip(version: str, mode: Mode, observation: Observation | None) -> str:
    where = f"Flask {version}, {MODE_CALLS[mode]}"
    if observation is None:
        return f"{where}: not audited yet"
    if mode in observation.modes:
        return f"{where}: {behaviour(observation.modes[mode])}"
    if observation.cli is False and mode in CLI_MODES:
        return f"{where}: this release has no flask command"
    if observation.status != "ok":
        return f"{where}: {observation.status}: {observation.detail or 'no detail'}"
    return f"{where}: not observed"


def _chart(releases: list[Release], observations: list[Observation]) -> tuple[list[Column], list[Row]]:
    found = by_version(observations)
    ordered = sorted(releases, key=lambda r: Version(r.version))
    columns = [Column(r.version, minor_line(r.version)) for r in ordered]
    rows = [
        Row(
            MODE_CALLS[mode],
            [Cell(kind(found.get(r.version), mode), _tip(r.version, mode, found.get(r.version))) for r in ordered],
        )
        for mode in MODES
    ]
    return columns, rows


def render_matrix_svg(releases: list[Release], observations: list[Observation]) -> str:
    """A self-contained, deterministic SVG: modes down, releases across in version order."""
    columns, rows = _chart(releases, observations)
    desc = " ".join(heatmap.described(row, columns, KINDS) for row in rows)
    notes = [
        "One column per Flask release in version order, a small gap where a minor line begins; hover a cell for "
        "what the record says. Threads and forked processes are told apart by what the request handler saw."
    ]
    return heatmap.render(TITLE, desc, columns, rows, KINDS, notes)


def figure(releases: list[Release], observations: list[Observation], source: str) -> str:
    """The picture as the page shows it: the image, and its legend in words beneath."""
    _, rows = _chart(releases, observations)
    legend = heatmap.legend_words(heatmap.present(rows, KINDS))
    said = f"\n\nColours, as the records observed each mode: {legend}." if legend else ""
    return f"![The matrix as a chart: one cell per Flask release and way of starting the server]({source}){said}"

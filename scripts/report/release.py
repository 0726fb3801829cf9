"""A page per Flask release: what each call did, with what, and how to run it today.

``docs/releases/<version>.md``, one per release of the catalogue, and ``docs/releases/index.md`` listing them;
every fact is read from the release's records (observation, grid, constraints), never written by hand.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scripts.audit.records import MODE_CALLS, MODES, ModeObservation, Observation, verdict
from scripts.constraints.records import Bound, ConstraintsRecord
from scripts.grid.records import NOT_RUN, Cell, GridRecord
from scripts.packages.catalogue import Release
from scripts.report import markdown
from scripts.report.cells import error_text
from scripts.report.constraints import render_file
from scripts.report.grid import code, said
from scripts.report.today import DEPENDENCIES, NAMES
from scripts.report.wording import plural, version_key

__all__ = ["Evidence", "index_page", "page_name", "release_page", "release_pages"]


def page_name(version: str) -> str:
    """The file of a release's page, in ``docs/releases/``: its version, so a reader can guess the address."""
    return f"{version}.md"


@dataclass(frozen=True)
class Evidence:
    """Everything recorded about one release."""

    release: Release
    observation: Observation | None = None
    grid: GridRecord | None = None
    constraints: ConstraintsRecord | None = None


def _seen(mode: ModeObservation) -> str:
    """The observation behind a verdict, as numbers."""
    if mode.outcome != "served":
        return code(error_text(mode)) if mode.error else mode.outcome
    parts = [
        f"{mode.max_in_flight} of {mode.sent} held requests in the handler at once",
        f"{mode.sequential} requests one after another: {mode.distinct_pids} "
        f"{'process' if mode.distinct_pids == 1 else 'processes'}, {plural(mode.distinct_threads or 0, 'thread')}",
    ]
    if mode.server_process == "reloader child":
        parts.append("served by the reloader's child, not the process started")
    if mode.server_classes:
        parts.append(f"server `{mode.server_classes[0]}`")
    return "; ".join(parts)


def _headline(observation: Observation | None) -> str:
    if observation is None:
        return "Not observed yet."
    default = observation.modes.get("default")
    if default is None:
        what = observation.detail or observation.status
        return f"Not observed: {what}." if observation.status != "ok" else "Plain `app.run()` was not observed."
    return f"Plain `app.run()`: **{verdict(default)}**."


def _packages(observation: Observation) -> str:
    names = [n for n in DEPENDENCIES if n in observation.packages]
    return ", ".join(f"{NAMES.get(n, n)} {observation.packages[n]}" for n in names)


def _modes(observation: Observation) -> str:
    # A list, not a table: a call and its evidence reflow on a phone, where three columns would scroll sideways.
    text = "\n".join(
        f"- `{MODE_CALLS[name]}`: **{verdict(mode)}**. {_seen(mode)}"
        for name in MODES
        if (mode := observation.modes.get(name)) is not None
    )
    absent = [f"`{MODE_CALLS[name]}`" for name in MODES if name not in observation.modes]
    if absent and observation.cli is False:
        text += f"\n\nNot observed: {', '.join(absent)} (this release has no `flask` command)."
    elif absent:
        text += f"\n\nNot observed: {', '.join(absent)}."
    return text


def _grid_cell(cell: Cell) -> str:
    if cell.status == "ok":
        return "✓ serves"
    if cell.status in NOT_RUN:
        return "not run: " + (cell.detail or cell.status)
    return f"✗ {code(said(cell))}"


def _grid(record: GridRecord) -> str:
    era = sorted((c for c in record.cells if c.kind == "era"), key=lambda c: version_key(c.python or "0"))
    declared = [c for c in record.cells if c.kind == "declared"]
    werkzeug = sorted(
        (c for c in record.cells if c.kind == "werkzeug"), key=lambda c: version_key(c.werkzeug_line or "")
    )
    parts = []
    if era:
        rows = [[f"Python {c.python}", _grid_cell(c)] for c in era]
        parts.append("With the packages of its day, on each Python:\n\n" + markdown.table(["Python", "Result"], rows))
    if declared:
        cell = declared[0]
        parts.append(f"A plain `pip install flask=={record.flask}` today, on Python {cell.python}: {_grid_cell(cell)}.")
    if werkzeug:
        rows = [[f"Werkzeug {c.werkzeug_line}", c.python or "—", _grid_cell(c)] for c in werkzeug]
        parts.append("Over each Werkzeug line, today:\n\n" + markdown.table(["Werkzeug", "Python", "Result"], rows))
    return "\n\n".join(parts)


def _bound(bound: Bound) -> str:
    raised = code(bound.evidence)
    if bound.exact:
        return f"`{bound.requirement}`: {bound.project} {bound.first_bad} raises {raised}; {bound.last_good} does not."
    return f"`{bound.requirement}`: from {bound.project} {bound.first_bad} on, {raised} (not every release tried)."


def _today(record: ConstraintsRecord, version: str) -> str:
    file = f"../../reports/constraints/flask-{version}.txt"
    if not record.verified:
        return f"No Python here runs it: {record.reason}.\n\n[`flask-{version}.txt`]({file}) says why."
    lines = [
        f"On Python {record.python}, verified {record.verified_on} by a server that answered:",
        "",
        "```",
        render_file(record).rstrip("\n"),
        "```",
        "",
        f"Download [`flask-{version}.txt`]({file}), then `pip install -r flask-{version}.txt`.",
    ]
    if record.bounds:
        lines += ["", "Each bound was found by bisection:", "", *(f"- {_bound(b)}" for b in record.bounds)]
    return "\n".join(lines)


def release_page(evidence: Evidence, previous: str | None, following: str | None) -> str:
    """The page of one release.

    :param previous: the version before it (by version), or None.
    :param following: the version after it, or None.
    """
    release, observation = evidence.release, evidence.observation
    steps = [f"[← Flask {previous}]({page_name(previous)})"] if previous else []
    steps.append("[every release](index.md)")
    steps += [f"[Flask {following} →]({page_name(following)})"] if following else []
    lines = [
        f"# Flask {release.version}",
        "",
        _headline(observation),
        "",
        f"Released {release.released or 'on a date the index does not give'}. " + " · ".join(steps),
    ]
    if observation is not None and observation.modes:
        lines += [
            "",
            "## What each call did",
            "",
            f"Observed on Python {observation.python} with {_packages(observation)}: the packages of its day.",
            "",
            _modes(observation),
        ]
    if evidence.grid is not None:
        lines += ["", "## Python and Werkzeug", "", _grid(evidence.grid)]
    if evidence.constraints is not None:
        lines += ["", "## Run it today", "", _today(evidence.constraints, release.version)]
    records = [
        (f"results/flask-{release.version}.json", observation is not None),
        (f"grid/flask-{release.version}.json", evidence.grid is not None),
        (f"constraints/flask-{release.version}.json", evidence.constraints is not None),
    ]
    listed = [f"[`{name}`](../../reports/{name})" for name, present in records if present]
    if listed:
        lines += ["", "## Records", "", "The evidence as data: " + ", ".join(listed) + "."]
    lines += ["", "Generated from the records by `nox -s render`; do not edit."]
    return "\n".join(lines) + "\n"


def index_page(evidence: Sequence[Evidence]) -> str:
    """``docs/releases/index.md``: every release, newest first, with what plain ``app.run()`` did."""
    ordered = sorted(evidence, key=lambda e: version_key(e.release.version), reverse=True)
    rows = []
    for item in ordered:
        default = item.observation.modes.get("default") if item.observation else None
        today = item.constraints
        runs = f"Python {today.python}" if today and today.verified else "—"
        rows.append(
            [
                f"[Flask {item.release.version}]({page_name(item.release.version)})",
                item.release.released or "",
                verdict(default) if default else "not observed",
                runs,
            ]
        )
    return "\n".join(
        [
            "# Every Flask release",
            "",
            "Generated from the records by `nox -s render`; do not edit.",
            "",
            f"{plural(len(ordered), 'release')}, newest first. Each page has every call's verdict, the Python "
            "and Werkzeug it runs with, and a requirements file to run it today.",
            "",
            markdown.table(["Release", "Released", "Plain `app.run()`", "Runs today on"], rows),
            "",
        ]
    )


def release_pages(folder: Path, evidence: Sequence[Evidence]) -> dict[Path, str]:
    """Every release's page and the index, by path under ``folder`` (``docs/releases/``)."""
    ordered = sorted(evidence, key=lambda e: version_key(e.release.version))
    versions = [e.release.version for e in ordered]
    pages = {folder / "index.md": index_page(ordered)}
    for at, item in enumerate(ordered):
        previous = versions[at - 1] if at > 0 else None
        following = versions[at + 1] if at + 1 < len(versions) else None
        pages[folder / page_name(item.release.version)] = release_page(item, previous, following)
    return pages

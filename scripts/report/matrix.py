"""The matrix: one row per release, ``reports/matrix.md``, and the table of other platforms' cells.

Reads records only, so any record (from this machine or a CI runner) renders the same way;
same records, same bytes.
"""

from __future__ import annotations

from collections.abc import Sequence

from packaging.version import Version

from scripts.audit.records import Observation
from scripts.introductions.records import IntroductionsRecord
from scripts.packages.catalogue import Release
from scripts.report import markdown
from scripts.report.cells import (
    describe_cli,
    describe_concurrency,
    describe_debug,
    describe_processes,
    describe_refusal,
    notes,
)
from scripts.report.release import page_name
from scripts.report.summary import by_version, lead, summary

__all__ = ["HOW_MADE", "matrix_table", "observed_span", "platform_section", "render_matrix"]

HOW_MADE = (
    "Each release was installed with the dependencies uploaded up to one day after it, on the newest "
    "Python it runs on, and started as a tiny probe app. The probe binds 127.0.0.1 on a free port: "
    "that is the only change from a bare `app.run()`. Concurrency is observed, not timed: five requests "
    "are held open inside the handler at once and the harness counts how many got in before it released any."
)


COLUMNS = (
    "Flask",
    "Released",
    "Python",
    "Werkzeug",
    "`app.run()` concurrent?",
    "`flask run` concurrent?",
    "`app.run(debug=True)`",
    "`app.run(processes=3)`",
    "`threaded=False, processes=3`",
    "`threaded=True, processes=3`",
    "Notes",
)


def _row(release: Release, observation: Observation | None) -> list[str]:
    page = f"[{release.version}](../docs/releases/{page_name(release.version)})"
    if observation is None:
        return [page, release.released or "", *[""] * (len(COLUMNS) - 3), "not audited yet"]
    modes = observation.modes
    if observation.status == "ok" or modes:
        cells = [
            describe_concurrency(modes.get("default")) if "default" in modes else "",
            describe_cli(observation),
            describe_debug(observation) if "debug" in modes else "",
            describe_processes(modes.get("processes3_plain")),
            describe_processes(modes.get("processes3")),
            describe_refusal(modes.get("threaded_processes3")),
        ]
    else:
        cells = [""] * (len(COLUMNS) - 5)
    return [
        page,
        release.released or "",
        observation.python or "",
        observation.packages.get("werkzeug", ""),
        *cells,
        notes(observation),
    ]


def matrix_table(releases: list[Release], observations: list[Observation]) -> str:
    """The one-row-per-release markdown table, oldest release first."""
    found = by_version(observations)
    ordered = sorted(releases, key=lambda r: Version(r.version))
    return markdown.table(COLUMNS, (_row(release, found.get(release.version)) for release in ordered))


PLATFORM_COLUMNS = (
    "Flask",
    "Platform",
    "Python",
    "Werkzeug",
    "`app.run()`",
    "`processes=3`",
    "`threaded=True, processes=3`",
)


def platform_section(observations: Sequence[Observation]) -> str:
    """Cells observed on other platforms (CI runners), or nothing when there are none."""
    if not observations:
        return ""
    rows = []
    for o in sorted(observations, key=lambda o: (Version(o.flask), o.platform or "")):
        modes = o.modes
        cells = [
            o.flask,
            o.platform or "?",
            o.python or "",
            o.packages.get("werkzeug", ""),
            describe_concurrency(modes["default"]) if "default" in modes else notes(o),
            describe_processes(modes.get("processes3")),
            describe_refusal(modes.get("threaded_processes3")),
        ]
        rows.append(cells)
    return (
        "\n## Other platforms\n\nThe same probe on CI runners of other systems (Windows has no `os.fork`), "
        "from `reports/platforms/`.\n\n" + markdown.table(PLATFORM_COLUMNS, rows) + "\n"
    )


def observed_span(observations: list[Observation]) -> str:
    """When the observations were made, from their records (cached ones keep their own date)."""
    moments = sorted(o.observed_at for o in observations if o.observed_at)
    if not moments:
        return "No observation made yet."
    span = moments[0] if moments[0] == moments[-1] else f"from {moments[0]} to {moments[-1]}"
    return f"Observed {span} (UTC, each record's `observed_at`)."


def render_matrix(
    releases: list[Release],
    observations: list[Observation],
    platforms: Sequence[Observation] = (),
    introductions: IntroductionsRecord | None = None,
) -> str:
    bullets = "\n".join(f"- {line}" for line in summary(releases, observations, introductions))
    return (
        "# Flask development server: concurrency by release\n\n"
        "Generated from `reports/results/*.json` by `nox -s render`; do not edit. "
        f"{observed_span(observations)}\n\n"
        f"{HOW_MADE}\n\n## Summary\n\n{lead(releases, observations)}\n\n{bullets}\n\n"
        f"## Matrix\n\n{matrix_table(releases, observations)}\n"
        f"{platform_section(platforms)}"
    )

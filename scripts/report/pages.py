"""Writing the pages: every generated file under ``reports/`` and ``docs/``, from the records only.

Pages are written one writer at a time: audit sessions run side by side (``nox -j``), and a
page is rendered from all the records, so whoever renders last must see every record in place.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from scripts.audit.records import NOT_RUN_ON_A_RUNNER, Observation, load_all, load_each
from scripts.bench import records as bench_records
from scripts.common.jsonio import DataError, write_text_atomic
from scripts.constraints import records as constraints_records
from scripts.grid import records as grid_records
from scripts.introductions.records import IntroductionsRecord
from scripts.layout import REPO, Layout
from scripts.packages import catalogue
from scripts.report import bench, claims, constraints, grid, grid_chart, release, servers
from scripts.report.answer import claims_section, render_answer_page
from scripts.report.matrix import render_matrix
from scripts.report.matrix_chart import render_matrix_svg
from scripts.report.matrix_data import render_matrix_json
from scripts.report.timeline import render_timeline_svg
from scripts.report.wording import version_key
from scripts.servers import records as server_records

__all__ = ["RenderRefused", "write_all", "write_bench", "write_constraints", "write_grid", "write_report"]


class RenderRefused(DataError):
    """The records cannot make a whole report; nothing was written. The message names every file at fault."""


def _write(layout: Layout, render: Callable[[], dict[Path, str]]) -> list[Path]:
    """Render and write under the lock: reading the records inside it is what lets the last writer win."""
    layout.reports.mkdir(parents=True, exist_ok=True)
    with FileLock(layout.render_lock):
        pages = render()
        for path, text in pages.items():
            # A page that renders the same is left alone: nothing new leaves every file, mtime included, as it was.
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                write_text_atomic(path, text)
        if layout.release_pages / "index.md" in pages:
            # The folder is the renderer's alone: the page of a release no longer in the catalogue goes.
            for stale in set(layout.release_pages.glob("*.md")) - set(pages):
                stale.unlink()
    return list(pages)


def _platform_records(layout: Layout) -> list[Observation]:
    """The other platforms' records that observed their release: a runner's "not run here" (or an install that failed
    there, maybe its index's doing) is no row of evidence."""
    found = (o for folder in sorted(layout.platforms.glob("*")) for o in load_all(folder))
    return [o for o in found if o.status not in NOT_RUN_ON_A_RUNNER]


def report_pages(layout: Layout, releases_path: Path = REPO.releases) -> dict[Path, str]:
    """The matrix, the readers' page, the timeline and (when measured) the server comparison."""
    releases = catalogue.audited(catalogue.load(releases_path))
    observations, unreadable = load_each(layout.results)
    if unreadable:
        raise RenderRefused(
            layout.results,
            f"{len(unreadable)} record(s) cannot be read: " + "; ".join(str(exc) for exc in unreadable),
            "the pages were left as they were",
        )
    orphans = sorted({o.flask for o in observations} - {r.version for r in releases}, key=version_key)
    if orphans:
        raise RenderRefused(
            releases_path,
            f"lists no release for {len(orphans)} record(s) ({', '.join(orphans)}): the report would drop them",
            "run `nox -s catalogue` against an index that lists them; the pages were left as they were",
        )
    platforms = _platform_records(layout)
    comparison = server_records.ServersRun.read(layout.servers_data) if layout.servers_data.exists() else None
    found = IntroductionsRecord.read(layout.introductions) if layout.introductions.exists() else None
    verdicts = claims.evaluate(observations, comparison, found)
    claims_text = claims_section(verdicts, comparison)
    lines = _werkzeug_lines(layout)
    pages = {
        layout.matrix_page: render_matrix(releases, observations, platforms, found),
        layout.answer_page: render_answer_page(
            releases,
            observations,
            claims_text,
            platforms,
            grid_records.load_all(layout.grid),
            found,
            lines,
            load_all(layout.today) if layout.today.exists() else [],
        ),
        layout.matrix_data: render_matrix_json(releases, observations),
        layout.timeline: render_timeline_svg(releases, observations),
        layout.matrix_chart: render_matrix_svg(releases, observations),
    }
    if comparison is not None:
        pages[layout.servers_page] = servers.render_page(comparison)
        pages[layout.servers_chart] = servers.render_chart(comparison)
    pages.update(_release_pages(layout, releases, observations))
    return pages


def _release_pages(
    layout: Layout, releases: list[catalogue.Release], observations: list[Observation]
) -> dict[Path, str]:
    observed = {o.flask: o for o in observations}
    grids = {g.flask: g for g in grid_records.load_all(layout.grid)} if layout.grid.exists() else {}
    found = (
        {c.flask: c for c in constraints_records.load_all(layout.constraints)} if layout.constraints.exists() else {}
    )
    evidence = [
        release.Evidence(r, observed.get(r.version), grids.get(r.version), found.get(r.version)) for r in releases
    ]
    return release.release_pages(layout.release_pages, evidence)


def write_report(layout: Layout, releases_path: Path = REPO.releases) -> list[Path]:
    """Render the report under ``layout`` from the catalogue and every record.

    :param layout: where the records are read and the pages written.
    :param releases_path: the release catalogue (the repository's, whatever the layout).
    """
    return _write(layout, lambda: report_pages(layout, releases_path))


def _werkzeug_lines(layout: Layout) -> list[catalogue.Line]:
    """The Werkzeug lines of the layout's catalogue, else the repository's; none without either."""
    lines_path = next((at.werkzeug_lines for at in (layout, REPO) if at.werkzeug_lines.exists()), None)
    return catalogue.load_lines(lines_path) if lines_path else []


def grid_pages(layout: Layout) -> dict[Path, str]:
    """``docs/grid.md`` and ``docs/grid.svg`` from the grid records and the Werkzeug lines."""
    grids = grid_records.load_all(layout.grid)
    lines = _werkzeug_lines(layout)
    found = constraints_records.load_all(layout.constraints) if layout.constraints.exists() else []
    return {
        layout.grid_page: grid.render(
            grids,
            lines,
            "Will Flask X run on Python Y, with which Werkzeug?",
            "../reports/grid/",
            found,
            "../reports/constraints.md",
            grid_chart.figure(grids, "grid.svg"),
        ),
        layout.grid_chart: grid_chart.render_grid_svg(grids),
    }


def write_grid(layout: Layout) -> list[Path]:
    """Render the grid pages under ``layout``."""
    return _write(layout, lambda: grid_pages(layout))


def constraints_pages(layout: Layout) -> dict[Path, str]:
    """Each release's requirements file and ``reports/constraints.md``; nothing before a search was run."""
    found = constraints_records.load_all(layout.constraints) if layout.constraints.exists() else []
    if not found:
        return {}
    pages = {layout.constraints / f"flask-{r.flask}.txt": constraints.render_file(r) for r in found}
    pages[layout.constraints_page] = constraints.render_page(found)
    return pages


def write_constraints(layout: Layout) -> list[Path]:
    """Render the requirements files and the constraints page under ``layout``."""
    return _write(layout, lambda: constraints_pages(layout))


def write_all(layout: Layout, extra: dict[Path, str] | None = None) -> list[Path]:
    """Every page that has records under ``layout`` (and ``extra`` pages), all rendered before any is written.

    A record that cannot be read stops the whole render with nothing written, so the pages never
    disagree with each other.
    """

    def everything() -> dict[Path, str]:
        found = {**report_pages(layout), **grid_pages(layout), **constraints_pages(layout), **(extra or {})}
        if layout.bench_data.exists():
            found[layout.bench_page] = bench.render(bench_records.Bench.read(layout.bench_data))
        return found

    return _write(layout, everything)


def write_bench(layout: Layout, data: bench_records.Bench | None = None) -> list[Path]:
    """Write the benchmark's data (when given) and render ``reports/bench.md`` from it."""
    if data is not None:
        data.write(layout.bench_data)
    if not layout.bench_data.exists():
        return []
    return _write(layout, lambda: {layout.bench_page: bench.render(bench_records.Bench.read(layout.bench_data))})

"""The pictures: each cell is where its record puts it, in the colour its record decides; labels never collide."""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import date, timedelta
from typing import get_args

import pytest
from packaging.version import Version

from scripts.audit import records
from scripts.audit.records import MODE_CALLS, MODES, ModeObservation, Observation
from scripts.grid import records as grid_records
from scripts.grid.records import Cell, CellStatus, GridRecord
from scripts.layout import REPO, Layout
from scripts.packages import catalogue
from scripts.report import grid_chart, matrix_chart, pages, svg, timeline
from scripts.report.timeline import render_timeline_svg
from tests.test_render import RELEASES, observations, observed, release, served

NS = "{http://www.w3.org/2000/svg}"


def parse(text: str) -> ET.Element:
    return ET.fromstring(text)


def texts(root: ET.Element) -> list[ET.Element]:
    return list(root.iter(f"{NS}text"))


def box(element: ET.Element) -> tuple[float, float, float, float]:
    """A text's bounding box (left, top, right, bottom) from the same width estimate the layout uses."""
    size = float(element.get("font-size", "11"))
    width = svg.text_width(element.text or "", size)
    x, y = float(element.get("x", "0")), float(element.get("y", "0"))
    if "rotate(-90" in element.get("transform", ""):
        assert element.get("text-anchor") == "end"
        return x - 0.8 * size, y, x + 0.25 * size, y + width
    anchor = element.get("text-anchor", "start")
    left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
    return left, y - 0.8 * size, left + width, y + 0.25 * size


def overlapping(boxes: list[tuple[float, float, float, float]]) -> list[tuple[int, int]]:
    return [
        (i, j)
        for (i, a), (j, b) in itertools.combinations(enumerate(boxes), 2)
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]


def assert_legible(text: str) -> None:
    """No two texts overlap, and every text lies inside the picture."""
    root = parse(text)
    width, height = float(root.get("width", "0")), float(root.get("height", "0"))
    boxes = [box(t) for t in texts(root)]
    assert overlapping(boxes) == [], [(texts(root)[i].text, texts(root)[j].text) for i, j in overlapping(boxes)]
    outside = [
        t.text for t, b in zip(texts(root), boxes, strict=True) if b[0] < 0 or b[1] < 0 or b[2] > width or b[3] > height
    ]
    assert outside == []


def cell_at(text: str, row_label: str, column_label: str) -> ET.Element:
    """The rect in the band of a row's label (beside it or just under it) and under a column's label."""
    root = parse(text)
    row = next(t for t in texts(root) if t.text == row_label and not t.get("transform"))
    column = next(t for t in texts(root) if t.text == column_label and t.get("transform"))
    row_y, column_x = float(row.get("y", "0")), float(column.get("x", "0")) - 3
    found = [
        r
        for r in root.iter(f"{NS}rect")
        if r.find(f"{NS}title") is not None
        and -13 <= float(r.get("y", "0")) - row_y <= 5
        and float(r.get("x", "0")) <= column_x <= float(r.get("x", "0")) + float(r.get("width", "0"))
    ]
    assert len(found) == 1, f"{len(found)} cells at {row_label} x {column_label}"
    return found[0]


def colour(element: ET.Element) -> str | None:
    return element.get("fill")


# -- the matrix ---------------------------------------------------------------------------------------------


def test_each_matrix_cell_has_the_colour_its_record_decides_at_its_release_and_mode():
    chart = matrix_chart.render_matrix_svg(RELEASES, observations())
    kinds = matrix_chart.KINDS
    assert colour(cell_at(chart, "app.run()", "0.10")) == kinds["serial"].colour
    assert colour(cell_at(chart, "app.run()", "1.0")) == kinds["threads"].colour
    assert colour(cell_at(chart, "app.run(threaded=False, processes=3)", "0.10")) == kinds["forked"].colour
    assert colour(cell_at(chart, "app.run(threaded=True, processes=3)", "1.1.1")) == kinds["refused"].colour
    assert colour(cell_at(chart, "app.run()", "0.9")) == kinds["unobserved"].colour, "no-interpreter: nothing seen"
    not_audited = cell_at(chart, "app.run()", "3.0.0")
    assert colour(not_audited) == kinds["unobserved"].colour
    assert "not audited yet" in (not_audited.findtext(f"{NS}title") or "")
    # Flipping one record flips its cell and no other.
    flipped = matrix_chart.render_matrix_svg(RELEASES, observations(**{"0.12.5": True}))
    assert colour(cell_at(flipped, "app.run()", "0.12.5")) == kinds["threads"].colour
    assert colour(cell_at(flipped, "app.run()", "0.10")) == kinds["serial"].colour


def test_threads_and_forks_come_from_the_workers_seen_never_from_the_call_or_the_version():
    odd = observed("2.0", True, "2021-05-11")
    odd.modes["default"] = served(True, workers="forked processes")
    odd.modes["processes3"] = served(True, workers="threads")
    odd.modes["threaded"] = served(True, workers=None)
    assert matrix_chart.kind(odd, "default") == "forked"
    assert matrix_chart.kind(odd, "processes3") == "threads"
    assert matrix_chart.kind(odd, "threaded") == "concurrent", "concurrent with no worker kind is not guessed"
    assert matrix_chart.kind(odd, "threaded_processes3") == "refused"
    odd.modes["processes3_nofork"] = ModeObservation(call="x", outcome="requests-failed", error="dropped")
    assert matrix_chart.kind(odd, "processes3_nofork") == "dropped"
    odd.modes["debug"] = served(False, workers="threads")
    assert matrix_chart.kind(odd, "debug") == "serial", "one in flight is one at a time, whatever the worker"


def test_a_release_without_the_command_is_told_from_a_mode_not_observed():
    old = replace(observed("0.10", False, "2013-06-13"), cli=False)
    new = replace(observed("1.0", True, "2018-04-26"), cli=True)
    assert matrix_chart.kind(old, "flask_run") == "no-command"
    assert matrix_chart.kind(old, "debug") == "unobserved", "only the flask run modes need the command"
    assert matrix_chart.kind(new, "flask_run") == "unobserved"
    failed = Observation(flask="0.5", released=None, status="install-failed", detail="no wheel")
    assert matrix_chart.kind(failed, "default") == "unobserved"


def test_every_release_has_a_column_and_every_mode_a_row_in_order():
    with_more = [*RELEASES, release("0.12.1", "2017-03-31"), release("2.0.0", "2021-05-11")]
    root = parse(matrix_chart.render_matrix_svg(with_more, observations()))
    columns = [t.text for t in texts(root) if t.get("transform")]
    assert columns == ["0.9", "0.10", "0.12.1", "0.12.5", "1.0", "1.1.1", "2.0.0", "3.0.0"]
    rows = [t.text for t in texts(root) if t.text in MODE_CALLS.values()]
    assert rows == [MODE_CALLS[mode] for mode in MODES]
    cells = [r for r in root.iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    assert len(cells) == len(columns) * len(MODES)


def test_the_matrix_legend_lists_only_the_colours_it_uses_and_the_page_says_them_in_words():
    chart = matrix_chart.render_matrix_svg(RELEASES, observations())
    legend = {t.text for t in texts(parse(chart))}
    assert matrix_chart.KINDS["serial"].label in legend and matrix_chart.KINDS["dropped"].label not in legend
    figure = matrix_chart.figure(RELEASES, observations(), "matrix.svg")
    assert figure.startswith("![") and "](matrix.svg)" in figure
    assert "orange — one request at a time" in figure and "pink" not in figure


# -- the grid -----------------------------------------------------------------------------------------------


def grid_record(flask: str, statuses: dict[str, str], today: str = "import-failed") -> GridRecord:
    cells = [
        Cell("era", flask, python, status, detail=None if status == "ok" else f"{status} <here> & there")
        for python, status in statuses.items()
    ]
    cells.append(Cell("declared", flask, "3.13", today, detail="ImportError: x"))
    return GridRecord(flask=flask, released=None, requires_python=None, cells=cells)


GRIDS = [
    grid_record("0.10", {"2.7": "ok", "3.9": "install-failed", "3.13": "import-failed"}),
    grid_record("1.1.1", {"2.7": "app-failed", "3.9": "ok", "3.13": "no-interpreter"}),
    grid_record("2.3.0", {"2.7": "not-allowed", "3.9": "ok"}, today="ok"),
]


def test_each_grid_cell_has_the_colour_of_its_status():
    chart = grid_chart.render_grid_svg(GRIDS)
    statuses = grid_chart.STATUSES
    for record in GRIDS:
        for cell in record.cells:
            row = f"Python {cell.python}" if cell.kind == "era" else grid_chart.TODAY
            assert colour(cell_at(chart, row, record.flask)) == statuses[cell.status].colour, (record.flask, cell)
    missing = cell_at(chart, "Python 3.13", "2.3.0")
    assert colour(missing) == statuses[grid_chart.NOT_TRIED].colour
    assert "not tried" in (missing.findtext(f"{NS}title") or "")
    failed = cell_at(chart, "Python 3.9", "0.10").findtext(f"{NS}title")
    assert failed == "Flask 0.10, Python 3.9: install-failed: install-failed <here> & there", "the error, unescaped"


def test_every_status_the_grid_records_has_its_own_colour():
    assert set(get_args(CellStatus)) <= set(grid_chart.STATUSES)
    colours = [kind.colour for kind in grid_chart.STATUSES.values()]
    assert len(set(colours)) == len(colours)


def test_the_grid_chart_puts_the_newest_python_on_top_and_today_apart():
    root = parse(grid_chart.render_grid_svg(GRIDS))
    rows = [t for t in texts(root) if t.get("text-anchor") == "end" and not t.get("transform")]
    assert [t.text for t in rows] == ["Python 3.13", "Python 3.9", "Python 2.7", grid_chart.TODAY]
    ys = [float(t.get("y", "0")) for t in rows]
    assert ys[3] - ys[2] > ys[2] - ys[1], "the plain install of today is set apart"


def test_the_grid_page_shows_the_chart_with_the_right_path(tmp_path):
    layout = Layout(tmp_path)
    for record in GRIDS:
        grid_records.save(record, layout.grid)
    written = pages.grid_pages(layout)
    assert sorted(written) == sorted([layout.grid_page, layout.grid_chart]), "one page: no copy under reports/"
    assert "](grid.svg)" in written[layout.grid_page]
    assert written[layout.grid_chart] == grid_chart.render_grid_svg(list(reversed(GRIDS)))
    assert "vermillion — install failed" in written[layout.grid_page]


# -- the timeline -------------------------------------------------------------------------------------------


def crowded(lines: int, days_apart: int) -> tuple[list[catalogue.Release], list[Observation]]:
    """``lines`` minor lines released ``days_apart`` days after each other."""
    first = date(2010, 4, 16)
    found = [(f"0.{n}", (first + timedelta(days=n * days_apart)).isoformat()) for n in range(1, lines + 1)]
    return [release(v, d) for v, d in found], [observed(v, n > lines // 2, d) for n, (v, d) in enumerate(found)]


@pytest.mark.parametrize(("lines", "days_apart"), [(6, 3), (24, 15), (60, 2), (40, 200)])
def test_timeline_labels_do_not_overlap_and_stay_inside(lines, days_apart):
    assert_legible(render_timeline_svg(*crowded(lines, days_apart)))


def test_the_committed_timeline_labels_its_minor_lines_without_overlap():
    releases = catalogue.audited(catalogue.load(REPO.releases))
    picture = render_timeline_svg(releases, records.load_all(REPO.results))
    assert_legible(picture)
    labels = [t.text for t in texts(parse(picture)) if t.get("text-anchor") == "middle"]
    lines = sorted({".".join(r.version.split(".")[:2]) for r in releases if r.released}, key=Version)
    assert labels == lines or "one minor line in" in picture, "a line left unlabelled is said in the caption"


def test_each_timeline_label_is_tied_to_its_first_release_and_leaders_never_cross():
    releases, found = crowded(8, 2)
    root = parse(render_timeline_svg(releases, found))
    leaders = [
        [tuple(map(float, p.split(","))) for p in line.get("points", "").split()] for line in root.iter(f"{NS}polyline")
    ]
    labels = [t for t in texts(root) if t.get("text-anchor") == "middle"]
    dots = [float(c.get("cx", "0")) for c in root.iter(f"{NS}circle") if c.find(f"{NS}title") is not None]
    assert len(leaders) == len(labels) == 8
    for leader, label, dot in zip(leaders, labels, dots, strict=True):
        assert leader[0][0] == dot, "the leader starts at the label's release"
        assert leader[-1][0] == float(label.get("x", "0")), "and ends under its label"
    ends = [leader[-1][0] for leader in leaders]
    assert ends == sorted(ends) and len(set(ends)) == len(ends), "in order, so no two leaders cross"


def test_a_line_first_released_before_an_older_one_is_labelled_in_date_order_without_crossing():
    releases = [release("0.1", "2012-01-01"), release("0.2", "2011-01-01"), release("0.3", "2011-01-03")]
    found = [observed(r.version, False, r.released or "") for r in releases]
    root = parse(render_timeline_svg(releases, found))
    labels = [t.text for t in texts(root) if t.get("text-anchor") == "middle"]
    assert labels == ["0.2", "0.3", "0.1"]
    ends = [float(line.get("points", "").split()[-1].split(",")[0]) for line in root.iter(f"{NS}polyline")]
    assert ends == sorted(ends)
    assert_legible(render_timeline_svg(releases, found))


def test_too_many_lines_for_one_row_are_thinned_and_the_caption_says_so():
    picture = render_timeline_svg(*crowded(150, 1))
    assert_legible(picture)
    labels = [t.text for t in texts(parse(picture)) if t.get("text-anchor") == "middle"]
    assert 1 < len(labels) < 150 and labels[0] == "0.1"
    assert re.search(r"one minor line in \d+ \(the matrix lists every release\)", picture)


def test_spread_keeps_labels_apart_and_leaves_a_lone_label_at_its_dot():
    centres = timeline.spread([100, 100, 100, 500], [20, 20, 20, 20], 0, 900)
    assert centres is not None
    assert centres[3] == 500
    assert all(b - a >= 20 + timeline.GAP - 0.1 for a, b in itertools.pairwise(centres[:3]))
    assert abs(sum(centres[:3]) / 3 - 100) < 0.2, "a crowd is spread evenly about where it was"
    assert timeline.spread([10, 20], [500, 500], 0, 900) is None


# -- every picture ------------------------------------------------------------------------------------------


def pictures() -> dict[str, str]:
    return {
        "matrix": matrix_chart.render_matrix_svg(RELEASES, observations()),
        "grid": grid_chart.render_grid_svg(GRIDS),
        "timeline": render_timeline_svg(RELEASES, observations()),
    }


@pytest.mark.parametrize("name", ["matrix", "grid", "timeline"])
def test_every_picture_is_self_contained_described_legible_and_deterministic(name):
    picture = pictures()[name]
    root = parse(picture)
    assert root.findtext(f"{NS}title") and root.findtext(f"{NS}desc") and root.get("role") == "img"
    assert root.get("aria-label") == root.findtext(f"{NS}title")
    for forbidden in ("href", "<script", "<style", "@import", "url(", "<image", "<foreignObject"):
        assert forbidden not in picture
    assert_legible(picture)
    assert picture == pictures()[name]


def test_the_pictures_do_not_depend_on_the_order_records_are_read_in():
    assert (
        matrix_chart.render_matrix_svg(list(reversed(RELEASES)), list(reversed(observations()))) == pictures()["matrix"]
    )
    assert grid_chart.render_grid_svg(list(reversed(GRIDS))) == pictures()["grid"]


def test_the_committed_matrix_and_grid_charts_are_legible():
    releases = catalogue.audited(catalogue.load(REPO.releases))
    rendered = {**pages.report_pages(REPO), **pages.grid_pages(REPO)}
    for path in (REPO.matrix_chart, REPO.grid_chart, REPO.timeline):
        assert_legible(rendered[path])
    columns = [t.text for t in texts(parse(rendered[REPO.matrix_chart])) if t.get("transform")]
    assert len(columns) == len(releases)

"""The compatibility grid: which cells a release gets, caching, rendering, and real cells."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime

import jsonschema
import pytest
from packaging.version import Version

from scripts.audit import harness
from scripts.audit.plan import plans
from scripts.common.jsonio import read_json
from scripts.constraints.records import Bound, ConstraintsRecord
from scripts.grid import cells as grid_cells
from scripts.grid import records as grid_records
from scripts.grid import run as grid
from scripts.grid.cells import CellSpec, minor_text
from scripts.grid.records import Cell, GridRecord
from scripts.layout import REPO
from scripts.packages import catalogue, era, index, interpreters
from scripts.packages.catalogue import Line
from scripts.packages.interpreters import Interpreter
from scripts.report import grid as grid_report
from tests.conftest import release

COMMITTED = sorted(REPO.grid.glob("flask-*.json"))
MACHINE = [Interpreter((2, 7, 18), "/py27"), Interpreter((3, 7, 16), "/py37"), Interpreter((3, 13, 0), "/py313")]
WZ = [Line("0.14", "0.14.1", "2017-11-29T00:00:00Z", None), Line("3.0", "3.0.6", "2024-10-25T00:00:00Z", ">=3.8")]


def test_every_python_the_metadata_allows_gets_an_era_cell_and_one_plain_install():
    cells = grid_cells.specs(release("1.1.4"), MACHINE, WZ, flask_lines=[])
    assert [(c.kind, c.python) for c in cells] == [
        ("era", "2.7"),
        ("era", "3.7"),
        ("era", "3.13"),
        ("declared", "3.13"),
    ]
    assert cells[-1].cutoff is None, "a plain install of today has no era"


def test_requires_python_rules_out_cells_without_running_them():
    spec = grid_cells.specs(release("3.1.3", ">=3.9"), MACHINE, [], [])[0]
    cell = grid.observe(spec, "file:///nowhere/", harness.Settings())
    assert (cell.status, cell.detail) == ("not-allowed", "requires_python >=3.9")


def test_line_heads_get_werkzeug_cells_on_the_audits_interpreter_or_the_next_newer():
    head = release("1.0.4")
    cells = [c for c in grid_cells.specs(head, MACHINE, WZ, [Line("1.0", "1.0.4", None, None)]) if c.kind == "werkzeug"]
    assert [(c.werkzeug.line, c.python) for c in cells] == [("0.14", "3.7"), ("3.0", "3.13")]
    request = cells[1].request("file:///i/", datetime.now(UTC))
    assert request.overrides == ("werkzeug==3.0.*",) and request.exempt == ("werkzeug",)
    assert request.cutoff == era.cutoff(head)


def test_a_python2_only_release_is_not_moved_to_python3_for_a_newer_werkzeug():
    cells = [
        c
        for c in grid_cells.specs(release("0.9"), MACHINE, WZ, [Line("0.9", "0.9", None, None)])
        if c.kind == "werkzeug"
    ]
    assert [c.python for c in cells] == ["2.7", "2.7"]
    cell = grid.observe(cells[1], "file:///nowhere/", harness.Settings())
    assert (cell.status, cell.detail) == ("not-allowed", "Werkzeug 3.0 requires >=3.8")


def test_cached_cells_are_not_observed_again(tmp_path, monkeypatch):
    spec = CellSpec("era", release("2.0.3"), MACHINE[2], "3.13")
    calls = []

    def fake_observe(spec, url, settings, log):  # stands in for a real install: this test is about the cache
        calls.append(spec)
        return Cell("era", spec.release.version, spec.python, "ok", cache_key=spec.key())

    monkeypatch.setattr(grid, "observe", fake_observe)
    monkeypatch.setattr(index, "configured_index_url", lambda explicit=None: "file:///i/")
    grid.observe_release(spec.release, [spec], tmp_path, log=lambda line: None)
    grid.observe_release(spec.release, [spec], tmp_path, log=lambda line: None)
    assert len(calls) == 1
    grid.observe_release(spec.release, [spec], tmp_path, force=True, log=lambda line: None)
    assert len(calls) == 2


def cell(kind: str, flask: str, python: str, status: str = "ok", **extra) -> Cell:
    return Cell(kind, flask, python, status, **extra)


def sample() -> list[GridRecord]:
    declared = ["Werkzeug>=2.0", "Jinja2>=3.0"]
    url_quote = "ImportError: cannot import name 'url_quote' from 'werkzeug.urls'"
    return [
        GridRecord(
            "2.0.3",
            "2022-02-14",
            ">=3.6",
            [
                cell("era", "2.0.3", "3.7", declared=declared, packages={"werkzeug": "2.0.3"}),
                cell("era", "2.0.3", "3.13", "import-failed", detail="ImportError: x", declared=declared),
                cell("declared", "2.0.3", "3.13", "import-failed", detail=url_quote, packages={"werkzeug": "3.1.9"}),
                cell("werkzeug", "2.0.3", "3.13", werkzeug_line="2.0", declared=declared),
                cell("werkzeug", "2.0.3", "3.13", "import-failed", werkzeug_line="3.0", detail=url_quote),
                cell("werkzeug", "2.0.3", "3.13", "import-failed", werkzeug_line="0.14", detail="ImportError: old"),
            ],
        ),
        GridRecord("0.9", "2012-07-01", None, [cell("era", "0.9", "3.7", "not-allowed", detail="x")]),
    ]


def test_report_marks_declared_but_broken_and_numbers_each_error_once():
    lines = [Line("0.14", "0.14.1", None, None), Line("2.0", "2.0.3", None, None), Line("3.0", "3.0.6", None, None)]
    page = grid_report.render(sample(), lines, "T", "x")
    assert "| 2.0.3 | `Werkzeug>=2.0` | ✗ [3] | ✓ | ✗! [1] |" in page, page
    assert "| 2.0.3 | ✓ | ✗ [2] | ✗ [1] (Python 3.13) |" in page
    assert "Flask 2.0.3 declares `Werkzeug>=2.0`, yet Werkzeug 3.0 fails" in page
    assert page.count("cannot import name 'url_quote'") == 3, "footnote, breakage and declared-but-broken lines"
    assert "werkzeug after 2.0.3 (the newest seen working with these releases), at or before 3.1.9" in page
    assert "The Werkzeug table first shows it with the 3.0 line." in page
    assert page == grid_report.render(list(reversed(sample())), lines, "T", "x"), "order of records does not matter"


def test_a_breakage_bisected_by_the_run_it_today_search_names_one_release_not_a_window():
    lines = [Line("2.0", "2.0.3", None, None), Line("3.0", "3.0.6", None, None)]
    url_quote = "ImportError: cannot import name 'url_quote' from 'werkzeug.urls'"
    bound = Bound("werkzeug", "3.0.0", "2.3.8", True, url_quote, "Flask 2.0.3 on Python 3.13.0, with x held", 6)
    found = [ConstraintsRecord("2.0.3", "2022-02-14", ">=3.6", True, "3.13", "2026-11-25", [bound])]
    page = grid_report.render(sample(), lines, "T", "x", found, "../reports/constraints.md")
    assert (
        "First bad release, by bisection: werkzeug 3.0.0 (2.3.8 does not fail this way; Flask 2.0.3 on Python "
        "3.13.0, with x held)." in page
    )
    assert "at or before 3.1.9" not in page, "no window where the release is known"
    assert "[the constraints page](../reports/constraints.md)" in page
    assert "constraints page" not in grid_report.render(sample(), lines, "T", "x"), "no link before a search ran"


def test_grid_records_validate_against_the_schema():
    schema = read_json(grid_records.SCHEMA_PATH)
    validator = jsonschema.Draft202012Validator(schema)
    jsonschema.Draft202012Validator.check_schema(schema)
    for record in sample():
        validator.validate(record.to_json())
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**sample()[0].to_json(), "cells": [{"kind": "sometimes", "flask": "1", "python": None}]})


def test_every_committed_grid_record_is_valid_and_round_trips():
    validator = jsonschema.Draft202012Validator(read_json(grid_records.SCHEMA_PATH))
    problems = []
    for path in COMMITTED:
        data = json.loads(path.read_text())
        errors = [e.message for e in validator.iter_errors(data)]
        if errors or GridRecord.from_json(data).to_json() != data:
            problems.append(f"{path.name}: {errors or 'round trip'}")
    assert problems == []


@pytest.mark.skipif(not COMMITTED, reason="no grid records committed yet")
def test_the_audit_runs_each_release_on_the_newest_python_the_grid_saw_it_work_on():
    """pins.PYTHON_CEILINGS is a table; the grid is the observation that must agree with it."""
    found = interpreters.discover()
    here = {minor_text(i) for i in found}
    chosen = {plan.version: plan for plan in plans(catalogue.load(REPO.releases), found)}
    disagree = []
    for path in COMMITTED:
        record = grid_records.load(path)
        working = [c.python for c in record.cells if c.kind == "era" and c.status == "ok" and c.python in here]
        plan = chosen.get(record.flask)
        if plan is None or not working:
            continue
        uses = minor_text(plan.interpreter) if plan.interpreter else None
        if uses != max(working, key=Version):
            disagree.append(
                f"Flask {record.flask}: audit uses {uses}, grid saw it work up to {max(working, key=Version)}"
            )
    assert disagree == []


@pytest.mark.slow
def test_real_cells_show_a_declared_werkzeug_line_that_breaks(tmp_path):
    found = interpreters.discover()
    flask = next(r for r in catalogue.load(REPO.releases) if r.version == "2.0.3")
    plan = plans([flask], found)[0]
    if plan.interpreter is None or plan.interpreter.version < (3, 8):
        pytest.skip("needs Python 3.8+ for Werkzeug 3.0")
    lines = [
        Line("2.0", "2.0.3", "2022-02-14T00:00:00Z", ">=3.6"),
        Line("3.0", "3.0.6", "2024-10-25T00:00:00Z", ">=3.8"),
    ]
    cells = [
        c for c in grid_cells.specs(flask, found, lines, [Line("2.0", "2.0.3", None, None)]) if c.kind == "werkzeug"
    ]
    record = grid.observe_release(flask, cells, tmp_path, log=lambda line: None)
    works, breaks = record.cells
    assert works.status == "ok" and works.packages["werkzeug"].startswith("2.0.")
    assert breaks.status == "import-failed" and "url_quote" in (breaks.detail or "")
    assert breaks.packages["werkzeug"].startswith("3.0.") and breaks.packages["flask"] == "2.0.3"
    assert any(d.lower().startswith("werkzeug") for d in breaks.declared)


def test_error_lines_quoting_names_in_backticks_stay_one_code_span():
    assert grid_report.code("Failed to build `flask==0.7`") == "`` Failed to build `flask==0.7` ``"
    assert grid_report.code("ImportError: x") == "`ImportError: x`"
    assert grid_report._culprit("cannot import name 'Markup' from 'jinja2' (jinja2/__init__.py)") == "jinja2"


def test_the_cell_key_changes_with_each_of_its_parts(monkeypatch):
    base = CellSpec("werkzeug", release("1.0.4"), MACHINE[1], "3.7", WZ[0])
    variants = {
        "kind": replace(base, kind="era", werkzeug=None),
        "release": replace(base, release=release("1.0.3")),
        "interpreter": replace(base, interpreter=Interpreter((3, 7, 17), "/py37")),
        "werkzeug line": replace(base, werkzeug=WZ[1]),
        "werkzeug patch": replace(base, werkzeug=replace(WZ[0], version="0.14.2")),
        "era": replace(base, release=replace(release("1.0.4"), uploaded="2019-05-14T00:00:00Z")),
    }
    keys = {name: spec.key() for name, spec in variants.items()}
    assert base.key() not in keys.values() and len(set(keys.values())) == len(keys), keys


def test_a_plain_install_of_today_is_observed_again_the_next_day(monkeypatch):
    spec = CellSpec("declared", release("3.1.3"), MACHINE[2], "3.13")
    today = spec.key()
    monkeypatch.setattr(grid_cells, "now", lambda: datetime(2099, 1, 2, tzinfo=UTC))
    assert spec.key() != today
    era_cell = CellSpec("era", release("3.1.3"), MACHINE[2], "3.13")
    monkeypatch.undo()
    before = era_cell.key()
    monkeypatch.setattr(grid_cells, "now", lambda: datetime(2099, 1, 2, tzinfo=UTC))
    assert era_cell.key() == before, "a cell of the release's era does not depend on the day"

"""The compatibility grid: which cells a release gets, caching, rendering, and real cells."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest
from packaging.version import Version

from scripts.audit import harness
from scripts.audit.plan import plans
from scripts.audit.records import ModeObservation
from scripts.common.evidence import Confirmations
from scripts.common.jsonio import read_json
from scripts.constraints.records import Attempt, Bound, ConstraintsRecord
from scripts.grid import cells as grid_cells
from scripts.grid import records as grid_records
from scripts.grid import run as grid
from scripts.grid.cells import CellSpec, minor_text
from scripts.grid.records import Cell, GridRecord
from scripts.layout import REPO, release_file
from scripts.packages import catalogue, environments, index, interpreters
from scripts.packages.catalogue import Line
from scripts.packages.interpreters import Interpreter
from scripts.report import grid as grid_report
from tests.conftest import release, site_packages

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


def _today(version: str, python: str | None, *bounds: Bound) -> ConstraintsRecord:
    return ConstraintsRecord(version, None, None, python is not None, python, bounds=list(bounds))


JINJA = Bound("jinja2", "3.1.0", "3.0.3", True, "ImportError: Markup", "Flask 1.0.4 on Python 3.13.0", 5)
WZ_BOUND = Bound("werkzeug", "3.0.0", "2.3.8", True, "ImportError: url_quote", "Flask 1.0.4 on Python 3.13.0", 6)


def test_werkzeug_cells_try_every_python_both_allow_newest_first_from_where_the_release_runs_today():
    head = release("1.0.4")
    flask_lines = [Line("1.0", "1.0.4", None, None)]
    cells = [
        c
        for c in grid_cells.specs(head, MACHINE, WZ, flask_lines, _today("1.0.4", "3.13", JINJA))
        if c.kind == "werkzeug"
    ]
    assert [(c.werkzeug.line, c.python, [i.version_text for i in c.pythons]) for c in cells] == [
        ("0.14", "3.13", ["3.13.0", "3.7.16", "2.7.18"]),
        ("3.0", "3.13", ["3.13.0"]),
    ], "Python 2.7 included where the Werkzeug line allows it"
    assert cells[0].start == (JINJA,), "the bounds the release needed today are where the search starts"
    request = cells[1].request("file:///i/", datetime.now(UTC))
    assert request.overrides == ("werkzeug==3.0.*",) and request.cutoff is None, "today's packages, not the era's"
    # A release that served today only on 3.7 is not tried above it: a newer Python failed with its own Werkzeug.
    lower = [
        c for c in grid_cells.specs(head, MACHINE, WZ, flask_lines, _today("1.0.4", "3.7")) if c.kind == "werkzeug"
    ]
    assert [[i.version_text for i in c.pythons] for c in lower] == [["3.7.16", "2.7.18"], []]
    cell = grid.observe(lower[1], "file:///nowhere/", harness.Settings())
    assert (cell.status, cell.detail) == (
        "not-allowed",
        "Werkzeug 3.0 requires >=3.8; Flask 1.0.4 served today up to Python 3.7",
    )
    # Without a run-it-today record: every Python both allow, and no bounds to start from.
    unknown = [c for c in grid_cells.specs(head, MACHINE, WZ, flask_lines) if c.kind == "werkzeug"]
    assert [c.python for c in unknown] == ["3.13", "3.13"] and all(c.start == () for c in unknown)


def test_a_python2_only_release_gets_no_python3_for_a_newer_werkzeug():
    cells = [
        c
        for c in grid_cells.specs(release("0.9"), MACHINE, WZ, [Line("0.9", "0.9", None, None)], _today("0.9", "2.7"))
        if c.kind == "werkzeug"
    ]
    assert [c.python for c in cells] == ["2.7", "none"]
    cell = grid.observe(cells[1], "file:///nowhere/", harness.Settings())
    assert (cell.status, cell.detail) == (
        "not-allowed",
        "Werkzeug 3.0 requires >=3.8; Flask 0.9 served today up to Python 2.7",
    )


def test_cached_cells_are_not_observed_again(tmp_path, monkeypatch):
    spec = CellSpec("era", release("2.0.3"), MACHINE[2], "3.13")
    calls = []

    def fake_observe(spec, url, settings, log, cache, kept):  # stands in for an install: the cache is tested
        calls.append(spec)
        return Cell("era", spec.release.version, spec.python, "ok", cache_key=spec.key())

    monkeypatch.setattr(grid, "observe", fake_observe)
    monkeypatch.setattr(index, "configured_index_url", lambda explicit=None: "file:///i/")
    here = Confirmations(tmp_path / "keys")
    grid.observe_release(spec.release, [spec], tmp_path, log=lambda line: None, confirmations=here)
    grid.observe_release(spec.release, [spec], tmp_path, log=lambda line: None, confirmations=here)
    assert len(calls) == 1
    grid.observe_release(spec.release, [spec], tmp_path, force=True, log=lambda line: None, confirmations=here)
    assert len(calls) == 2
    # Another machine (no keys of its own) observes again; so does this one once the record is not what it confirmed.
    grid.observe_release(spec.release, [spec], tmp_path, log=lambda line: None, confirmations=Confirmations(tmp_path))
    assert len(calls) == 3
    path = release_file(tmp_path, "2.0.3")
    path.write_text(path.read_text().replace('"ok"', '"timeout"'))
    grid.observe_release(spec.release, [spec], tmp_path, log=lambda line: None, confirmations=here)
    assert len(calls) == 4


def test_a_cell_observed_again_the_same_leaves_the_record_as_it_was(tmp_path, monkeypatch):
    specs = [CellSpec(kind, release("2.0.3"), MACHINE[2], "3.13") for kind in ("era", "werkzeug", "declared")]
    specs[1] = replace(specs[1], werkzeug=WZ[1])
    moments = iter(f"2026-12-{day:02}T00:00:00Z" for day in range(1, 20))
    status = {"werkzeug": "ok", "era": "ok", "declared": "ok"}

    def fake_observe(spec, url, settings, log, cache, kept):  # a new time on each observation, the status as set
        # A Werkzeug cell names the Python it ended on, not the one it was planned with.
        python, line = ("3.9", spec.werkzeug.line) if spec.werkzeug else (spec.python, None)
        return Cell(spec.kind, "2.0.3", python, status[spec.kind], werkzeug_line=line, observed_at=next(moments))

    monkeypatch.setattr(grid, "observe", fake_observe)
    monkeypatch.setattr(index, "configured_index_url", lambda explicit=None: "file:///i/")
    grid.observe_release(specs[0].release, specs, tmp_path, log=lambda line: None)
    path = release_file(tmp_path, "2.0.3")
    first = path.read_bytes()
    grid.observe_release(specs[0].release, specs, tmp_path, log=lambda line: None)
    assert path.read_bytes() == first, "the same evidence observed again: not a byte changed"
    status["declared"] = "import-failed"
    grid.observe_release(specs[0].release, specs, tmp_path, log=lambda line: None)
    era, werkzeug, declared = grid_records.load(path).cells
    assert (era.observed_at, werkzeug.observed_at) == ("2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z"), "kept"
    assert (declared.status, declared.observed_at) == ("import-failed", "2026-12-09T00:00:00Z")
    assert "cache_key" not in path.read_text()

    def interrupted(spec, url, settings, log, cache, kept):  # the first cell changes, then the run is stopped
        if spec.kind != "era":
            raise KeyboardInterrupt
        return Cell(spec.kind, "2.0.3", "3.13", "timeout", observed_at="2026-12-19T00:00:00Z")

    monkeypatch.setattr(grid, "observe", interrupted)
    with pytest.raises(KeyboardInterrupt):
        grid.observe_release(specs[0].release, specs, tmp_path, log=lambda line: None)
    era, werkzeug, declared = grid_records.load(path).cells
    assert (era.status, werkzeug.observed_at, declared.status) == ("timeout", "2026-12-02T00:00:00Z", "import-failed")


class _Cell(Cell):
    def __or__(self, fields: dict[str, str]) -> Cell:
        return replace(self, **fields)


def cell(kind: str, flask: str, python: str, status: str = "ok", **extra) -> _Cell:
    return _Cell(kind, flask, python, status, **extra)


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
                cell("werkzeug", "2.0.3", "3.13", werkzeug_line="2.0", declared=declared, bounds=["jinja2<3.1.0"]),
                cell("werkzeug", "2.0.3", "3.13", "import-failed", werkzeug_line="3.0", detail=url_quote)
                | {"culprit_kind": "distribution", "culprit": "werkzeug"},
                # Werkzeug 0.14 on its oldest Python still fails, through the interpreter: not the pair's failure.
                cell("werkzeug", "2.0.3", "3.6", "import-failed", werkzeug_line="0.14", detail="ImportError: old")
                | {"culprit_kind": "interpreter", "culprit": "collections"},
            ],
        ),
        GridRecord("0.9", "2012-07-01", None, [cell("era", "0.9", "3.7", "not-allowed", detail="x")]),
    ]


def test_report_marks_declared_but_broken_and_numbers_each_error_once():
    lines = [Line("0.14", "0.14.1", None, None), Line("2.0", "2.0.3", None, None), Line("3.0", "3.0.6", None, None)]
    page = grid_report.render(sample(), lines, "T", "x")
    assert "| 2.0.3 | `Werkzeug>=2.0` | 3.13 | ✗ [3] (Python 3.6) | ✓ | ✗! [1] |" in page, page
    assert "| 2.0.3 | ✓ | ✗ [2] | ✗ [1] (Python 3.13) |" in page
    assert (
        "Flask 2.0.3 declares `Werkzeug>=2.0`, yet Werkzeug 3.0 fails "
        "(its traceback points at werkzeug, on Python 3.13)" in page
    )
    assert "yet Werkzeug 0.14" not in page, "a failure the search put on the interpreter is not the pair's"
    assert "- `jinja2<3.1.0`: Flask 2.0.3 with Werkzeug 2.0" in page, "the bounds a cell needed are listed"
    assert page.count("cannot import name 'url_quote'") == 3, "footnote, breakage and declared-but-broken lines"
    assert "at or before" not in page, "no window: without a search, nothing is said about whose it is"
    assert "The Werkzeug table first shows it with the 3.0 line." in page
    assert page == grid_report.render(list(reversed(sample())), lines, "T", "x"), "order of records does not matter"


def test_a_breakage_bisected_by_the_run_it_today_search_names_one_release_not_a_window():
    lines = [Line("2.0", "2.0.3", None, None), Line("3.0", "3.0.6", None, None)]
    url_quote = "ImportError: cannot import name 'url_quote' from 'werkzeug.urls'"
    bound = Bound("werkzeug", "3.0.0", "2.3.8", True, url_quote, "Flask 2.0.3 on Python 3.13.0, with x held", 6)
    failed = Attempt("3.13.0", [], "import-failed", url_quote, "distribution", "werkzeug", url_quote)
    found = [ConstraintsRecord("2.0.3", "2022-02-14", ">=3.6", True, "3.13", "2026-11-25", [bound], attempts=[failed])]
    page = grid_report.render(sample(), lines, "T", "x", found, "../reports/constraints.md")
    assert (
        "First bad release, by bisection: werkzeug 3.0.0 (2.3.8 does not fail this way; Flask 2.0.3 on Python "
        "3.13.0, with x held)." in page
    )
    # The same failure the search put on the interpreter, or on the release's own code:
    for kind, name, said in [
        ("interpreter", "imp", "The search blames the interpreter: `imp` of the standard library."),
        ("release", "flask", "The search blames the release's own code"),
    ]:
        blamed = [replace(found[0], bounds=[], attempts=[replace(failed, culprit_kind=kind, culprit=name)])]
        assert said in grid_report.render(sample(), lines, "T", "x", blamed)
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
def test_real_werkzeug_cells_hold_other_dependencies_back_and_blame_only_what_breaks_the_pair(tmp_path):
    """Flask 1.0.4 serves over Werkzeug 2.2 once Jinja2 and itsdangerous are held back (its era's MarkupSafe
    would break Jinja2 instead), and fails over Werkzeug 3.0 through Flask's own import of ``url_quote``."""
    found = interpreters.discover()
    flask = next(r for r in catalogue.load(REPO.releases) if r.version == "1.0.4")
    if not any(i.version >= (3, 8) for i in found):
        pytest.skip("needs Python 3.8+ for Werkzeug 2.2 and 3.0")
    lines = [
        Line("2.2", "2.2.3", "2023-02-14T00:00:00Z", ">=3.7"),
        Line("3.0", "3.0.6", "2024-10-25T00:00:00Z", ">=3.8"),
    ]
    newest = max(i for i in found if i.version >= (3, 8))
    today = _today("1.0.4", minor_text(newest), JINJA)  # one bound carried in, the other found again
    specs = grid_cells.specs(flask, found, lines, [Line("1.0", "1.0.4", None, None)], today)
    cells = [c for c in specs if c.kind == "werkzeug"]
    record = grid.observe_release(flask, cells, tmp_path, log=lambda line: None, cache=tmp_path / "cache")
    works, breaks = record.cells
    assert works.status == "ok" and works.packages["werkzeug"].startswith("2.2.") and works.python == minor_text(newest)
    if newest.version >= (3, 10):  # where Jinja2 3.1 and itsdangerous 2.1 are what the resolver picks
        assert works.bounds == ["jinja2<3.1.0", "itsdangerous<2.1.0"], works.tried
        assert works.packages["jinja2"] == "3.0.3" and Version(works.packages["markupsafe"]) >= Version("2.1")
    assert breaks.status == "import-failed" and "url_quote" in (breaks.detail or ""), breaks.tried
    assert (breaks.culprit_kind, breaks.culprit) == ("distribution", "werkzeug")
    assert breaks.packages["werkzeug"].startswith("3.0.") and breaks.packages["flask"] == "1.0.4"
    assert len(breaks.tried) >= 2, "tried on a second Python before the failure counts as the pair's"
    assert any(d.lower().startswith("werkzeug") for d in breaks.declared)


def test_error_lines_quoting_names_in_backticks_stay_one_code_span():
    assert grid_report.code("Failed to build `flask==0.7`") == "`` Failed to build `flask==0.7` ``"
    assert grid_report.code("ImportError: x") == "`ImportError: x`"
    assert grid_report._culprit("cannot import name 'Markup' from 'jinja2' (jinja2/__init__.py)") == "jinja2"


def test_the_cell_key_changes_with_each_of_its_parts(monkeypatch):
    base = CellSpec("werkzeug", release("1.0.4"), MACHINE[1], "3.7", WZ[0], (MACHINE[1],), (JINJA,), "3.7")
    variants = {
        "pythons": replace(base, pythons=(MACHINE[1], MACHINE[0])),
        "start": replace(base, start=(JINJA, WZ_BOUND)),
        "ceiling": replace(base, ceiling="3.13"),
        "kind": replace(base, kind="era", werkzeug=None),
        "release": replace(base, release=release("1.0.3")),
        "interpreter": replace(base, interpreter=Interpreter((3, 7, 17), "/py37")),
        "werkzeug line": replace(base, werkzeug=WZ[1]),
        "werkzeug patch": replace(base, werkzeug=replace(WZ[0], version="0.14.2")),
        "era": replace(replace(base, kind="era"), release=replace(release("1.0.4"), uploaded="2019-05-14T00:00:00Z")),
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


def test_bounds_carried_from_the_release_that_cannot_be_installed_beside_a_werkzeug_line_are_dropped(monkeypatch):
    """Flask 1.1.4 needed markupsafe<2.1 with its own Werkzeug; Werkzeug 2.2 requires MarkupSafe>=2.1.1."""
    markupsafe = Bound("markupsafe", "2.1.0", "2.0.1", True, "ImportError: soft_unicode", "Flask 1.1.4", 4)
    spec = CellSpec("werkzeug", release("1.1.4"), MACHINE[2], "3.13", WZ[1], (MACHINE[2],), (markupsafe,), "3.13")
    conflict = Attempt("3.13.0", ["markupsafe<2.1.0"], "install-failed", "No solution found", "unknown")
    served = Attempt("3.13.0", [], "served", packages={"flask": "1.1.4", "werkzeug": "3.0.6"})
    calls = []

    def scripted(release, pythons, trials, start=()):
        calls.append(tuple(start))
        if start:
            return ConstraintsRecord("1.1.4", None, None, False, attempts=[conflict])
        return ConstraintsRecord("1.1.4", None, None, True, "3.13", packages=served.packages, attempts=[served])

    monkeypatch.setattr(grid.search, "find", scripted)
    cell = grid.observe(spec, "file:///i/", harness.Settings(), log=lambda line: None, cache=Path("/nonexistent"))
    assert calls == [(markupsafe,), ()]
    assert (cell.status, cell.bounds, cell.packages["werkzeug"]) == ("ok", [], "3.0.6")
    assert cell.tried == [
        "Python 3.13.0 [markupsafe<2.1.0]: install-failed: No solution found",
        "Python 3.13.0 []: served",
    ]


def test_a_retry_that_failed_as_the_first_attempt_is_quoted_once():
    same = "Failed to build `flask==0.7`: SyntaxError: x"
    retried = Cell("era", "0.7", "3.9", "install-failed", detail=f"{same} (with setuptools<46; without: {same})")
    assert grid_report.said(retried) == f"install-failed: {same} (with or without setuptools<46)"
    other = replace(retried, detail=f"No module named 'distutils' (with setuptools<46; without: {same})")
    assert grid_report.said(other) == f"install-failed: {other.detail}", "a retry that failed otherwise keeps both"


@pytest.mark.parametrize(
    ("seen", "import_fails", "checked", "status"),
    [
        (ModeObservation("app.run()", "served", concurrent=True), False, False, "ok"),
        (ModeObservation("app.run()", "error", "SyntaxError: x", failed_in="app"), True, True, "import-failed"),
        (ModeObservation("app.run()", "error", "TypeError: x", failed_in="app"), False, True, "app-failed"),
        (ModeObservation("app.run()", "error", "OSError: x", failed_in="server"), False, False, "server-failed"),
        (ModeObservation("app.run()", "timeout", "no answer"), True, False, "timeout"),
        (ModeObservation("app.run()", "requests-failed", "dropped"), True, False, "server-failed"),
    ],
)
def test_an_era_cell_checks_the_import_only_where_the_probe_exited_before_its_app(
    monkeypatch, tmp_path, seen, import_fails, checked, status
):
    """What decides the check is what the probe saw; the installs and the probe are stand-ins here."""
    checks: list[Path] = []

    def check_import(python: Path) -> None:
        checks.append(python)
        if import_fails:
            raise environments.SetupFailed("import-failed", "ImportError: cannot import name 'x'")

    monkeypatch.setattr(environments, "fill", lambda interpreter, location, request: [])
    monkeypatch.setattr(environments, "inventory", lambda python: environments.Inventory("3.13.0", {"flask": "3.1.3"}))
    monkeypatch.setattr(environments, "declared_requirements", lambda python: [])
    monkeypatch.setattr(environments, "check_import", check_import)
    monkeypatch.setattr(harness, "observe_mode", lambda python, mode, settings: seen)
    spec = CellSpec("era", release("3.1.3"), Interpreter((3, 13, 0), "/py313"), "3.13")
    kept = tmp_path / "kept"
    cell = grid.observe(spec, "http://127.0.0.1:9/simple/", harness.Settings(), log=lambda line: None, kept=kept)
    assert (bool(checks), cell.status) == (checked, status), cell
    assert (kept / "era-3.13").exists() == (status == "ok"), "only an environment whose cell serves is kept"
    if status == "import-failed":
        assert cell.detail == "ImportError: cannot import name 'x'"


@pytest.mark.slow
def test_an_era_cell_keeps_its_environment_and_installs_again_only_when_it_changed(tmp_path, monkeypatch):
    """A rerun of an era cell probes again in the environment it filled; one whose files changed is made again."""
    found = interpreters.discover()
    flask = next(r for r in catalogue.load(REPO.releases) if r.version == "3.1.3")
    newest = max(i for i in found if i.version >= (3, 9))
    spec = CellSpec("era", flask, newest, minor_text(newest))
    url, kept, quiet = index.configured_index_url(), tmp_path / "kept", lambda line: None
    first = grid.observe(spec, url, harness.Settings(), quiet, kept=kept)
    assert first.status == "ok" and first.packages["flask"] == "3.1.3", first
    location = kept / f"era-{spec.python}"
    assert environments.recorded_build(location) is not None

    fills: list[Path] = []
    real_fill = environments.fill
    monkeypatch.setattr(
        environments, "fill", lambda interpreter, at, request: fills.append(at) or real_fill(interpreter, at, request)
    )
    again = grid.observe(spec, url, harness.Settings(), quiet, kept=kept)
    assert fills == [] and (again.status, again.packages, again.concurrent) == ("ok", first.packages, first.concurrent)

    python = environments.venv_python(location)
    extra = site_packages(python) / "extra_dist-1.0.dist-info"
    extra.mkdir()
    (extra / "RECORD").write_text("extra_dist/__init__.py,sha256=one,0\n")
    rebuilt = grid.observe(spec, url, harness.Settings(), quiet, kept=kept)
    assert fills == [location] and not extra.exists(), "an environment changed by hand is made again, not probed"
    assert (rebuilt.status, rebuilt.packages) == ("ok", first.packages)

    # A module removed by hand changes no file list: the cell fails in the kept environment, which is then made
    # again, and the fresh one's observation stands.
    (site_packages(python) / "flask" / "app.py").unlink()
    repaired = grid.observe(spec, url, harness.Settings(), quiet, kept=kept)
    assert fills == [location, location] and (repaired.status, repaired.packages) == ("ok", first.packages)

    other = grid.observe(replace(spec, kind="declared"), url, harness.Settings(), quiet, kept=kept)
    assert other.status == "ok" and sorted(p.name for p in kept.iterdir() if not p.name.startswith(".")) == [
        location.name
    ], "a plain install of today is never kept: the newest files change"
    assert grid.prune(kept, [spec]) == [] and location.exists()
    assert grid.prune(kept, [replace(spec, python="9.9")]) == [location] and not location.exists()


def test_the_same_failure_of_two_releases_is_one_note():
    notes = grid_report.Footnotes()
    failed = "Failed to build `flask=={}`: SyntaxError: Missing parentheses in call to 'print'"
    marks = [
        notes.mark(Cell("era", version, "3.13", "install-failed", detail=failed.format(version)))
        for version in ("0.7", "0.8")
    ]
    assert marks == ["✗ [1]", "✗ [1]"]
    assert notes.render() == f"1. `` install-failed: {failed.format('X')} ``"


def test_a_machine_without_a_python_keeps_the_cells_observed_on_it(tmp_path, monkeypatch):
    def fake_observe(spec, url, settings, log, cache, kept):
        return Cell(spec.kind, "2.0.3", spec.python, "ok", observed_at="2026-12-01T00:00:00Z")

    monkeypatch.setattr(grid, "observe", fake_observe)
    monkeypatch.setattr(index, "configured_index_url", lambda explicit=None: "file:///i/")
    everywhere = [CellSpec("era", release("2.0.3"), i, minor_text(i)) for i in MACHINE]
    grid.observe_release(everywhere[0].release, everywhere, tmp_path, log=lambda line: None)
    path = release_file(tmp_path, "2.0.3")
    before = sorted(c.python or "" for c in grid_records.load(path).cells)
    grid.observe_release(everywhere[0].release, everywhere[-1:], tmp_path, log=lambda line: None)
    assert sorted(c.python or "" for c in grid_records.load(path).cells) == before, "nothing observed is dropped"

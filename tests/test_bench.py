"""The benchmark's plumbing: its numbers from data, its page from its numbers, and a tiny real run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import jsonschema
import pytest

from scripts.audit.plan import Plan, plans
from scripts.bench import records as bench_records
from scripts.bench import run as bench
from scripts.bench.records import FLOOR_MARK, Bench, EnvironmentPair, Measurement, Phase
from scripts.common.jsonio import read_json
from scripts.constraints.records import Attempt
from scripts.grid import records as grid_records
from scripts.grid import run as grid_run
from scripts.grid.cells import relevant, specs
from scripts.grid.records import Cell, GridRecord
from scripts.layout import REPO, Layout
from scripts.packages import catalogue, index, interpreters
from scripts.packages.catalogue import load_lines
from scripts.report import bench as bench_report
from scripts.report import pages

COMMITTED = REPO.bench_data


def sample() -> Bench:
    return Bench(
        made_at="2026-11-25T08:00:00Z",
        machine={"cores": 2, "load_before": [0.1, 0.2, 0.3], "load_after": [1.0, 0.5, 0.4], "nox": "x", "uv": "uv"},
        settings={"releases": ["1.0", "2.0.3"], "catalogue": 62, "jobs": 2, "mode_jobs": 3, "negative_window": 0.5},
        measurements=[
            Measurement("cold", "cold audit", 2, [9.0, 7.0, 8.0], [12.0, 10.0, 11.0], 180, 62),
            Measurement("cached", "cached rerun", 62, [12.0, 11.0], [20.0, 18.0], 10, 62),
            Measurement("one", "one release cold", 1, [3.0], [2.0], 10, 1),
            Measurement("verdict-threaded", "threaded verdict", 1, [0.2, 0.3, 0.1]),
        ],
        pairs=[EnvironmentPair("1.0", "3.9.18", 1.0, 4.0, 2), EnvironmentPair("2.0.3", "3.13.0", 0.5, 5.0, 0)],
        profile=[Phase("cached", "environment ready (uv)", 3.5), Phase("cold", "modes observed", 2.0)],
    )


def validator() -> jsonschema.Draft202012Validator:
    schema = read_json(bench_records.SCHEMA_PATH)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_median_and_ratio():
    assert bench_records.median([3.0, 1.0, 2.0]) == 2.0
    assert bench_records.median([1.0, 2.0]) == 1.5
    assert bench_records.median([]) is None
    assert bench_records.uv_pip_ratio(sample().pairs) == pytest.approx(9.0 / 1.5)
    assert bench_records.uv_pip_ratio([]) is None


def test_targets_are_judged_on_the_median_and_extrapolated_to_the_target_count():
    cold, cached, one, threaded = sample().measurements
    assert bench_records.scaled(cold) == pytest.approx(8.0 * 62 / 2)
    assert bench_records.verdict(cold) == "not met (extrapolated)"
    assert bench_records.verdict(cached) == "not met"
    assert bench_records.verdict(one) == "met"
    assert bench_records.verdict(threaded) == ""


def test_page_is_generated_from_the_data():
    page = bench_report.render(sample())
    assert "| cold audit | 2 | 3 | 8.00 s | 11.00 s | ≤ 180 s for 62 | 248.00 s | not met (extrapolated) |" in page
    assert "pip 9.00 s / uv 1.50 s = **6.0x**" in page
    assert "| 1.0 | 3.9.18 | 1.00 s | 4.00 s | 4.0x | 2 |" in page
    limits = bench_report.limits(sample())
    assert len(limits) == 2, "cold and cached miss their targets; the uv ratio meets it"
    assert limits[1].startswith("cached rerun: measured 11.50 s for 62 releases, target ≤ 10 s")
    assert "environment ready (uv) 3.5 s" in limits[1]
    assert bench_report.split(sample().pairs) == (
        "All dependencies wheels: 1 release, 10.0x (uv median 0.50 s); "
        "uv built sdists (a build both paths pay): 1 release, 4.0x (uv median 1.00 s)."
    )


def test_data_round_trips_and_validates():
    data = json.loads(json.dumps(sample().to_json()))
    validator().validate(data)
    assert Bench.from_json(data) == sample()


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed benchmark yet")
def test_committed_benchmark_validates_and_renders_to_the_committed_page():
    data = json.loads(COMMITTED.read_text())
    validator().validate(data)
    assert (COMMITTED.parent / "bench.md").read_text() == bench_report.render(Bench.from_json(data))


def test_session_phases_are_summed_per_installer_from_the_session_logs():
    found_plans = {plan.version: plan for plan in plans(catalogue.load(REPO.releases), interpreters.discover())}
    log = "\n".join(
        [
            "nox > Running session observe(0.9)",
            "nox > default: one at a time, main thread only, 1 in flight (0.82s)",
            "nox > environment ready in 2.50s, 4 modes observed in 1.00s",
            "nox > Running session observe(2.0.3)",
            "nox > default: concurrent, threads, 5 in flight (0.50s)",
            "nox > processes3: concurrent, forked processes, 3 in flight, 6 pids for 6 requests (1.25s)",
            "nox > environment ready in 0.50s, 5 modes observed in 0.75s",
            "nox > Running session observe(3.1.3)",
            "nox > Flask 3.1.3: cached observation of 2026-11-25T07:27:58Z (ok); --force re-observes",
        ]
    )
    chosen = [found_plans["0.9"], found_plans["2.0.3"], found_plans["3.1.3"]]
    found = {p.phase: p.seconds for p in bench.session_phases("cold", log, chosen)}
    if found_plans["0.9"].installer == "pip":
        assert found["environment ready (pip, Python 2.7)"] == 2.5
    assert found["modes observed (wall per release)"] == 1.75
    modes = {p.phase: p.seconds for p in bench.mode_phases("warm", log)}
    assert modes == {"mode default (start, observe, stop)": 1.32, "mode processes3 (start, observe, stop)": 1.25}


@pytest.mark.slow
def test_a_tiny_bench_run_completes_and_writes_valid_data(tmp_path):
    releases = "0.12.5,2.0.3"
    found_plans = {plan.version: plan for plan in plans(catalogue.load(REPO.releases), interpreters.discover())}
    if any(found_plans[v].interpreter is None for v in releases.split(",")):
        pytest.skip("the interpreters for these releases are not on this machine")
    committed = {path: path.stat().st_mtime_ns for path in REPO.results.glob("*.json")}
    options, layout = bench.parse(
        [
            *("--releases", releases, "--rounds", "1", "--workdir", str(tmp_path / "work")),
            *("--output", str(tmp_path), "--no-fresh-clone", "--no-grid"),
        ]
    )
    assert layout == Layout(tmp_path)
    result = bench.main(options, log=lambda line: None)
    pages.write_bench(layout, result)
    data = json.loads((tmp_path / "reports" / "bench.json").read_text())
    validator().validate(data)
    assert {m.name for m in result.measurements} >= {"cold", "warm", "cached", "cached-j1", "one", "verdict-default"}
    assert [p.release for p in result.pairs] == ["0.12.5", "2.0.3"]
    assert (tmp_path / "reports" / "bench.md").read_text() == bench_report.render(result)
    assert {p.phase for p in result.profile if p.run == "warm"} >= {"mode default (start, observe, stop)"}
    cold_floor, probes_floor = bench_records.floor(result, "cold"), bench_records.floor(result, "warm")
    assert cold_floor is not None and probes_floor is not None
    assert cold_floor.seconds > probes_floor.seconds, "the cold run's floor adds the environments made alone"
    assert len(list((tmp_path / "work" / "out" / "reports" / "results").glob("flask-*.json"))) == 2
    assert {path: path.stat().st_mtime_ns for path in committed} == committed, "committed records untouched"


def test_the_fresh_clone_runs_the_readmes_audit_command_verbatim():
    command = bench.readme_audit_command()
    assert command == (REPO.root / "README.md").read_text().split("```\n", 2)[1].splitlines()[0]
    assert "-m nox" in command and "-s audit" in command and "requirements/audit.txt" in command


def test_the_fresh_clone_starts_from_empty_caches_and_inherits_nothing_this_project_hands_down(tmp_path, monkeypatch):
    monkeypatch.setenv("UV_CACHE_DIR", "/somewhere/warm")
    monkeypatch.setenv("UV_NO_CACHE", "1")
    monkeypatch.setenv(bench.index.HANDED_DOWN, "http://127.0.0.1:9/simple/")
    env = bench.fresh_environment(tmp_path)
    assert "UV_NO_CACHE" not in env
    chosen = bench.fresh_environment(tmp_path, "http://127.0.0.1:8/simple/")
    assert chosen["UV_DEFAULT_INDEX"] == chosen["PIP_INDEX_URL"] == "http://127.0.0.1:8/simple/"
    assert env["UV_CACHE_DIR"] == str(tmp_path / "uv")
    assert env["PIP_CACHE_DIR"] == str(tmp_path / "pip")
    assert env["VIRTUALENV_OVERRIDE_APP_DATA"] == str(tmp_path / "virtualenv")
    assert bench.index.HANDED_DOWN not in env
    assert not any(tmp_path.iterdir()), "the caches are empty folders-to-be"


def test_a_missed_target_is_set_against_the_floor_the_probes_alone_measured():
    measured = sample()
    measured.measurements += [
        Measurement("warm", "warm audit", 62, [120.0], [230.0], 30, 62),
        Measurement("grid-cold", "full grid, cold", 62, [900.0], [1700.0], 600, 62),
    ]
    measured.profile += [
        Phase("warm", "modes observed (wall per release)", 180.0),
        Phase("warm", f"the probes alone: 190.0 CPU-s for every mode of 62 releases, / 2 cores {FLOOR_MARK}", 95.0),
        Phase("grid-cold", f"the processes its cells started: 420.0 CPU-s; the lesser, / 2 cores {FLOOR_MARK}", 210.0),
    ]
    assert bench_records.floor(measured, "warm").seconds == 95.0
    limits = bench_report.limits(measured)
    warm = next(line for line in limits if line.startswith("warm audit"))
    assert "summed over sessions: modes observed (wall per release) 180.0 s." in warm
    assert "Its floor is 95.0 s, above the target: the probes alone: 190.0 CPU-s for every mode of 62" in warm
    assert "25.0 s of this run is above the floor" in warm
    cold = next(line for line in limits if line.startswith("cold audit"))
    assert "Its floor is 95.0 s" in cold, "without a floor of its own, an audit run is set against the probes'"
    own = f"the probes alone (190.0 CPU-s) and the environments alone (40.0 CPU-s), / 2 cores {FLOOR_MARK}"
    measured.profile.append(Phase("cold", own, 115.0))
    measured.measurements[0].cpu = [250.0]  # above its own floor: the run did the work the floor measures
    cold = next(line for line in bench_report.limits(measured) if line.startswith("cold audit"))
    assert "Its floor is 115.0 s, above the target: the probes alone (190.0 CPU-s) and the environments" in cold
    measured.settings["probed"] = 31
    measured.measurements.append(Measurement("fresh-clone", "fresh clone", 62, [300.0], [400.0], 150, 62))
    fresh = next(line for line in bench_report.limits(measured) if line.startswith("fresh clone"))
    assert "Its floor is 190.0 s (measured over 31 releases, in proportion), above the target" in fresh
    own = f"the tool install alone (20.0 CPU-s), the environments of 62 releases alone, … / 2 cores {FLOOR_MARK}"
    measured.profile.append(Phase("fresh-clone", own, 160.0))
    fresh = next(line for line in bench_report.limits(measured) if line.startswith("fresh clone"))
    assert "Its floor is 160.0 s, above the target: the tool install alone" in fresh, "its own floor: not scaled again"
    grid = next(line for line in limits if line.startswith("full grid, cold"))
    assert "Its floor is 210.0 s, within the target: the processes its cells started: 420.0 CPU-s" in grid
    assert "690.0 s of this run is above the floor" in grid


def _plan(version: str) -> Plan:
    releases = catalogue.load(REPO.releases)
    return next(p for p in plans(releases, interpreters.discover()) if p.version == version)


def _running_with(text: str) -> list[str]:
    """The command lines of this machine's processes that mention ``text``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            line = cmdline.read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # ended meanwhile
        if text in line:
            found.append(line)
    return found


def _listing(*folders: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for folder in folders for path in folder.glob("*")}


def test_a_floor_that_used_more_cpu_than_its_run_is_no_floor():
    measured = sample()
    measured.measurements = [m for m in measured.measurements if m.name != "cold"]
    measured.profile = [p for p in measured.profile if p.run != "cold"]
    measured.measurements.append(Measurement("cold", "cold audit", 62, [186.0], [300.0], 90, 62))
    alone = f"the probes alone (157.3 CPU-s) and the environments alone (200.0 CPU-s), / 2 cores {FLOOR_MARK}"
    measured.profile.append(Phase("cold", alone, 178.65))
    assert bench_report.void_floor(measured, "cold")
    cold = next(line for line in bench_report.limits(measured) if line.startswith("cold audit"))
    assert "It has no floor: the probes alone (157.3 CPU-s) and the environments alone" in cold
    assert "that is more CPU than the run itself used (300.0 CPU-s), so it bounds nothing." in cold
    assert "Its floor is" not in cold
    page = bench_report.render(measured)
    assert f"(200.0 CPU-s), / 2 cores {bench_report.NOT_A_FLOOR} | 178.65 |" in page
    assert f"(200.0 CPU-s), / 2 cores {FLOOR_MARK}" not in page
    measured.measurements[-1].cpu = [400.0]
    assert not bench_report.void_floor(measured, "cold")
    cold = next(line for line in bench_report.limits(measured) if line.startswith("cold audit"))
    assert "Its floor is 178.7 s, above the target" in cold and "no floor" not in cold


@pytest.mark.slow
def test_a_cells_session_says_what_its_cells_processes_used_and_nox_itself_is_not_in_it(tmp_path):
    # Flask 2.0.0 heads no line (no Werkzeug search: a few environments); Python 2.7 is ruled out by its metadata.
    releases = catalogue.load(REPO.releases)
    release = next(r for r in releases if r.version == "2.0.0")
    found = interpreters.discover(tmp_path / "interpreters.json")
    cells = specs(release, found, relevant(load_lines(REPO.werkzeug_lines)), catalogue.lines(releases))
    observed = sum(grid_run._ruled_out(spec) is None for spec in cells)
    if observed < 2:
        pytest.skip("this machine lacks two Pythons that Flask 2.0.0 allows")
    committed = _listing(REPO.grid, REPO.constraints, REPO.results)
    options, _ = bench.parse(["--workdir", str(tmp_path), "--releases", "2.0.0"])
    root = bench.grid_root(tmp_path)
    timed = bench.nox_grid([_plan("2.0.0")], tmp_path / "envs", root, options)
    used = bench.cells_cpu(timed.output, 1, timed.cpu)
    # The installers and probes are most of the run; nox's and the session's own Python work are not in it.
    assert 0.5 * timed.cpu < used < timed.cpu
    assert len(grid_records.load(Layout(root).grid / "flask-2.0.0.json").cells) == len(cells)
    assert _listing(REPO.grid, REPO.constraints, REPO.results) == committed, "nothing written in reports/"


def test_a_grid_run_whose_sessions_did_not_all_say_what_their_cells_used_fails_the_benchmark():
    output = f"nox > Running session cells(1.0)\nnox > {bench_records.cells_cpu_line(12.5)}\n" * 2
    assert bench_records.cells_cpu_seconds(output) == [12.5, 12.5]
    assert bench.cells_cpu(output, 2, 30.0) == 25.0
    with pytest.raises(bench.BenchFailed, match="2 of the grid's 3 cells sessions said what"):
        bench.cells_cpu(output, 3, 30.0)
    with pytest.raises(bench.BenchFailed, match=r"25\.0 CPU-s of the run.s 20\.0"):
        bench.cells_cpu(output, 2, 20.0)
    nothing = f"nox > {bench_records.cells_cpu_line(0.0)}\n"
    with pytest.raises(bench.BenchFailed, match="does not count child processes' CPU"):
        bench.cells_cpu(nothing, 1, 30.0)


def test_a_release_named_twice_is_refused_before_anything_runs():
    plans_here = bench.audit_plans(interpreters.discover())
    with pytest.raises(bench.cli.OptionError, match=r"named more than once: 2\.0\.3"):
        bench.chosen(plans_here, ("2.0.3", "1.0", "2.0.3"))


@pytest.mark.slow
def test_the_grids_cells_observed_alone_are_every_cell_a_cells_session_observes_and_come_out_the_same(tmp_path):
    # Flask 2.0.0 heads no line (no Werkzeug search: a few environments); Python 2.7 is ruled out by its metadata.
    releases = catalogue.load(REPO.releases)
    release = next(r for r in releases if r.version == "2.0.0")
    cache = tmp_path / "interpreters.json"
    found = interpreters.discover(cache)
    cells = specs(release, found, relevant(load_lines(REPO.werkzeug_lines)), catalogue.lines(releases))
    expected = sum(grid_run._ruled_out(spec) is None for spec in cells)
    if not 2 <= expected < len(cells):
        pytest.skip("this machine lacks a Python that Flask 2.0.0 rules out, or two that it allows")
    committed = _listing(REPO.grid, REPO.constraints, REPO.results)
    url = index.configured_index_url(None)
    cpu, cells_cpu, observed, folder = bench.cells_alone([_plan("2.0.0")], tmp_path, url, cache, 1)
    assert observed == expected, "every cell but the ruled-out ones, each counted once"
    assert cpu > 0.2 * observed, "the replay's processes and every installer and probe they started are counted"
    assert 0.5 * cpu < cells_cpu < cpu, "the cells' installers and probes, without the replay's own Python work"
    assert len(grid_records.load(folder / "flask-2.0.0.json").cells) == len(cells)
    assert folder.is_relative_to(tmp_path) and not (tmp_path / "grid-alone-searches").exists()
    assert _listing(REPO.grid, REPO.constraints, REPO.results) == committed, "nothing written in reports/"
    # Observed again, the era cells come out as the committed grid's did (the plain install follows today).
    (tmp_path / "committed").mkdir()
    shutil.copy(REPO.grid / "flask-2.0.0.json", tmp_path / "committed")
    differences = bench.replay_differences(tmp_path / "committed", folder)
    assert [line for line in differences if " declared " not in line] == []


def test_a_replay_that_differs_from_the_cold_run_is_named_cell_by_cell(tmp_path):
    cold, alone = tmp_path / "cold", tmp_path / "alone"
    record = GridRecord("1.0", "2018-04-26", None)
    record.cells = [
        Cell("era", "1.0", "3.9", "ok", packages={"werkzeug": "0.14.1"}),
        Cell("werkzeug", "1.0", "3.9", "ok", werkzeug_line="0.15", tried=["Python 3.9.18 []: served"]),
    ]
    grid_records.save(record, cold)
    grid_records.save(record, alone)
    assert bench.replay_differences(cold, alone) == []
    record.cells[1].tried = ["Python 3.10.13 []: import-failed", "Python 3.9.18 []: served"]
    grid_records.save(record, alone)
    (found,) = bench.replay_differences(cold, alone)
    assert found == (
        "flask-1.0.json werkzeug 0.15: tried ['Python 3.9.18 []: served'] in the cold run, "
        "['Python 3.10.13 []: import-failed', 'Python 3.9.18 []: served'] alone"
    )
    record.cells[1].tried, record.cells[0].detail = ["Python 3.9.18 []: served"], "a note"
    record.cells[0].observed_at = "2026-11-29T10:00:00Z"  # when, and under which key, never count
    grid_records.save(record, alone)
    assert bench.replay_differences(cold, alone) == [
        "flask-1.0.json era 3.9: detail None in the cold run, 'a note' alone"
    ]
    grid_records.save(GridRecord("2.0.3", "2022-02-08", ">=3.6"), alone)
    assert "flask-2.0.3.json: only in the replay" in bench.replay_differences(cold, alone)


def test_a_replay_that_fails_or_runs_out_of_time_fails_the_benchmark_and_leaves_nothing_running(tmp_path, monkeypatch):
    unknown = replace(_plan("2.0.0"), release=replace(_plan("2.0.0").release, version="9.9"))
    with pytest.raises(bench.BenchFailed, match=r"Flask 9\.9 \(1\): StopIteration"):
        bench.cells_alone([unknown], tmp_path, "http://127.0.0.1:9/simple", tmp_path / "interpreters.json", 1)
    assert not (tmp_path / "grid-alone-searches").exists()
    monkeypatch.setattr(bench, "RUN_TIMEOUT", 0.2)
    started = time.monotonic()
    with pytest.raises(bench.BenchFailed, match=r"2\.0\.0 did not finish within 0\.2s"):
        bench.cells_alone([_plan("2.0.0")], tmp_path, "http://127.0.0.1:9/simple", tmp_path / "i.json", 1)
    assert time.monotonic() - started < 10, "the replay still running was stopped, not waited for"
    assert _running_with(str(tmp_path)) == [], "no replay outlives the failure"
    assert not (tmp_path / "grid-alone-searches").exists()


def test_the_grid_measurement_counts_the_cells_it_observed():
    total, served = bench.grid_cells(REPO.root)
    page = REPO.grid_page.read_text()
    assert total >= 900 and 0 < served < total
    assert str(total) in page


def test_the_environments_alone_see_the_variables_given_and_leave_this_process_as_it_was(monkeypatch):
    monkeypatch.setenv("UV_CACHE_DIR", "/somewhere/warm")
    before = dict(bench.os.environ)
    with bench.environment_variables({"UV_CACHE_DIR": "/empty", "PATH": before["PATH"]}):
        assert dict(bench.os.environ) == {"UV_CACHE_DIR": "/empty", "PATH": before["PATH"]}
    assert dict(bench.os.environ) == before
    with pytest.raises(KeyError), bench.environment_variables({}):
        raise KeyError("a failure inside")
    assert dict(bench.os.environ) == before


def test_the_grids_work_is_counted_from_its_records_and_its_searchs_attempts(tmp_path):
    record = GridRecord("1.0", "2018-04-26", None)
    record.cells = [
        Cell("era", "1.0", "2.7", "ok"),
        Cell("era", "1.0", "3.13", "import-failed"),
        Cell("era", "1.0", "3.6", "not-allowed"),  # ruled out: no environment made
        Cell("declared", "1.0", "3.13", "ok"),
        Cell("werkzeug", "1.0", "3.9", "ok", werkzeug_line="0.15"),  # its attempts are counted instead
    ]
    grid_records.save(record, Layout(tmp_path).grid)
    day = tmp_path / "searches" / "attempts" / "2026-11-29"
    day.mkdir(parents=True)
    attempts = [Attempt("2.7.18", [], "served"), Attempt("3.13.0", [], "install-failed")]
    attempts.append(Attempt("3.9.18", [], "served"))
    for number, attempt in enumerate(attempts):
        (day / f"{number}.json").write_text(json.dumps(asdict(attempt)))
    assert bench.grid_work(tmp_path, tmp_path / "searches") == (
        "3 era and plain-install cells and 3 attempts of the Werkzeug cells' searches (1 of which did not install), "
        "2 of all these on Python 2.7 (virtualenv and pip)"
    )


def _grid_with(monkeypatch, tmp_path, alone: float, differences: list[str]) -> list[Phase]:
    """``_grid`` with its runs stood in for: a cold run whose two sessions counted 700 CPU-s each of 1600."""
    root = tmp_path / "grid"
    Layout(root).grid.mkdir(parents=True)
    counted = f"nox > {bench_records.cells_cpu_line(700.0)}\n" * 2
    runs = iter([bench.Timed(900.0, 1600.0, counted), bench.Timed(250.0, 430.0, "")])
    monkeypatch.setattr(bench, "grid_root", lambda work, name="grid": root)
    monkeypatch.setattr(bench, "nox_grid", lambda *args: next(runs))
    monkeypatch.setattr(bench, "grid_cells", lambda folder: (980, 502))
    monkeypatch.setattr(bench, "grid_work", lambda folder, searches: "the work")
    monkeypatch.setattr(bench, "cells_alone", lambda *args: (alone + 100.0, alone, 862, tmp_path))
    monkeypatch.setattr(bench, "replay_differences", lambda cold, replayed: differences)
    options, _ = bench.parse(["--workdir", str(tmp_path)])
    measurements, phases = bench._grid([_plan("1.0"), _plan("2.0.3")], tmp_path, options, "http://x", print)
    assert [m.name for m in measurements] == ["grid-cold", "grid-forced"]
    return phases


def test_the_cold_grids_floor_is_the_lesser_count_of_its_cells_processes_and_none_where_a_cell_differs(
    monkeypatch, tmp_path
):
    cores = bench.os.cpu_count() or 1
    (lesser_in_run,) = _grid_with(monkeypatch, tmp_path / "a", alone=1500.0, differences=[])
    assert lesser_in_run.phase.endswith(FLOOR_MARK) and lesser_in_run.seconds == round(1400.0 / cores, 2)
    assert "1400.0 CPU-s of the run's 1600.0" in lesser_in_run.phase and "1500.0 CPU-s" in lesser_in_run.phase
    (lesser_alone,) = _grid_with(monkeypatch, tmp_path / "b", alone=1300.0, differences=[])
    assert lesser_alone.seconds == round(1300.0 / cores, 2)
    (differs,) = _grid_with(monkeypatch, tmp_path / "c", alone=1300.0, differences=["flask-1.0.json era 3.9: …"])
    assert differs.phase.endswith(bench_records.NO_FLOOR_MARK) and not differs.phase.endswith(FLOOR_MARK)
    measured = sample()
    measured.measurements.append(Measurement("grid-cold", "full grid, cold", 62, [900.0], [1600.0], 600, 62))
    measured.profile.append(differs)
    grid = next(line for line in bench_report.limits(measured) if line.startswith("full grid, cold"))
    assert "It has no floor: the processes its cells started" in grid and "summed over sessions" not in grid
    assert f"| grid-cold | {differs.phase} | — |" in bench_report.render(measured)


def test_a_replay_that_ends_without_its_count_fails_the_benchmark(tmp_path, monkeypatch):
    monkeypatch.setattr(bench, "REPLAY", "this")  # exits 0, its last line no count
    with pytest.raises(bench.BenchFailed, match=r"Flask 2\.0\.0 \(0\)"):
        bench.cells_alone([_plan("2.0.0")], tmp_path, "http://127.0.0.1:9/simple", tmp_path / "i.json", 1)
    assert not (tmp_path / "grid-alone-searches").exists()


def test_werkzeug_cells_searched_without_an_attempt_kept_fail_the_benchmark(tmp_path):
    record = GridRecord("1.0", "2018-04-26", None)
    record.cells = [Cell("werkzeug", "1.0", "3.9", "ok", werkzeug_line="0.15", tried=["Python 3.9.18 []: served"])]
    grid_records.save(record, Layout(tmp_path).grid)
    with pytest.raises(bench.BenchFailed, match="no attempt is kept under"):
        bench.grid_work(tmp_path, tmp_path / "elsewhere")


def test_children_cpu_counts_the_processes_waited_for_and_not_this_ones_own():
    before = bench_records.children_cpu()
    started = time.process_time()
    while time.process_time() - started < 0.3:
        pass
    assert bench_records.children_cpu() - before < 0.05
    spin = "import time\nt = time.process_time()\nwhile time.process_time() - t < 0.3:\n    pass"
    subprocess.run([sys.executable, "-c", spin], check=True)
    assert bench_records.children_cpu() - before >= 0.29

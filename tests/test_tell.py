"""What the alarm and the audit tell people: the decision, and the write job's steps as the runner would take them."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.ci import tell
from scripts.ci.verdict import Verdict
from scripts.layout import ROOT
from tests.test_regression import copy_baseline, run_alarm

WORKFLOWS = ROOT / ".github" / "workflows"
RUN_URL = "https://runs.example/1"


def told(verdict: Path, folder: Path, history: Path | None = None, *options: str) -> dict[str, str]:
    """The outputs ``python -m scripts.ci.tell`` gives the workflow, plus the body it wrote (``body``)."""
    args = [sys.executable, "-m", "scripts.ci.tell", str(verdict), "--run-url", RUN_URL]
    args += ["--body", str(folder / "body.md"), "--record", str(folder / "kept" / "verdict.json"), *options]
    if history is not None:
        args += ["--history", str(history)]
    (folder / "kept").mkdir(parents=True, exist_ok=True)
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    outputs = dict(line.split("=", 1) for line in done.stdout.splitlines())
    return {**outputs, "body": (folder / "body.md").read_text(), "said": done.stderr}


def verdict(code: int | None, **fields: Any) -> Verdict:
    return Verdict(code, f"regression: exit {code}", **fields)


# -- the decision --------------------------------------------------------------------------------


def test_a_change_is_an_issue_naming_the_releases_and_packages_and_the_run_fails():
    changed = verdict(1, summary="## the summary\n", releases=("3.1.3",), moved=("werkzeug 3.1.9 -> 9.1.0",))
    message = tell.decide(changed, [], RUN_URL)
    assert (message.action, message.label, message.fail) == ("issue", tell.CHANGED_LABEL, True)
    assert message.title == "Regression alarm: behaviour changed in Flask 3.1.3"
    assert "Packages that moved: werkzeug 3.1.9 -> 9.1.0." in message.body
    assert "## the summary" in message.body and RUN_URL in message.body


def test_something_new_that_behaves_the_same_is_a_pull_request_and_nothing_new_is_nothing():
    message = tell.decide(verdict(0, accepted=("9.0.0", "3.1.3 (today)")), [], RUN_URL)
    assert (message.action, message.fail) == ("pull-request", False)
    assert message.title == tell.PROPOSALS["alarm"]
    assert "Accepted: 9.0.0, 3.1.3 (today)" in message.body and RUN_URL in message.body
    assert tell.decide(verdict(0, accepted=("1.0",)), [], RUN_URL, source="audit").title == tell.PROPOSALS["audit"]
    assert tell.decide(verdict(0), [], RUN_URL) == tell.Message("none", said="nothing new: nothing to tell")


def test_could_not_run_opens_an_issue_only_at_the_threshold_of_runs_in_a_row():
    down, fine = verdict(2, at="b"), verdict(0, at="a")
    assert tell.decide(down, [], RUN_URL).action == "none"
    assert tell.decide(down, [down], RUN_URL).action == "none"
    third = tell.decide(down, [down, down, fine, down], RUN_URL)
    assert (third.action, third.label, third.fail) == ("issue", tell.BROKEN_LABEL, True)
    assert "could not run 3 times in a row" in third.body
    assert tell.decide(down, [down, fine, down], RUN_URL).action == "none", "a run that ran breaks the streak"
    assert tell.decide(down, [down, down], RUN_URL, threshold=4).action == "none"
    assert tell.decide(verdict(None), [down, down], RUN_URL).action == "issue", "no verdict: could not run"


def test_a_missing_or_damaged_verdict_is_a_run_that_could_not_run(tmp_path):
    assert Verdict.read(tmp_path / "verdict.json").could_not_run
    (tmp_path / "verdict.json").write_text('{"code": 7, "last_line": "x"}')
    damaged = Verdict.read(tmp_path / "verdict.json")
    assert damaged.code is None and "none of the alarm's exits" in damaged.last_line
    (tmp_path / "verdict.json").write_text('{"code": 1, "last_line": "x", "changes": "not a list"}')
    assert Verdict.read(tmp_path / "verdict.json").code is None


# -- the real alarm, its verdict, and what is told --------------------------------------------------


def test_the_alarm_that_could_not_run_three_times_in_a_row_opens_an_issue(tmp_path):
    """The real alarm against an index that does not answer, three daily runs, each told with the ones before."""
    history = tmp_path / "history"
    actions = []
    for day in range(1, 4):
        output = copy_baseline(tmp_path / f"project-{day}")
        run = tmp_path / f"run-{day}"
        run.mkdir()
        done = run_alarm("--index-url", "http://127.0.0.1:9/simple/", "--output", str(output), "--verdict",
                         str(run / "verdict.json"))  # fmt: skip
        assert done.returncode == 2, done.stdout[-2000:]
        outputs = told(run / "verdict.json", run, history)
        actions.append((outputs["action"], outputs["fail"]))
        # What the workflow uploads as alarm-verdict, and the next run downloads into history/<run id>/.
        (history / str(day)).mkdir(parents=True)
        (history / str(day) / "verdict.json").write_text((run / "kept" / "verdict.json").read_text())
    assert actions == [("none", "false"), ("none", "false"), ("issue", "true")]
    assert outputs["label"] == tell.BROKEN_LABEL
    assert outputs["body"].count("regression: could not run (exit 2): the package index could not") == 3


def test_a_run_whose_observing_job_left_no_verdict_is_told_as_could_not_run(tmp_path):
    outputs = told(tmp_path / "missing" / "verdict.json", tmp_path)
    assert outputs["action"] == "none" and "could not run (1 in a row; an issue at 3)" in outputs["said"]
    kept = json.loads((tmp_path / "kept" / "verdict.json").read_text())
    assert kept["code"] is None and kept["at"], "kept for the next run's count, with a time to order it by"


# -- the write job's steps, as the runner would take them ---------------------------------------------


def steps(workflow: str, job: str) -> list[dict[str, Any]]:
    return yaml.safe_load((WORKFLOWS / workflow).read_text())["jobs"][job]["steps"]


def holds(condition: str | None, context: dict[str, str]) -> bool:
    """A step's ``if:`` of the forms the workflows use (``a.b == 'x'``, ``!=``, ``&&``), evaluated on ``context``."""
    if condition is None:
        return True
    expression = condition.strip().removeprefix("${{").removesuffix("}}").strip()
    assert re.fullmatch(r"[\w.\-' =!&|()]+", expression), expression
    python = re.sub(r"\b[a-z_]+(?:\.[a-z_\-]+)+", lambda m: repr(context.get(m.group(0), "")), expression)
    # A run that is not being cancelled: the status functions as they answer then.
    python = python.replace("cancelled()", "False").replace("always()", "True").replace("!=", " <> ")
    python = python.replace("!", " not ").replace(" <> ", " != ")
    # Only names, quoted words and operators got here (checked above): the workflows' own text, nothing else.
    return bool(eval(python.replace("&&", " and ").replace("||", " or ")))


def taken(outputs: dict[str, str], source: str = "alarm", event: str = "schedule") -> list[str]:
    """What the tell job's steps would do with ``outputs``: the uses or the name of each step that runs."""
    context = {f"steps.tell.outputs.{key}": value for key, value in outputs.items()}
    context |= {"inputs.source": source, "github.event_name": event}
    return [s.get("uses", "").split("@")[0] or s.get("name", s.get("id", "")) for s in steps("tell.yml", "tell")
            if holds(s.get("if"), context)]  # fmt: skip


@pytest.mark.parametrize(
    ("code", "accepted", "opens"),
    [(0, ["9.0.0"], "pull request"), (1, [], "issue"), (0, [], "nothing"), (2, [], "nothing")],
)
def test_the_write_job_opens_what_the_decision_says_and_nothing_else(tmp_path, code, accepted, opens):
    (tmp_path / "verdict.json").write_text(json.dumps({"code": code, "last_line": "x", "accepted": accepted}))
    outputs = told(tmp_path / "verdict.json", tmp_path)
    ran = taken(outputs)
    assert ("peter-evans/create-pull-request" in ran) == (opens == "pull request"), ran
    assert ("Open the issue, or comment on the one open" in ran) == (opens == "issue"), ran
    assert ("Fail the run when a person is needed" in ran) == (opens == "issue"), ran
    assert "actions/upload-artifact" in ran, "every alarm run keeps its verdict for the next one's count"
    proposal = next(s for s in steps("tell.yml", "tell") if s.get("uses", "").startswith("peter-evans/"))
    assert proposal["with"]["title"] == "${{ steps.tell.outputs.title }}" and proposal["with"]["body-path"] == "body.md"


def test_the_audit_proposes_through_the_same_write_job_and_only_the_alarm_counts_or_keeps_alive():
    ran = taken({"action": "pull-request", "fail": "false"}, source="audit", event="push")
    assert "peter-evans/create-pull-request" in ran
    assert not {"The verdicts of the alarm's earlier runs", "Keep the alarm's schedule enabled"} & set(ran)
    audit = yaml.safe_load((WORKFLOWS / "audit.yml").read_text())["jobs"]["propose"]
    alarm = yaml.safe_load((WORKFLOWS / "regression.yml").read_text())["jobs"]["tell"]
    assert audit["uses"] == alarm["uses"] == "./.github/workflows/tell.yml"
    assert audit["needs"] == "report" and "needs.report.result == 'success'" in audit["if"]


def issue_step(tmp_path: Path, open_issue: str) -> list[str]:
    """The issue step's script under bash -e with a stand-in ``gh`` that logs its calls; ``open_issue`` is what
    ``gh issue list`` answers."""
    script = next(s for s in steps("tell.yml", "tell") if s.get("name") == "Open the issue, or comment on the one open")
    (tmp_path / "bin").mkdir(parents=True)
    gh = tmp_path / "bin" / "gh"
    gh.write_text(
        f'#!/bin/sh\necho "$*" >> "{tmp_path}/calls"\n[ "$1 $2" = "issue list" ] && echo "{open_issue}"\nexit 0\n'
    )
    gh.chmod(0o755)
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "GITHUB_REPOSITORY": "o/r", "GH_TOKEN": "t",
           "TITLE": "Regression alarm: could not run", "LABEL": tell.BROKEN_LABEL}  # fmt: skip
    subprocess.run(["bash", "-e", "-c", script["run"]], env=env, cwd=tmp_path, timeout=30, check=True)
    return (tmp_path / "calls").read_text().splitlines()


def test_the_issue_step_opens_one_issue_and_comments_on_it_while_it_is_open(tmp_path):
    calls = issue_step(tmp_path / "first", "")
    title = "Regression alarm: could not run"
    assert calls[-1] == f"issue create --repo o/r --title {title} --label {tell.BROKEN_LABEL} --body-file body.md"
    assert issue_step(tmp_path / "later", "17")[-1] == "issue comment 17 --repo o/r --body-file body.md"


def test_the_observing_job_may_read_only_and_keeps_no_credentials():
    workflow = yaml.safe_load((WORKFLOWS / "regression.yml").read_text())
    observe = workflow["jobs"]["observe"]
    assert workflow["permissions"] == {} and observe["permissions"] == {"contents": "read"}
    checkout = next(s for s in observe["steps"] if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["persist-credentials"] is False
    assert not any(s.get("uses", "").startswith("peter-evans/") for s in observe["steps"])


@pytest.mark.parametrize("workflow", sorted(p.name for p in WORKFLOWS.glob("*.yml")))
def test_every_action_is_pinned_to_a_commit_and_every_job_says_its_permissions(workflow):
    text = (WORKFLOWS / workflow).read_text()
    for use in re.findall(r"uses: (\S+)", text):
        assert use.startswith("./") or re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", use), use
    loaded = yaml.safe_load(text)
    assert loaded["permissions"] == {}, "nothing granted to the whole workflow"
    for name, job in loaded["jobs"].items():
        assert "permissions" in job, f"{workflow}: job {name} inherits its permissions"
        for step in job.get("steps", []):
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, f"{workflow}: job {name} keeps a token on disk"


@pytest.mark.parametrize(
    "data",
    [
        {"code": 1, "last_line": "x", "releases": ["9.0.0\naction=pull-request"]},
        {"code": 1, "last_line": "x", "releases": ["9.0.0\r\nfail=false"]},
        {"code": True, "last_line": "x"},
    ],
    ids=["a line break in a release", "a carriage return in a release", "true for 1"],
)
def test_a_verdict_cannot_write_outputs_of_its_own(tmp_path, data):
    """The artifact comes from a job that ran the releases' code: what it says is data, never the step's outputs."""
    (tmp_path / "verdict.json").write_text(json.dumps(data))
    outputs = told(tmp_path / "verdict.json", tmp_path)
    assert outputs["action"] == "none" and "unreadable" in outputs["said"], outputs


def test_what_is_told_fits_githubs_limits(tmp_path):
    releases = [f"9.{minor}.0" for minor in range(200)]
    verdict_file = tmp_path / "verdict.json"
    verdict_file.write_text(json.dumps({"code": 1, "last_line": "x", "releases": releases, "summary": "y" * 100_000}))
    outputs = told(verdict_file, tmp_path)
    assert outputs["action"] == "issue" and len(outputs["title"]) == tell.TITLE_LIMIT
    assert len(outputs["body"]) <= tell.BODY_LIMIT and outputs["body"].endswith("the run's summary has it all)\n")

"""Real releases through the whole pipeline: nox sessions, real environments, real servers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from scripts.audit import records
from scripts.audit import run as audit
from scripts.audit.plan import plans
from scripts.common.jsonio import read_json
from scripts.layout import REPO, ROOT, Layout, release_file
from scripts.packages import catalogue, interpreters
from tests.conftest import processes_running

PLANS = {plan.version: plan for plan in plans(catalogue.load(REPO.releases), interpreters.discover())}
BEFORE_1_0, AFTER_1_0 = "0.12.5", "2.0.3"

pytestmark = pytest.mark.slow


def needs_interpreter(version: str) -> None:
    if PLANS[version].interpreter is None:
        pytest.skip(f"Flask {version} needs {PLANS[version].needs}, not found on this machine")


def audit_with_nox(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable, "-m", "nox", "-f", str(ROOT / "noxfile.py"), "--envdir", str(tmp_path / "envs"),
            "-s", f"observe({BEFORE_1_0})", f"observe({AFTER_1_0})", "render", *args, "--output", str(tmp_path),
        ],
        cwd=ROOT, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip


def test_nox_audits_one_release_before_and_one_after_1_0_two_at_a_time(tmp_path):
    for version in (BEFORE_1_0, AFTER_1_0):
        needs_interpreter(version)
    done = audit_with_nox(tmp_path, "-j", "2", "--", "--force")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    results = Layout(tmp_path).results
    schema = jsonschema.Draft202012Validator(read_json(records.SCHEMA_PATH))
    for path in results.glob("*.json"):
        schema.validate(json.loads(path.read_text()))
    before = records.load(release_file(results, BEFORE_1_0))
    after = records.load(release_file(results, AFTER_1_0))
    assert before.status == after.status == "ok", (before.detail, after.detail)
    assert before.modes["default"].concurrent is False and before.modes["default"].workers == "main thread only"
    assert after.modes["default"].concurrent is True and after.modes["default"].workers == "threads"
    assert before.packages["flask"] == BEFORE_1_0 and "werkzeug" in before.packages
    # The evidence behind claims 1, 2 and 6, as the probe reports it from inside the handler.
    assert before.modes["default"].server_classes[:2] == ["werkzeug.serving.BaseWSGIServer", "http.server.HTTPServer"]
    assert (before.modes["default"].multithread, before.modes["default"].multiprocess) == (False, False)
    assert after.modes["default"].server_classes[:2] == [
        "werkzeug.serving.ThreadedWSGIServer",
        "socketserver.ThreadingMixIn",
    ]
    assert (after.modes["default"].multithread, after.modes["default"].multiprocess) == (True, False)
    assert after.modes["default"].served_by_server_process is True
    for observation in (before, after):
        forks = observation.modes["processes3"]
        assert forks.server_classes[0] == "werkzeug.serving.ForkingWSGIServer" and forks.multiprocess is True
        assert forks.served_by_server_process is False and forks.distinct_pids == forks.sequential == 6
        assert set(observation.modes) == set(records.MODES), "both releases have the flask CLI"
        assert observation.modes["processes3"].max_in_flight == 3
        assert observation.modes["threaded_processes3"].outcome == "error"
        assert observation.modes["processes3_nofork"].outcome != "served", "no fork, no forking server"
        debug = observation.modes["debug"]
        assert debug.server_process == "reloader child" and debug.served_by_server_process is False
        assert debug.distinct_pids == 1, "the reloader's child is one serving process, not forked workers"
        assert records.behaviour(observation.modes["flask_run_debug"]) == records.behaviour(debug)
    # The call as most projects write it: the 1.0 default of threaded=True turns a forking server into a refusal.
    plain_before, plain_after = before.modes["processes3_plain"], after.modes["processes3_plain"]
    assert plain_before.workers == "forked processes" and plain_before.distinct_pids == plain_before.sequential
    assert plain_after.outcome == "error" and "multithreaded and multi process" in (plain_after.error or "")
    # The debug server serves like plain app.run() of its release; before 1.0 on the reloader's thread, not main.
    assert (before.modes["debug"].concurrent, before.modes["debug"].workers) == (False, "single thread")
    assert (after.modes["debug"].concurrent, after.modes["debug"].workers) == (True, "threads")

    matrix = (tmp_path / "reports" / "matrix.md").read_text()
    assert all(f"| [{v}](../docs/releases/{v}.md) |" in matrix for v in (BEFORE_1_0, AFTER_1_0))
    assert (tmp_path / "docs" / "index.md").exists() and (tmp_path / "docs" / "timeline.svg").exists()
    assert "## Claims" in (tmp_path / "docs" / "index.md").read_text()
    assert processes_running(str(ROOT / "probes")) == []

    written = {version: release_file(results, version).read_bytes() for version in (BEFORE_1_0, AFTER_1_0)}
    forced = audit_with_nox(tmp_path, "--", "--force")
    assert forced.returncode == 0, forced.stdout[-4000:] + forced.stderr[-4000:]
    for version, first in written.items():
        # The same evidence observed again: the file is left as it was, observed_at included.
        assert release_file(results, version).read_bytes() == first, f"a forced re-observation changed {version}"
    after = records.load(release_file(results, AFTER_1_0))

    rerun = audit_with_nox(tmp_path, "--")
    assert rerun.returncode == 0, rerun.stdout[-4000:] + rerun.stderr[-4000:]
    assert (rerun.stdout + rerun.stderr).count("cached observation of") == 2, "the environments are unchanged"
    assert records.load(release_file(results, AFTER_1_0)).observed_at == after.observed_at


def test_python27_release_is_audited_with_virtualenv_and_pip(tmp_path):
    version = "0.9"
    needs_interpreter(version)
    options = audit.Options(output=Layout(tmp_path))
    observation = audit.run(PLANS[version], tmp_path / "env", options, log=lambda line: None)
    assert observation.status == "ok", observation.detail
    assert observation.python is not None and observation.python.startswith("2.7.")
    assert observation.environment is not None and observation.environment.installer == "pip"
    assert observation.modes["default"].concurrent is False
    assert observation.modes["threaded"].concurrent is True
    assert "flask_run" not in observation.modes and "flask_run_debug" not in observation.modes, "Flask 0.9 has no CLI"
    assert observation.modes["debug"].server_process == "reloader child", "Python 2's reloader child is told apart too"
    # Python 2's SocketServer still has ForkingMixIn without os.fork: it listens, then every request dies.
    nofork = observation.modes["processes3_nofork"]
    assert nofork.outcome == "requests-failed"
    assert (nofork.server_log or "").startswith("AttributeError") and "fork" in (nofork.server_log or "")
    assert release_file(Layout(tmp_path).results, version).exists()

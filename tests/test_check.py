"""``nox -s check``: the harness against an environment the user already has, which it must not change."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from scripts.audit import check, records
from scripts.common.cli import OptionError
from scripts.common.jsonio import read_json
from scripts.layout import ROOT
from scripts.packages import environments, index, interpreters


def ignoring_threaded(serving: Path) -> None:
    """Make the environment's ``run_simple`` ignore ``threaded`` (as a patched fork might): its body starts by
    setting it to False."""
    text = serving.read_text()
    signature = re.search(r"^def run_simple\(.*?^\)[^\n]*:\n", text, re.MULTILINE | re.DOTALL)
    assert signature, "no run_simple in werkzeug/serving.py"
    serving.write_text(text[: signature.end()] + "    threaded = False\n" + text[signature.end() :])


def test_a_path_that_is_no_interpreter_is_refused_in_one_line(tmp_path):
    with pytest.raises(OptionError, match="is not an interpreter that can be run: give the path of one"):
        check.parse_options([str(tmp_path / "nothing")])
    options = check.parse_options([sys.executable, "--json", str(tmp_path / "out.json"), "--modes", "default"])
    assert (options.python, options.json, options.modes) == (Path(sys.executable), tmp_path / "out.json", ("default",))


def test_an_interpreter_without_flask_or_one_that_is_no_python_gets_one_line(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 0\n")
    fake.chmod(0o755)
    with pytest.raises(check.CheckFailed, match="does not start as a Python interpreter"):
        check.observe(check.Options(fake))
    bare = tmp_path / "bare"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(bare)], check=True)
    with pytest.raises(check.CheckFailed, match="has no Flask installed"):
        check.observe(check.Options(bare / "bin" / "python"))


def _contents(folder: Path) -> dict[str, str]:
    return {
        str(path.relative_to(folder)): hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
def test_a_werkzeug_whose_run_simple_ignores_threaded_is_seen_serving_one_at_a_time(tmp_path):
    newest = max(interpreters.discover(), key=lambda i: i.version)
    venv = tmp_path / "venv"
    python = environments.create_uv_venv(newest.path, venv)
    url = index.configured_index_url(None)
    # Copied, not linked from uv's cache: the test edits a file of the environment, never the cache's.
    install = ["pip", "install", "--link-mode", "copy", "--python", str(python), "--index-url", url, "flask"]
    done = subprocess.run(
        [*environments.uv_command(), *install],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    serving = next(venv.glob("lib/python*/site-packages/werkzeug/serving.py"))
    ignoring_threaded(serving)
    before = _contents(venv)
    written = tmp_path / "seen.json"
    ran = subprocess.run(
        [sys.executable, "-m", "nox", "-s", "check", "--", str(python), "--json", str(written)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stdout + ran.stderr
    table = [line for line in ran.stdout.splitlines() if line.startswith("  ")]
    assert table[0].split() == ["app.run()", "one", "at", "a", "time"], table
    assert _contents(venv) == before, "nothing in the environment changed"
    data = json.loads(written.read_text())
    jsonschema.Draft202012Validator(read_json(records.SCHEMA_PATH)).validate(data)
    seen = records.Observation.from_json(data)
    assert seen.modes["default"].concurrent is False and seen.modes["threaded"].concurrent is False
    assert seen.vouched, "the record carries a digest of its evidence"
    assert not list((ROOT / "reports" / "results").glob(f"flask-{seen.flask}.json.*")), "nothing under reports/"

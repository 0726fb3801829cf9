"""Interpreter discovery: the exact list a workflow names, the survey's ceiling, a CI runner's tool cache."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from scripts.packages import interpreters


def fake(folder: Path, name: str, version: str) -> Path:
    """A program that answers the version question as an interpreter of ``version`` would."""
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\nprintf '%s' '{version}'\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def bare_machine(tmp_path, monkeypatch):
    """No pyenv, an empty PATH and no tool cache: only what a test puts there is found."""
    monkeypatch.setenv("PATH", str(tmp_path / "path"))
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "no-pyenv"))
    monkeypatch.delenv("RUNNER_TOOL_CACHE", raising=False)
    monkeypatch.delenv(interpreters.ALLOW_LIST, raising=False)
    return tmp_path


def test_a_python_newer_than_the_survey_is_passed_over_and_said(bare_machine):
    fake(bare_machine / "path", "python3.13", "3.13.2")
    newest = fake(bare_machine / "path", "python3.14", "3.14.0")
    said: list[str] = []
    found = interpreters.discover(log=said.append)
    assert [i.version for i in found] == [(3, 13, 2)]
    (line,) = said
    assert line.startswith(f"Python 3.14.0 at {newest} is newer than 3.13, the newest Python the interpreter")
    assert line.endswith(f"(name it in {interpreters.ALLOW_LIST} to audit with it)")


def test_named_interpreters_are_used_exactly_newer_ones_included(bare_machine, monkeypatch):
    fake(bare_machine / "path", "python3.12", "3.12.1")
    named = [fake(bare_machine / "named", "a", "3.14.0"), fake(bare_machine / "named", "b", "2.7.18")]
    monkeypatch.setenv(interpreters.ALLOW_LIST, os.pathsep.join(map(str, named)))
    found = interpreters.discover()
    assert [(i.version, i.path) for i in found] == [((2, 7, 18), str(named[1])), ((3, 14, 0), str(named[0]))]


@pytest.mark.parametrize("broken", ["missing", "silent"])
def test_a_named_interpreter_that_does_not_run_stops_discovery_naming_it(bare_machine, monkeypatch, broken):
    path = bare_machine / "named" / "python"
    if broken == "silent":
        fake(path.parent, path.name, "not a version")
    monkeypatch.setenv(interpreters.ALLOW_LIST, str(path))
    with pytest.raises(interpreters.InterpreterMissing, match=rf"^{path}: is named in FLASK_AUDIT_PYTHONS but "):
        interpreters.discover()


@pytest.mark.skipif(sys.platform == "win32", reason="the POSIX layout of the tool cache")
def test_a_runners_tool_cache_is_searched_beside_path(bare_machine, monkeypatch):
    cache = bare_machine / "toolcache"
    fake(cache / "Python" / "3.9.25" / "x64" / "bin", "python3", "3.9.25")
    fake(cache / "Python" / "3.13.9" / "x64" / "bin", "python3", "3.13.9")
    monkeypatch.setenv("RUNNER_TOOL_CACHE", str(cache))
    assert [i.version for i in interpreters.discover()] == [(3, 9, 25), (3, 13, 9)]

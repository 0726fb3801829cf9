"""Naming a release's session selects that session only, though nox reads ``0.1`` and ``0.10`` as one number."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from scripts.layout import ROOT


def _noxfile(program: str, env: dict[str, str] | None = None) -> str:
    """The last line ``program`` prints with the noxfile imported (in a process of its own: importing it acts)."""
    done = subprocess.run(
        [sys.executable, "-c", f"import sys, noxfile\n{program}"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
        check=True,
        env=env or {key: value for key, value in os.environ.items() if key != "NOXSESSION"},
    )
    return done.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["nox", "-s", "observe(0.1)", "observe(1.0)", "-j", "2", "--", "--force"], ["observe(0.1)", "observe(1.0)"]),
        # The child nox -j starts for one session.
        (["nox", "--envdir", "e", "--session", "cells(0.10)", "--parallel-worker", "--report", "r"], ["cells(0.10)"]),
        (["nox", "--sessions=today(1.1.2)", "-e", "audit"], ["audit", "today(1.1.2)"]),
        (["nox", "-j", "2", "--", "-s", "observe(0.1)"], []),
    ],
)
def test_the_sessions_named_on_noxs_command_line_are_read_as_typed(argv, named):
    assert _noxfile(f"print(sorted(noxfile._named_sessions({argv!r})))") == str(named)


def test_noxsession_names_them_where_the_command_line_does_not():
    env = {**os.environ, "NOXSESSION": "observe(0.10),render"}
    assert _noxfile("print(sorted(noxfile._named_sessions(['nox'])))", env) == str(["observe(0.10)", "render"])


def test_a_release_is_left_out_only_where_a_name_given_for_another_reads_as_its_number():
    shadowed = (
        "print([noxfile._shadowed(s, {'observe(0.1)'}) for s in ('observe(0.10)', 'observe(0.1)', 'cells(0.10)')])"
    )
    assert _noxfile(shadowed) == "[True, False, False]"
    assert _noxfile("print(noxfile._shadowed('observe(0.10)', {'observe(0.1)', 'observe(0.10)'}))") == "False"


@pytest.mark.parametrize("named", ["observe(0.1)", "observe(0.10)", "cells(0.1)"])
def test_nox_selects_the_named_release_alone(named):
    done = subprocess.run(
        [sys.executable, "-m", "nox", "-l", "-s", named],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=True,
        env={key: value for key, value in os.environ.items() if key != "NOXSESSION"},
    )
    selected = [line.split(" -> ")[0].removeprefix("* ") for line in done.stdout.splitlines() if line.startswith("* ")]
    assert selected == [named]

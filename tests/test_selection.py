"""Naming a release's session selects that session only, though nox reads ``0.1`` and ``0.10`` as one number."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import noxfile_prints, run_here


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["nox", "-s", "observe(0.1)", "observe(1.0)", "-j", "2", "--", "--force"], ["observe(0.1)", "observe(1.0)"]),
        # The child nox -j starts for one session.
        (["nox", "--envdir", "e", "--session", "cells(0.10)", "--parallel-worker", "--report", "r"], ["cells(0.10)"]),
        (["nox", "--sessions=today(1.1.2)", "-e", "audit"], ["audit", "today(1.1.2)"]),
        (["nox", "-j", "2", "--", "-s", "observe(0.1)"], []),
        (["nox", "-sobserve(0.1)", "-j", "2"], ["observe(0.1)"]),
    ],
)
def test_the_sessions_named_on_noxs_command_line_are_read_as_typed(argv, named):
    assert noxfile_prints(f"print(sorted(noxfile._named_sessions({argv!r})))", ("NOXSESSION",)) == str(named)


def test_noxsession_names_them_where_the_command_line_does_not():
    named = noxfile_prints("print(sorted(noxfile._named_sessions(['nox'])))", NOXSESSION="observe(0.10),render")
    assert named == str(["observe(0.10)", "render"])


def test_a_release_is_left_out_only_where_a_name_given_for_another_reads_as_its_number():
    shadowed = (
        "print([noxfile._shadowed(s, {'observe(0.1)'}) for s in ('observe(0.10)', 'observe(0.1)', 'cells(0.10)')])"
    )
    assert noxfile_prints(shadowed, ("NOXSESSION",)) == "[True, False, False]"
    both = "print(noxfile._shadowed('observe(0.10)', {'observe(0.1)', 'observe(0.10)'}))"
    assert noxfile_prints(both, ("NOXSESSION",)) == "False"


@pytest.mark.parametrize("named", ["observe(0.1)", "observe(0.10)", "cells(0.1)"])
def test_nox_selects_the_named_release_alone(named):
    listed = run_here([sys.executable, "-m", "nox", "-l", "-s", named], ("NOXSESSION",))
    selected = [line.split(" -> ")[0].removeprefix("* ") for line in listed.splitlines() if line.startswith("* ")]
    assert selected == [named]

from __future__ import annotations

from pathlib import Path

import pytest

from scripts.common.failures import first_error_line, scrub

CHAINED = """Traceback (most recent call last):
  File "x.py", line 1, in <module>
    from collections import MutableMapping
ImportError: cannot import name 'MutableMapping' from 'collections' (/home/u/.pyenv/versions/3.10.13/lib/python3.10/collections/__init__.py)

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "x.py", line 3, in <module>
    from UserDict import DictMixin
ModuleNotFoundError: No module named 'UserDict'
"""

UV_BUILD = """Resolved 6 packages in 20ms
  × Failed to build `markupsafe==1.0`
  ├─▶ The build backend returned an error
  ╰─▶ Call to `setuptools.build_meta:__legacy__.build_wheel` failed (exit status: 1)
"""


def test_traceback_gives_the_final_exception_line():
    assert first_error_line(CHAINED) == "ModuleNotFoundError: No module named 'UserDict'"


def test_installer_output_gives_its_error_lines():
    assert first_error_line(UV_BUILD) == (
        "Failed to build `markupsafe==1.0` / The build backend returned an error / "
        "Call to `setuptools.build_meta:__legacy__.build_wheel` failed (exit status: 1)"
    )


def test_nested_installer_causes_are_joined_in_order():
    nested = "error: Failed to fetch: `x`\n  Caused by: error sending request\n  Caused by: Connection refused\n"
    assert first_error_line(nested) == "Failed to fetch: `x` / error sending request / Connection refused"


def test_pip_error():
    assert first_error_line("Collecting x\nERROR: No matching distribution found for flask==9\n") == (
        "No matching distribution found for flask==9"
    )


def test_plain_output_gives_last_line_and_empty_gives_none():
    assert first_error_line("starting\n\nsomething broke\n") == "something broke"
    assert first_error_line("  \n") is None


def test_hosts_and_interpreter_paths_are_scrubbed():
    text = "cannot reach https://index.example.test/simple/flask/ from /opt/py/lib/python3.12/site-packages/a.py"
    assert scrub(text) == "cannot reach https://<host>/simple/flask/ from a.py"
    assert "pyenv" not in first_error_line(CHAINED.split("During")[0])


def test_a_traceback_wins_over_installer_lines_printed_after_it():
    output = CHAINED + "ERROR: Command errored out with exit status 1\n"
    assert first_error_line(output) == "ModuleNotFoundError: No module named 'UserDict'"


def test_two_installer_lines_whose_first_introduces_the_second_give_the_second():
    assert first_error_line("error: Failed to download distributions:\n  Caused by: the wheel is broken\n") == (
        "the wheel is broken"
    )
    assert first_error_line("error: one thing\n  Caused by: another\n") == "one thing / another"


def test_without_any_error_line_the_last_line_is_taken():
    assert first_error_line("starting\nlistening\nsomething broke\n") == "something broke"


def test_at_most_three_installer_lines_are_joined():
    output = "error: one\n  cause: two\n  cause: three\n  cause: four\n"
    assert first_error_line(output) == "one / two / three"


def test_without_a_traceback_the_last_exception_line_wins_over_later_plain_lines():
    assert first_error_line("ValueError: first\nKeyError: second\nthen a plain line\n") == "KeyError: second"
    assert first_error_line("ValueError: a\nKeyError: b\nOSError: c\nplain\n") == "OSError: c"


def test_pip_output_without_a_build_failure_names_no_build():
    output = "Collecting flask==1.0\nTraceback (most recent call last):\nValueError: not a build\n"
    assert first_error_line(output) == "ValueError: not a build"


# -- root causes in real installer outputs (captured from uv and pip, tests/failures/) -------------

CAPTURED = Path(__file__).resolve().parent / "failures"


@pytest.mark.parametrize(
    ("captured", "expected"),
    [
        (
            "uv_markupsafe",
            "Failed to build `markupsafe==1.0`: ImportError: cannot import name 'Feature' from 'setuptools' "
            "(setuptools/__init__.py)",
        ),
        (
            "pip_markupsafe",
            "Failed to build `markupsafe==1.0`: ImportError: cannot import name 'Feature' from 'setuptools' "
            "(setuptools/__init__.py)",
        ),
        (
            "uv_flask07",
            "Failed to build `flask==0.7`: SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?",
        ),
        (
            "pip_flask07",
            "Failed to build `flask==0.7`: SyntaxError: Missing parentheses in call to 'print'. Did you mean print(...)?",
        ),
        (
            "uv_markupsafe_retry311",
            "Failed to build `markupsafe==1.0`: re.error: global flags not at the start of the expression at position 25",
        ),
        (
            "uv_markupsafe_retry313",
            "Failed to build `markupsafe==1.0`: ModuleNotFoundError: No module named 'distutils'",
        ),
    ],
)
def test_the_build_backends_own_exception_is_found_in_indented_installer_output(captured, expected):
    assert first_error_line((CAPTURED / f"{captured}.txt").read_text()) == expected


def test_an_indented_traceback_without_a_build_names_no_distribution():
    indented = "\n".join("    " + line for line in CHAINED.splitlines())
    assert first_error_line(indented) == "ModuleNotFoundError: No module named 'UserDict'"


def test_the_lower_case_error_classes_need_their_module():
    assert first_error_line("Traceback (most recent call last):\nre.error: bad\n") == "re.error: bad"
    assert first_error_line("Traceback (most recent call last):\nerror: not an exception\nOSError: x\n") == "OSError: x"

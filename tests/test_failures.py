from __future__ import annotations

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
    line = first_error_line(UV_BUILD)
    assert line is not None and line.startswith("Failed to build `markupsafe==1.0`")


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

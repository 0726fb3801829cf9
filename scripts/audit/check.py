"""Observe an environment the user already has: ``nox -s check -- /path/to/venv/bin/python``.

The same harness as the audit, in every mode, against the user's own Flask and Werkzeug (a patched one, a
pre-release, a fork). Nothing is installed into the environment and nothing in it changes (the probe runs with
``PYTHONDONTWRITEBYTECODE``, from a folder of its own); nothing is written under ``reports/``. It prints a small
table; ``--json FILE`` writes the same as an observation record, valid against ``observation.schema.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from scripts.audit import harness
from scripts.audit import run as audit_run
from scripts.audit.probe import has_cli
from scripts.audit.records import MODE_CALLS, MODES, Mode, Observation, status_from_default, verdict
from scripts.common import cli
from scripts.common.clock import now, stamp
from scripts.common.failures import first_error_line
from scripts.common.jsonio import write_json_atomic
from scripts.common.processes import STEERING, clean_environment, run
from scripts.packages import environments

__all__ = ["CheckFailed", "Options", "observe", "parse_options", "table"]

#: How long the interpreter may take to say its version before it counts as one that cannot start.
START_TIMEOUT = 60.0


class CheckFailed(RuntimeError):
    """The interpreter cannot be checked (it does not start, has no Flask, or Flask does not import): one line
    saying which and what to do; nothing was observed or written."""


def interpreter(text: str) -> Path:
    """An interpreter to check: a file that exists and may be run (a venv's ``bin/python``)."""
    path = Path(text).expanduser()
    if not path.is_file() or not os.access(path, os.X_OK):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an interpreter that can be run: give the path of one, e.g. .venv/bin/python"
        )
    return path.absolute()


@dataclass(frozen=True)
class Options:
    """The options of ``nox -s check`` (after ``--``)."""

    python: Path
    #: Where to write the observation record as JSON; None: only the table is printed.
    json: Path | None = None
    modes: tuple[Mode, ...] = MODES
    settings: harness.Settings = field(default_factory=harness.Settings)


def parse_options(args: list[str]) -> Options:
    """The options from what follows ``--``; raises cli.OptionError naming a bad one."""
    parser = cli.parser("nox -s check --", "Observe an existing interpreter's Flask in every mode.")
    parser.add_argument("python", type=interpreter, help="the interpreter of the environment to observe")
    parser.add_argument("--json", type=cli.file_path, metavar="FILE", help="also write the observation record here")
    parser.add_argument("--modes", nargs="+", action="extend", choices=MODES, help="modes to observe (default: all)")
    parsed = parser.parse_args(args)
    modes = tuple(m for m in MODES if m in (parsed.modes or MODES))
    return Options(parsed.python, parsed.json, modes)


def _looked_at(python: Path) -> environments.Inventory:
    """What the environment holds; raises CheckFailed where the interpreter does not start or has no Flask."""
    quiet = clean_environment(STEERING, {"PYTHONDONTWRITEBYTECODE": "1"})
    started = run([python, "-c", "import sys; print('python', sys.version_info[0])"], START_TIMEOUT, env=quiet)
    if not started.ok or not started.stdout.startswith("python "):
        why = "did not answer in time" if started.timed_out else first_error_line(started.output) or "no answer"
        raise CheckFailed(f"{python} does not start as a Python interpreter ({why}): give a venv's bin/python")
    held = environments.inventory(python)
    if "flask" not in held.distributions:
        raise CheckFailed(f"{python} has no Flask installed: install it there, or give another environment's python")
    try:
        environments.check_import(python)
    except (environments.SetupFailed, environments.Unavailable) as exc:
        raise CheckFailed(f"Flask does not import in {python}: {getattr(exc, 'detail', exc)}") from exc
    return held


def observe(options: Options, log: audit_run.Log = print) -> Observation:
    """Every requested mode against ``options.python``, as an observation record (not saved anywhere).

    :raises CheckFailed: the interpreter cannot be checked; nothing was observed.
    """
    held = _looked_at(options.python)
    settings = audit_run.Options(modes=options.modes, settings=options.settings)
    modes = audit_run.observe_modes(options.python, settings, log)
    status, detail = status_from_default(modes.get("default"))
    observation = Observation(
        flask=held.distributions["flask"],
        released=None,
        status=status,
        python=held.python,
        packages=held.packages,
        detail=detail,
        cli=has_cli(options.python),
        modes=modes,
        observed_at=stamp(now()),
        platform=sys.platform,
    )
    return replace(observation, evidence_digest=observation.digest())


def table(observation: Observation) -> list[str]:
    """The verdicts as a small table: a line per mode, the error line where one did not serve."""
    werkzeug = observation.packages.get("werkzeug", "not installed")
    lines = [f"Flask {observation.flask}, Werkzeug {werkzeug}, Python {observation.python}"]
    width = max(len(call) for call in MODE_CALLS.values())
    for mode in MODES:
        seen = observation.modes.get(mode)
        if seen is None:
            continue
        said = verdict(seen) + (f": {seen.error}" if seen.error and seen.outcome != "served" else "")
        lines.append(f"  {MODE_CALLS[mode]:<{width}}  {said}")
    if observation.cli is False:
        lines.append("  (no `flask` command in this environment: `flask run` not observed)")
    return lines


def write(observation: Observation, path: Path) -> None:
    """The record as JSON at ``path``, atomically, keeping the umask's mode."""
    write_json_atomic(path, observation.to_json())

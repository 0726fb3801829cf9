"""The probe as a server to start: its command line in each mode, and how to tell it is serving.

What to start and how to tell it is ready, apart from how it is managed (``common.processes``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from scripts.audit.records import CLI_MODES, Mode
from scripts.common.failures import first_error_line
from scripts.common.loopback import HOST, get
from scripts.common.processes import (
    STEERING,
    WINDOWS,
    Command,
    ProcessGroup,
    ReadyCheck,
    StartFailed,
    clean_environment,
)
from scripts.layout import PROBES

__all__ = [
    "APP_CREATED",
    "DROPPED_REQUESTS",
    "PID_FILE",
    "PROBE_APP",
    "REPLY_FIELDS",
    "STARTUP",
    "UNKNOWN_MODE",
    "Probe",
    "cli_script",
    "has_cli",
    "probe_environment",
]

PROBE_APP = PROBES / "app.py"
#: Named by PYTHONPATH in every probe's environment: its ``sitecustomize`` reports the started interpreter's pid.
STARTUP = PROBES / "startup"
#: Where, in the probe's working folder, the started interpreter writes its own pid.
PID_FILE = "probe.pid"
#: What the probe prints once ``Flask(__name__)`` returned: a failed start without it failed creating the app.
APP_CREATED = "probe: the app was created"
#: What the probe says, before importing Flask, when asked for a mode its table lacks (probes/app.py).
UNKNOWN_MODE = "probe: no such mode in probes/app.py MODE_OPTIONS: "
#: What every reply of the probe carries, and the harness reads (probes/app.py ``_served_by``).
REPLY_FIELDS = ("pid", "app_pid", "thread")
#: Requests in a row the server may accept and drop unanswered before the mode counts as failing
#: (e.g. a forking server without os.fork: it listens, but every request dies in process_request).
DROPPED_REQUESTS = 3
#: How long a probe whose listener drops every request gets to stop, before the port is checked for another.
STOP_SECONDS = 5.0
#: How long drops must go on after the probe's group was killed to be another listener's (its forked
#: workers and reloader child die with the group within milliseconds).
AFTER_STOP_SECONDS = 1.0


def cli_script(python: Path) -> Path:
    return python.parent / ("flask.exe" if WINDOWS else "flask")


def has_cli(python: Path) -> bool:
    """Whether the environment's Flask installed the ``flask`` command."""
    return cli_script(python).exists()


def probe_environment(
    control_port: int, extra: dict[str, str] | None = None, cwd: Path | None = None
) -> dict[str, str]:
    """A clean environment: nothing from the user's shell may steer Flask or Werkzeug.

    With ``cwd`` (the probe's working folder), the started interpreter reports its pid there (STARTUP).
    """
    settings = {
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONUNBUFFERED": "1",
        "PYTHONIOENCODING": "utf-8",
        "PROBE_CONTROL_PORT": str(control_port),
        **({"PYTHONPATH": str(STARTUP), "PROBE_PID_FILE": str(cwd / PID_FILE)} if cwd is not None else {}),
    }
    return clean_environment(STEERING, {**settings, **(extra or {})})


class RequestsDropped(StartFailed):
    """The server listens but closes every request unanswered; ``server_log`` is what it logged."""

    def __init__(self, message: str, server_log: str | None, output: str) -> None:
        super().__init__("gave-up", message, output)
        self.server_log = server_log


def _listened_after_stop(port: int) -> bool:
    """Whether something kept accepting connections on ``port`` for AFTER_STOP_SECONDS after this probe's
    process group was stopped. Only an answer or an accepted-then-dropped connection counts: a refusal,
    or a connection attempt that times out (Windows takes seconds to refuse one), is no evidence of another."""
    deadline = time.monotonic() + AFTER_STOP_SECONDS
    while True:
        reply = get(port, "/info", timeout=0.5)
        if reply.status is None and not reply.dropped:
            return False
        if time.monotonic() >= deadline:
            return True
        time.sleep(0.1)


@dataclass(frozen=True)
class Probe:
    """The probe app (or a stand-in with the same command line) in one mode, under one interpreter."""

    python: Path
    mode: Mode | str
    control_port: int
    app: Path = PROBE_APP

    def command(self, port: int, cwd: Path) -> Command:
        if self.mode in CLI_MODES:
            # The console script is what users type; it exists exactly where the release has a CLI.
            # FLASK_DEBUG is read by every release that has one (0.11 on); `flask run --debug` only from 2.2.3.
            argv = [str(cli_script(self.python)), "run", "--host", HOST, "--port", str(port)]
            steering = {"FLASK_APP": str(self.app), **({"FLASK_DEBUG": "1"} if self.mode == "flask_run_debug" else {})}
            return Command(argv, probe_environment(self.control_port, steering, cwd), cwd)
        argv = [str(self.python), str(self.app), self.mode, str(port)]
        return Command(argv, probe_environment(self.control_port, cwd=cwd), cwd)

    def readiness(self, port: int) -> ReadyCheck:
        """Serving once ``/info`` answers from this probe; failing once DROPPED_REQUESTS in a row are dropped
        unanswered by its own listener.

        A free port is free only until someone binds it: another probe (another session under ``nox -j``)
        can be given the same one. An answer naming another control port is that probe's, and drops that
        outlive this probe's process group are another listener's: either makes the start ``taken``, tried
        again on another port, never an observation of this release.
        """
        dropped = 0

        def ready(process: ProcessGroup, bound: float) -> bool:
            nonlocal dropped
            reply = get(port, "/info", timeout=bound)
            if reply.status is not None:
                named = (reply.body or {}).get("control_port")
                if named is not None and named != self.control_port:
                    raise StartFailed("taken", f"another probe answered on {HOST}:{port}", process.output())
                return True
            dropped = dropped + 1 if reply.dropped else 0
            if dropped >= DROPPED_REQUESTS:
                if process.exited():
                    return False  # its exit, not someone else's drops, is what happened
                output = process.output()
                process.stop(STOP_SECONDS)
                if _listened_after_stop(port):
                    raise StartFailed("taken", f"another server kept {HOST}:{port} after this one stopped", output)
                message = f"{dropped} requests in a row closed without a response ({reply.error})"
                raise RequestsDropped(message, first_error_line(output), output)
            return False

        return ready

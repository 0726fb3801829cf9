"""Starting and stopping other programs: bounded commands, and servers as process groups.

Capabilities are decided once, here. Every program runs in a process group of its own, so
that whatever it starts (forked workers, a reloader's child, a build backend) stops with it,
and on Linux each one is also killed when the process that started it dies, so a killed
nox leaves nothing behind.

A server is described apart from its management, as pytest-xprocess separates them: a
:class:`Starter` says what to start on a given port and how to tell it is ready; :func:`serving`
picks the port, starts it, waits within a bound, and stops the whole group on every way out.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from scripts.common.failures import first_error_line
from scripts.common.loopback import HOST, free_port

__all__ = [
    "CAN_FORK",
    "LINUX",
    "STEERING",
    "WINDOWS",
    "Command",
    "Finished",
    "ProcessGroup",
    "StartFailed",
    "Starter",
    "clean_environment",
    "load_average",
    "run",
    "serving",
    "stop_on_sigterm",
]

WINDOWS = sys.platform == "win32"
LINUX = sys.platform.startswith("linux")
#: Whether this machine's Python can fork (Werkzeug's ``processes=N`` needs it).
CAN_FORK = hasattr(os, "fork")
# POSIX-only names are looked up once, by presence: Windows' os has no killpg and its signal no SIGKILL, and
# naming either where code is defined (a default argument) stopped the noxfile's import there.
#: Signals a whole process group (POSIX); None where groups cannot be signalled.
_KILLPG: Callable[[int, int], None] | None = getattr(os, "killpg", None)
#: The signal no program can catch (POSIX); None where there is none.
_SIGKILL: int | None = getattr(signal, "SIGKILL", None)
#: How often a starting server is asked whether it is ready; a polling interval, never a verdict.
POLL_SECONDS = 0.02
#: How a server says the port it was given is taken (POSIX errno text; Windows' WSAEADDRINUSE).
PORT_TAKEN = ("Address already in use", "WinError 10048")
#: A port picked free can be taken by someone else before the server binds it; try another.
PORT_ATTEMPTS = 3

Log = Callable[[str], None]


def _prctl() -> Callable[..., int] | None:
    """The C library's ``prctl``, looked up once in the parent (None off Linux or where it cannot be loaded)."""
    if not LINUX:
        return None
    try:
        import ctypes

        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


#: Resolved before any fork: the child of a threaded parent must not import (another thread may have held
#: the import lock at the fork, and the child would wait for it forever); it only calls this C function.
_PRCTL = _prctl()
_PR_SET_PDEATHSIG = 1


def _dying_with(parent: int) -> Callable[[], None]:
    """What the child runs between fork and exec so that the kernel kills it when ``parent`` dies.

    Asked of the kernel, not of Python: it holds even when the parent is killed with SIGKILL. A parent
    that died before the request was made is noticed by the child itself.
    """
    prctl, kill = _PRCTL, _SIGKILL

    def die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
        if prctl is not None and kill is not None:
            prctl(_PR_SET_PDEATHSIG, kill)
        if os.getppid() != parent:
            os._exit(1)

    return die_with_parent


def _own_group() -> dict[str, Any]:
    """Popen arguments that start a program in a process group of its own."""
    if sys.platform == "win32":  # pragma: no cover - CI's Windows runners
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
    return {"start_new_session": True, **({"preexec_fn": _dying_with(os.getpid())} if LINUX else {})}


def _kill_group(process: subprocess.Popen[Any]) -> None:
    """Kill ``process`` and every process it started, where the system can tell which those are."""
    if WINDOWS:  # pragma: no cover - CI's Windows runners
        # No process groups to signal there: taskkill ends the process and every process it started.
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True, check=False)
        return
    with suppress(ProcessLookupError, PermissionError):
        if _KILLPG is not None and _SIGKILL is not None:
            _KILLPG(process.pid, _SIGKILL)
        elif _SIGKILL is not None:  # no process groups to signal: the leader alone
            process.kill()
        else:  # nor SIGKILL: terminating is the hardest stop there is
            process.terminate()


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"terminated by signal {signum}")


def stop_on_sigterm() -> None:
    """Make SIGTERM unwind like Ctrl-C, so every command and server started here is stopped on the way out.

    Python's default for SIGTERM ends the process at once, skipping every ``finally``. Call it from the
    main thread (the noxfile does, at import).
    """
    signal.signal(signal.SIGTERM, _terminated)


#: Variables of the user's shell that would steer an observed interpreter, Flask or Werkzeug (PYTHONPATH,
#: FLASK_DEBUG, ...): every observed start runs without them.
STEERING = ("FLASK_", "WERKZEUG_", "PYTHON", "VIRTUAL_ENV")


def clean_environment(drop: Sequence[str], extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment without variables starting with any of ``drop``, plus ``extra``.

    Nothing from the user's shell may steer what is observed (``FLASK_DEBUG``, ``PYTHONPATH``, …).
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(tuple(drop))}
    env.update(extra or {})
    return env


def load_average() -> list[float]:
    """The system's 1, 5 and 15-minute load averages, to two places; empty where it keeps none (Windows)."""
    averages: Callable[[], tuple[float, float, float]] | None = getattr(os, "getloadavg", None)
    return [round(value, 2) for value in averages()] if averages is not None else []


# -- commands that run to the end -----------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    """How a bounded command ended: its exit code (None when it was stopped at its bound) and output."""

    argv: list[str]
    returncode: int | None
    stdout: str
    stderr: str
    timeout: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def timed_out(self) -> bool:
        return self.returncode is None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run(
    argv: Sequence[str | Path],
    timeout: float,
    log: Log | None = None,
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Finished:
    """Run a command to its end or its bound, capturing its output (the command, once started, and the output of
    a failure are echoed to ``log`` when given).

    The command and everything it starts are killed when the bound passes, when this call is
    interrupted, and (on Linux) when this process dies.
    """
    command = [str(a) for a in argv]
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # Bytes, decoded as UTF-8 below: text=True would use the locale's code page on Windows.
        **_own_group(),
    )
    try:
        if log:  # once started, inside the block that stops it: an interruption from here on ends it too
            log(" ".join(command))
        out, err = process.communicate(timeout=timeout)
        code: int | None = process.returncode
    except subprocess.TimeoutExpired:
        _kill_group(process)
        out, err = process.communicate()
        code = None
        err += f"\nstopped after {timeout:g}s".encode()
    except BaseException:
        _kill_group(process)
        process.wait()
        raise
    done = Finished(command, code, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"), timeout)
    if log and not done.ok:
        log(done.output.strip()[-4000:])
    return done


# -- servers ----------------------------------------------------------------------------------------


class ProcessGroup:
    """A started program and its process group, its output captured in a file (a pipe could fill)."""

    def __init__(self, argv: Sequence[str], env: Mapping[str, str], cwd: Path) -> None:
        self._output: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the program
        self.argv = list(argv)
        self.cwd = cwd
        try:
            self.process = subprocess.Popen(
                self.argv,
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                **_own_group(),
            )
        except OSError:
            self._output.close()
            raise
        self.pid = self.process.pid

    def exited(self) -> bool:
        return self.process.poll() is not None

    def output(self) -> str:
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")

    def stop(self, timeout: float) -> None:
        """Stop the whole group: TERM, then KILL, whether or not the leader is still there."""
        if self._output.closed:
            return
        if _KILLPG is not None:
            with suppress(ProcessLookupError, PermissionError):
                _KILLPG(self.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
        # KILL in every case: forked workers may outlive the leader, and the group must end with it.
        _kill_group(self.process)
        self.process.wait(timeout=timeout)
        _wait_for_group_to_end(self.pid, timeout)
        self._output.close()


def _wait_for_group_to_end(group: int, timeout: float) -> None:
    """Return once no process of ``group`` is left (a killed process dies when next scheduled, which on a loaded
    machine is not at once), or after ``timeout``."""
    if _KILLPG is None:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            _KILLPG(group, 0)
        except ProcessLookupError:
            return
        except PermissionError:
            return  # another user's process took the id: ours are gone
        time.sleep(0.005)


class StartFailed(RuntimeError):
    """A server did not get to ready.

    ``kind`` says how: it ``exited``; its readiness check ``gave-up`` (e.g. it accepts connections
    and drops every request); the bound passed (``timeout``); or another server answered on the port
    picked for it (``taken``). ``output`` is what it printed.
    """

    def __init__(self, kind: Literal["exited", "gave-up", "timeout", "taken"], message: str, output: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.output = output

    @property
    def port_taken(self) -> bool:
        """Its port was taken between our pick and its bind: it exited saying so, or another server answered."""
        return self.kind == "taken" or (self.kind == "exited" and any(marker in self.output for marker in PORT_TAKEN))


@dataclass(frozen=True)
class Command:
    """What to start: the argument vector, the whole environment and the working folder."""

    argv: list[str]
    env: dict[str, str]
    cwd: Path


#: One readiness check, fresh for each start: given the seconds left, True when ready, False when
#: not yet; it raises StartFailed("gave-up", …) when the server will never be ready.
ReadyCheck = Callable[[ProcessGroup, float], bool]


class Starter(Protocol):
    """What to start on a port, and how to tell it is ready."""

    def command(self, port: int, cwd: Path) -> Command: ...

    def readiness(self, port: int) -> ReadyCheck: ...


def wait_until_ready(process: ProcessGroup, ready: ReadyCheck, port: int, timeout: float) -> None:
    """Ask ``ready`` until it says yes, the process exits, or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while True:
        if process.exited():
            output = process.output()
            code = process.process.returncode
            raise StartFailed("exited", first_error_line(output) or f"the server exited with {code}", output)
        if ready(process, max(0.1, min(2.0, deadline - time.monotonic()))):
            return
        if time.monotonic() >= deadline:
            raise StartFailed("timeout", f"the server did not answer on {HOST}:{port} within {timeout:g}s")
        time.sleep(POLL_SECONDS)


@contextmanager
def serving(starter: Starter, start_timeout: float, stop_timeout: float) -> Iterator[tuple[ProcessGroup, int]]:
    """Start ``starter`` on a free loopback port, wait until it is ready, yield it and its port.

    Its process group is stopped however the block ends. A start that failed because the port
    was taken in the meantime is tried again on another port, up to PORT_ATTEMPTS times.

    :raises StartFailed: it did not get to ready (the last attempt's failure).
    :raises OSError: the program could not be started at all (e.g. no such interpreter).
    """
    # On Windows a file of the stopped server can stay open a moment after taskkill (WinError 32): the
    # folder is then left to the system's temporary-file cleanup rather than failing the observation.
    with tempfile.TemporaryDirectory(prefix="flask-audit-", ignore_cleanup_errors=WINDOWS) as folder:
        process, port = _start(starter, Path(folder), start_timeout, stop_timeout)
        try:
            yield process, port
        finally:
            process.stop(stop_timeout)


def _start(starter: Starter, cwd: Path, start_timeout: float, stop_timeout: float) -> tuple[ProcessGroup, int]:
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        # A folder per attempt: what an earlier attempt's program left there (its pid file, written late under
        # load) is never read as this one's.
        folder = cwd / f"attempt-{attempt}"
        folder.mkdir()
        command = starter.command(port, folder)
        process = ProcessGroup(command.argv, command.env, command.cwd)
        try:
            wait_until_ready(process, starter.readiness(port), port, start_timeout)
            return process, port
        except StartFailed as exc:
            process.stop(stop_timeout)
            if not exc.port_taken or attempt == PORT_ATTEMPTS:
                raise
        except BaseException:
            process.stop(stop_timeout)
            raise
    raise AssertionError("unreachable: the last attempt returns or raises")

"""The harness: start the probe in one mode, observe how it serves, always stop it.

Concurrency is observed, not timed. Every ``/hold`` request that enters the probe's
handler connects back to a control socket the harness listens on and then blocks until
the harness answers. The harness fires several held requests at once and counts how many
are inside the handler together before it releases any: that number is the server's
concurrency. The only wait that decides anything is the bounded ``negative_window``:
how long to give a further request to enter before concluding that none will.

The probe runs in its own process group (its forked workers with it); the group is
killed on every exit path, and on Linux the probe also dies with the harness.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.audit.records import MODE_CALLS, ModeObservation
from scripts.common.failures import first_error_line

HOST = "127.0.0.1"
WINDOWS = sys.platform == "win32"
PROBE_APP = Path(__file__).resolve().parent.parent.parent / "probes" / "app.py"
CLI_MODE = "flask_run"


class ProbeError(RuntimeError):
    """The probe did not get to serving; ``outcome`` is "error", "requests-failed" or "timeout"."""

    def __init__(self, outcome: str, message: str) -> None:
        super().__init__(message)
        self.outcome = outcome


@dataclass(frozen=True)
class Settings:
    """Bounds for every wait the harness makes (seconds) and how many requests it sends."""

    start_timeout: float = 20.0
    entry_timeout: float = 10.0
    #: After the last held request entered, how long to wait for another before concluding none will.
    negative_window: float = 0.5
    request_timeout: float = 30.0
    stop_timeout: float = 5.0
    #: More than the 3 workers of ``processes=3``, so a cap of 3 is visible.
    concurrent_requests: int = 5
    sequential_requests: int = 6


# -- the probe process -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


def probe_environment(control_port: int, extra: dict[str, str] | None = None) -> dict[str, str]:
    """A clean environment: nothing from the user's shell may steer Flask or Werkzeug."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "WERKZEUG_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update(
        {
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONUNBUFFERED": "1",
            "PYTHONIOENCODING": "utf-8",
            "PROBE_CONTROL_PORT": str(control_port),
        }
    )
    env.update(extra or {})
    return env


class ProbeProcess:
    """A started probe: its process group, and its output captured in files (pipes could fill)."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], cwd: Path) -> None:
        self._output = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the probe
        self.argv = list(argv)
        # Its own process group (a new session on POSIX), so that every worker it forks is stopped with it.
        group: dict[str, Any] = (
            {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined]
            if WINDOWS
            else {"start_new_session": True, "preexec_fn": _die_with_parent}
        )
        try:
            self.process = subprocess.Popen(
                self.argv,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._output,
                stderr=subprocess.STDOUT,
                **group,
            )
        except OSError as exc:
            self._output.close()
            raise ProbeError("error", f"could not start the server: {type(exc).__name__}: {exc}") from exc
        self.pid = self.process.pid

    def exited(self) -> bool:
        return self.process.poll() is not None

    def output(self) -> str:
        self._output.seek(0)
        return self._output.read().decode("utf-8", "replace")

    def signal_group(self, sig: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.pid, sig)

    def stop(self, timeout: float) -> None:
        """Stop the whole process group: TERM, then KILL if it outlives ``timeout``."""
        if self._output.closed:
            return
        if WINDOWS:  # pragma: no cover - CI's Windows runners
            # No process groups to signal there: taskkill ends the probe and every process it started.
            run = ["taskkill", "/F", "/T", "/PID", str(self.pid)]
            subprocess.run(run, capture_output=True, timeout=timeout + 30, check=False)
        else:
            self.signal_group(signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=timeout)
            # KILL in every case: forked workers may outlive the leader, and the group must end with it.
            self.signal_group(signal.SIGKILL)
        self.process.wait(timeout=timeout)
        self._output.close()


# -- the control socket ------------------------------------------------------------------------


@dataclass
class Entry:
    """A held request that entered the handler, as it reported itself."""

    served_by: dict[str, Any]
    connection: socket.socket
    released: bool = False


@dataclass
class ControlServer:
    """Accepts the probe's "entered" reports; lets the harness wait for them and release them."""

    read_timeout: float
    entries: list[Entry] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._changed = threading.Condition()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._closed = False
        self._thread = threading.Thread(target=self._accept, name="probe-control", daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            connection.settimeout(self.read_timeout)
            try:
                line = connection.makefile("rb").readline()
                served_by = json.loads(line.decode("utf-8"))
            except (OSError, ValueError):
                connection.close()
                continue
            with self._changed:
                self.entries.append(Entry(served_by, connection))
                self._changed.notify_all()

    def in_flight(self) -> int:
        with self._changed:
            return sum(not entry.released for entry in self.entries)

    def wait_for(self, count: int, timeout: float) -> int:
        """Wait until ``count`` requests have entered, or ``timeout`` passes; return how many did."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self.entries) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._changed.wait(remaining)
            return len(self.entries)

    def wait_for_more(self, count: int, window: float) -> int:
        """Wait for ``count`` entries, giving each next one at most ``window`` to arrive."""
        seen = len(self.entries)
        while seen < count:
            now = self.wait_for(seen + 1, window)
            if now == seen:
                break
            seen = now
        return seen

    def release_all(self) -> None:
        with self._changed:
            for entry in self.entries:
                if not entry.released:
                    entry.released = True
                    with suppress(OSError):
                        entry.connection.sendall(b"release\n")
                    entry.connection.close()

    def close(self) -> None:
        self.release_all()
        self._listener.close()


# -- HTTP --------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int | None = None
    body: dict[str, Any] | None = None
    error: str | None = None
    #: The server accepted the connection and closed it without an HTTP response.
    dropped: bool = False


def get(port: int, path: str, timeout: float) -> Reply:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        # One request per connection: keep-alive would pin a single-threaded server to one client.
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        raw = response.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        return Reply(response.status, body)
    except (OSError, http.client.HTTPException) as exc:
        dropped = isinstance(exc, ConnectionResetError | http.client.BadStatusLine)
        return Reply(error=f"{type(exc).__name__}: {exc}", dropped=dropped)
    finally:
        connection.close()


# -- starting and observing --------------------------------------------------------------------


def probe_command(python: Path, mode: str, port: int, probe: Path = PROBE_APP) -> tuple[list[str], dict[str, str]]:
    """The command line (and extra environment) that starts ``probe`` in ``mode``."""
    if mode == CLI_MODE:
        # The console script is what users type; it exists exactly where the release has a CLI.
        return [str(cli_script(python)), "run", "--host", HOST, "--port", str(port)], {"FLASK_APP": str(probe)}
    return [str(python), str(probe), mode, str(port)], {}


def cli_script(python: Path) -> Path:
    return python.parent / ("flask.exe" if sys.platform == "win32" else "flask")


def has_cli(python: Path) -> bool:
    """Whether the environment's Flask installed the ``flask`` command."""
    return cli_script(python).exists()


#: Requests in a row the server may accept and drop unanswered before the mode counts as failing
#: (e.g. a forking server without os.fork: it listens, but every request dies in process_request).
DROPPED_REQUESTS = 3


def _wait_until_serving(probe: ProbeProcess, port: int, settings: Settings) -> Reply:
    deadline = time.monotonic() + settings.start_timeout
    dropped = 0
    while True:
        if probe.exited():
            raise ProbeError(
                "error", first_error_line(probe.output()) or f"the server exited with {probe.process.returncode}"
            )
        reply = get(port, "/info", timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        if reply.status is not None:
            return reply
        dropped = dropped + 1 if reply.dropped else 0
        if dropped >= DROPPED_REQUESTS:
            logged = first_error_line(probe.output())
            raise ProbeError(
                "requests-failed",
                f"{dropped} requests in a row closed without a response ({reply.error})"
                + (f"; the server logged: {logged}" if logged else ""),
            )
        if time.monotonic() >= deadline:
            raise ProbeError(
                "timeout", f"the server did not answer on {HOST}:{port} within {settings.start_timeout:g}s"
            )
        time.sleep(0.02)  # polling interval for the port to open; not a verdict


#: A port picked free can be taken by someone else before the probe binds it; try another.
PORT_ATTEMPTS = 3


def _start(
    python: Path, mode: str, control: ControlServer, settings: Settings, probe: Path, cwd: Path
) -> tuple[ProbeProcess, int]:
    for attempt in range(1, PORT_ATTEMPTS + 1):
        port = free_port()
        argv, extra = probe_command(python, mode, port, probe)
        process = ProbeProcess(argv, probe_environment(control.port, extra), cwd)
        try:
            _wait_until_serving(process, port, settings)
            return process, port
        except ProbeError as exc:
            process.stop(settings.stop_timeout)
            if "Address already in use" not in str(exc) or attempt == PORT_ATTEMPTS:
                raise
        except BaseException:
            process.stop(settings.stop_timeout)
            raise
    raise AssertionError("unreachable")


@contextmanager
def running_probe(
    python: Path, mode: str, control: ControlServer, settings: Settings, probe: Path = PROBE_APP
) -> Iterator[tuple[ProbeProcess, int]]:
    """Start the probe, wait until it answers, yield it, and stop its process group whatever happens."""
    with tempfile.TemporaryDirectory(prefix="flask-probe-") as cwd:
        process, port = _start(python, mode, control, settings, probe, Path(cwd))
        try:
            yield process, port
        finally:
            process.stop(settings.stop_timeout)


def _fire(port: int, count: int, timeout: float) -> tuple[list[threading.Thread], list[Reply]]:
    replies = [Reply() for _ in range(count)]

    def send(slot: int) -> None:
        replies[slot] = get(port, "/hold", timeout)

    threads = [threading.Thread(target=send, args=(slot,), name=f"held-{slot}", daemon=True) for slot in range(count)]
    for thread in threads:
        thread.start()
    return threads, replies


def _observe_concurrency(port: int, control: ControlServer, settings: Settings) -> dict[str, Any]:
    sent = settings.concurrent_requests
    threads, replies = _fire(port, sent, settings.request_timeout)
    if control.wait_for(1, settings.entry_timeout) == 0:
        control.release_all()
        raise ProbeError("timeout", f"no held request reached the handler within {settings.entry_timeout:g}s")
    max_in_flight = control.wait_for_more(sent, settings.negative_window)
    # Release what is held, then each later arrival as it enters, until every request is answered.
    deadline = time.monotonic() + settings.request_timeout
    while any(thread.is_alive() for thread in threads) and time.monotonic() < deadline:
        max_in_flight = max(max_in_flight, control.in_flight())
        control.release_all()
        control.wait_for(len(control.entries) + 1, 0.05)
    control.release_all()
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return {
        "sent": sent,
        "max_in_flight": max_in_flight,
        "concurrent": max_in_flight > 1,
        "completed": sum(reply.status == 200 for reply in replies),
        "held": [entry.served_by for entry in control.entries],
    }


def _worker_kind(served: list[dict[str, Any]], server_pid: int) -> str:
    if any(item["pid"] != server_pid for item in served):
        return "forked processes"
    if any(item["thread"] != "MainThread" for item in served):
        return "threads"
    return "main thread only"


def observe_mode(python: Path, mode: str, settings: Settings = Settings(), probe: Path = PROBE_APP) -> ModeObservation:
    """Start ``probe`` in ``mode``, observe it, stop it. Failures become the observation's outcome."""
    started = time.monotonic()
    control = ControlServer(read_timeout=settings.request_timeout)
    try:
        with running_probe(python, mode, control, settings, probe) as (process, port):
            concurrency = _observe_concurrency(port, control, settings)
            sequential = [get(port, "/info", settings.request_timeout) for _ in range(settings.sequential_requests)]
            server_pid = process.pid
    except ProbeError as exc:
        return ModeObservation(
            call=MODE_CALLS.get(mode, mode),
            outcome=exc.outcome,
            error=str(exc),
            seconds=round(time.monotonic() - started, 3),
        )
    finally:
        control.close()
    answered = [reply.body for reply in sequential if reply.status == 200 and reply.body]
    served = concurrency.pop("held") + answered
    first = answered[0] if answered else (served[0] if served else {})
    return ModeObservation(
        call=MODE_CALLS.get(mode, mode),
        outcome="served",
        **concurrency,
        sequential=len(sequential),
        distinct_pids=len({item["pid"] for item in answered}),
        distinct_threads=len({(item["pid"], item["thread"]) for item in answered}),
        served_by_server_process=any(item["pid"] == server_pid for item in served),
        workers=_worker_kind(served, server_pid) if served else None,
        multithread=first.get("multithread"),
        multiprocess=first.get("multiprocess"),
        server_classes=list(first.get("server_classes", [])),
        seconds=round(time.monotonic() - started, 3),
    )

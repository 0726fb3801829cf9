"""The harness: start the probe in one mode, observe how it serves, always stop it.

Concurrency is observed, not timed. Every ``/hold`` request that enters the probe's
handler connects back to a control socket the harness listens on and then blocks until
the harness answers. The harness fires several held requests at once and counts how many
are inside the handler together before it releases any: that number is the server's
concurrency. The only wait that decides anything is the bounded ``negative_window``:
how long to give a further request to enter before concluding that none will.

The probe runs in its own process group (its forked workers with it); the group is
stopped on every way out (``common.processes.serving``).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.audit.probe import APP_CREATED, PID_FILE, PROBE_APP, REPLY_FIELDS, UNKNOWN_MODE, Probe, RequestsDropped
from scripts.audit.records import MODE_CALLS, FailedIn, Mode, ModeObservation, ServerProcess, WorkerKind
from scripts.common.loopback import HOST, Reply, get
from scripts.common.processes import ProcessGroup, StartFailed, serving

__all__ = ["DEFAULT_SETTINGS", "ControlServer", "ProbeFault", "Settings", "observe_mode", "started_pid"]


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


#: The settings of every audit that does not say otherwise.
DEFAULT_SETTINGS = Settings()


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


# -- observing ----------------------------------------------------------------------------------


class NoEntry(RuntimeError):
    """No held request reached the handler within the bound."""


@dataclass
class Concurrency:
    """The concurrency phase: held requests sent at once, and how many were inside together."""

    sent: int
    max_in_flight: int
    completed: int
    held: list[dict[str, Any]]

    @property
    def concurrent(self) -> bool:
        return self.max_in_flight > 1


def _fire(port: int, count: int, timeout: float) -> tuple[list[threading.Thread], list[Reply]]:
    replies = [Reply() for _ in range(count)]

    def send(slot: int) -> None:
        replies[slot] = get(port, "/hold", timeout)

    threads = [threading.Thread(target=send, args=(slot,), name=f"held-{slot}", daemon=True) for slot in range(count)]
    for thread in threads:
        thread.start()
    return threads, replies


def _observe_concurrency(port: int, control: ControlServer, settings: Settings) -> Concurrency:
    sent = settings.concurrent_requests
    threads, replies = _fire(port, sent, settings.request_timeout)
    if control.wait_for(1, settings.entry_timeout) == 0:
        control.release_all()
        raise NoEntry(f"no held request reached the handler within {settings.entry_timeout:g}s")
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
    completed = sum(reply.status == 200 for reply in replies)
    return Concurrency(sent, max_in_flight, completed, [entry.served_by for entry in control.entries])


def _worker_kind(served: list[dict[str, Any]]) -> WorkerKind:
    """The kind of worker, from what the handler reported: never from which pid was started.

    A process whose pid differs from the pid that imported the app inherited the app by a fork. Thread
    names, not idents, tell threads apart: the interpreter reuses the ident of a finished thread.
    """
    if any(item["pid"] != item["app_pid"] for item in served):
        return "forked processes"
    threads_by_process: dict[int, set[str]] = {}
    for item in served:
        threads_by_process.setdefault(item["pid"], set()).add(item["thread"])
    if any(len(names) > 1 for names in threads_by_process.values()):
        return "threads"
    return "main thread only" if all(item["thread"] == "MainThread" for item in served) else "single thread"


class ProbeFault(RuntimeError):
    """The probe did not do its part (a fault of ours, not the release's): nothing may be recorded."""


def started_pid(process: ProcessGroup) -> int:
    """The started interpreter's pid, as it reported it from inside (``probes/startup``).

    Not ``process.pid``: that is a launcher's where one started the interpreter as its child.
    """
    path = Path(process.cwd) / PID_FILE
    try:
        return int(path.read_text(encoding="ascii"))
    except (OSError, ValueError) as exc:
        raise ProbeFault(
            f"the probe started ({' '.join(process.argv)}) but its interpreter wrote no pid to {path} ({exc}); "
            "nothing was recorded: check that probes/startup/sitecustomize.py is there and that nothing in the "
            "environment overrides PYTHONPATH or runs Python with -E, -I or -S"
        ) from exc


def _server_process(served: list[dict[str, Any]], started_pid: int) -> ServerProcess:
    """A reloader's child when the process that imported the app was started by Werkzeug's reloader.

    The pid alone cannot say it: a launcher (a venv's ``python.exe`` on Windows) also serves from a child.
    """
    for item in served:
        if item.get("reloader_child") and item["app_pid"] != started_pid:
            return "reloader child"
    return "started process"


def _failed(mode: Mode | str, exc: StartFailed | NoEntry | OSError) -> ModeObservation:
    call = MODE_CALLS.get(mode, mode)
    if isinstance(exc, OSError):
        return ModeObservation(
            call=call, outcome="error", error=f"could not start the server: {type(exc).__name__}: {exc}"
        )
    if isinstance(exc, NoEntry):
        return ModeObservation(call=call, outcome="timeout", error=str(exc))
    if isinstance(exc, RequestsDropped):
        return ModeObservation(call=call, outcome="requests-failed", error=str(exc), server_log=exc.server_log)
    if exc.kind == "timeout":
        return ModeObservation(call=call, outcome="timeout", error=str(exc))
    failed_in: FailedIn = "server" if APP_CREATED in exc.output else "app"
    return ModeObservation(call=call, outcome="error", error=str(exc), failed_in=failed_in)


def observe_mode(
    python: Path, mode: Mode | str, settings: Settings = DEFAULT_SETTINGS, app: Path = PROBE_APP
) -> ModeObservation:
    """Start the probe ``app`` in ``mode``, observe it, stop it. A server's failure is the observation's outcome.

    :param python: the environment's interpreter.
    :param mode: one of the record's modes (a stand-in app may know others).
    :param settings: every bound and count.
    :param app: the probe; tests pass stand-ins with the same command line.
    """
    control = ControlServer(read_timeout=settings.request_timeout)
    probe = Probe(python, mode, control.port, app)
    try:
        with serving(probe, settings.start_timeout, settings.stop_timeout) as (process, port):
            server_pid = started_pid(process)
            concurrency = _observe_concurrency(port, control, settings)
            sequential = [get(port, "/info", settings.request_timeout) for _ in range(settings.sequential_requests)]
    except StartFailed as exc:
        if exc.kind == "taken":
            # Other servers kept answering on every port picked for this one: nothing of it was seen.
            raise ProbeFault(f"{exc}, on every port tried; nothing was recorded: run again") from exc
        if exc.kind == "exited" and UNKNOWN_MODE in exc.output:
            raise ProbeFault(
                f"the probe ({app}) has no mode {mode!r}, which the harness asked for; nothing was recorded: add it "
                "to MODE_OPTIONS in probes/app.py (the records' modes are scripts/audit/records.py MODES)"
            ) from exc
        return _failed(mode, exc)
    except (NoEntry, OSError) as exc:
        return _failed(mode, exc)
    finally:
        control.close()
    answered = [reply.body for reply in sequential if reply.status == 200 and reply.body]
    served = concurrency.held + answered
    missing = sorted({name for item in served for name in REPLY_FIELDS if name not in item})
    if missing:
        raise ProbeFault(
            f"the probe ({app}) answered in mode {mode!r} without {', '.join(missing)}, which the harness reads; "
            "nothing was recorded: make probes/app.py's _served_by and scripts/audit/probe.py REPLY_FIELDS agree"
        )
    first = answered[0] if answered else (served[0] if served else {})
    return ModeObservation(
        call=MODE_CALLS.get(mode, mode),
        outcome="served",
        sent=concurrency.sent,
        concurrent=concurrency.concurrent,
        max_in_flight=concurrency.max_in_flight,
        completed=concurrency.completed,
        sequential=len(sequential),
        distinct_pids=len({item["pid"] for item in answered}),
        distinct_threads=len({(item["pid"], item["thread"]) for item in answered}),
        served_by_server_process=any(item["pid"] == server_pid for item in served),
        server_process=_server_process(served, server_pid) if served else None,
        workers=_worker_kind(served) if served else None,
        multithread=first.get("multithread"),
        multiprocess=first.get("multiprocess"),
        server_classes=list(first.get("server_classes", [])),
    )

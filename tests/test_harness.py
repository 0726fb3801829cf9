"""The harness against real servers: single-threaded, threaded, forking, and ones that misbehave."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from scripts.audit import harness, probe, records
from scripts.common import processes
from tests.conftest import STAND_IN, processes_running

PYTHON = Path(sys.executable)
# Generous where a bound is the point: a loaded machine may take a second to let the next request in.
FAST = harness.Settings(
    start_timeout=30.0, entry_timeout=5.0, negative_window=1.0, request_timeout=10.0, stop_timeout=2.0
)
#: For servers expected to let every held request in: the window only bounds the wait for the next one, and a
#: machine busy with a second copy of the suite can take seconds between entries. Met sooner, it ends sooner.
PATIENT = replace(FAST, negative_window=8.0)

pytestmark = pytest.mark.usefixtures("no_stray_probes")


def observe(mode: str, settings: harness.Settings = FAST):
    return harness.observe_mode(PYTHON, mode, settings, app=STAND_IN)


def test_single_threaded_server_is_seen_serving_one_at_a_time():
    seen = observe("default")
    assert seen.outcome == "served"
    assert seen.concurrent is False
    assert seen.max_in_flight == 1
    assert seen.completed == seen.sent == 5, "held requests are all answered once released"
    assert seen.workers == "main thread only"
    assert seen.distinct_pids == 1 and seen.distinct_threads == 1


def test_threaded_server_has_every_held_request_in_flight():
    started = time.monotonic()
    seen = observe("threaded", PATIENT)
    assert time.monotonic() - started < FAST.request_timeout, "released requests are not waited for to the bound"
    assert seen.concurrent is True
    assert seen.max_in_flight == seen.sent == 5
    assert seen.workers == "threads"
    assert seen.distinct_threads == seen.sequential, "a new thread per request"
    assert seen.call == "app.run(threaded=True)"
    assert seen.server_classes[:3] == [
        "__main__.ThreadedServer",
        "socketserver.ThreadingMixIn",
        "wsgiref.simple_server.WSGIServer",
    ]


def test_forking_server_caps_in_flight_at_max_children_and_forks_per_request():
    seen = observe("processes3")
    assert seen.concurrent is True
    assert seen.max_in_flight == 3
    assert seen.completed == 5
    assert seen.workers == "forked processes"
    assert seen.served_by_server_process is False
    assert seen.distinct_pids == seen.sequential
    assert (seen.multithread, seen.multiprocess) == (False, False), "wsgi flags as wsgiref sets them"


def test_more_requests_than_workers_are_sent():
    assert FAST.concurrent_requests > 3


def test_forking_server_without_fork_is_seen_dropping_requests_with_the_servers_error():
    seen = observe("processes3_nofork")
    assert seen.outcome == "requests-failed"
    assert f"{probe.DROPPED_REQUESTS} requests in a row closed without a response" in (seen.error or "")
    assert seen.server_log == "AttributeError: module 'os' has no attribute 'fork'"
    assert seen.sent == 0, "no observation phase runs against a server that answers nothing"


def test_crash_is_an_error_outcome_with_the_exception_line():
    seen = observe("crash")
    assert seen.outcome == "error"
    assert seen.error == "RuntimeError: the probe crashed on purpose"
    assert seen.failed_in == "server", "the app was created before it crashed"
    assert seen.call == "crash", "a mode the records do not know keeps its own name as the call"


def test_a_crash_while_creating_the_app_is_told_apart_from_a_server_that_fails_to_start():
    seen = observe("app_crash")
    assert (seen.outcome, seen.failed_in) == ("error", "app")
    assert seen.error == "TypeError: code() takes at least 14 arguments (13 given)"


def test_server_that_never_listens_times_out_within_the_bound():
    started = time.monotonic()
    seen = observe("silent", harness.Settings(start_timeout=1.0, stop_timeout=1.0))
    assert seen.outcome == "timeout" and seen.call == "silent", "a stand-in's own mode is its call"
    assert "did not answer" in (seen.error or "")
    assert time.monotonic() - started < 15, (
        "the start bound (1 s) and the stop bound (1 s), with room for a loaded machine"
    )


def test_hanging_handler_times_out_and_is_killed_even_though_it_ignores_sigterm():
    started = time.monotonic()
    seen = observe("hang", harness.Settings(entry_timeout=1.0, request_timeout=2.0, stop_timeout=1.0))
    assert seen.outcome == "timeout" and seen.call == "hang"
    assert "no held request reached the handler" in (seen.error or "")
    assert time.monotonic() - started < 20
    # The fixture no_stray_probes then finds no process left: only SIGKILL could have stopped it.


def test_the_stand_in_really_ignores_sigterm(tmp_path):
    """The test above proves the KILL escalation only if SIGTERM alone cannot stop the stand-in."""
    control = harness.ControlServer(read_timeout=1.0)
    try:
        starter = probe.Probe(PYTHON, "hang", control.port, STAND_IN)
        with processes.serving(starter, start_timeout=10.0, stop_timeout=1.0) as (process, _):
            os.killpg(process.pid, signal.SIGTERM)
            with pytest.raises(subprocess.TimeoutExpired):
                process.process.wait(timeout=1.0)
    finally:
        control.close()


def test_the_negative_window_decides_how_long_a_late_request_may_take_to_enter():
    """Held requests enter a second apart: a shorter window misses each next one, a longer one counts them all."""
    short = observe("late", harness.Settings(negative_window=0.2, entry_timeout=5.0))
    long = observe("late", harness.Settings(negative_window=5.0, entry_timeout=5.0))
    assert short.max_in_flight == 1 and short.concurrent is False
    assert long.max_in_flight == long.sent == 5 and long.concurrent is True


def test_a_port_taken_before_the_server_binds_it_is_tried_again_on_another(tmp_path):
    starts: list[int] = []

    class TakenOnce:
        """First start: a server that finds its port taken (as another process would make it); then a real one."""

        def command(self, port: int, cwd: Path) -> processes.Command:
            starts.append(port)
            if len(starts) == 1:
                program = "raise OSError(98, 'Address already in use')"
                return processes.Command([str(PYTHON), "-c", program], dict(os.environ), cwd)
            return probe.Probe(PYTHON, "threaded", 1, STAND_IN).command(port, cwd)

        def readiness(self, port: int) -> processes.ReadyCheck:
            return probe.Probe(PYTHON, "threaded", 1, STAND_IN).readiness(port)

    with processes.serving(TakenOnce(), start_timeout=10.0, stop_timeout=2.0) as (_, port):
        assert len(starts) == 2 and port == starts[1]


def test_a_server_that_fails_for_another_reason_is_not_tried_again(tmp_path):
    starts: list[int] = []

    class Crashing:
        def command(self, port: int, cwd: Path) -> processes.Command:
            starts.append(port)
            return probe.Probe(PYTHON, "crash", 1, STAND_IN).command(port, cwd)

        def readiness(self, port: int) -> processes.ReadyCheck:
            return probe.Probe(PYTHON, "crash", 1, STAND_IN).readiness(port)

    with pytest.raises(processes.StartFailed, match="crashed on purpose"), processes.serving(Crashing(), 10.0, 2.0):
        pass
    assert len(starts) == 1


def test_probe_is_stopped_when_the_observer_raises(monkeypatch):
    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(harness, "_observe_concurrency", explode)
    with pytest.raises(KeyboardInterrupt):
        observe("threaded")


def test_clean_environment_drops_flask_and_python_variables(monkeypatch):
    monkeypatch.setenv("FLASK_DEBUG", "1")
    monkeypatch.setenv("PYTHONPATH", "/nowhere")
    env = probe.probe_environment(1234)
    assert "FLASK_DEBUG" not in env and env.get("PYTHONPATH") is None
    assert env["PROBE_CONTROL_PORT"] == "1234"


def test_missing_interpreter_is_an_error_outcome_not_an_exception(tmp_path):
    seen = harness.observe_mode(tmp_path / "no-such-python", "default", FAST, app=STAND_IN)
    assert seen.outcome == "error" and seen.call == "app.run()"
    assert (seen.error or "").startswith("could not start the server: FileNotFoundError")


def test_reloader_child_is_classified_as_such_and_stopped_with_its_parent():
    seen = observe("debug")
    assert seen.outcome == "served" and seen.concurrent is True and seen.workers == "threads"
    assert seen.server_process == "reloader child", "the child the reloader started served every request"
    assert seen.served_by_server_process is False
    assert seen.distinct_pids == 1, "one serving process, not a fork per request"
    assert processes_running(str(STAND_IN)) == [], "the reloader's child was stopped with the process that was started"


def test_older_reloader_serving_on_one_thread_that_is_not_the_main_one_is_one_at_a_time():
    seen = observe("debug_serial")
    assert seen.concurrent is False and seen.max_in_flight == 1
    assert seen.workers == "single thread", "one thread serves everything: not a thread per request"
    assert seen.server_process == "reloader child"


def launcher(folder: Path, flags: str = "") -> Path:
    """An interpreter behind a launcher, as a venv's python.exe is on Windows: a program that starts the
    real interpreter as its child (no exec) and waits for it. ``flags`` go to the interpreter."""
    wrapper = folder / "bin" / "python"
    wrapper.parent.mkdir(parents=True)
    wrapper.write_text(f'#!/bin/sh\n"{sys.executable}" {flags} "$@"\nexit $?\n')
    wrapper.chmod(0o755)
    return wrapper


@pytest.mark.parametrize(("mode", "workers"), [("threaded", "threads"), ("default", "main thread only")])
def test_behind_a_launcher_the_interpreter_is_the_started_server_not_a_forked_worker(tmp_path, mode, workers):
    python = launcher(tmp_path)
    seen = harness.observe_mode(python, mode, PATIENT if mode == "threaded" else FAST, app=STAND_IN)
    assert seen.outcome == "served" and seen.workers == workers, "the launcher's child is no fork"
    assert seen.served_by_server_process is True, "the pid the interpreter reported, not the launcher's"
    assert seen.server_process == "started process"
    assert processes_running(str(STAND_IN)) == [], "the launcher and its child stopped together"


def test_behind_a_launcher_a_forking_server_still_has_forked_workers(tmp_path):
    seen = harness.observe_mode(launcher(tmp_path), "processes3", FAST, app=STAND_IN)
    assert seen.workers == "forked processes" and seen.served_by_server_process is False


def test_an_interpreter_that_skips_the_startup_hook_is_a_fault_of_ours_never_an_observation(tmp_path):
    with pytest.raises(harness.ProbeFault, match=r"wrote no pid to .*probe\.pid .*-E, -I or -S"):
        harness.observe_mode(launcher(tmp_path, "-E"), "threaded", FAST, app=STAND_IN)
    assert processes_running(str(STAND_IN)) == [], "the server it started was stopped"


def test_a_mode_the_records_do_not_know_keeps_its_own_name_as_the_call():
    assert observe("late", harness.Settings(negative_window=2.5, entry_timeout=5.0)).call == "late"


class Impostor(http.server.BaseHTTPRequestHandler):
    """Another probe on the same port: it answers /info, naming a control port that is not ours."""

    def do_GET(self) -> None:
        body = json.dumps({"pid": os.getpid(), "control_port": 1}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class Dropper(socketserver.BaseRequestHandler):
    """Another server on the same port that closes every connection unanswered (a forking server without fork)."""

    def handle(self) -> None:
        self.request.close()


@contextmanager
def occupied(server_class: Any, handler: Any) -> Iterator[int]:
    """A foreign server of ``handler`` on a loopback port, from a thread; yields the port."""
    server = server_class(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def handed_out_first(monkeypatch: pytest.MonkeyPatch, port: int) -> list[int]:
    """Make the harness's first free port ``port`` (as the kernel may when another probe just took it)."""
    handed: list[int] = []
    real = processes.free_port

    def free_port() -> int:
        handed.append(port if not handed else real())
        return handed[-1]

    monkeypatch.setattr(processes, "free_port", free_port)
    return handed


def test_another_probe_answering_on_the_picked_port_is_never_observed_as_this_one(monkeypatch):
    with occupied(http.server.ThreadingHTTPServer, Impostor) as port:
        handed = handed_out_first(monkeypatch, port)
        seen = observe("threaded", PATIENT)
    assert len(handed) == 2, "the start was tried again on another port"
    assert seen.outcome == "served" and seen.max_in_flight == 5 and seen.served_by_server_process


class LeavesAFileThenFindsItsPortTaken:
    """A program that writes a file in its folder, then exits as a server whose port was taken; then, on the next
    port, one that serves (an interpreter writing its pid file before the bind failed, as under load)."""

    def __init__(self) -> None:
        self.folders: list[Path] = []
        self.found: list[list[str]] = []

    def command(self, port: int, cwd: Path) -> processes.Command:
        self.folders.append(cwd)
        self.found.append(sorted(p.name for p in cwd.iterdir()))
        script = "import pathlib, sys, time; pathlib.Path('left-behind').write_text('x'); " + (
            "sys.exit('OSError: [Errno 98] Address already in use')" if len(self.folders) == 1 else "time.sleep(60)"
        )
        return processes.Command([sys.executable, "-c", script], dict(os.environ), cwd)

    def readiness(self, port: int) -> processes.ReadyCheck:
        return lambda process, timeout: Path(process.cwd, "left-behind").exists() and len(self.folders) > 1


def test_each_attempt_on_a_new_port_starts_in_a_folder_of_its_own():
    starter = LeavesAFileThenFindsItsPortTaken()
    with processes.serving(starter, 10, 5):
        pass
    assert len(starter.folders) == 2, "the first attempt found its port taken"
    assert starter.found == [[], []], "nothing the first attempt left is in the second's folder"


def test_a_foreign_listener_dropping_requests_is_not_this_servers_outcome(monkeypatch):
    # This server fails before it listens (as `threaded=True, processes=3` does); the port's drops are another's.
    with occupied(socketserver.ThreadingTCPServer, Dropper) as port:
        handed_out_first(monkeypatch, port)
        seen = observe("crash")
    assert seen.outcome == "error" and "crashed on purpose" in (seen.error or ""), seen


def test_a_foreign_listener_dropping_requests_while_this_server_starts_makes_it_start_elsewhere(monkeypatch):
    with occupied(socketserver.ThreadingTCPServer, Dropper) as port:
        handed = handed_out_first(monkeypatch, port)
        seen = observe("threaded", PATIENT)
    assert len(handed) >= 2 and seen.outcome == "served" and seen.max_in_flight == 5, seen


def test_a_port_taken_by_other_probes_every_time_is_a_fault_of_ours_never_an_observation(monkeypatch):
    with occupied(http.server.ThreadingHTTPServer, Impostor) as port:
        monkeypatch.setattr(processes, "free_port", lambda: port)
        with pytest.raises(harness.ProbeFault, match=r"another probe answered on .* on every port tried"):
            observe("threaded")


class Anonymous(Impostor):
    """A reply naming no control port (an error page, a person's manual run): not evidence of another probe."""

    def do_GET(self) -> None:
        self.send_response(500)
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_reply_naming_no_control_port_is_not_taken_for_another_probes(monkeypatch):
    with occupied(http.server.ThreadingHTTPServer, Anonymous) as port:
        ready = probe.Probe(PYTHON, "threaded", 12345, STAND_IN).readiness(port)
        assert ready(processes.ProcessGroup([str(PYTHON), "-c", "pass"], dict(os.environ), Path.cwd()), 2.0)


def test_a_mode_the_probe_lacks_is_a_fault_of_ours_never_the_releases_error():
    """The real probe, asked for a mode its table lacks, says so before importing Flask (none is needed here)."""
    with pytest.raises(harness.ProbeFault, match=r"has no mode 'explicit_serial'.*add it to MODE_OPTIONS"):
        harness.observe_mode(PYTHON, "explicit_serial", FAST, app=probe.PROBE_APP)


def test_a_reply_without_a_field_the_harness_reads_is_a_fault_of_ours():
    with pytest.raises(harness.ProbeFault, match=r"answered in mode 'threadless' without thread"):
        observe("threadless")


def test_the_probe_knows_every_mode_the_records_start_it_in_and_says_unknown_ones_in_the_harness_words():
    import ast

    tree = ast.parse(probe.PROBE_APP.read_text())
    assigned = {
        node.targets[0].id: node.value for node in tree.body if isinstance(node, ast.Assign) and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    }  # fmt: skip
    table = ast.literal_eval(assigned["MODE_OPTIONS"])
    assert set(table) == set(records.MODES) - set(records.CLI_MODES)
    assert ast.literal_eval(assigned["UNKNOWN_MODE"]) == probe.UNKNOWN_MODE

"""Every system the workflows run on can import the code and run a probe (no Windows machine here: simulated)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import ROOT, STAND_IN, processes_running

#: Names of ``os`` and ``signal`` that Windows' Python does not have (its documentation: "Availability: Unix"),
#: less those the standard library's own POSIX code calls at run time (subprocess waits with os.WNOHANG).
POSIX_ONLY = {
    "os": (
        "fork", "forkpty", "killpg", "getpgid", "getpgrp", "setpgid", "setsid", "getsid", "getloadavg",
        "getuid", "geteuid", "getgid", "getegid", "getgroups", "setuid", "nice", "sched_getaffinity", "mkfifo",
        "pipe2", "sync",
    ),
    "signal": (
        "SIGKILL", "SIGHUP", "SIGQUIT", "SIGALRM", "SIGUSR1", "SIGUSR2", "SIGCHLD", "SIGPIPE", "SIGCONT",
        "SIGSTOP", "SIGTSTP", "alarm", "pause", "setitimer", "getitimer", "siginterrupt", "pthread_kill",
        "pthread_sigmask", "sigwait",
    ),
}  # fmt: skip

# The standard library picks its own branch by sys.platform, which stays "linux" here: its modules are imported
# before the names go, as Windows' would be imported with its own. Everything of ours comes after.
SIMULATION = """
import os, signal, subprocess, socket, tempfile, threading, http.client, urllib.request, json, sys
from pathlib import Path
for module, names in {posix_only!r}.items():
    for name in names:
        if hasattr(sys.modules[module], name):
            delattr(sys.modules[module], name)
assert not hasattr(os, "fork") and not hasattr(signal, "SIGKILL")
sys.argv = ["nox", "-l"]
import noxfile
from scripts.audit import harness
from scripts.common import processes
assert not processes.CAN_FORK
# Windows' way of stopping a server and all it started: taskkill /F /T (a stand-in on PATH here).
processes.WINDOWS = True
settings = harness.Settings(
    start_timeout=20.0, entry_timeout=5.0, negative_window=1.0, request_timeout=10.0, stop_timeout=5.0
)
seen = harness.observe_mode(Path(sys.executable), {mode!r}, settings, app=Path({app!r}))
print(json.dumps([seen.outcome, seen.concurrent, seen.max_in_flight, seen.workers]))
"""
#: taskkill /F /T /PID N as Windows runs it: the process and every process it started. Each server here is the
#: leader of a session of its own, so its group is that tree.
TASKKILL = """#!/bin/sh
echo "$*" >> "$TASKKILL_LOG"
while [ "$#" -gt 1 ]; do [ "$1" = /PID ] && kill -9 "-$2"; shift; done
exit 0
"""


def simulate_windows(program: str, folder: Path) -> subprocess.CompletedProcess[str]:
    (folder / "bin").mkdir(exist_ok=True)
    (folder / "bin" / "taskkill").write_text(TASKKILL)
    (folder / "bin" / "taskkill").chmod(0o755)
    env = {**os.environ, "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    env["TASKKILL_LOG"] = str(folder / "taskkill.log")
    return subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.parametrize(
    ("mode", "seen"),
    [
        ("default", '["served", false, 1, "main thread only"]'),
        # Werkzeug's reloader as the stand-in plays it: the started process starts the one that serves.
        ("debug", '["served", true, 5, "threads"]'),
    ],
)
def test_simulated_windows_loads_the_noxfile_and_runs_one_probe(tmp_path, mode, seen):
    """Without os' and signal's POSIX-only names, stopping as Windows does: the noxfile imports, a probe serves,
    and it is stopped with everything it started."""
    done = simulate_windows(SIMULATION.format(posix_only=POSIX_ONLY, app=str(STAND_IN), mode=mode), tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.splitlines()[-1] == seen
    assert (tmp_path / "taskkill.log").read_text().startswith("/F /T /PID ")
    assert processes_running(str(STAND_IN)) == []


def test_the_simulation_fails_where_code_of_ours_names_a_posix_only_name_at_import(tmp_path):
    """The simulation can fail: a module naming signal.SIGKILL where it is defined (as processes.py once did)."""
    (tmp_path / "posix_default.py").write_text(
        textwrap.dedent("""
        import signal
        def stop(pid, sig=signal.SIGKILL):
            return pid, sig
        """)
    )
    program = SIMULATION.format(posix_only=POSIX_ONLY, app=str(STAND_IN), mode="default").replace(
        "import noxfile", f"sys.path.insert(0, {str(tmp_path)!r})\nimport posix_default\nimport noxfile"
    )
    done = simulate_windows(program, tmp_path)
    assert done.returncode != 0
    assert "AttributeError" in done.stderr and "SIGKILL" in done.stderr


@pytest.mark.parametrize("module", sorted(POSIX_ONLY))
def test_every_name_the_simulation_removes_exists_here_to_be_removed(module):
    """A name this Linux Python lacks would be removed from nothing: the simulation would prove less than it says."""
    present = __import__(module)
    missing = [name for name in POSIX_ONLY[module] if not hasattr(present, name)]
    assert missing == []

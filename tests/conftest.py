"""What many tests share: loopback servers, releases and machines made to order, stray-process checks."""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from scripts.layout import ROOT
from scripts.packages.catalogue import Release
from scripts.packages.index import HANDED_DOWN
from scripts.packages.interpreters import Interpreter

TESTS = Path(__file__).resolve().parent
STAND_IN = TESTS / "probes" / "wsgi_app.py"
#: A machine with the interpreters the audit cares about; their paths are never run.
MACHINE = [
    Interpreter((2, 7, 18), "/py27"),
    Interpreter((3, 7, 16), "/py37"),
    Interpreter((3, 9, 18), "/py39"),
    Interpreter((3, 13, 0), "/py313"),
]

__all__ = [
    "MACHINE",
    "ROOT",
    "STAND_IN",
    "noxfile_prints",
    "processes_running",
    "release",
    "run_here",
    "serving",
    "serving_folder",
]


def run_here(argv: list[str], unset: tuple[str, ...] = (), **variables: str) -> str:
    """What ``argv`` prints, run to its end in this checkout without the variables ``unset``, with ``variables``."""
    env = {key: value for key, value in os.environ.items() if key not in unset}
    done = subprocess.run(
        argv, capture_output=True, text=True, cwd=ROOT, timeout=120, check=True, env={**env, **variables}
    )
    return done.stdout


def noxfile_prints(program: str, unset: tuple[str, ...] = (), **variables: str) -> str:
    """The last line ``program`` prints with the noxfile imported, in a process of its own (importing it acts:
    it reads nox's command line and may hand the index down)."""
    return run_here([sys.executable, "-c", f"import sys, noxfile\n{program}"], unset, **variables).splitlines()[-1]


@pytest.fixture(autouse=True)
def nothing_handed_down(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test sees the index a parallel nox run hands its sessions (``nox -j 2 -s tests`` would)."""
    # setenv first, so that the variable's absence is what monkeypatch restores: a test that hands
    # the index down (it writes os.environ itself) must not leak it into module-scoped fixtures.
    monkeypatch.setenv(HANDED_DOWN, "")
    monkeypatch.delenv(HANDED_DOWN)


def release(
    version: str,
    requires_python: str | None = None,
    installable: bool = True,
    uploaded: str | None = "2018-04-26T20:13:58Z",
) -> Release:
    """A final release as the catalogue would list it."""
    return Release(version, uploaded, requires_python, False, installable, False)


def processes_running(marker: str) -> list[str]:
    """Command lines of live processes that mention ``marker`` (zombies excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in cmdline and state != "Z":
            found.append(cmdline)
    return found


@pytest.fixture
def no_stray_probes() -> Iterator[None]:
    """Fails the test if any process started from the stand-in probe outlives it."""
    yield
    assert processes_running(str(STAND_IN)) == []


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Real wheels of Flask's newest audited release and its dependencies, for Python 3.9 or newer."""
    from packaging.version import Version

    from scripts.audit.plan import plan
    from scripts.audit.records import load_all
    from scripts.layout import REPO
    from scripts.packages.interpreters import discover
    from tests import local_index

    chosen = plan(release("9.9.9", ">=3.9", uploaded=None), discover())
    if chosen.interpreter is None:
        pytest.skip("no Python >= 3.9 on this machine for a renumbered release")
    newest = max(load_all(REPO.results), key=lambda o: Version(o.flask))
    minor = ".".join(map(str, chosen.interpreter.minor))
    return local_index.download(f"flask=={newest.flask}", minor, tmp_path_factory.mktemp("wheels"))


@contextmanager
def serving(handler: Any) -> Iterator[str]:
    """Serve ``handler`` (a request handler class or factory) on 127.0.0.1 from a thread; yield the base URL.

    The server is shut down however the block ends.
    """
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without logging every request."""

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def serving_folder(folder: Path) -> Iterator[str]:
    """Serve the files under ``folder`` over HTTP on 127.0.0.1; yield the base URL."""
    with serving(functools.partial(QuietFiles, directory=str(folder))) as url:
        yield url


def site_packages(python: Path) -> Path:
    """The site-packages folder of the environment whose interpreter is ``python``, as it says itself."""
    return Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip

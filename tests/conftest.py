from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
STAND_IN = TESTS / "probes" / "wsgi_app.py"


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
def no_stray_probes():
    """Fails the test if any process started from the stand-in probe outlives it."""
    yield
    assert processes_running(str(STAND_IN)) == []


@contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler] | object) -> Iterator[str]:
    """Serve ``handler`` on 127.0.0.1 from a thread; yield the base URL; always shut the server down."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # type: ignore[arg-type]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()

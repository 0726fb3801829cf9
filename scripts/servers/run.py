"""The server comparison: one app served by the development server, waitress and gunicorn.

Every server runs the same app (``probes/load_app.py``) from the same environment, on
127.0.0.1 and a free port, in its own process group; it is stopped (TERM, then KILL of the
group) when its measurement ends, however it ends. Each one gets the same bounded load
(``scripts.loadgen``): every concurrency level on every route, several rounds each.
Nothing here knows about nox: the session hands over the environment's python.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scripts.audit.harness import HOST, ProbeProcess, free_port, get
from scripts.common.failures import first_error_line
from scripts.packages import environments as environment
from scripts.servers import loadgen
from scripts.servers import records as server_records
from scripts.servers.records import Measurement, ServerResult, ServersRun

ROOT = Path(__file__).resolve().parent.parent.parent
PROBES = ROOT / "probes"
LOAD_APP = PROBES / "load_app.py"
APP = "load_app:app"
ROUTES = {"/fast": "answers at once", "/wait": "waits 50 ms before answering (an I/O-bound handler)"}
PACKAGES = ("flask", "werkzeug", "waitress", "gunicorn")
#: gunicorn's documented starting point for the number of workers.
WORKERS = 2 * (os.cpu_count() or 1) + 1
THREADS = 4

Log = Callable[[str], None]


class ServerFailed(RuntimeError):
    """The server did not get to answering; the message says what it printed."""


@dataclass(frozen=True)
class Server:
    """A way of serving the app: its name in the data, a label for readers, and how it is started."""

    name: str
    label: str
    args: tuple[str, ...]

    def argv(self, python: Path, port: int) -> list[str]:
        return [str(python), *(arg.format(listen=f"{HOST}:{port}", host=HOST, port=port) for arg in self.args)]

    @property
    def command(self) -> str:
        """The command line as a reader would type it (port left symbolic)."""
        shown = [arg.format(listen=f"{HOST}:PORT", host=HOST, port="PORT") for arg in self.args]
        if shown[0] == "-m":
            shown = shown[1:]
        elif shown[0] == str(LOAD_APP):
            shown[0] = "python probes/load_app.py"
        return " ".join(shown)


SERVERS = (
    Server("dev-threaded", "Flask dev server, app.run()", (str(LOAD_APP), "dev-threaded", "{port}")),
    Server("dev-serial", "Flask dev server, threaded=False", (str(LOAD_APP), "dev-serial", "{port}")),
    Server(
        "waitress",
        f"waitress ({THREADS} threads)",
        ("-m", "waitress", "--listen={listen}", f"--threads={THREADS}", APP),
    ),
    Server(
        "gunicorn-sync",
        f"gunicorn sync ({WORKERS} workers)",
        ("-m", "gunicorn", "--bind={listen}", f"--workers={WORKERS}", "--worker-class=sync", APP),
    ),
    Server(
        "gunicorn-gthread",
        f"gunicorn gthread ({WORKERS} workers x {THREADS} threads)",
        (
            "-m",
            "gunicorn",
            "--bind={listen}",
            f"--workers={WORKERS}",
            "--worker-class=gthread",
            f"--threads={THREADS}",
            APP,
        ),
    ),
)
BY_NAME = {server.name: server for server in SERVERS}


@dataclass(frozen=True)
class Settings:
    """The load and every bound (seconds)."""

    rounds: int = 3
    seconds: float = 2.0
    concurrency: tuple[int, ...] = (1, 8, 64)
    routes: tuple[str, ...] = tuple(ROUTES)
    warmup_seconds: float = 0.5
    request_timeout: float = 10.0
    start_timeout: float = 30.0
    stop_timeout: float = 5.0
    servers: tuple[str, ...] = field(default_factory=lambda: tuple(BY_NAME))


def server_environment() -> dict[str, str]:
    """A clean environment: nothing from the user's shell may steer Flask, Werkzeug or gunicorn."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("FLASK_", "WERKZEUG_", "GUNICORN_", "PYTHON", "VIRTUAL_ENV"))
    }
    env.update({"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(PROBES)})
    env.pop("GUNICORN_CMD_ARGS", None)
    return env


def _wait_until_answering(process: ProbeProcess, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.exited():
            raise ServerFailed(first_error_line(process.output()) or f"exited with {process.process.returncode}")
        if get(port, "/fast", timeout=max(0.1, min(2.0, deadline - time.monotonic()))).status == 200:
            return
        if time.monotonic() >= deadline:
            raise ServerFailed(f"did not answer 200 on {HOST}:{port} within {timeout:g}s")
        time.sleep(0.05)  # polling interval for the port to open; not a verdict


@contextmanager
def serving(server: Server, python: Path, settings: Settings) -> Iterator[tuple[ProbeProcess, int]]:
    """Start ``server``, wait until it answers, yield it and its port; stop its process group whatever happens."""
    with tempfile.TemporaryDirectory(prefix="flask-servers-") as cwd:
        port = free_port()
        process = ProbeProcess(server.argv(python, port), server_environment(), Path(cwd))
        try:
            _wait_until_answering(process, port, settings.start_timeout)
            yield process, port
        finally:
            process.stop(settings.stop_timeout)


def load_of(concurrency: int, settings: Settings) -> loadgen.Load:
    return loadgen.Load(concurrency, settings.seconds, timeout=settings.request_timeout)


def measure(server: Server, python: Path, settings: Settings, log: Log = print) -> ServerResult:
    """Every route at every concurrency, ``settings.rounds`` times; a server that fails is recorded, not raised."""
    result = ServerResult(server.name, server.label, server.command, "measured")
    try:
        with serving(server, python, settings) as (_, port):
            loadgen.run_round(port, "/fast", loadgen.Load(8, settings.warmup_seconds))
            for route in settings.routes:
                for concurrency in settings.concurrency:
                    load = load_of(concurrency, settings)
                    rounds = [loadgen.run_round(port, route, load) for _ in range(settings.rounds)]
                    measurement = Measurement.of(route, concurrency, rounds)
                    result.measurements.append(measurement)
                    log(f"{server.name} {route} at {concurrency}: {describe(measurement)}")
    except ServerFailed as exc:
        result.outcome, result.error = "failed", str(exc)
        log(f"{server.name}: failed: {exc}")
    return result


def describe(measurement: Measurement) -> str:
    return (
        f"{measurement.requests_per_second} req/s, p50 {measurement.p50_ms} ms, p99 {measurement.p99_ms} ms, "
        f"{measurement.errors} errors (medians of {len(measurement.rounds)} rounds)"
    )


def run(python: Path, settings: Settings, log: Log = print) -> ServersRun:
    """Measure every chosen server in turn with the same load."""
    load_before = os.getloadavg()
    results = [measure(BY_NAME[name], python, settings, log) for name in settings.servers]
    installed = environment.installed_packages(python)
    return ServersRun(
        measured_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        machine={
            "cpus": os.cpu_count(),
            "python": environment.interpreter_version(python),
            "load_average_before": [round(value, 2) for value in load_before],
            "load_average_after": [round(value, 2) for value in os.getloadavg()],
        },
        packages={name: installed[name] for name in PACKAGES if name in installed},
        load={
            "client": "scripts/loadgen.py: asyncio, raw sockets, one connection per request (Connection: close)",
            "rounds": settings.rounds,
            "round_seconds": settings.seconds,
            "request_timeout": settings.request_timeout,
            "concurrency": list(settings.concurrency),
            "routes": {route: ROUTES[route] for route in settings.routes},
        },
        servers=results,
    )


def save(run_: ServersRun, output: Path) -> Path:
    path = output / "reports" / server_records.DATA
    server_records.save(run_, path)
    return path


def options_from_args(args: list[str]) -> tuple[Settings, Path, str | None]:
    """Parse what follows ``--`` on ``nox -s servers``: the load's shape, the servers, where to write."""
    parser = argparse.ArgumentParser(prog="nox -s servers --", description="Options of the server comparison.")
    parser.add_argument("--rounds", type=int, default=Settings.rounds, help="rounds per route and concurrency")
    parser.add_argument("--seconds", type=float, default=Settings.seconds, help="length of one round")
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(Settings.concurrency))
    parser.add_argument("--servers", nargs="+", choices=list(BY_NAME), default=list(BY_NAME))
    parser.add_argument("--output", type=Path, default=ROOT, help="write reports/ and docs/ under this folder")
    parser.add_argument("--index-url", help="package index (Simple API); default: your uv/pip configuration")
    parsed = parser.parse_args(args)
    if parsed.rounds < 1 or parsed.seconds <= 0 or min(parsed.concurrency) < 1:
        parser.error("--rounds, --seconds and --concurrency must be positive")
    settings = Settings(
        rounds=parsed.rounds,
        seconds=parsed.seconds,
        concurrency=tuple(sorted(set(parsed.concurrency))),
        servers=tuple(name for name in BY_NAME if name in parsed.servers),
    )
    return settings, parsed.output.resolve(), parsed.index_url

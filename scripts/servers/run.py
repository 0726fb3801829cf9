"""The server comparison: one app served by the development server, waitress and gunicorn.

Every server runs the same app (``probes/load_app.py``) from the same environment, on
127.0.0.1 and a free port, in its own process group; it is stopped (TERM, then KILL of the
group) when its measurement ends, however it ends. Each one gets the same bounded load
(``loadgen``): every concurrency level on every route, several rounds each. Nothing here
knows about nox: the session hands over the environment's python.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from scripts.common import cli, processes
from scripts.common.clock import stamp
from scripts.common.loopback import HOST, get
from scripts.common.processes import (
    Command,
    ProcessGroup,
    ReadyCheck,
    StartFailed,
    clean_environment,
    load_average,
    serving,
)
from scripts.layout import PROBES, REPO, Layout
from scripts.packages import environments
from scripts.servers import loadgen
from scripts.servers.records import Measurement, ServerResult, ServersRun

__all__ = ["BY_NAME", "SERVERS", "Server", "ServersFault", "Settings", "measure", "parse_options", "run"]

LOAD_APP = PROBES / "load_app.py"
APP = "load_app:app"
ROUTES = {"/fast": "answers at once", "/wait": "waits 50 ms before answering (an I/O-bound handler)"}
PACKAGES = ("flask", "werkzeug", "waitress", "gunicorn")
#: gunicorn's documented starting point for the number of workers.
WORKERS = 2 * (os.cpu_count() or 1) + 1
THREADS = 4
#: Slots of the equal-slots variants: as many as the threaded dev server had at the comparison's top load
#: (it starts a thread per connection), so that the comparison is not only each server's defaults.
EQUAL_SLOTS = 64
#: gthread threads per worker that give every worker together at least EQUAL_SLOTS.
EQUAL_THREADS = -(-EQUAL_SLOTS // WORKERS)
#: Variables of the user's shell that could steer Flask, Werkzeug, gunicorn or the interpreter.
STEERING = (*processes.STEERING, "GUNICORN_")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Server:
    """A way of serving the app: its name in the data, a label for readers, and how it is started."""

    name: str
    label: str
    args: tuple[str, ...]
    #: Requests it can handle at once: None for a thread per connection, without a cap (the threaded dev server).
    slots: int | None

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


def _waitress(name: str, threads: int) -> Server:
    return Server(
        name,
        f"waitress ({threads} threads)",
        ("-m", "waitress", "--listen={listen}", f"--threads={threads}", APP),
        threads,
    )


def _gthread(name: str, threads: int) -> Server:
    return Server(
        name,
        f"gunicorn gthread ({WORKERS} workers x {threads} threads)",
        (
            "-m",
            "gunicorn",
            "--bind={listen}",
            f"--workers={WORKERS}",
            "--worker-class=gthread",
            f"--threads={threads}",
            APP,
        ),
        WORKERS * threads,
    )


SERVERS = (
    Server("dev-threaded", "Flask dev server, app.run()", (str(LOAD_APP), "dev-threaded", "{port}"), None),
    Server("dev-serial", "Flask dev server, threaded=False", (str(LOAD_APP), "dev-serial", "{port}"), 1),
    # Settings as commonly given (waitress's default of 4 threads; gunicorn's 2 x CPUs + 1 workers)...
    _waitress("waitress", THREADS),
    Server(
        "gunicorn-sync",
        f"gunicorn sync ({WORKERS} workers)",
        ("-m", "gunicorn", "--bind={listen}", f"--workers={WORKERS}", "--worker-class=sync", APP),
        WORKERS,
    ),
    _gthread("gunicorn-gthread", THREADS),
    # ... and with as many slots as the threaded dev server had at the top load.
    _waitress("waitress-equal", EQUAL_SLOTS),
    _gthread("gunicorn-gthread-equal", EQUAL_THREADS),
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


#: How the app learns its start's token (``probes/load_app.py``).
TOKEN_VARIABLE = "LOAD_APP_TOKEN"


def server_environment() -> dict[str, str]:
    """A clean environment: nothing from the user's shell may steer Flask, Werkzeug or gunicorn."""
    return clean_environment(
        STEERING, {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(PROBES)}
    )


@dataclass(frozen=True)
class Served:
    """One server of the comparison as something to start: ready once ``/token`` answers its token."""

    server: Server
    python: Path
    #: Told to the app at its start; an answer with another one comes from another run's server.
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    def command(self, port: int, cwd: Path) -> Command:
        return Command(self.server.argv(self.python, port), {**server_environment(), TOKEN_VARIABLE: self.token}, cwd)

    def readiness(self, port: int) -> ReadyCheck:
        """Ready once the app answers with this start's token. A free port is free only until someone binds
        it: an answer with another token is another server's, and the start is ``taken``, tried again on
        another port, never measured."""

        def ready(process: ProcessGroup, bound: float) -> bool:
            reply = get(port, "/token", timeout=bound)
            if reply.status is None:
                return False
            if reply.status == 200 and (reply.body or {}).get("token") == self.token:
                return True
            raise StartFailed(
                "taken", f"another server answered on {HOST}:{port} (HTTP {reply.status})", process.output()
            )

        return ready


class ServersFault(RuntimeError):
    """The comparison could not measure a server for a reason that is not the server's own (other servers
    took every port tried): nothing is recorded; the message says what to do."""


def measure(server: Server, python: Path, settings: Settings, log: Log = print) -> ServerResult:
    """Every route at every concurrency, ``settings.rounds`` times; a server that fails is recorded, not raised."""
    result = ServerResult(server.name, server.label, server.command, "measured", slots=server.slots)
    try:
        with serving(Served(server, python), settings.start_timeout, settings.stop_timeout) as (_, port):
            loadgen.run_round(port, "/fast", loadgen.Load(8, settings.warmup_seconds))
            for route in settings.routes:
                for concurrency in settings.concurrency:
                    load = loadgen.Load(concurrency, settings.seconds, timeout=settings.request_timeout)
                    rounds = [loadgen.run_round(port, route, load) for _ in range(settings.rounds)]
                    measurement = Measurement.of(route, concurrency, rounds)
                    result.measurements.append(measurement)
                    log(f"{server.name} {route} at {concurrency}: {measurement.summary()}")
    except (StartFailed, OSError) as exc:
        if isinstance(exc, StartFailed) and exc.kind == "taken":
            # Other servers took every port tried: not this server's failure, so nothing is recorded.
            raise ServersFault(f"{server.name}: {exc} on every port tried; nothing was recorded: rerun") from exc
        result.outcome, result.error = "failed", str(exc)
        log(f"{server.name}: failed: {exc}")
    return result


def run(python: Path, settings: Settings, log: Log = print) -> ServersRun:
    """Measure every chosen server in turn with the same load.

    :param python: an environment holding Flask, waitress and gunicorn.
    :param settings: the load's shape and every bound.
    """
    load_before = load_average()
    results = [measure(BY_NAME[name], python, settings, log) for name in settings.servers]
    installed = environments.inventory(python)
    return ServersRun(
        measured_at=stamp(),
        machine={
            "cpus": os.cpu_count(),
            "python": installed.python,
            "load_average_before": load_before,
            "load_average_after": load_average(),
        },
        packages={name: installed.packages[name] for name in PACKAGES if name in installed.packages},
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


@dataclass(frozen=True)
class Options:
    settings: Settings
    output: Layout
    index_url: str | None


def parse_options(args: list[str]) -> Options:
    """What follows ``--`` on ``nox -s servers``: the load's shape, the servers, where to write."""
    parser = cli.parser(
        "nox -s servers --",
        "Options of the server comparison.",
        [cli.add_index_url, lambda p: cli.add_output(p, REPO.root)],
    )
    parser.add_argument("--rounds", type=cli.positive_int, default=Settings.rounds, help="rounds per route and load")
    parser.add_argument(
        "--seconds",
        type=cli.bounded_float(0.1, 60.0, "a round is bounded and must hold some requests"),
        default=Settings.seconds,
        help="length of one round",
    )
    parser.add_argument("--concurrency", type=cli.positive_int, nargs="+", default=list(Settings.concurrency))
    parser.add_argument("--servers", nargs="+", choices=list(BY_NAME), default=list(BY_NAME))
    parsed = parser.parse_args(args)
    settings = Settings(
        rounds=parsed.rounds,
        seconds=parsed.seconds,
        concurrency=tuple(sorted(set(parsed.concurrency))),
        servers=tuple(name for name in BY_NAME if name in parsed.servers),
    )
    return Options(settings, Layout(parsed.output), parsed.index_url)

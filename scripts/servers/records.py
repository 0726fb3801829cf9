"""Server comparison records: the same app under several WSGI servers, loaded the same way.

``reports/servers.json`` holds one :class:`ServersRun`, validated by ``servers.schema.json``
(shipped beside this module). Rendering (``servers_report``) and the claims read only this.
"""

from __future__ import annotations

import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scripts.audit.records import read_json, write_json_atomic

SCHEMA_PATH = Path(__file__).with_name("servers.schema.json")
SCHEMA_VERSION = 1
#: The file name of the run under ``reports/``.
DATA = "servers.json"


@dataclass
class Round:
    """One bounded round of load at one concurrency on one route."""

    requests: int
    errors: int
    seconds: float
    requests_per_second: float
    p50_ms: float | None
    p99_ms: float | None
    #: Error kind (exception name or "HTTP <status>") and how often it was seen.
    error_kinds: dict[str, int] = field(default_factory=dict)


def _median(values: list[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return round(statistics.median(present), 2) if present else None


@dataclass
class Measurement:
    """Several rounds of the same load, and the median of each figure over the rounds."""

    route: str
    concurrency: int
    rounds: list[Round]
    requests_per_second: float | None
    p50_ms: float | None
    p99_ms: float | None
    errors: float | None

    @classmethod
    def of(cls, route: str, concurrency: int, rounds: list[Round]) -> Measurement:
        return cls(
            route,
            concurrency,
            rounds,
            requests_per_second=_median([r.requests_per_second for r in rounds]),
            p50_ms=_median([r.p50_ms for r in rounds]),
            p99_ms=_median([r.p99_ms for r in rounds]),
            errors=_median([float(r.errors) for r in rounds]),
        )


@dataclass
class ServerResult:
    """One server: how it was started, and what the load saw (or why it was not measured)."""

    name: str
    label: str
    command: str
    outcome: str  # "measured" or "failed"
    error: str | None = None
    measurements: list[Measurement] = field(default_factory=list)

    def measurement(self, route: str, concurrency: int) -> Measurement | None:
        return next((m for m in self.measurements if (m.route, m.concurrency) == (route, concurrency)), None)


@dataclass
class ServersRun:
    """One run of ``nox -s servers``: the machine, the load, every server's results."""

    measured_at: str
    machine: dict[str, Any]
    packages: dict[str, str]
    load: dict[str, Any]
    servers: list[ServerResult]
    schema_version: int = SCHEMA_VERSION

    def server(self, name: str) -> ServerResult | None:
        return next((s for s in self.servers if s.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ServersRun:
        data = dict(data)
        data["servers"] = [
            ServerResult(
                **{
                    **server,
                    "measurements": [
                        Measurement(**{**m, "rounds": [Round(**r) for r in m["rounds"]]})
                        for m in server.get("measurements", [])
                    ],
                }
            )
            for server in data["servers"]
        ]
        return cls(**data)


def save(run: ServersRun, path: Path) -> None:
    write_json_atomic(path, run.to_json())


def load(path: Path) -> ServersRun:
    return ServersRun.from_json(read_json(path))


def load_if_present(path: Path) -> ServersRun | None:
    """The stored run, or None before ``nox -s servers`` has been run."""
    return load(path) if path.exists() else None


def schema() -> dict[str, Any]:
    return read_json(SCHEMA_PATH)

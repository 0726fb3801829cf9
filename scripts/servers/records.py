"""Server comparison records: the same app under several WSGI servers, loaded the same way.

``reports/servers.json`` holds one :class:`ServersRun`, valid against ``servers.schema.json``
beside this module. Rendering (``report.servers``) and the claims read only this.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from scripts.common.jsonio import StoredDocument

__all__ = ["SCHEMA_PATH", "Measurement", "Round", "ServerResult", "ServersRun"]

SCHEMA_PATH = Path(__file__).with_name("servers.schema.json")
SCHEMA_VERSION = 1


@dataclass
class Round:
    """One bounded round of load at one concurrency on one route."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/$defs/round"

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

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/$defs/measurement"

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

    def summary(self) -> str:
        """One log line: the medians over the rounds."""
        return (
            f"{self.requests_per_second} req/s, p50 {self.p50_ms} ms, p99 {self.p99_ms} ms, "
            f"{self.errors} errors (medians of {len(self.rounds)} rounds)"
        )


@dataclass
class ServerResult:
    """One server: how it was started, and what the load saw (or why it was not measured)."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/properties/servers/items"

    name: str
    label: str
    command: str
    outcome: Literal["measured", "failed"]
    error: str | None = None
    measurements: list[Measurement] = field(default_factory=list)
    #: Requests it can handle at once (threads, workers); None: a thread per connection, no cap.
    slots: int | None = None

    def measurement(self, route: str, concurrency: int) -> Measurement | None:
        return next((m for m in self.measurements if (m.route, m.concurrency) == (route, concurrency)), None)


@dataclass
class ServersRun(StoredDocument, what="a server comparison", remedy="restore it or measure again: `nox -s servers`"):
    """One run of ``nox -s servers``: the machine, the load, every server's results."""

    measured_at: str
    machine: dict[str, Any]
    packages: dict[str, str]
    load: dict[str, Any]
    servers: list[ServerResult]
    schema_version: int = SCHEMA_VERSION

    def server(self, name: str) -> ServerResult | None:
        return next((s for s in self.servers if s.name == name), None)

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

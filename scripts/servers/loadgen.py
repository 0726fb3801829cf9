"""A bounded HTTP load client: N clients sending GET requests to 127.0.0.1 for a fixed time.

Each client is an asyncio task on raw sockets that sends one request per connection
(``Connection: close``, no keep-alive: every server is asked for the same work, and
gunicorn's sync workers do not keep connections alive anyway), reads the answer up to its
``Content-Length``, closes and starts the next. A round ends when its duration is up or its request budget is spent;
requests still in flight then get at most ``timeout`` seconds to finish.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass

from scripts.common.loopback import HOST
from scripts.servers.records import Round

__all__ = ["Load", "percentile", "run_round"]


@dataclass(frozen=True)
class Load:
    """One round's shape: how many clients, for how long, at most how many requests, per-request bound."""

    concurrency: int
    seconds: float
    max_requests: int = 200_000
    timeout: float = 10.0


@dataclass
class _Tally:
    latencies: list[float]
    errors: Counter[str]
    issued: int = 0


async def _request(port: int, payload: bytes, timeout: float) -> tuple[float, str | None]:
    """Send one request; return its latency and None, or the error kind."""
    started = time.perf_counter()
    writer = None
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection(HOST, port)
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            status, length = _parse_head(head)
            # Done when the body is in, as a browser or wrk would be: waiting for the server to close
            # instead would time how long a server lingers for more input (Werkzeug waits 10 ms).
            await (reader.readexactly(length) if length is not None else reader.read())
    except TimeoutError:
        return time.perf_counter() - started, "timeout"
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as exc:
        return time.perf_counter() - started, type(exc).__name__
    finally:
        if writer is not None:
            writer.close()
    elapsed = time.perf_counter() - started
    if status is None:
        return elapsed, "no HTTP response"
    return elapsed, None if status == 200 else f"HTTP {status}"


def _parse_head(head: bytes) -> tuple[int | None, int | None]:
    """The status code and Content-Length of a response head (None where absent or malformed)."""
    lines = head.decode("latin-1").split("\r\n")
    parts = lines[0].split(" ")
    status = int(parts[1]) if len(parts) > 1 and parts[0].startswith("HTTP/") and parts[1].isdigit() else None
    length = None
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length" and value.strip().isdigit():
            length = int(value.strip())
    return status, length


async def _client(port: int, payload: bytes, load: Load, deadline: float, tally: _Tally) -> None:
    while time.perf_counter() < deadline and tally.issued < load.max_requests:
        tally.issued += 1
        latency, error = await _request(port, payload, load.timeout)
        if error is None:
            tally.latencies.append(latency)
        else:
            tally.errors[error] += 1


def percentile(values: list[float], percent: int) -> float | None:
    """Nearest-rank percentile of ``values`` (None when there are none)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * percent // 100))  # ceil(n * percent / 100) in integers
    return ordered[rank - 1]


async def _round(port: int, path: str, load: Load) -> Round:
    payload = f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nConnection: close\r\n\r\n".encode("ascii")
    tally = _Tally([], Counter())
    started = time.perf_counter()
    deadline = started + load.seconds
    clients = [asyncio.ensure_future(_client(port, payload, load, deadline, tally)) for _ in range(load.concurrency)]
    # Every request has its own timeout, so this bound is never reached unless something is badly wrong.
    done, pending = await asyncio.wait(clients, timeout=load.seconds + load.timeout + 5)
    for task in pending:
        task.cancel()
    for task in done:
        task.result()
    seconds = time.perf_counter() - started
    return Round(
        requests=len(tally.latencies),
        errors=sum(tally.errors.values()),
        seconds=round(seconds, 3),
        requests_per_second=round(len(tally.latencies) / seconds, 1),
        p50_ms=_ms(percentile(tally.latencies, 50)),
        p99_ms=_ms(percentile(tally.latencies, 99)),
        error_kinds=dict(sorted(tally.errors.items())),
    )


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def run_round(port: int, path: str, load: Load) -> Round:
    """One round of ``load`` against ``http://127.0.0.1:port/path``; successful requests and errors counted."""
    return asyncio.run(_round(port, path, load))

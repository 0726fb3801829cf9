"""The server comparison: the load client against real servers, the data, the rendering, the lifecycle."""

from __future__ import annotations

import http.server
import json
import sys
import tomllib
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jsonschema
import pytest

from scripts.common import processes
from scripts.common.cli import OptionError
from scripts.common.jsonio import read_json
from scripts.common.loopback import HOST, free_port
from scripts.common.processes import run
from scripts.layout import REPO, ROOT
from scripts.packages import environments, index
from scripts.report import servers as servers_report
from scripts.servers import loadgen
from scripts.servers import records as server_records
from scripts.servers import run as servers
from scripts.servers.records import Measurement, Round, ServerResult, ServersRun
from tests.conftest import processes_running, serving

COMMITTED = REPO.servers_data


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    status = 200

    def do_GET(self) -> None:
        body = b"ok\n"
        self.send_response(self.status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Failing(_Handler):
    status = 503


@contextmanager
def stdlib_server(handler: type[_Handler]) -> Iterator[int]:
    """A real threaded HTTP server on 127.0.0.1 in this process; yields its port."""
    with serving(handler) as url:
        yield int(url.rstrip("/").rsplit(":", 1)[1])


TINY = loadgen.Load(concurrency=4, seconds=0.3, timeout=5.0)


def test_load_client_counts_answered_requests_and_latencies():
    with stdlib_server(_Handler) as port:
        seen = loadgen.run_round(port, "/fast", TINY)
    assert seen.requests > 0 and seen.errors == 0 and seen.error_kinds == {}
    assert seen.p50_ms is not None and seen.p99_ms is not None and seen.p50_ms <= seen.p99_ms
    assert seen.requests_per_second == pytest.approx(seen.requests / seen.seconds, rel=0.01)


def test_load_client_counts_non_200_answers_as_errors():
    with stdlib_server(_Failing) as port:
        seen = loadgen.run_round(port, "/fast", TINY)
    assert seen.requests == 0 and seen.errors > 0
    assert seen.error_kinds == {"HTTP 503": seen.errors}
    assert seen.p50_ms is None


def test_load_client_counts_refused_connections_and_stops_at_its_request_budget():
    port = free_port()  # nothing listens there
    seen = loadgen.run_round(port, "/fast", loadgen.Load(concurrency=2, seconds=60.0, max_requests=20, timeout=1.0))
    assert seen.requests == 0
    assert seen.error_kinds == {"ConnectionRefusedError": 20}


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert loadgen.percentile(values, 50) == 50.0
    assert loadgen.percentile(values, 99) == 99.0
    assert loadgen.percentile([3.0], 99) == 3.0
    assert loadgen.percentile([], 50) is None


def test_response_head_parsing():
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 3\r\n\r\n"
    assert loadgen._parse_head(head) == (200, 3)
    assert loadgen._parse_head(b"HTTP/1.0 404 NOT FOUND\r\n\r\n") == (404, None)
    assert loadgen._parse_head(b"garbage\r\n\r\n") == (None, None)


def sample_run() -> ServersRun:
    def measurement(route: str, concurrency: int, rps: list[float]) -> Measurement:
        rounds = [Round(int(r * 2), 0, 2.0, r, 1.5, 9.0) for r in rps]
        return Measurement.of(route, concurrency, rounds)

    return ServersRun(
        measured_at="2026-01-01T00:00:00Z",
        machine={"cpus": 2, "python": "3.11.7", "load_average_before": [0.1, 0.2, 0.3]},
        packages={"flask": "3.1.3", "gunicorn": "23.0.0"},
        load={
            "client": "test",
            "rounds": 3,
            "round_seconds": 2.0,
            "request_timeout": 10.0,
            "concurrency": [1, 64],
            "routes": {"/fast": "answers at once", "/wait": "waits 50 ms"},
        },
        servers=[
            ServerResult(
                "dev-threaded",
                "Flask dev server | app.run()",
                "python probes/load_app.py dev-threaded PORT",
                "measured",
                measurements=[measurement(r, c, [900.0, 1000.0, 1100.0]) for r in ("/fast", "/wait") for c in (1, 64)],
            ),
            ServerResult("gunicorn-sync", "gunicorn sync", "gunicorn …", "failed", error="ModuleNotFoundError: x"),
        ],
    )


def test_measurement_summary_is_the_median_of_the_rounds():
    m = sample_run().servers[0].measurements[0]
    assert (m.requests_per_second, m.p50_ms, m.p99_ms, m.errors) == (1000.0, 1.5, 9.0, 0.0)


def test_run_round_trips_and_validates(tmp_path):
    run = sample_run()
    path = tmp_path / "servers.json"
    run.write(path)
    data = json.loads(path.read_text())
    validator = jsonschema.Draft202012Validator(read_json(server_records.SCHEMA_PATH))
    validator.validate(data)
    assert ServersRun.read(path).to_json() == data == run.to_json()
    broken = {**data, "servers": [{**data["servers"][0], "outcome": "fine"}]}
    with pytest.raises(jsonschema.ValidationError):
        validator.validate(broken)


@pytest.mark.skipif(not COMMITTED.exists(), reason="no committed server comparison yet")
def test_committed_run_is_valid():
    data = json.loads(COMMITTED.read_text())
    jsonschema.Draft202012Validator(read_json(server_records.SCHEMA_PATH)).validate(data)
    assert ServersRun.read(COMMITTED).to_json() == data


def test_page_and_chart_are_deterministic_and_wellformed():
    run = sample_run()
    page = servers_report.render_page(run)
    assert "| Flask dev server \\| app.run() | 64 | 1,000 | 900 to 1,100 | 1.5 | 9.0 | 0 |" in page
    assert "| gunicorn sync | | | | | | did not start: `ModuleNotFoundError: x` |" in page
    assert page == servers_report.render_page(sample_run())
    svg = servers_report.render_chart(run)
    root = ET.fromstring(svg)
    bars = [
        r
        for r in root.iter("{http://www.w3.org/2000/svg}rect")
        if r.find("{http://www.w3.org/2000/svg}title") is not None
    ]
    assert len(bars) == 4, "one bar per measured route and concurrency"
    assert svg == servers_report.render_chart(sample_run())


def test_options_parse_and_reject_nonsense():
    options = servers.parse_options(["--rounds", "2", "--seconds", "0.5", "--concurrency", "8"])
    assert (options.settings.rounds, options.settings.seconds, options.settings.concurrency) == (2, 0.5, (8,))
    assert options.output == REPO and options.index_url is None
    for bad in (["--rounds", "0"], ["--seconds", "-1"], ["--concurrency", "0"], ["--servers", "nginx"]):
        with pytest.raises(OptionError):
            servers.parse_options(bad)


def test_server_commands_bind_loopback_only():
    for server in servers.SERVERS:
        argv = server.argv(Path("/venv/bin/python"), 1234)
        assert "0.0.0.0" not in " ".join(argv)
        assert f"{HOST}:1234" in " ".join(argv) or argv[-1] == "1234"


# -- real servers: slow, they need Flask, waitress and gunicorn installed from the package index ---------


@pytest.fixture(scope="module")
def servers_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    location = tmp_path_factory.mktemp("servers-env")
    environments.create_uv_venv(sys.executable, location)
    python = environments.venv_python(location)
    group = tomllib.loads((ROOT / "pyproject.toml").read_text())["dependency-groups"]["servers"]
    done = run(
        [*environments.uv_command(), "pip", "install", "--python", python, "--index-url",
         index.configured_index_url(), *group],
        timeout=600,
    )  # fmt: skip
    assert done.ok, done.output[-4000:]
    return python


TINY_SETTINGS = servers.Settings(rounds=1, seconds=0.2, concurrency=(2,), warmup_seconds=0.1, start_timeout=30.0)


def no_server_left(python: Path) -> list[str]:
    """This run's servers still running: their command lines hold this run's environment (another copy of the suite
    may be measuring its own)."""
    return processes_running(str(python.parent.parent))


@pytest.mark.slow
def test_every_server_is_started_measured_and_stopped(servers_python):
    run = servers.run(servers_python, TINY_SETTINGS, log=lambda line: None)
    assert [s.name for s in run.servers] == [s.name for s in servers.SERVERS]
    for result in run.servers:
        assert result.outcome == "measured", (result.name, result.error)
        assert [(m.route, m.concurrency) for m in result.measurements] == [("/fast", 2), ("/wait", 2)]
        for m in result.measurements:
            assert m.rounds[0].requests > 0 and m.errors == 0, (result.name, m)
    assert set(run.packages) == {"flask", "werkzeug", "waitress", "gunicorn"}
    assert no_server_left(servers_python) == []


@pytest.mark.slow
def test_server_that_cannot_start_is_recorded_and_cleaned_up(servers_python):
    broken = servers.Server("broken", "gunicorn, missing app", ("-m", "gunicorn", "--bind={listen}", "nowhere:app"), 1)
    result = servers.measure(broken, servers_python, TINY_SETTINGS, log=lambda line: None)
    assert result.outcome == "failed"
    assert result.error == "ModuleNotFoundError: No module named 'nowhere'", "gunicorn's own error line"
    assert no_server_left(servers_python) == []


@pytest.mark.slow
def test_server_is_stopped_when_the_measurement_raises(servers_python, monkeypatch):
    def interrupted(*args: object) -> Round:
        assert no_server_left(servers_python), "the server runs while it is measured"
        raise KeyboardInterrupt

    monkeypatch.setattr(loadgen, "run_round", interrupted)
    with pytest.raises(KeyboardInterrupt):
        servers.measure(servers.BY_NAME["gunicorn-sync"], servers_python, TINY_SETTINGS, log=lambda line: None)
    assert no_server_left(servers_python) == []


@pytest.mark.slow
def test_another_server_on_the_picked_port_is_never_measured_as_this_one(servers_python, monkeypatch):
    handed: list[int] = []
    real = processes.free_port
    with stdlib_server(_Handler) as taken:  # answers 200 "ok" everywhere, as another run's app would on /fast

        def free_port() -> int:
            handed.append(taken if not handed else real())
            return handed[-1]

        monkeypatch.setattr(processes, "free_port", free_port)
        result = servers.measure(servers.BY_NAME["dev-threaded"], servers_python, TINY_SETTINGS, log=lambda line: None)
        assert result.outcome == "measured", result.error
        assert len(handed) == 2 and handed[1] != taken, "the start was tried again on another port"
    assert no_server_left(servers_python) == []


@pytest.mark.slow
def test_a_port_taken_by_other_servers_every_time_is_never_recorded_as_the_servers_failure(servers_python, monkeypatch):
    with stdlib_server(_Handler) as taken:
        monkeypatch.setattr(processes, "free_port", lambda: taken)
        with pytest.raises(servers.ServersFault, match=r"another server answered on .* on every port tried"):
            servers.measure(servers.BY_NAME["dev-threaded"], servers_python, TINY_SETTINGS, log=lambda line: None)
    assert no_server_left(servers_python) == []


def test_the_page_opens_with_claim_7_s_verdict_and_its_evidence():
    from scripts.report.claims import claim_7

    run = sample_run()
    page = servers_report.render_page(run)
    verdict = claim_7(run)
    opening = page.split("## How it was measured", 1)[0]
    assert f"Verdict: **{verdict.verdict}**." in opening
    assert "were not\nmeasured" in opening or "were not measured" in opening

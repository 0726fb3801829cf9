"""Claims verdicts follow the data: synthetic records flip them, the committed records give one for each."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from scripts.audit import records
from scripts.audit.records import ModeObservation, Observation
from scripts.layout import REPO
from scripts.report import claims
from scripts.report.claims import DOES_NOT_HOLD, HOLDS, HOLDS_ONLY_FOR, NOT_OBSERVED
from scripts.servers import records as server_records
from scripts.servers.records import Measurement, Round, ServerResult, ServersRun

ROOT = Path(__file__).resolve().parent.parent
WERKZEUG_CHAIN = [
    "werkzeug.serving.BaseWSGIServer",
    "http.server.HTTPServer",
    "socketserver.TCPServer",
    "socketserver.BaseServer",
    "builtins.object",
]


def threads(**extra) -> ModeObservation:
    fields = {
        "call": "app.run(threaded=True)",
        "outcome": "served",
        "sent": 5,
        "concurrent": True,
        "max_in_flight": 5,
        "sequential": 6,
        "distinct_pids": 1,
        "distinct_threads": 6,
        "workers": "threads",
        "multithread": True,
        "multiprocess": False,
        "server_classes": ["werkzeug.serving.ThreadedWSGIServer", "socketserver.ThreadingMixIn", *WERKZEUG_CHAIN],
    }
    return ModeObservation(**{**fields, **extra})


def serial() -> ModeObservation:
    return threads(
        call="app.run()",
        concurrent=False,
        max_in_flight=1,
        distinct_threads=1,
        workers="main thread only",
        multithread=False,
        server_classes=WERKZEUG_CHAIN,
    )


def forks(**extra) -> ModeObservation:
    fields = {
        "call": "app.run(threaded=False, processes=3)",
        "max_in_flight": 3,
        "distinct_pids": 6,
        "workers": "forked processes",
        "multithread": False,
        "multiprocess": True,
        "served_by_server_process": False,
        "server_classes": ["werkzeug.serving.ForkingWSGIServer", "socketserver.ForkingMixIn", *WERKZEUG_CHAIN],
    }
    return threads(**{**fields, **extra})


def refused(error: str) -> ModeObservation:
    return ModeObservation(call="x", outcome="error", error=error)


def observation(version: str, werkzeug: str, **modes: ModeObservation) -> Observation:
    threaded_default = version.split(".")[0] != "0"
    base = {
        "default": threads(call="app.run()") if threaded_default else serial(),
        "threaded": threads(),
        "processes3": forks(),
        "threaded_processes3": refused("ValueError: cannot have a multithreaded and multi process server."),
    }
    return Observation(
        flask=version,
        released="2020-01-01",
        status="ok",
        python="3.9.18",
        packages={"werkzeug": werkzeug},
        modes=base | modes,
    )


def observations(**changes: dict[str, ModeObservation]) -> list[Observation]:
    """0.10 and 0.12.5 single-threaded by default, 1.0 and 2.1.0 threaded; ``changes`` replace modes."""
    werkzeug = {"0.10": "0.9", "0.12.5": "0.16.1", "1.0": "0.14.1", "2.1.0": "2.1.0"}
    found = [observation(v, w, **changes.get(v, {})) for v, w in werkzeug.items()]
    found.append(Observation(flask="0.9", released="2012-07-01", status="no-interpreter", detail="not run"))
    return found


def verdicts(found: list[Observation], servers: ServersRun | None = None) -> dict[str, claims.Verdict]:
    return {v.key: v for v in claims.evaluate(found, servers)}


def test_every_claim_and_point_gets_a_verdict_in_order():
    keys = [v.key for v in claims.evaluate(observations(), None)]
    assert keys == ["1", "2", "3", "4", "5", "6", "7", "A", "B", "C", "D"]


def test_claims_that_the_records_support():
    found = verdicts(observations())
    assert found["1"].verdict == HOLDS
    assert "werkzeug.serving.ThreadedWSGIServer" in found["1"].evidence
    assert found["2"].verdict == HOLDS
    assert found["4"].verdict == HOLDS
    assert "in 2 of 2 releases before 1.0" in found["4"].evidence
    assert found["5"].verdict == HOLDS
    assert found["5"].evidence == (
        "3 requests in flight at once, each in a forked process, in 4 of 4 releases; "
        "a new process for each request, not three long-lived ones (see claim 3); without `os.fork`: not observed yet"
    )
    assert found["B"].verdict == HOLDS
    assert found["1"].shown_by == "`app.run(threaded=True)` in Flask 0.10 to 2.1.0 (4 releases)"


def test_claims_that_the_records_refute():
    found = verdicts(observations())
    assert found["3"].verdict == DOES_NOT_HOLD
    assert "6 distinct pids for 6 sequential requests" in found["3"].evidence
    assert found["6"].verdict == DOES_NOT_HOLD
    assert "werkzeug.serving.BaseWSGIServer → http.server.HTTPServer" in found["6"].evidence
    assert "a `wsgiref` class in 0 of 4 releases" in found["6"].evidence


def test_a_flipped_default_turns_claim_4_into_holds_only_for():
    found = verdicts(observations(**{"0.12.5": {"default": threads(call="app.run()")}}))
    assert found["4"].verdict == f"{HOLDS_ONLY_FOR} Flask 0.10, 1.0 to 2.1.0 (3 releases)"
    assert "not as claimed: 0.12.5" in found["4"].evidence


def test_a_wsgiref_server_class_flips_claim_6():
    wsgiref = serial()
    wsgiref.server_classes = ["wsgiref.simple_server.WSGIServer", *WERKZEUG_CHAIN[1:]]
    found = verdicts(observations(**{"0.10": {"default": wsgiref}}))
    assert found["6"].verdict == f"{HOLDS_ONLY_FOR} Flask 0.10 (1 release)"
    assert "wsgiref.simple_server" in found["6"].evidence


def test_a_worker_pool_flips_claim_3():
    pool = forks(distinct_pids=3)
    some = verdicts(observations(**{"2.1.0": {"processes3": pool}}))
    assert some["3"].verdict == f"{HOLDS_ONLY_FOR} Flask 2.1.0 (1 release)"
    everywhere = {v: {"processes3": pool} for v in ("0.10", "0.12.5", "1.0", "2.1.0")}
    assert verdicts(observations(**everywhere))["3"].verdict == HOLDS


def test_without_fork_claim_5_holds_only_where_fork_exists_and_point_c_names_the_errors_per_werkzeug():
    nofork = {
        "0.10": {"processes3_nofork": ModeObservation(
            call="x", outcome="requests-failed",
            error="3 requests in a row closed without a response (RemoteDisconnected: x)",
            server_log="AttributeError: 'module' object has no attribute 'fork'",
        )},
        "0.12.5": {"processes3_nofork": refused("ValueError: Your platform does not support forking.")},
        "2.1.0": {"processes3_nofork": refused("ValueError: Your platform does not support forking.")},
    }  # fmt: skip
    found = verdicts(observations(**nofork))
    assert found["5"].verdict == f"{HOLDS_ONLY_FOR} platforms with `os.fork`"
    assert found["C"].verdict == HOLDS
    assert found["C"].evidence == (
        "starts, then drops every request: `AttributeError: 'module' object has no attribute 'fork'` "
        "(with Werkzeug 0.9, 1 release); refuses to start: `ValueError: Your platform does not support forking.` "
        "(with Werkzeug 0.16.1 to 2.1.0, 2 releases)"
    )
    served = verdicts(observations(**{"1.0": {"processes3_nofork": forks()}}))
    assert served["C"].verdict == DOES_NOT_HOLD


def test_refusal_errors_are_grouped_per_werkzeug_line():
    newer = refused("ValueError: Cannot have a multi-thread and multi-process server.")
    found = verdicts(observations(**{"2.1.0": {"threaded_processes3": newer}}))
    assert found["B"].evidence == (
        "`ValueError: cannot have a multithreaded and multi process server.` "
        "(with Werkzeug 0.9 to 0.16.1, 3 releases); "
        "`ValueError: Cannot have a multi-thread and multi-process server.` (with Werkzeug 2.1.0, 1 release)"
    )
    started = verdicts(observations(**{"1.0": {"threaded_processes3": threads()}}))
    assert started["B"].verdict.startswith(HOLDS_ONLY_FOR)


def test_flask_run_point_follows_the_records():
    cli = {"0.12.5": {"flask_run": serial()}, "1.0": {"flask_run": threads()}, "2.1.0": {"flask_run": threads()}}
    found = verdicts(observations(**cli))
    assert found["A"].verdict == f"{HOLDS_ONLY_FOR} Flask 1.0 to 2.1.0 (2 releases)"
    assert "one request at a time in Flask 0.12.5 (1 release)" in found["A"].evidence


def test_no_records_means_not_observed_not_zero_counts():
    found = verdicts([])
    for key in ("1", "2", "3", "4", "5", "6", "7", "A", "B", "C"):
        assert found[key].verdict == NOT_OBSERVED, key
    assert "0 of 0" not in found["1"].evidence


def comparison(dev: dict[str, float], best: dict[str, float], dev_errors: int = 0) -> ServersRun:
    def result(name: str, label: str, rps: dict[str, float], errors: int = 0) -> ServerResult:
        measurements = [
            Measurement.of(route, c, [Round(int(rps[route] * 2), errors, 2.0, rps[route], 1.0, 9.0)])
            for route in rps
            for c in (1, 64)
        ]
        return ServerResult(name, label, "cmd", "measured", measurements=measurements)

    return ServersRun(
        measured_at="2026-01-01T00:00:00Z",
        machine={"cpus": 2, "python": "3.11.7"},
        packages={"flask": "3.1.3"},
        load={"concurrency": [1, 64], "routes": {"/fast": "", "/wait": ""}, "rounds": 1},
        servers=[
            result("dev-threaded", "dev", dev, dev_errors),
            result("dev-serial", "serial", {route: 10.0 for route in dev}),
            result("waitress", "waitress", {route: value * 0.5 for route, value in best.items()}),
            result("gunicorn-sync", "gunicorn sync", best),
        ],
    )


@pytest.mark.parametrize(
    ("dev", "best", "dev_errors", "expected"),
    [
        ({"/fast": 1000, "/wait": 100}, {"/fast": 2000, "/wait": 300}, 0, HOLDS),
        ({"/fast": 1000, "/wait": 900}, {"/fast": 2000, "/wait": 300}, 0, f"{HOLDS_ONLY_FOR} the `/fast` route"),
        ({"/fast": 1000, "/wait": 900}, {"/fast": 1050, "/wait": 300}, 0, DOES_NOT_HOLD),
        ({"/fast": 1000, "/wait": 900}, {"/fast": 1050, "/wait": 300}, 5, HOLDS),
    ],
)
def test_claim_7_compares_the_dev_server_with_the_best_production_server(dev, best, dev_errors, expected):
    verdict = claims.claim_7(comparison(dev, best, dev_errors))
    assert verdict.verdict == expected
    assert "best production gunicorn sync" in verdict.evidence
    assert "at 64 concurrent clients" in verdict.shown_by


def test_claim_7_without_a_comparison_is_not_observed():
    assert claims.claim_7(None).verdict == NOT_OBSERVED


#: What the committed records and server comparison say; a re-run that changes one of these is news.
COMMITTED_VERDICTS = {
    "1": HOLDS,
    "2": HOLDS,
    "3": DOES_NOT_HOLD,
    "4": HOLDS,
    "5": f"{HOLDS_ONLY_FOR} platforms with `os.fork`",
    "6": DOES_NOT_HOLD,
    "7": (
        f"at the servers' usual settings, {HOLDS_ONLY_FOR} the `/fast` route; "
        f"with as many slots as clients (64), {HOLDS_ONLY_FOR} the `/fast` route"
    ),
    "A": f"{HOLDS_ONLY_FOR} Flask 1.0 to 3.1.3 (36 releases)",
    "B": HOLDS,
    "C": HOLDS,
    "D": HOLDS,
}


def test_the_committed_records_give_the_verdicts_the_report_states():
    found = claims.evaluate(records.load_all(REPO.results), server_records.ServersRun.read(REPO.servers_data))
    assert {v.key: v.verdict for v in found} == COMMITTED_VERDICTS
    assert all(v.evidence and v.shown_by for v in found)
    page = REPO.answer_page.read_text()
    for verdict in found:
        assert f"  - Verdict: **{verdict.verdict}**" in page, f"the committed page states claim {verdict.key}'s verdict"


def test_with_no_records_every_verdict_says_where_it_would_be_seen_and_what_to_run():
    found = verdicts([])
    assert {key: (v.shown_by, v.evidence) for key, v in found.items() if key not in ("6", "7")} == {
        key: (shown, "no observation records with this mode yet (run `nox -s audit`)")
        for key, shown in {
            "1": "`app.run(threaded=True)`",
            "2": "`app.run(threaded=True)`",
            "3": "`app.run(threaded=False, processes=3)`",
            "4": "`app.run()`",
            "5": "`app.run(threaded=False, processes=3)`",
            "A": "`flask run`",
            "B": "`app.run(threaded=True, processes=3)`",
            "C": "`app.run(threaded=False, processes=3) without os.fork`",
            "D": "`app.run(processes=3)`",
        }.items()
    }
    assert found["6"].shown_by == "every served mode"
    assert (found["7"].claim, found["7"].shown_by, found["7"].evidence) == (
        claims.CLAIMS["7"],
        "`nox -s servers`",
        "no server comparison recorded yet",
    )


def test_claim_1_counts_only_concurrent_servers_that_are_werkzeugs_own():
    foreign = threads(server_classes=["gevent.pywsgi.WSGIServer", "werkzeug.serving.BaseWSGIServer"])
    serial_werkzeug = threads(concurrent=False)
    found = verdicts(observations(**{"0.10": {"threaded": foreign}, "0.12.5": {"threaded": serial_werkzeug}}))
    assert found["1"].verdict == f"{HOLDS_ONLY_FOR} Flask 1.0 to 2.1.0 (2 releases)"
    assert found["1"].evidence.startswith("up to 5 held requests inside the handler at once in 2 of 4 releases")
    nothing = verdicts(observations(**{v: {"threaded": foreign} for v in ("0.10", "0.12.5", "1.0", "2.1.0")}))
    assert nothing["1"].evidence == (
        "up to 0 held requests inside the handler at once in 0 of 4 releases, served by no Werkzeug server "
        "(from `werkzeug.serving`, the module of `run_simple`)"
    )


def test_claim_2_needs_threads_and_wsgi_multithread_and_counts_only_served_process_modes():
    unflagged = threads(multithread=False)
    failed = ModeObservation(call="x", outcome="error", error="OSError: x")
    found = verdicts(observations(**{"0.10": {"threaded": unflagged, "processes3": failed}}))
    assert found["2"].verdict == f"{HOLDS_ONLY_FOR} Flask 0.12.5 to 2.1.0 (3 releases)"
    assert found["2"].evidence.endswith("`threaded=False` (with `processes=3`): no request threads in 3 of 3")
    threaded_forks = forks(workers="threads")
    flagged_forks = forks(multithread=True)
    other = verdicts(observations(**{"1.0": {"processes3": threaded_forks}, "2.1.0": {"processes3": flagged_forks}}))
    assert other["2"].evidence.endswith("no request threads in 2 of 4")


def test_claim_3_counts_a_fork_per_request_apart_from_a_pool():
    pool = forks(distinct_pids=3)
    pools = verdicts(observations(**{v: {"processes3": pool} for v in ("0.10", "0.12.5", "1.0", "2.1.0")}))
    assert "at most ? at a time, in 0 of 4 releases" in pools["3"].evidence, "no fork per request, so no cap"
    found = verdicts(observations(**{"2.1.0": {"processes3": pool}}))
    assert "at most 3 at a time, in 3 of 4 releases; a pool of ≤3 long-lived workers in 1 of 4" in found["3"].evidence
    capped = verdicts(observations(**{"2.1.0": {"processes3": forks(max_in_flight=2)}}))
    assert "at most 2/3 at a time" in capped["3"].evidence
    failed = ModeObservation(call="x", outcome="error", error="OSError: x")
    none_served = verdicts(observations(**{v: {"processes3": failed} for v in ("0.10", "0.12.5", "1.0", "2.1.0")}))
    assert none_served["3"].verdict == NOT_OBSERVED


def test_claim_4_before_1_0_needs_the_main_thread_only():
    odd = threads(call="app.run()", concurrent=False, workers="forked processes")
    found = verdicts(observations(**{"0.10": {"default": odd}}))
    assert found["4"].evidence.endswith("; not as claimed: 0.10")
    assert "in 2 of 2 releases before 1.0" in found["4"].evidence, "it was still one request at a time"
    failed = verdicts(observations(**{"0.10": {"default": ModeObservation(call="x", outcome="error", error="x")}}))
    assert found["4"].shown_by != failed["4"].shown_by, "a release whose plain app.run() failed is left out"


def test_claim_5_needs_three_forked_workers_at_once():
    for odd in (forks(workers="threads"), forks(max_in_flight=2), forks(outcome="error")):
        found = verdicts(observations(**{"1.0": {"processes3": odd}}))
        assert found["5"].verdict == f"{HOLDS_ONLY_FOR} Flask 0.10 to 0.12.5, 2.1.0 (3 releases)", odd
    nofork = {"processes3_nofork": refused("ValueError: Your platform does not support forking.")}
    both = verdicts(observations(**{"1.0": {"processes3": forks(max_in_flight=2), **nofork}}))
    assert both["5"].verdict == (
        f"{HOLDS_ONLY_FOR} Flask 0.10 to 0.12.5, 2.1.0 (3 releases), on platforms with `os.fork`"
    )
    fine = verdicts(observations(**{v: {"processes3_nofork": forks()} for v in ("0.10", "0.12.5", "1.0", "2.1.0")}))
    assert fine["5"].verdict == HOLDS and fine["5"].evidence.endswith(
        "without `os.fork` it served in 4 of 4 (see point C)"
    )


def test_claim_6_names_the_newest_releases_chain_and_every_module_seen():
    newer = threads(call="app.run()", server_classes=["werkzeug.serving.NewServer", "socketserver.TCPServer"])
    found = verdicts(observations(**{"2.1.0": {"default": newer}}))
    assert found["6"].evidence.startswith(
        "the server's class chain in the newest release is werkzeug.serving.NewServer → socketserver.TCPServer;"
    )
    bare = threads(call="app.run()", server_classes=[])
    empty = verdicts(observations(**{"2.1.0": {"default": bare}}))
    assert "newest release is not recorded;" in empty["6"].evidence
    unrecorded = serial()
    unrecorded.server_classes = []
    bare_records = [
        Observation("1.0", "2018-04-26", "ok", modes={"default": unrecorded}),
        Observation("2.0", "2021-05-11", "server-failed", modes={"default": serial()}),
    ]
    assert "the modules over all observed chains are none;" in verdicts(bare_records)["6"].evidence


def test_points_a_b_c_say_what_was_seen_when_nothing_disagrees_or_something_does():
    cli = {v: {"flask_run": threads()} for v in ("1.0", "2.1.0")}
    found = verdicts(observations(**cli))
    assert found["A"].evidence == "a thread per request in 2 of 2 releases"
    started = {v: {"threaded_processes3": threads()} for v in ("0.10", "0.12.5", "1.0", "2.1.0")}
    assert verdicts(observations(**started))["B"].evidence == "it started everywhere it was observed"
    served = {v: {"processes3_nofork": forks()} for v in ("0.10", "0.12.5", "1.0", "2.1.0")}
    assert verdicts(observations(**served))["C"].evidence == "it served everywhere it was observed"
    timeouts = {
        "0.10": {"processes3_nofork": ModeObservation(call="x", outcome="timeout", error="no answer within 20s")},
        "1.0": {"processes3_nofork": ModeObservation(call="x", outcome="timeout")},
    }
    evidence = verdicts(observations(**timeouts))["C"].evidence
    assert "timeout: `no answer within 20s` (with Werkzeug 0.9, 1 release)" in evidence
    assert "; timeout (with Werkzeug 0.14.1, 1 release)" in evidence


def test_claim_7_at_the_margin_and_with_the_dev_servers_errors():
    at_margin = claims.claim_7(comparison({"/fast": 1000, "/wait": 900}, {"/fast": 1100, "/wait": 300}))
    assert at_margin.verdict == f"{HOLDS_ONLY_FOR} the `/fast` route", "1.10 times counts as faster"
    one_error = claims.claim_7(comparison({"/fast": 1000, "/wait": 900}, {"/fast": 1050, "/wait": 300}, 1))
    assert one_error.verdict == HOLDS, "a single error of the dev server, none of production's, counts"
    both = claims.claim_7(comparison({"/fast": 1000, "/wait": 100}, {"/fast": 2000, "/wait": 300}))
    assert both.shown_by == "`nox -s servers` on 2 CPUs at 64 concurrent clients, Flask 3.1.3 (measured 2026-01-01)"
    assert both.evidence.startswith(
        "`/fast`: `app.run()` 1000 req/s (p99 9 ms, 0 errors), best production gunicorn sync 2000 req/s (p99 9 ms), "
        "`threaded=False` 10 req/s; `/wait`:"
    )


def test_claim_7_with_a_route_or_a_server_missing():
    run = comparison({"/fast": 1000, "/wait": 900}, {"/fast": 2000, "/wait": 3000})
    run.servers[3].measurements = [m for m in run.servers[3].measurements if m.route == "/fast"]
    verdict = claims.claim_7(run)
    assert "`/wait`: `app.run()` 900 req/s" in verdict.evidence and "waitress 1500 req/s" in verdict.evidence
    unmeasured = comparison({"/fast": 1000}, {"/fast": 2000})
    unmeasured.servers[2].measurements = []
    unmeasured.servers[3].measurements = []
    assert "best production waitress 0 req/s (p99 —)" in claims.claim_7(unmeasured).evidence
    no_production = comparison({"/fast": 1000}, {"/fast": 2000})
    no_production.servers = no_production.servers[:2]
    assert claims.claim_7(no_production).verdict == NOT_OBSERVED
    no_dev = comparison({"/fast": 1000}, {"/fast": 2000})
    no_dev.servers = no_dev.servers[2:]
    assert claims.claim_7(no_dev).verdict == NOT_OBSERVED
    unknown = comparison({"/fast": 1000}, {"/fast": 2000})
    unknown.machine, unknown.packages = {}, {}
    assert claims.claim_7(unknown).shown_by.startswith("`nox -s servers` on ? CPUs at 64 concurrent clients, Flask ?")


def test_lists_in_evidence_and_verdicts_are_separated_for_reading():
    other = threads(server_classes=["werkzeug.serving.OtherServer"])
    found = verdicts(observations(**{"2.1.0": {"threaded": other}}))
    assert "served by werkzeug.serving.OtherServer, werkzeug.serving.ThreadedWSGIServer (from" in found["1"].evidence
    odd = threads(call="app.run()")
    two = verdicts(observations(**{"0.10": {"default": odd}, "0.12.5": {"default": odd}}))
    assert two["4"].evidence.endswith("; not as claimed: 0.10, 0.12.5")


def test_points_count_only_modes_that_served():
    failed = ModeObservation(call="flask run", outcome="error", error="x")
    cli = {"1.0": {"flask_run": threads()}, "2.1.0": {"flask_run": threads()}, "0.12.5": {"flask_run": failed}}
    found = verdicts(observations(**cli))
    assert found["A"].verdict == HOLDS and found["A"].shown_by == "`flask run` in Flask 1.0 to 2.1.0 (2 releases)"


def as_written(version: str) -> ModeObservation:
    """``app.run(processes=3)`` as each era's default makes it: a fork per request, or refused at start."""
    if version.startswith("0."):
        return forks(call="app.run(processes=3)")
    return refused("ValueError: cannot have a multithreaded and multi process server.")


def test_point_d_holds_when_processes_forks_before_1_0_and_is_refused_from_it():
    found = verdicts(
        observations(**{v: {"processes3_plain": as_written(v)} for v in ("0.10", "0.12.5", "1.0", "2.1.0")})
    )
    assert found["D"].verdict == HOLDS
    assert found["D"].evidence == (
        "it forks a new process for every request in Flask 0.10 to 0.12.5 (2 releases); it is refused at start "
        "(`ValueError: cannot have a multithreaded and multi process server.`) in Flask 1.0 to 2.1.0 (2 releases)"
    )
    still_forking = {v: {"processes3_plain": as_written(v)} for v in ("0.10", "0.12.5", "1.0")}
    still_forking["2.1.0"] = {"processes3_plain": forks()}
    assert verdicts(observations(**still_forking))["D"].verdict == f"{HOLDS_ONLY_FOR} Flask 0.10 to 1.0 (3 releases)"


def test_claim_4_says_how_the_debug_server_compares_and_from_which_process():
    child = {"server_process": "reloader child"}
    debug = {
        "0.10": {"debug": replace(serial(), workers="single thread", **child)},
        "0.12.5": {"debug": replace(serial(), workers="single thread", **child)},
        "1.0": {"debug": threads(**child)},
        "2.1.0": {"debug": replace(serial(), **child)},
    }
    evidence = verdicts(observations(**debug))["4"].evidence
    assert evidence.endswith(
        "; `app.run(debug=True)` serves exactly as concurrently as plain `app.run()` in 3 of 4 releases, from the "
        "child process Werkzeug's reloader starts (not the process that was started) in 4 of 4 (differs in Flask "
        "2.1.0 (1 release))"
    )
    assert verdicts(observations())["4"].evidence.endswith("; `app.run(debug=True)`: not observed yet")


def test_point_d_before_1_0_needs_forked_workers_not_any_server():
    threaded_before = {"0.10": {"processes3_plain": threads(call="app.run(processes=3)")}}
    threaded_before |= {v: {"processes3_plain": as_written(v)} for v in ("0.12.5", "1.0", "2.1.0")}
    assert (
        verdicts(observations(**threaded_before))["D"].verdict == f"{HOLDS_ONLY_FOR} Flask 0.12.5 to 2.1.0 (3 releases)"
    )


def test_the_debug_server_is_compared_only_where_plain_app_run_served():
    child = {"server_process": "reloader child"}
    failed_default = {
        "default": refused("TypeError: x"),
        "debug": threads(**child),
    }
    found = observations(**{"2.1.0": failed_default, "1.0": {"debug": threads(**child)}})
    assert "in 1 of 1 releases, from the child process Werkzeug's reloader starts" in verdicts(found)["4"].evidence


def test_claim_7_is_judged_at_usual_settings_and_at_equal_slots_and_says_which_is_which():
    run = comparison({"/fast": 1000, "/wait": 1100}, {"/fast": 2000, "/wait": 300})
    run.servers[-1].slots = 5  # gunicorn sync, 5 workers: its usual settings
    equal = replace(run.servers[-1], name="waitress-equal", label="waitress (64 threads)", slots=64)
    equal.measurements = [
        Measurement.of(m.route, m.concurrency, [Round(1, 0, 2.0, 1300.0 if m.route == "/wait" else 2100.0, 1.0, 9.0)])
        for m in run.servers[-1].measurements
    ]
    run.servers.append(equal)
    verdict = claims.claim_7(run)
    usual = f"at the servers' usual settings, {HOLDS_ONLY_FOR} the `/fast` route"
    assert verdict.verdict == f"{usual}; with as many slots as clients (64), {HOLDS}"
    assert "usual settings: `/fast`" in verdict.evidence and "64 slots: `/fast`" in verdict.evidence
    assert "best production waitress (64 threads) 1300 req/s" in verdict.evidence

"""The article's claims about ``app.run()``, judged from the observation records.

Every verdict is computed from data only: the per-release observation records (claims 1-6
and the extra points) and the server comparison run (claim 7). A verdict is "holds" when
every observed case agrees with the claim, "does not hold" when none does, "holds only for
…" (naming the cases) when some do, and "not observed" when there is no data for it yet.
Rendering is elsewhere (``answer.claims_section``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from packaging.version import Version

from scripts.audit.records import MODE_CALLS, Mode, ModeObservation, Observation
from scripts.introductions.records import IntroductionsRecord
from scripts.report.cells import describe_start, error_text
from scripts.report.wording import (
    grouped_spans,
    introduced,
    later_by_date,
    plural,
    release_span,
    version_key,
    werkzeug_span,
)
from scripts.servers.records import ServerResult, ServersRun

__all__ = ["ARTICLE", "CLAIMS", "DOES_NOT_HOLD", "HOLDS", "HOLDS_ONLY_FOR", "NOT_OBSERVED", "Verdict", "evaluate"]

HOLDS = "holds"
DOES_NOT_HOLD = "does not hold"
NOT_OBSERVED = "not observed"
HOLDS_ONLY_FOR = "holds only for"

#: The release the article names as the one where ``threaded`` became the default.
THREADED_DEFAULT_SINCE = Version("1.0")
#: The worker count the ``processes3`` modes ask for.
PROCESSES = 3
#: The dev server the claim is about, and the one it was before 1.0, in the server comparison.
DEV_SERVER, DEV_SERIAL = "dev-threaded", "dev-serial"
#: The module of ``run_simple``, where the server classes it builds live.
WERKZEUG = "werkzeug.serving."
#: A production server counts as faster when its median requests/s is at least this much higher.
MARGIN = 1.10


#: The article, by its title (its first heading): widely read, and the source of claims 1 to 7.
ARTICLE = "Concurrency Handling Mechanism in Flask Standalone Server"

#: The article's claims (1-7) and the points it leaves out (A-D), as the report states them.
CLAIMS = {
    "1": "`app.run()` can serve several clients at once; the mechanism is Werkzeug's `run_simple`.",
    "2": "`threaded` is a boolean that turns multi-threaded request handling on.",
    "3": '`processes=N` (N > 1) makes Werkzeug "launch N separate processes" to handle requests.',
    "4": (
        "From Flask 1.0 on, `threaded` defaults to True (plain `app.run()` is multi-threaded); "
        "before 1.0 it was single-threaded."
    ),
    "5": "`app.run(threaded=False, processes=3)` works as a three-process server.",
    "6": "`run_simple` wraps the `wsgiref` module of Python's standard library.",
    "7": (
        "The development server is of limited performance and not for production; professional WSGI servers "
        "should be used for many concurrent users."
    ),
    "A": "Not in the article: `flask run` (no threading option) serves requests concurrently, with threads.",
    "B": "Not in the article: `app.run(threaded=True, processes=3)` is refused at start.",
    "C": "Not in the article: `processes>1` does not work where `os.fork` is missing (Windows).",
    "D": (
        "Not in the article: `app.run(processes=3)` as most projects write it (no `threaded`) forks before "
        "Flask 1.0 and is refused at start from 1.0, when `threaded` became the default: upgrading breaks it."
    ),
}


@dataclass(frozen=True)
class Verdict:
    """One claim, what the data says about it, where that was seen, and one line of evidence."""

    key: str
    claim: str
    verdict: str
    shown_by: str
    evidence: str


Case = tuple[Observation, ModeObservation]


def _verdict(key: str, verdict: str, shown_by: str, evidence: str) -> Verdict:
    """A verdict on ``CLAIMS[key]``; with nothing observed, the evidence says so rather than counting zeros."""
    if verdict == NOT_OBSERVED:
        evidence = "no observation records with this mode yet (run `nox -s audit`)"
    return Verdict(key, CLAIMS[key], verdict, shown_by, evidence)


def _shown(cases: list[Case], *modes: Mode) -> str:
    """Where a verdict was seen: the modes, and the releases in which they ran."""
    named = " and ".join(_mode(mode) for mode in modes)
    return f"{named} in {_span(cases, cases)}" if cases else _mode(modes[0])


def _cases(observations: Iterable[Observation], mode: Mode, served: bool = False) -> list[Case]:
    """Observed releases (oldest first) in which ``mode`` ran, with what it did."""
    found = [
        (o, o.modes[mode])
        for o in observations
        if o.status == "ok" and mode in o.modes and (not served or o.modes[mode].outcome == "served")
    ]
    return sorted(found, key=lambda case: version_key(case[0].flask))


def _span(chosen: list[Case], ordered: list[Case]) -> str:
    return release_span((o for o, _ in chosen), (o for o, _ in ordered))


def _mode(mode: Mode) -> str:
    return f"`{MODE_CALLS.get(mode, mode)}`"


def _judge(cases: list[Case], agrees: Callable[[ModeObservation, Observation], bool]) -> tuple[str, list[Case]]:
    """The verdict over ``cases`` and the cases that agree with the claim."""
    agreeing = [(o, m) for o, m in cases if agrees(m, o)]
    if not cases:
        return NOT_OBSERVED, agreeing
    if len(agreeing) == len(cases):
        return HOLDS, agreeing
    if not agreeing:
        return DOES_NOT_HOLD, agreeing
    return f"{HOLDS_ONLY_FOR} {_span(agreeing, cases)}", agreeing


def _of(part: list[Case], whole: list[Case]) -> str:
    return f"{len(part)} of {len(whole)}"


def _threads(mode: ModeObservation) -> bool:
    return mode.outcome == "served" and bool(mode.concurrent) and mode.workers == "threads"


def _fork_per_request(mode: ModeObservation) -> bool:
    return mode.workers == "forked processes" and mode.distinct_pids == mode.sequential


def _pool(mode: ModeObservation) -> bool:
    """N long-lived workers: sequential requests land on at most N processes."""
    return mode.outcome == "served" and mode.workers == "forked processes" and (mode.distinct_pids or 0) <= PROCESSES


# -- the article's claims -----------------------------------------------------------------------


def claim_1(observations: list[Observation]) -> Verdict:
    cases = _cases(observations, "threaded")
    verdict, agreeing = _judge(
        cases, lambda m, _: bool(m.concurrent) and any(cls.startswith(WERKZEUG) for cls in m.server_classes[:1])
    )
    classes = sorted({m.server_classes[0] for _, m in agreeing if m.server_classes})
    most = max((m.max_in_flight or 0 for _, m in agreeing), default=0)
    return _verdict(
        "1",
        verdict,
        _shown(cases, "threaded"),
        f"up to {most} held requests inside the handler at once in {_of(agreeing, cases)} releases, served by "
        f"{', '.join(classes) or 'no Werkzeug server'} (from `werkzeug.serving`, the module of `run_simple`)",
    )


def claim_2(observations: list[Observation]) -> Verdict:
    cases = _cases(observations, "threaded")
    verdict, agreeing = _judge(cases, lambda m, _: _threads(m) and bool(m.multithread))
    explicit_false = _cases(observations, "processes3", served=True)
    without = [(o, m) for o, m in explicit_false if m.workers != "threads" and not m.multithread]
    return _verdict(
        "2",
        verdict,
        _shown(cases, "threaded", "processes3"),
        f"`threaded=True`: a thread per request and `wsgi.multithread` true in {_of(agreeing, cases)} releases; "
        f"`threaded=False` (with `processes=3`): no request threads in {_of(without, explicit_false)}",
    )


def claim_3(observations: list[Observation]) -> Verdict:
    cases = _cases(observations, "processes3", served=True)
    verdict, pools = _judge(cases, lambda m, _: _pool(m))
    per_request = [(o, m) for o, m in cases if _fork_per_request(m)]
    caps = sorted({m.max_in_flight for _, m in per_request if m.max_in_flight is not None})
    sequential = max((m.sequential for _, m in cases), default=0)
    evidence = (
        f"a new process forked for every request ({sequential} distinct pids for {sequential} sequential requests, "
        f"none served by the started process), at most {'/'.join(map(str, caps)) or '?'} at a time, "
        f"in {_of(per_request, cases)} releases; a pool of ≤{PROCESSES} long-lived workers in {_of(pools, cases)}"
    )
    return _verdict("3", verdict, _shown(cases, "processes3"), evidence)


def claim_4(observations: list[Observation]) -> Verdict:
    cases = _cases(observations, "default", served=True)

    def predicted(m: ModeObservation, o: Observation) -> bool:
        since = version_key(o.flask) >= THREADED_DEFAULT_SINCE
        return _threads(m) if since else (not m.concurrent and m.workers == "main thread only")

    verdict, _ = _judge(cases, predicted)
    before = [(o, m) for o, m in cases if version_key(o.flask) < THREADED_DEFAULT_SINCE]
    since = [(o, m) for o, m in cases if version_key(o.flask) >= THREADED_DEFAULT_SINCE]
    serial_before = [(o, m) for o, m in before if not m.concurrent]
    threads_since = [(o, m) for o, m in since if _threads(m)]
    disagreeing = [o.flask for o, m in cases if not predicted(m, o)]
    evidence = (
        f"plain `app.run()` served one request at a time (main thread) in {_of(serial_before, before)} releases "
        f"before {THREADED_DEFAULT_SINCE}, and with a thread per request in {_of(threads_since, since)} from it, "
        "in version order"
    )
    first = min((o for o, _ in threads_since), key=lambda o: version_key(o.flask), default=None)
    later = later_by_date(first, (o for o, _ in serial_before), "one request at a time") if first else ""
    if later:
        evidence += f"; in date order, {later}"
    evidence += _debug_server(observations)
    if disagreeing:
        evidence += f"; not as claimed: {', '.join(disagreeing)}"
    return _verdict("4", verdict, _shown(cases, "default", "debug"), evidence)


def _debug_server(observations: list[Observation]) -> str:
    """How ``app.run(debug=True)`` compares with plain ``app.run()``, release by release."""
    both = [(o, o.modes["debug"]) for o, _ in _cases(observations, "default", served=True) if "debug" in o.modes]
    if not both:
        return "; `app.run(debug=True)`: not observed yet"
    alike = [(o, m) for o, m in both if m.outcome == "served" and m.concurrent == o.modes["default"].concurrent]
    child = [(o, m) for o, m in both if m.server_process == "reloader child"]
    text = (
        f"; `app.run(debug=True)` serves exactly as concurrently as plain `app.run()` in {_of(alike, both)} releases, "
        f"from the child process Werkzeug's reloader starts (not the process that was started) in {_of(child, both)}"
    )
    differing = [case for case in both if case not in alike]
    return text + (f" (differs in {_span(differing, both)})" if differing else "")


def claim_5(observations: list[Observation]) -> Verdict:
    with_fork = _cases(observations, "processes3")
    without_fork = _cases(observations, "processes3_nofork")

    def three_at_once(m: ModeObservation, _: Observation) -> bool:
        return m.outcome == "served" and m.max_in_flight == PROCESSES and m.workers == "forked processes"

    verdict, forked_ok = _judge(with_fork, three_at_once)
    nofork_ok = [c for c in without_fork if three_at_once(c[1], c[0])]
    if len(nofork_ok) < len(without_fork):
        if verdict == HOLDS:
            verdict = f"{HOLDS_ONLY_FOR} platforms with `os.fork`"
        elif verdict.startswith(HOLDS_ONLY_FOR):
            verdict += ", on platforms with `os.fork`"
    evidence = (
        f"{PROCESSES} requests in flight at once, each in a forked process, in {_of(forked_ok, with_fork)} releases"
        "; a new process for each request, not three long-lived ones (see claim 3)"
    )
    if without_fork:
        evidence += f"; without `os.fork` it served in {_of(nofork_ok, without_fork)} (see point C)"
    else:
        evidence += "; without `os.fork`: not observed yet"
    return _verdict("5", verdict, _shown(with_fork, "processes3", "processes3_nofork"), evidence)


#: Where ``object`` lives on Python 3 and 2; it ends every class chain and says nothing.
BUILTINS = {"builtins", "__builtin__"}


def _myth_source(observations: list[Observation], found: IntroductionsRecord | None) -> str:
    """Where "run_simple wraps wsgiref" comes from: what Werkzeug itself said and built, release by release."""
    answers = {i.question: i for i in found.introductions} if found else {}
    doc, server = answers.get("docstring"), answers.get("server")
    if found is None or doc is None or doc.first is None or doc.last_before is None:
        return ""
    quoted = next((s.doc_wsgiref for s in found.samples if s.werkzeug == doc.last_before and s.doc_wsgiref), None)
    served = sorted(
        (o for o in observations if o.status == "ok" and "werkzeug" in o.packages), key=lambda o: version_key(o.flask)
    )
    saying = [o for o in served if version_key(o.packages["werkzeug"]) <= version_key(doc.last_before)]
    text = (
        "; where the claim comes from: `run_simple`'s own docstring says so"
        + (f' ("{quoted}")' if quoted else "")
        + f" up to Werkzeug {doc.last_before}, not from {doc.first} (bisected on Python {doc.minor}): the Werkzeug "
        f"of {release_span(saying, served) if saying else 'no Flask release observed'}"
    )
    if server is not None and server.first is not None and server.last_before is not None:
        text += (
            f"; and Werkzeug's server was built on `wsgiref.simple_server` up to Werkzeug {server.last_before}, "
            f"not from {server.first} (bisected on Python {server.minor})"
        )
    return text


def claim_6(observations: list[Observation], found: IntroductionsRecord | None = None) -> Verdict:
    cases = _cases(observations, "default", served=True)
    served_modes = [m for o in observations for m in o.modes.values() if o.status == "ok" and m.server_classes]

    def uses_wsgiref(_: ModeObservation, o: Observation) -> bool:
        return any(cls.startswith("wsgiref.") for m in o.modes.values() for cls in m.server_classes)

    verdict, agreeing = _judge(cases, uses_wsgiref)
    modules = sorted({cls.rsplit(".", 1)[0] for m in served_modes for cls in m.server_classes} - BUILTINS)
    newest = cases[-1][1].server_classes if cases else []
    chain = " → ".join(cls for cls in newest if cls.rsplit(".", 1)[0] not in BUILTINS)
    evidence = (
        f"the server's class chain in the newest release is {chain or 'not recorded'}; the modules over all observed "
        f"chains are {', '.join(modules) or 'none'}; a `wsgiref` class in {_of(agreeing, cases)} releases"
    ) + _myth_source(observations, found)
    return _verdict(
        "6", verdict, f"every served mode in {_span(cases, cases)}" if cases else "every served mode", evidence
    )


def _figure(servers: ServersRun, name: str, route: str, concurrency: int) -> tuple[float, float, float | None]:
    """Median requests/s, errors and p99 (ms) of a server at one load; zeros when it was not measured."""
    result = servers.server(name)
    measurement = result.measurement(route, concurrency) if result else None
    if measurement is None or measurement.requests_per_second is None:
        return 0.0, 0.0, None
    return measurement.requests_per_second, measurement.errors or 0.0, measurement.p99_ms


def _against(servers: ServersRun, production: list[ServerResult], top: int) -> tuple[str, str]:
    """The verdict against the fastest of ``production`` on every route at ``top`` clients, and its evidence."""
    routes = list(servers.load["routes"])
    faster: list[str] = []
    parts: list[str] = []
    for route in routes:
        dev_rps, dev_errors, dev_p99 = _figure(servers, DEV_SERVER, route, top)
        best = max(production, key=lambda s: _figure(servers, s.name, route, top)[0])
        rps, errors, p99 = _figure(servers, best.name, route, top)
        serial_rps = _figure(servers, DEV_SERIAL, route, top)[0]
        if rps >= dev_rps * MARGIN or (dev_errors > 0 and errors == 0):
            faster.append(f"`{route}`")
        parts.append(
            f"`{route}`: `app.run()` {dev_rps:.0f} req/s (p99 {_ms(dev_p99)}, {dev_errors:.0f} errors), "
            f"best production {best.label} {rps:.0f} req/s (p99 {_ms(p99)}), `threaded=False` {serial_rps:.0f} req/s"
        )
    if len(faster) == len(routes):
        verdict = HOLDS
    elif not faster:
        verdict = DOES_NOT_HOLD
    else:
        verdict = f"{HOLDS_ONLY_FOR} the {', '.join(faster)} route"
    return verdict, "; ".join(parts)


def claim_7(servers: ServersRun | None) -> Verdict:
    """The dev server against the fastest production server, at the servers' usual settings and, where measured,
    with as many slots (threads, workers) as the threaded dev server had: a thread for each of the clients."""
    dev = servers.server(DEV_SERVER) if servers else None
    production = [s for s in servers.servers if not s.name.startswith("dev-")] if servers else []
    if servers is None or dev is None or not production:
        return Verdict("7", CLAIMS["7"], NOT_OBSERVED, "`nox -s servers`", "no server comparison recorded yet")
    top = max(servers.load["concurrency"])
    equal = [s for s in production if s.slots is not None and s.slots >= top]
    usual = [s for s in production if s not in equal]
    margin = f" (production counts as faster from {MARGIN:.2f} times the requests/s, or with no errors)"
    shown = (
        f"`nox -s servers` on {servers.machine.get('cpus', '?')} CPUs at {top} concurrent clients, "
        f"Flask {servers.packages.get('flask', '?')} (measured {servers.measured_at[:10]})"
    )
    if not equal or not usual:
        verdict, evidence = _against(servers, production, top)
        return _verdict("7", verdict, shown, evidence + margin)
    at_usual, usual_evidence = _against(servers, usual, top)
    at_equal, equal_evidence = _against(servers, equal, top)
    return _verdict(
        "7",
        f"at the servers' usual settings, {at_usual}; with as many slots as clients ({top}), {at_equal}",
        shown,
        f"usual settings: {usual_evidence}; {top} slots: {equal_evidence}{margin}",
    )


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


# -- points the article does not make, recorded next to it ---------------------------------------


def _by_error(
    cases: list[Case], text: Callable[[ModeObservation], str], mode: Mode, found: IntroductionsRecord | None = None
) -> str:
    groups: dict[str, list[Case]] = {}
    for case in cases:
        groups.setdefault(text(case[1]), []).append(case)
    parts = []
    for error, group in groups.items():
        since = introduced(found, mode, group[0][1])
        observed = f"with {werkzeug_span(o for o, _ in group)}, {plural(len(group), 'release')}"
        parts.append(f"{error} ({observed}{'; ' + since if since else ''})")
    return "; ".join(parts)


def flask_run_default(observations: list[Observation]) -> Verdict:
    cases = _cases(observations, "flask_run", served=True)
    verdict, agreeing = _judge(cases, lambda m, _: _threads(m))
    serial = [c for c in cases if c not in agreeing]
    return _verdict(
        "A",
        verdict,
        _shown(cases, "flask_run"),
        f"a thread per request in {_of(agreeing, cases)} releases"
        + (f"; one request at a time in {_span(serial, cases)}" if serial else ""),
    )


def threaded_with_processes(observations: list[Observation], found: IntroductionsRecord | None = None) -> Verdict:
    cases = _cases(observations, "threaded_processes3")
    verdict, refused = _judge(cases, lambda m, _: m.outcome == "error")
    evidence = _by_error(refused, lambda m: f"`{error_text(m)}`", "threaded_processes3", found)
    return _verdict(
        "B", verdict, _shown(cases, "threaded_processes3"), evidence or "it started everywhere it was observed"
    )


def _fork_failure(mode: ModeObservation) -> str:
    if mode.outcome == "requests-failed":
        return f"starts, then drops every request: `{mode.server_log or mode.error}`"
    if mode.outcome == "error":
        return f"refuses to start: `{mode.error}`"
    return f"{mode.outcome}: `{error_text(mode)}`" if mode.error else mode.outcome


def processes_without_fork(observations: list[Observation], found: IntroductionsRecord | None = None) -> Verdict:
    cases = _cases(observations, "processes3_nofork")
    verdict, failing = _judge(cases, lambda m, _: m.outcome != "served")
    evidence = _by_error(failing, _fork_failure, "processes3_nofork", found)
    return _verdict(
        "C", verdict, _shown(cases, "processes3_nofork"), evidence or "it served everywhere it was observed"
    )


def processes_as_written(observations: list[Observation]) -> Verdict:
    cases = _cases(observations, "processes3_plain")

    def as_stated(m: ModeObservation, o: Observation) -> bool:
        if version_key(o.flask) < THREADED_DEFAULT_SINCE:
            return m.outcome == "served" and m.workers == "forked processes"
        return m.outcome == "error"

    verdict, _ = _judge(cases, as_stated)
    observed = [o for o, _ in cases]
    evidence = grouped_spans(observed, {o.flask: describe_start(m) for o, m in cases}, prefix="it ")
    return _verdict("D", verdict, _shown(cases, "processes3_plain"), evidence)


def evaluate(
    observations: list[Observation], servers: ServersRun | None, found: IntroductionsRecord | None = None
) -> list[Verdict]:
    """Every claim's verdict, in the article's order, then the extra points.

    :param found: which Werkzeug release first showed each text, and where the wsgiref myth comes from.
    """
    return [
        claim_1(observations),
        claim_2(observations),
        claim_3(observations),
        claim_4(observations),
        claim_5(observations),
        claim_6(observations, found),
        claim_7(servers),
        flask_run_default(observations),
        threaded_with_processes(observations, found),
        processes_without_fork(observations, found),
        processes_as_written(observations),
    ]

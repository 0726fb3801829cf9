"""The summary: a few sentences on what the records show, every number computed from them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from packaging.version import Version

from scripts.audit.records import Mode, ModeObservation, Observation, behaviour
from scripts.introductions.records import IntroductionsRecord
from scripts.packages.catalogue import Release
from scripts.report.cells import describe_start, error_text
from scripts.report.wording import grouped_spans, introduced, later_by_date, release_span, werkzeug_span

__all__ = ["by_version", "date_order", "first_of_run", "lead", "summary"]


def by_version(observations: Iterable[Observation]) -> dict[str, Observation]:
    return {o.flask: o for o in observations}


def _ok(observation: Observation | None) -> bool:
    return observation is not None and observation.status == "ok"


def first_of_run(
    releases: list[Release], found: dict[str, Observation], mode: Mode
) -> tuple[Release | None, list[str], list[str], list[str]]:
    """Where ``mode`` turns concurrent for good: the first release R after which every observed
    release is concurrent, and the observed releases before R split into concurrent and not."""
    observed = [r for r in releases if _ok(found.get(r.version)) and mode in found[r.version].modes]
    served = [r for r in observed if found[r.version].modes[mode].outcome == "served"]
    start = None
    for release in reversed(served):
        if not found[release.version].modes[mode].concurrent:
            break
        start = release
    if start is None:
        return None, [], [], [r.version for r in served]
    since = [r.version for r in served if Version(r.version) >= Version(start.version)]
    before = [r for r in served if Version(r.version) < Version(start.version)]
    exceptions = [r.version for r in before if found[r.version].modes[mode].concurrent]
    serial = [r.version for r in before if not found[r.version].modes[mode].concurrent]
    return start, since, exceptions, serial


def date_order(releases: list[Release], observations: list[Observation], mode: Mode = "default") -> str:
    """Where date order breaks the version-order switch to concurrency (a clause, or "")."""
    found = by_version(observations)
    start, _, _, serial = first_of_run(sorted(releases, key=lambda r: Version(r.version)), found, mode)
    return _published_later(found, start, serial)


def _published_later(found: dict[str, Observation], start: Release | None, serial: list[str]) -> str:
    """The releases before ``start`` by version, serving one at a time, that were published after it."""
    if start is None:
        return ""
    return later_by_date(found[start.version], [found[v] for v in serial], "one request at a time")


def _transition_sentence(label: str, releases: list[Release], found: dict[str, Observation], mode: Mode) -> str:
    start, since, exceptions, serial = first_of_run(releases, found, mode)
    if start is None:
        return f"{label} served one request at a time in all {len(serial)} observed releases."
    sentence = (
        f"{label} serves requests concurrently (threads) from Flask {start.version} ({start.released}): "
        f"{len(since)} of {len(since)} observed releases from it in version order"
    )
    if not serial and not exceptions:
        return sentence + "."
    sentence += f"; before {start.version}: {len(serial)} of {len(serial) + len(exceptions)} observed releases"
    sentence += " serve one request at a time"
    if exceptions:
        sentence += f" (exceptions, concurrent: {', '.join(exceptions)})"
    # Where date order parts from version order (0.12.4 and 0.12.5 came after 1.0) is said once, in the lead.
    return sentence + "."


def _observed_with(releases: list[Release], found: dict[str, Observation], mode: Mode) -> list[Observation]:
    """The observed releases in which ``mode`` was run, oldest first."""
    return [found[r.version] for r in releases if _ok(found.get(r.version)) and mode in found[r.version].modes]


def _processes_sentence(releases: list[Release], found: dict[str, Observation]) -> str:
    runs = [o for o in _observed_with(releases, found, "processes3") if o.modes["processes3"].outcome == "served"]
    forked = [
        o
        for o in runs
        if o.modes["processes3"].workers == "forked processes"
        and o.modes["processes3"].distinct_pids == o.modes["processes3"].sequential
    ]
    caps = Counter(o.modes["processes3"].max_in_flight for o in forked)
    cap_text = ", ".join(f"at most {cap} requests in flight at once in {n}" for cap, n in sorted(caps.items()))
    return (
        f"`processes=3` forks a new process for every request (not a pool of 3 workers) in {len(forked)} of "
        f"{len(runs)} releases where it served; {cap_text or 'no cap observed'}."
    )


def _processes_as_written_sentence(releases: list[Release], found: dict[str, Observation]) -> str:
    observed = _observed_with(releases, found, "processes3_plain")
    if not observed:
        return "`app.run(processes=3)` is not observed yet."
    category = {o.flask: describe_start(o.modes["processes3_plain"]) for o in observed}
    return (
        f"`app.run(processes=3)`, written without `threaded` as most projects do, {grouped_spans(observed, category)}."
    )


def _debug_behaviour(mode: ModeObservation) -> str:
    if mode.outcome != "served":
        return f"fails ({mode.outcome}: `{error_text(mode)}`)"
    return "serves concurrently (a thread per request)" if mode.concurrent else "serves one request at a time"


def _debug_sentence(releases: list[Release], found: dict[str, Observation]) -> str:
    observed = _observed_with(releases, found, "debug")
    if not observed:
        return "`app.run(debug=True)` is not observed yet."
    category = {o.flask: _debug_behaviour(o.modes["debug"]) for o in observed}
    child = [o for o in observed if o.modes["debug"].server_process == "reloader child"]
    sentence = (
        f"`app.run(debug=True)`, the tutorials' call, {grouped_spans(observed, category)}; the server runs in a child "
        f"process that Werkzeug's reloader starts, not in the process you started, in {len(child)} of {len(observed)}"
    )
    with_cli = [o for o in observed if "flask_run_debug" in o.modes]
    same = [o for o in with_cli if behaviour(o.modes["flask_run_debug"]) == behaviour(o.modes["debug"])]
    if with_cli:
        sentence += (
            f"; `FLASK_DEBUG=1 flask run` does the same in {len(same)} of the {len(with_cli)} with a `flask` command"
        )
        if len(same) < len(with_cli):
            differing = [o for o in with_cli if o not in same]
            sentence += f" (not in {release_span(differing, with_cli)})"
    return sentence + "."


def _refusal_sentence(
    releases: list[Release], found: dict[str, Observation], introductions: IntroductionsRecord | None
) -> str:
    by_error: dict[str, list[Observation]] = {}
    for observation in _observed_with(releases, found, "threaded_processes3"):
        by_error.setdefault(error_text(observation.modes["threaded_processes3"]), []).append(observation)
    parts = []
    for error, group in by_error.items():
        since = introduced(introductions, "threaded_processes3", group[0].modes["threaded_processes3"])
        parts.append(f"`{error}` ({len(group)} of them, with {werkzeug_span(group)}{'; ' + since if since else ''})")
    return f"`threaded=True, processes=3` refuses to start: {'; '.join(parts) or 'not observed'}."


def _coverage_sentence(releases: list[Release], found: dict[str, Observation]) -> str:
    statuses = Counter(found[r.version].status if r.version in found else "not audited yet" for r in releases)
    ok = statuses.pop("ok", 0)
    text = f"{ok} of {len(releases)} releases observed"
    if statuses:
        text += "; not observed: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    return text + "."


def summary(
    releases: list[Release], observations: list[Observation], introductions: IntroductionsRecord | None = None
) -> list[str]:
    """Summary sentences, every number computed from the records.

    :param introductions: which Werkzeug release first showed each refusal text, where that was bisected.
    """
    found = by_version(observations)
    ordered = sorted(releases, key=lambda r: Version(r.version))
    return [
        _transition_sentence("Plain `app.run()`", ordered, found, "default"),
        _transition_sentence("`flask run`", ordered, found, "flask_run"),
        _debug_sentence(ordered, found),
        _processes_sentence(ordered, found),
        _processes_as_written_sentence(ordered, found),
        _refusal_sentence(ordered, found, introductions),
        _coverage_sentence(ordered, found),
    ]


def lead(releases: list[Release], observations: list[Observation]) -> str:
    """The answer in two to four short sentences, for the top of the answer page; every fact from the records."""
    found = by_version(observations)
    ordered = sorted(releases, key=lambda r: Version(r.version))
    start, _, exceptions, serial = first_of_run(ordered, found, "default")
    if start is None:
        return f"No: plain `app.run()` served one request at a time in all {len(serial)} observed releases."
    sentences = [f"Yes, from Flask {start.version} on: plain `app.run()` serves each request in a thread of its own."]
    if serial:
        sentences.append(f"Before {start.version}, it serves one request at a time.")
    later = [v for v in serial if (found[v].released or "") > (start.released or "") and found[start.version].released]
    if later:
        named = " and ".join(later) if len(later) <= 2 else f"{', '.join(later[:-1])} and {later[-1]}"
        sentences.append(f"That includes {named}, published after {start.version}.")
    if exceptions:
        sentences.append(f"Concurrent before it all the same: {', '.join(exceptions)}.")
    forks = [
        o
        for o in observations
        if (m := o.modes.get("processes3")) is not None and m.outcome == "served" and m.workers == "forked processes"
    ]
    pools = [o for o in forks if o.modes["processes3"].distinct_pids != o.modes["processes3"].sequential]
    if forks and not pools:
        sentences.append("With `threaded=False, processes=3` it forks a process per request: not a pool of three.")
    return " ".join(sentences[:4])

"""How one observation is written in a table cell, the same way on every page."""

from __future__ import annotations

from scripts.audit.records import ModeObservation, Observation

__all__ = [
    "describe_cli",
    "describe_concurrency",
    "describe_debug",
    "describe_processes",
    "describe_refusal",
    "describe_start",
    "error_text",
    "notes",
]


def error_text(mode: ModeObservation) -> str:
    """What a failed mode said: its error, and what the server logged where it dropped requests."""
    return f"{mode.error}; the server logged: {mode.server_log}" if mode.server_log else str(mode.error)


def describe_cli(observation: Observation) -> str:
    """The ``flask run`` cell: what it did, or why there is nothing to say."""
    mode = observation.modes.get("flask_run")
    if mode is not None:
        return describe_concurrency(mode)
    return "— (no CLI)" if observation.cli is False else "not observed"


def describe_concurrency(mode: ModeObservation | None) -> str:
    """One cell: did the mode serve concurrently, with what workers, how many in flight."""
    if mode is None:
        return "not observed"
    if mode.outcome != "served":
        return f"{mode.outcome}: `{error_text(mode)}`"
    answer = "yes" if mode.concurrent else "no"
    where = " in the reloader's child" if mode.server_process == "reloader child" else ""
    return f"{answer} ({mode.workers}{where}, {mode.max_in_flight} of {mode.sent} in flight)"


def describe_debug(observation: Observation) -> str:
    """The debug server's cell: ``app.run(debug=True)``, and ``FLASK_DEBUG=1 flask run`` where it differs."""
    text = describe_concurrency(observation.modes.get("debug"))
    cli = observation.modes.get("flask_run_debug")
    if cli is None:
        return text
    other = describe_concurrency(cli)
    return f"{text}; the same with `flask run`" if other == text else f"{text}; `flask run`: {other}"


def describe_processes(mode: ModeObservation | None) -> str:
    """The processes=3 cell: a pool, or a fork per request, and the cap on requests in flight."""
    if mode is None:
        return ""
    if mode.outcome != "served":
        return f"{mode.outcome}: `{error_text(mode)}`"
    if mode.workers == "forked processes":
        per_request = mode.distinct_pids == mode.sequential
        how = "fork per request" if per_request else f"{mode.distinct_pids} worker processes"
        return f"{how}, ≤{mode.max_in_flight} in flight ({mode.distinct_pids} pids / {mode.sequential} requests)"
    return describe_concurrency(mode)


def describe_refusal(mode: ModeObservation | None) -> str:
    """The refusal cell: the error verbatim, or what the mode did when it was not refused."""
    if mode is None:
        return ""
    if mode.outcome == "error":
        return f"`{error_text(mode)}`"
    return describe_concurrency(mode)


def notes(observation: Observation) -> str:
    """Why a release was not run or failed, and what had to change for it to install."""
    found = []
    if observation.status != "ok":
        detail = observation.detail or ""
        found.append(detail if detail.startswith("not run") else f"{observation.status}: {detail}".rstrip(": "))
    if observation.environment is not None:
        found.extend(observation.environment.changes)
    return "; ".join(found)


def describe_start(mode: ModeObservation) -> str:
    """What a ``processes=3`` call did, as a phrase that groups releases: forks, refused, or what it served."""
    if mode.outcome == "error":
        return f"is refused at start (`{error_text(mode)}`)"
    if mode.outcome != "served":
        return f"fails ({mode.outcome}: `{error_text(mode)}`)"
    if mode.workers == "forked processes" and mode.distinct_pids == mode.sequential:
        return "forks a new process for every request"
    return f"serves: {describe_concurrency(mode)}"

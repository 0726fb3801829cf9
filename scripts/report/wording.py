"""Words every page uses the same way: counts, version order, spans of Werkzeug releases."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from scripts.audit.records import ModeObservation, Observation
from scripts.introductions.records import IntroductionsRecord, signature

__all__ = [
    "facts",
    "grouped_spans",
    "introduced",
    "later_by_date",
    "minor_line",
    "plural",
    "release_span",
    "version_key",
    "werkzeug_span",
]


def plural(count: int, noun: str) -> str:
    """``1 release``, ``2 releases``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def version_key(text: str) -> Version:
    """A version to sort by; anything unparsable sorts first."""
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


def introduced(found: IntroductionsRecord | None, mode: str, seen: ModeObservation) -> str:
    """Where the Werkzeug release that first showed what ``seen`` shows was bisected: its words, or ""."""
    if found is None:
        return ""
    shows = signature(seen)
    for answer in found.introductions:
        if answer.question == "outcome" and (answer.mode, answer.shows) == (mode, shows):
            # A bound alone hides what the release below showed when it did not show this (0.11.14 broke
            # otherwise): say it, from the sample the bisection took there.
            before = _outcome_of(found, answer.last_before, answer.python, mode)
            if answer.exact and before and before not in (shows, "served"):
                return f"{answer.describe()}, where it showed `{before}` instead"
            return answer.describe()
    return ""


def _outcome_of(found: IntroductionsRecord, werkzeug: str | None, python: str, mode: str) -> str | None:
    """What ``mode`` showed with one Werkzeug release on one Python, as the introductions record sampled it."""
    for sample in found.samples:
        if (sample.werkzeug, sample.python) == (werkzeug, python) and sample.outcomes:
            return sample.outcomes.get(mode)
    return None


def werkzeug_span(observations: Iterable[Observation]) -> str:
    """The Werkzeug versions the observations were made with: ``Werkzeug 0.6.1 to 2.0.3``."""
    versions = sorted({o.packages.get("werkzeug", "?") for o in observations}, key=version_key)
    return f"Werkzeug {versions[0]}" if len(versions) == 1 else f"Werkzeug {versions[0]} to {versions[-1]}"


def release_span(chosen: Iterable[Observation], ordered: Iterable[Observation]) -> str:
    """``chosen`` releases as runs of consecutive ones within ``ordered``: "Flask 0.1 to 0.9, 1.0 (N releases)"."""
    picked = {o.flask for o in chosen}
    if not picked:
        return "no releases"
    runs: list[list[str]] = []
    previous_in = False
    for observation in ordered:
        inside = observation.flask in picked
        if inside:
            if previous_in:
                runs[-1].append(observation.flask)
            else:
                runs.append([observation.flask])
        previous_in = inside
    parts = [run[0] if len(run) == 1 else f"{run[0]} to {run[-1]}" for run in runs]
    return f"Flask {', '.join(parts)} ({plural(len(picked), 'release')})"


def grouped_spans(observed: list[Observation], category: dict[str, str], prefix: str = "") -> str:
    """Releases grouped by what they did, each group as its spans: "forks … in Flask 0.1 to 0.12.5 (26 releases)"."""
    groups: dict[str, list[Observation]] = {}
    for observation in observed:
        groups.setdefault(category[observation.flask], []).append(observation)
    return "; ".join(f"{prefix}{words} in {release_span(group, observed)}" for words, group in groups.items())


def minor_line(version: str) -> str:
    """The release's minor line, ``3.1`` for 3.1.3."""
    return ".".join(version.split(".")[:2])


def later_by_date(start: Observation, others: Iterable[Observation], behaviour: str) -> str:
    """Where version order and date order part: the ``others`` (older than ``start`` by version) that were
    published after it, as a clause, or "" when there are none.

    "Flask 0.12.4 (2018-04-30) and 0.12.5 (2020-02-10), maintenance releases of the 0.12 line published after
    1.0 (2018-04-26), serve one request at a time"
    """
    if not start.released:
        return ""
    later = sorted(
        (
            o
            for o in others
            if o.released and o.released > start.released and version_key(o.flask) < version_key(start.flask)
        ),
        key=lambda o: version_key(o.flask),
    )
    if not later:
        return ""
    named = [f"{o.flask} ({o.released})" for o in later]
    listed = named[0] if len(named) == 1 else f"{', '.join(named[:-1])} and {named[-1]}"
    lines = sorted({minor_line(o.flask) for o in later}, key=version_key)
    what = "a maintenance release" if len(later) == 1 else "maintenance releases"
    of = f"the {lines[0]} line" if len(lines) == 1 else f"the {', '.join(lines[:-1])} and {lines[-1]} lines"
    verb = "serves" if len(later) == 1 else "serve"
    return f"Flask {listed}, {what} of {of} published after {start.flask} ({start.released}), {verb} {behaviour}"


def facts(text: str) -> list[str]:
    """``text`` cut at each "; " that joins two facts: outside parentheses and code spans, which keep theirs."""
    found, depth, in_code, start = [], 0, False, 0
    for at, char in enumerate(text):
        if char == "`":
            in_code = not in_code
        elif not in_code and char in "([":
            depth += 1
        elif not in_code and char in ")]":
            depth = max(0, depth - 1)
        elif char == ";" and not in_code and depth == 0 and text.startswith("; ", at):
            found.append(text[start:at])
            start = at + 2
    return [part for part in (*found, text[start:]) if part]

"""Words every page uses the same way: counts, version order, spans of Werkzeug releases."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from scripts.audit.records import Observation

__all__ = ["grouped_spans", "plural", "release_span", "version_key", "werkzeug_span"]


def plural(count: int, noun: str) -> str:
    """``1 release``, ``2 releases``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def version_key(text: str) -> Version:
    """A version to sort by; anything unparsable sorts first."""
    try:
        return Version(text)
    except InvalidVersion:
        return Version("0")


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

"""Words every page uses the same way: counts, version order, spans of Werkzeug releases."""

from __future__ import annotations

from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from scripts.audit.records import Observation

__all__ = ["plural", "version_key", "werkzeug_span"]


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

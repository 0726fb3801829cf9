"""Moments as the records write them: UTC, to the second, ``2026-11-25T12:00:00Z``."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["now", "parse_stamp", "stamp"]

FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime | None = None) -> str:
    """``moment`` (default: now) as the records write it."""
    return (moment or now()).astimezone(UTC).strftime(FORMAT)


def parse_stamp(text: str) -> datetime:
    """A moment as the records (or an index's upload times) write it."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))

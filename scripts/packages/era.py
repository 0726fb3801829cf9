"""A release's era: the dependencies of its day, and the interpreters it is known to run on."""

from __future__ import annotations

from datetime import datetime, timedelta

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scripts.common.clock import parse_stamp
from scripts.packages.catalogue import Release

__all__ = ["CUTOFF_GRACE", "PYTHON_CEILINGS", "admits", "ceiling", "cutoff"]

#: Dependencies count as "of the release's era" when uploaded up to this long after it:
#: Flask and Werkzeug were often published together, minutes or hours apart.
CUTOFF_GRACE = timedelta(days=1)

#: The newest Python minor each release runs on with its era's dependencies. Found by installing
#: every release on every Python from 3.13 down and probing it; each bound says what breaks one
#: minor higher (observed on this project's first survey, 2026-11-24). Releases not listed have no
#: known ceiling: they get the newest interpreter their requires_python allows.
PYTHON_CEILINGS: list[tuple[str, tuple[int, int], str]] = [
    ("<0.10", (2, 7), "Python 2 only: the releases predate Python 3 support"),
    (
        ">=0.10,<0.12.5",
        (3, 9),
        "On 3.10 the era's Werkzeug/Jinja2 import ABCs from collections (removed): "
        "'No module named UserDict', 'cannot import name Mapping/Container'",
    ),
    (">=1.0,<1.0.3", (3, 9), "On 3.10 the era's Jinja2 imports Container from collections (removed)"),
    (
        ">=1.0.3,<1.1.2",
        (3, 7),
        "On 3.8 the era's Werkzeug 0.15.0-0.15.4 fails to start: 'required field \"type_ignores\" missing from Module'",
    ),
]


def cutoff(release: Release) -> datetime | None:
    """Dependencies uploaded after this moment are not of the release's era (None: the index has no dates)."""
    if release.uploaded is None:
        return None
    return parse_stamp(release.uploaded) + CUTOFF_GRACE


def ceiling(version: str) -> tuple[tuple[int, int] | None, str]:
    """The newest Python minor ``version`` runs on, and why; (None, ...) when unbounded."""
    for spec, bound, why in PYTHON_CEILINGS:
        if Version(version) in SpecifierSet(spec):
            return bound, why
    return None, "No known ceiling: the newest interpreter its requires_python allows"


def admits(requires_python: str | None, python_version: str) -> bool:
    """Whether a declared ``requires_python`` admits an interpreter of ``python_version`` (an unparsable one does)."""
    if not requires_python:
        return True
    try:
        return Version(python_version) in SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True

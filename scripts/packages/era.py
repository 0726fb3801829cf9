"""A release's era: the dependencies of its day, and the interpreters it is known to run on."""

from __future__ import annotations

from datetime import datetime, timedelta

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scripts.common.clock import parse_stamp
from scripts.packages.catalogue import Release

__all__ = ["CEILING_RULE", "CUTOFF_GRACE", "NO_CEILING_RULE", "PYTHON_CEILINGS", "admits", "ceiling", "cutoff"]

#: Dependencies count as "of the release's era" when uploaded up to this long after it:
#: Flask and Werkzeug were often published together, minutes or hours apart.
CUTOFF_GRACE = timedelta(days=1)

#: The newest Python minor each release runs on with its era's dependencies, as the grid observed it
#: (every release on every Python from 3.13 down, first survey 2026-11-24). What fails one minor
#: higher is not written here: the readers' page quotes it from the grid's records. Releases not
#: listed have no known ceiling: they get the newest interpreter their requires_python allows.
PYTHON_CEILINGS: list[tuple[str, tuple[int, int]]] = [
    ("<0.10", (2, 7)),
    (">=0.10,<0.12.5", (3, 9)),
    (">=1.0,<1.0.3", (3, 9)),
    (">=1.0.3,<1.1.2", (3, 7)),
]
#: Why the chosen interpreter, in words the matrix repeats: observation, not a cause.
CEILING_RULE = "The newest Python the grid saw it serve on with its era's dependencies"
NO_CEILING_RULE = "No known ceiling: the newest interpreter its requires_python allows"


def cutoff(release: Release) -> datetime | None:
    """Dependencies uploaded after this moment are not of the release's era (None: the index has no dates)."""
    if release.uploaded is None:
        return None
    return parse_stamp(release.uploaded) + CUTOFF_GRACE


def ceiling(version: str) -> tuple[tuple[int, int] | None, str]:
    """The newest Python minor ``version`` runs on, and why; (None, ...) when unbounded."""
    for spec, bound in PYTHON_CEILINGS:
        if Version(version) in SpecifierSet(spec):
            return bound, CEILING_RULE
    return None, NO_CEILING_RULE


def admits(requires_python: str | None, python_version: str) -> bool:
    """Whether a declared ``requires_python`` admits an interpreter of ``python_version`` (an unparsable one does)."""
    if not requires_python:
        return True
    try:
        return Version(python_version) in SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True

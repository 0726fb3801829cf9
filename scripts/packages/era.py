"""Era constraints: for each release, the dependency cut-off and the interpreter it runs on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scripts.packages.catalogue import Release, parse_time
from scripts.packages.interpreters import Interpreter

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


@dataclass(frozen=True)
class Plan:
    """How one release is audited: where its dependencies stop and which interpreter runs it."""

    release: Release
    interpreter: Interpreter | None
    ceiling: tuple[int, int] | None
    rule: str

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def installer(self) -> str:
        """uv for Python 3.6+, pip for Python 2.7 (which uv cannot target)."""
        if self.interpreter is None:
            return "uv" if self.ceiling is None or self.ceiling >= (3, 6) else "pip"
        return "uv" if self.interpreter.version >= (3, 6) else "pip"

    @property
    def needs(self) -> str:
        """The interpreter requirement in words, for the "not run" row."""
        if self.ceiling == (2, 7):
            return "Python 2.7"
        if self.ceiling:
            return f"Python {self.ceiling[0]}.{self.ceiling[1]} or older"
        return f"Python matching {self.release.requires_python or 'any version'}"


def cutoff(release: Release) -> datetime | None:
    """Dependencies uploaded after this moment are not of the release's era."""
    if release.uploaded is None:
        return None
    return parse_time(release.uploaded) + CUTOFF_GRACE


def ceiling(version: str) -> tuple[tuple[int, int] | None, str]:
    """The newest Python minor ``version`` runs on, and why; (None, ...) when unbounded."""
    for spec, bound, why in PYTHON_CEILINGS:
        if Version(version) in SpecifierSet(spec):
            return bound, why
    return None, "No known ceiling: the newest interpreter its requires_python allows"


def allowed(release: Release, interpreter: Interpreter) -> bool:
    """Whether the release's declared requires_python admits this interpreter."""
    if not release.requires_python:
        return True
    try:
        return Version(interpreter.version_text) in SpecifierSet(release.requires_python)
    except InvalidSpecifier:
        return True


def plan(release: Release, interpreters: list[Interpreter]) -> Plan:
    """Pick the newest interpreter that the release declares and is known to run on."""
    bound, why = ceiling(release.version)
    fitting = [
        i
        for i in interpreters
        if allowed(release, i) and (bound is None or i.minor <= bound) and (bound == (2, 7) or i.version >= (3, 6))
    ]
    return Plan(release, max(fitting) if fitting else None, bound, why)

"""How one release is audited: which interpreter runs it and which installer fills its environment."""

from __future__ import annotations

from dataclasses import dataclass

from scripts.packages import era
from scripts.packages.catalogue import Release, audited
from scripts.packages.environments import Installer, installer_for
from scripts.packages.interpreters import Interpreter

__all__ = ["Plan", "plan", "plans"]


@dataclass(frozen=True)
class Plan:
    """One release, the interpreter chosen for it (None: none here fits), and why."""

    release: Release
    interpreter: Interpreter | None
    ceiling: tuple[int, int] | None
    rule: str

    @property
    def version(self) -> str:
        return self.release.version

    @property
    def installer(self) -> Installer:
        """uv for Python 3.6+, pip for Python 2.7 (which uv cannot target)."""
        if self.interpreter is None:
            return installer_for(self.ceiling or (3, 6))
        return installer_for(self.interpreter.version)

    @property
    def needs(self) -> str:
        """The interpreter requirement in words, for the "not run" row."""
        if self.ceiling == (2, 7):
            return "Python 2.7"
        if self.ceiling:
            return f"Python {self.ceiling[0]}.{self.ceiling[1]} or older"
        return f"Python matching {self.release.requires_python or 'any version'}"


def plan(release: Release, interpreters: list[Interpreter]) -> Plan:
    """Pick the newest interpreter that the release declares and is known to run on."""
    bound, why = era.ceiling(release.version)
    fitting = [
        i
        for i in interpreters
        if era.admits(release.requires_python, i.version_text)
        and (bound is None or i.minor <= bound)
        and (bound == (2, 7) or i.version >= (3, 6))
    ]
    return Plan(release, max(fitting) if fitting else None, bound, why)


def plans(releases: list[Release], interpreters: list[Interpreter]) -> list[Plan]:
    """One plan per audited release."""
    return [plan(release, interpreters) for release in audited(releases)]

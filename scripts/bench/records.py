"""The benchmark's data (``reports/bench.json``): what was timed, and what follows from it.

The runner (``bench.run``) measures and stores seconds; the figures derived from them (medians,
the uv/pip ratio, whether each target is met, extrapolations) are computed here, from the data
only, and rendered by ``report.bench``.
"""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from scripts.common.jsonio import StoredDocument

__all__ = [
    "CHILDREN_COUNTED",
    "FLOOR_MARK",
    "NO_FLOOR_MARK",
    "SCHEMA_PATH",
    "UV_TARGET_RATIO",
    "Bench",
    "EnvironmentPair",
    "Measurement",
    "Phase",
    "cells_cpu_line",
    "cells_cpu_seconds",
    "children_cpu",
    "floor",
    "median",
    "scaled",
    "uv_pip_ratio",
    "verdict",
]

SCHEMA_PATH = Path(__file__).with_name("bench.schema.json")
SCHEMA_VERSION = 1
#: The uv path must be at least this many times faster than plain venv + pip.
UV_TARGET_RATIO = 5.0
#: Ends the name of a profile entry that is a floor: seconds no schedule of that run can go under.
FLOOR_MARK = "(no schedule is faster)"
#: Ends the name of a profile entry that was measured as a floor and is none (its work was not the run's).
NO_FLOOR_MARK = ": not a floor"
#: Whether this system counts the CPU of the processes a process started and waited for (Windows does not).
CHILDREN_COUNTED = os.name == "posix"
_CELLS_CPU = "the cells' processes used {seconds:.2f} CPU-s"
_CELLS_CPU_FOUND = re.compile(re.escape(_CELLS_CPU.split("{", 1)[0]) + r"(\d+\.\d+) CPU-s")


def children_cpu() -> float:
    """CPU-seconds of the processes this one started and waited for, theirs included (0 where not counted)."""
    times = os.times()
    return times.children_user + times.children_system


def cells_cpu_line(seconds: float) -> str:
    """The line a grid ``cells`` session ends with: what its cells' own processes used."""
    return _CELLS_CPU.format(seconds=seconds)


def cells_cpu_seconds(output: str) -> list[float]:
    """Every such line's seconds in a run's output, in order."""
    return [float(seconds) for seconds in _CELLS_CPU_FOUND.findall(output)]


@dataclass
class Measurement:
    """One thing timed, several rounds of it: wall seconds, and the CPU seconds its processes used."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/properties/measurements/items"

    name: str
    what: str
    #: How many releases one round covers.
    releases: int
    rounds: list[float]
    cpu: list[float] = field(default_factory=list)
    #: The issue's target, in seconds, for ``target_releases`` releases (None: no target).
    target: float | None = None
    target_releases: int | None = None


@dataclass
class EnvironmentPair:
    """One release's environment made both ways: uv (venv + install) and plain ``venv`` + pip."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/properties/pairs/items"

    release: str
    python: str
    uv: float
    pip: float
    #: Distributions uv had to build from source distributions (they dominate a cold fill).
    built_from_source: int = 0


@dataclass
class Phase:
    """Where the time of one run went, summed over its sessions."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/properties/profile/items"

    run: str
    phase: str
    seconds: float


@dataclass
class Bench(StoredDocument, what="a benchmark", remedy="restore it from git or run `nox -s bench` again"):
    """Everything one ``nox -s bench`` run measured."""

    made_at: str
    machine: dict[str, Any]
    settings: dict[str, Any]
    measurements: list[Measurement]
    pairs: list[EnvironmentPair]
    profile: list[Phase]
    schema_version: int = SCHEMA_VERSION

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Bench:
        data = dict(data)
        data["measurements"] = [Measurement(**m) for m in data["measurements"]]
        data["pairs"] = [EnvironmentPair(**p) for p in data["pairs"]]
        data["profile"] = [Phase(**p) for p in data["profile"]]
        return cls(**data)


# -- the numbers ----------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def uv_pip_ratio(pairs: Sequence[EnvironmentPair]) -> float | None:
    """How many times longer plain venv + pip took than uv, over the same releases (totals)."""
    uv = sum(p.uv for p in pairs)
    return sum(p.pip for p in pairs) / uv if pairs and uv > 0 else None


def floor(bench: Bench, run: str) -> Phase | None:
    """The profile's floor for ``run``, if it has one."""
    return next((p for p in bench.profile if p.run == run and p.phase.endswith(FLOOR_MARK)), None)


def scaled(measurement: Measurement) -> float | None:
    """The median scaled to the target's number of releases (itself when they are the same)."""
    value = median(measurement.rounds)
    if value is None or not measurement.target_releases or measurement.releases == measurement.target_releases:
        return value
    return value * measurement.target_releases / measurement.releases


def verdict(measurement: Measurement) -> str:
    """ "met", "not met", or the same for an extrapolation; "" without a target."""
    value = scaled(measurement)
    if measurement.target is None or value is None:
        return ""
    met = "met" if value <= measurement.target else "not met"
    return met if measurement.releases == measurement.target_releases else f"{met} (extrapolated)"

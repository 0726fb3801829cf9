"""Bisection: the first release of a distribution that shows a failure, from real trials, fewest first.

Generic over what a trial is (the caller installs and probes); this module only decides which
version to try next and what the trials prove. A trial answers True (the failure shows), False
(it does not) or None (no answer: the version would not install with everything else held):
versions without an answer are left out, as ``git bisect skip`` does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from packaging.version import Version

__all__ = ["Bisection", "Trial", "first_bad"]

#: One trial: does ``version`` show the failure? None when it cannot tell.
Trial = Callable[[Version], bool | None]


@dataclass
class Bisection:
    """What bisection proved: the first bad version, the last good one before it, and every trial made."""

    first_bad: Version
    #: None when no version older than ``first_bad`` was seen without the failure.
    last_good: Version | None
    trials: list[tuple[Version, bool | None]] = field(default_factory=list)
    #: Versions between ``last_good`` and ``first_bad`` that gave no answer: any of them may be the first bad one.
    unanswered: list[Version] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        """Whether the introduction is pinned to one release: a good version right below the first bad one."""
        return self.last_good is not None and not self.unanswered

    @property
    def bound(self) -> Version:
        """The version to stay below: the first bad one, or the oldest unanswered version before it."""
        return min(self.unanswered, default=self.first_bad)


def first_bad(
    candidates: list[Version], known_bad: Version, trial: Trial, known_good: Version | None = None
) -> Bisection:
    """The first of ``candidates`` (and ``known_bad``) that shows the failure, assuming once bad, bad after.

    :param candidates: versions to search, any order; only those between ``known_good`` and ``known_bad`` count.
    :param known_bad: a version observed to fail.
    :param trial: installs and probes one version.
    :param known_good: a version observed not to fail, if any; otherwise the oldest candidate is the floor.
    """
    ordered = sorted(
        v for v in set(candidates) if v < known_bad and (known_good is None or v > known_good)
    )  # fmt: skip
    result = Bisection(known_bad, known_good)
    skipped: list[Version] = []
    low, high = -1, len(ordered)  # ordered[high] stands for known_bad; ordered[low] for known_good
    while high - low > 1:
        middle = (low + high) // 2
        answer = trial(ordered[middle])
        result.trials.append((ordered[middle], answer))
        if answer is None:
            skipped.append(ordered.pop(middle))
            high -= 1
        elif answer:
            high = middle
        else:
            low = middle
    result.first_bad = ordered[high] if high < len(ordered) else known_bad
    result.last_good = ordered[low] if low >= 0 else known_good
    floor = result.last_good
    result.unanswered = sorted(v for v in skipped if (floor is None or v > floor) and v < result.first_bad)
    return result

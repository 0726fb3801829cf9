"""Introductions: which Werkzeug release first showed a behaviour or a text the report names, found by
bisection, and the Werkzeug releases observed alone on the way.

``reports/introductions.json``, valid against ``introductions.schema.json`` beside this module (prose
companion: ``introductions.schema.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

from scripts.audit.records import ModeObservation
from scripts.common import evidence
from scripts.common.jsonio import NOT_STORED, StoredDocument

__all__ = ["SCHEMA_PATH", "Introduction", "IntroductionsRecord", "Question", "Sample", "signature"]

SCHEMA_PATH = Path(__file__).with_name("introductions.schema.json")
SCHEMA_VERSION = 1

#: What a question asks of each Werkzeug release: a mode's outcome (an error text, or how requests
#: ended), whether ``run_simple``'s docstring names ``wsgiref``, whether its server class chain does.
Question = Literal["outcome", "docstring", "server"]


def signature(mode: ModeObservation) -> str | None:
    """What a mode showed, as compared across releases: the error text, or how requests ended; None: served."""
    if mode.outcome == "served":
        return None
    if mode.outcome == "error":
        return mode.error or "error"
    return mode.outcome


@dataclass
class Sample:
    """One Werkzeug release observed alone on one Python: each mode's outcome, the docstring, the server."""

    schema_node: ClassVar[str] = "/$defs/sample"

    werkzeug: str
    python: str
    #: None when it would not install or import there: no answer from this release on this Python.
    outcomes: dict[str, str] | None = None
    #: The sentence of ``run_simple``'s docstring that names ``wsgiref``, or None when none does.
    doc_wsgiref: str | None = None
    #: The class chain of the server that answered plain ``run_simple``.
    server_classes: list[str] = field(default_factory=list)
    #: Why it gave no answer, when it did not.
    detail: str | None = None


@dataclass
class Introduction:
    """The first Werkzeug release that shows ``shows``, by bisection on one Python, all else fixed."""

    schema_node: ClassVar[str] = "/$defs/introduction"

    question: Question
    #: The mode asked about (``outcome`` questions), e.g. ``threaded_processes3``.
    mode: str | None
    #: What the releases show: the error text or outcome, or the docstring's or server's wsgiref mention.
    shows: str
    python: str
    #: The oldest release the audit saw showing it: where the bisection started.
    observed_from: str
    #: The first release that shows it; for ``docstring`` and ``server`` questions, the first that no longer does.
    first: str | None = None
    #: The release right before ``first`` that does not (for ``docstring``/``server``: the last that does).
    last_before: str | None = None
    #: Whether ``first`` is the introduction: a release right below it was observed, with an answer.
    exact: bool = False
    #: The oldest release the index lists, when ``first`` is it (then "in every release since the first").
    oldest: str | None = None
    #: Releases between ``last_before`` and ``first`` without an answer: observed not to install or run on this
    #: Python, or left untried after a run of those (the bisection's budget); either may be where it began.
    unanswered: list[str] = field(default_factory=list)
    #: Releases observed, and how many of them would not install or run on this Python.
    trials: int = 0
    no_answer: int = 0

    @property
    def minor(self) -> str:
        return ".".join(self.python.split(".")[:2])

    def describe(self) -> str:
        """What the bisection proved, in words: an introduction only where it found one."""
        if self.first is None:
            return ""
        where = f"bisected on Python {self.minor}"
        if self.oldest is not None:
            # Nothing older to bisect against: seen in the first release, not found between two.
            return f"already in Werkzeug {self.oldest}, the first release on the index (seen on Python {self.minor})"
        if self.exact:
            return f"first in Werkzeug {self.first}, not in {self.last_before} ({where})"
        return (
            f"observed from Werkzeug {self.first}; the {self.no_answer} older releases tried would not install or "
            f"run on Python {self.minor}"
        )


@dataclass
class IntroductionsRecord(
    StoredDocument,
    what="an introductions record",
    remedy="restore it (git checkout -- reports/introductions.json) or find them again: `nox -s introductions`",
):
    """Every question and every sample it took."""

    introductions: list[Introduction] = field(default_factory=list)
    samples: list[Sample] = field(default_factory=list)
    #: When this evidence was first observed (asked again with the same answers, the record keeps it).
    observed_at: str | None = None
    #: The key it was found under: this machine's, kept under ``.nox/`` (``evidence.Confirmations``).
    cache_key: str | None = field(default=None, compare=False, repr=False, metadata=NOT_STORED)
    schema_version: int = SCHEMA_VERSION

    def write(self, path: Path) -> Path:
        """Write the record unless the stored one says the same (see ``evidence.save``)."""
        evidence.save(path, self.to_json())
        return path

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> IntroductionsRecord:
        data = dict(data)
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {data.get('schema_version')!r}, this code reads {SCHEMA_VERSION}")
        data.pop("cache_key", None)  # written by older code: this machine's key, not evidence
        data["introductions"] = [Introduction(**i) for i in data.get("introductions", [])]
        data["samples"] = [Sample(**s) for s in data.get("samples", [])]
        return cls(**data)

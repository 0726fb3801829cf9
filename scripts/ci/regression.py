"""The regression alarm: audit what is new on the index and compare how it behaves with two baselines.

The era baseline is the accepted observation records (``reports/results/``): each release with the
dependencies of its day. New releases on the index, and the newest release again, are audited into
a candidate folder and compared with the baseline record of the release before them (the newest
one again with its own record).

The today baseline (``reports/today/``, see :mod:`scripts.ci.today`) is what a plain install of
each line's newest release gives now. Those releases are installed afresh with the newest
dependencies the index has and compared with their own today record, so a dependency release that
changes what ``app.run()`` does is seen, with the packages that moved.

The outcome is an exit code, so a scheduled job can fail on it:

0  nothing new, or everything new behaves like its baseline (``--accept`` takes what is new)
1  a behaviour changed: the release, the mode, before -> after, and what moved
2  the index could not be read or a release could not be audited; baselines and report untouched
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from filelock import FileLock, Timeout
from packaging.version import Version

from scripts.audit import run as audit
from scripts.audit.plan import plan
from scripts.audit.records import (
    NOT_OBSERVED,
    Observation,
    differences,
    load,
    load_all,
    save,
)
from scripts.ci import today
from scripts.ci.unchanged import unchanged_on_failure
from scripts.ci.verdict import CHANGED, SAME, UNAVAILABLE, Verdict
from scripts.common import cli
from scripts.common.clock import stamp
from scripts.common.jsonio import DataError
from scripts.common.processes import stop_on_sigterm
from scripts.layout import REPO, Layout
from scripts.packages import catalogue, index, interpreters
from scripts.packages.catalogue import Release
from scripts.packages.environments import Unavailable
from scripts.report.pages import write_report
from scripts.report.wording import minor_line

__all__ = [
    "Change",
    "Options",
    "Outcome",
    "check",
    "compare",
    "main",
    "news",
    "run",
    "summary_markdown",
]

OUTCOME_NAMES = {SAME: "no behaviour change", CHANGED: "behaviour changed", UNAVAILABLE: "could not run"}
# A release never started here (records.NOT_OBSERVED) says nothing about its behaviour. An install that failed
# for the index's or the machine's reasons raises instead of becoming a status.

Log = Callable[[str], None]


@dataclass(frozen=True)
class Change:
    """One difference between a release's observation and the baseline it is compared with."""

    release: str
    reference: str
    aspect: str
    before: str
    after: str
    #: Found with today's dependencies (the today baseline), not with those of the release's era.
    today: bool = False
    #: The distributions whose version differs from the reference's, ``name old -> new`` (today only).
    moved: tuple[str, ...] = ()

    def __str__(self) -> str:
        if not self.today:
            against = "its baseline record" if self.reference == self.release else f"Flask {self.reference}"
            return f"Flask {self.release}, {self.aspect}: {self.before} -> {self.after} (compared with {against})"
        moved = "moved: " + ", ".join(self.moved) if self.moved else "no package moved"
        against = "" if self.reference == self.release else f" (compared with Flask {self.reference} today)"
        said = f"{self.aspect}: {self.before} -> {self.after}; {moved}{against}"
        return f"Flask {self.release} with today's dependencies, {said}"


@dataclass
class Outcome:
    """What a regression run found; ``code`` is the exit code."""

    code: int
    summary: str
    audited: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    #: The final releases the index lists (empty when it could not be read).
    listed: list[Release] = field(default_factory=list)
    #: Releases installed afresh with today's dependencies.
    today: list[str] = field(default_factory=list)
    #: Releases audited with their era's dependencies that had no baseline record before them.
    unreferenced: list[str] = field(default_factory=list)
    #: Releases that had no today record and now start the today baseline.
    started: list[str] = field(default_factory=list)
    #: What moved under a today release whose behaviour did not change, one line per release.
    moved: list[str] = field(default_factory=list)
    #: What was left out and why (a release the index does not hold, an era it cannot reproduce).
    notes: list[str] = field(default_factory=list)
    #: What was taken into the baselines (``--accept``): releases, ``X (today)`` for a today record.
    accepted: list[str] = field(default_factory=list)

    @property
    def last_line(self) -> str:
        return f"regression: {OUTCOME_NAMES[self.code]} (exit {self.code}): {self.summary}"

    def verdict(self) -> Verdict:
        """The outcome as data, for the job that tells people (:mod:`scripts.ci.tell` reads it)."""
        return Verdict(
            self.code,
            self.last_line,
            summary_markdown(self),
            tuple(str(change) for change in self.changes),
            tuple(sorted({change.release for change in self.changes}, key=Version)),
            tuple(sorted({name for change in self.changes for name in change.moved})),
            tuple(self.accepted),
            stamp(),
        )


@dataclass(frozen=True)
class Options:
    """Where to read the index and the baseline, and what to do with the candidates."""

    index_url: str | None = None
    #: Where the baseline, the catalogue, the candidates and the pages are.
    output: Layout = REPO
    #: Where the candidates' environments are built (reused across runs); default: under the output's state.
    envs: Path | None = None
    accept: bool = False
    accept_changes: bool = False
    #: A markdown file the outcome is appended to (a CI job summary); None: none.
    summary: Path | None = None
    #: A JSON file the outcome is written to, as data (:meth:`Outcome.verdict`); None: none.
    verdict: Path | None = None

    def accepts(self, code: int) -> bool:
        """Whether candidates of an outcome go into the baseline: never when the alarm could not run."""
        return (self.accept and code == SAME) or (self.accept_changes and code in (SAME, CHANGED))

    @property
    def environments(self) -> Path:
        return self.envs or self.output.state / "regression"


def compare(reference: Observation, candidate: Observation) -> list[Change]:
    """How ``candidate`` behaves differently from ``reference``, mode by mode (:func:`records.differences`)."""
    return [
        Change(candidate.flask, reference.flask, aspect, before, after)
        for aspect, before, after in differences(reference, candidate)
    ]


def reference_for(release: str, baseline: dict[str, Observation]) -> Observation | None:
    """The release's own baseline record, else the newest baseline release before it."""
    if release in baseline:
        return baseline[release]
    earlier = [v for v in baseline if Version(v) < Version(release)]
    return baseline[max(earlier, key=Version)] if earlier else None


def to_audit(listed: list[Release], baseline: dict[str, Observation]) -> list[Release]:
    """Releases without a baseline record, plus the newest installable release again, oldest first."""
    installable = [r for r in listed if r.installable]
    newest = max(installable, key=lambda r: r.key) if installable else None
    return [r for r in installable if r.version not in baseline or r is newest]


def check(options: Options, log: Log = print) -> Outcome:
    """Read the index, audit what is new into the candidate folder, compare with the baseline.

    Any failure of its own (the index, the machine, an unreadable baseline record) is exit 2, never 1:
    only an observed difference in behaviour is a change.
    """
    try:
        return _check(options, log)
    except index.IndexUnavailable as exc:
        return Outcome(UNAVAILABLE, f"the package index could not be read: {exc}")
    except (DataError, Unavailable, OSError) as exc:
        return Outcome(UNAVAILABLE, str(exc))


def _check(options: Options, log: Log) -> Outcome:
    index_url = index.configured_index_url(options.index_url)
    listed = catalogue.audited(catalogue.fetch(index_url))
    if not listed:
        return Outcome(UNAVAILABLE, f"the index at {index_url} lists no final Flask release")
    layout = options.output
    baseline = {o.flask: o for o in load_all(layout.results)}
    todays = {o.flask: o for o in load_all(layout.today)} if layout.today.exists() else {}
    stored = {r.version: r for r in catalogue.load(layout.releases)} if layout.releases.exists() else {}
    found = interpreters.discover()
    audit_options = audit.Options(index_url=index_url, output=layout, force=True)
    # Candidates of an earlier run must not be taken for this one's.
    for folder in (layout.candidates, layout.today_candidates):
        for stale in folder.glob("flask-*.json"):
            stale.unlink()
    outcome = Outcome(SAME, "", listed=listed)
    failed: list[str] = []
    for release in listed:
        if not release.installable and release.version not in baseline:
            # Yanked, or no file at all: nothing to install, so nothing to say about its behaviour.
            outcome.notes.append(f"Flask {release.version}: not audited: the index has no installable file of it")
    for release in to_audit(listed, baseline):
        known = stored.get(release.version)
        if release.uploaded is None and known is not None and known.uploaded is not None:
            # Its era is "uploaded up to a day after it": an index without upload times cannot reproduce it.
            outcome.notes.append(
                f"Flask {release.version}: not audited again with the dependencies of its era: the index gives no "
                "upload times"
            )
            continue
        log(f"Flask {release.version}: auditing")
        candidate = audit.observe(plan(release, found), options.environments / release.version, audit_options, log)
        save(candidate, layout.candidates)
        outcome.audited.append(release.version)
        if candidate.status in NOT_OBSERVED:
            failed.append(f"Flask {release.version}: {candidate.status}: {candidate.detail}")
            continue
        reference = reference_for(release.version, baseline)
        if reference is None:
            log(f"Flask {release.version}: no earlier baseline record to compare with")
            outcome.unreferenced.append(release.version)
            continue
        outcome.changes.extend(compare(reference, candidate))
    failed.extend(_check_today(listed, stored, todays, found, options, audit_options, outcome, log))
    if failed:
        return replace(outcome, code=UNAVAILABLE, summary="; ".join(failed))
    if outcome.changes:
        outcome.code = CHANGED
        outcome.summary = f"{len(outcome.changes)} change(s) in Flask " + ", ".join(
            sorted({c.release + (" today" if c.today else "") for c in outcome.changes}, key=_change_order)
        )
        return outcome
    said = []
    compared_era = [v for v in outcome.audited if v not in outcome.unreferenced]
    if compared_era:
        said.append(f"audited {', '.join(compared_era)}; all behave like the baseline")
    if outcome.unreferenced:
        said.append(f"audited {', '.join(outcome.unreferenced)} with no baseline record before it to compare with")
    compared = [v for v in outcome.today if v not in outcome.started]
    if compared:
        moved = f"; moved: {'; '.join(outcome.moved)}" if outcome.moved else "; nothing moved"
        said.append(f"today's dependencies: {', '.join(compared)} behave as before{moved}")
    if outcome.started:
        said.append(f"today's dependencies: {', '.join(outcome.started)} start the today baseline")
    outcome.summary = "; ".join(said) or "nothing to audit"
    return outcome


def _change_order(name: str) -> tuple[Version, bool]:
    version, _, today_ = name.partition(" ")
    return Version(version), bool(today_)


def _check_today(
    listed: list[Release],
    stored: dict[str, Release],
    todays: dict[str, Observation],
    found: list[interpreters.Interpreter],
    options: Options,
    audit_options: audit.Options,
    outcome: Outcome,
    log: Log,
) -> list[str]:
    """Install every watched release afresh with today's dependencies and compare; return what could not run."""
    on_index = {r.version: r for r in listed}
    # The catalogue knows releases a partial mirror lacks: picking the newest of a line among what the mirror
    # holds would compare an older release with its line's today record. Its entries also keep their upload
    # day where the index gives none.
    everything = {**on_index, **stored}
    failed = []
    watched = today.watched(list(everything.values()), found)
    newest = {minor_line(r.version): r.key for r in watched}
    for version, record in todays.items():
        line = minor_line(version)
        if line not in newest:
            # Watched when the baseline was made, yet no Python here is one it runs on: say so, never pass silently.
            outcome.notes.append(
                f"Flask {version}: not installed with today's dependencies: no interpreter here fits it "
                f"(its today record is from Python {record.python})"
            )
        elif newest[line] < Version(version):
            outcome.notes.append(
                f"Flask {version}: not installed with today's dependencies: neither the index nor the catalogue "
                f"lists it now (its line's newest there is {newest[line]})"
            )
    for release in watched:
        if release.version not in on_index:
            outcome.notes.append(
                f"Flask {release.version}: not installed with today's dependencies: the index does not hold it"
            )
            continue
        log(f"Flask {release.version}: installing afresh with today's dependencies")
        location = options.environments / "today" / release.version
        candidate = today.observe(release, found, location, audit_options, log)
        save(candidate, options.output.today_candidates)
        outcome.today.append(release.version)
        if candidate.status in NOT_OBSERVED:
            failed.append(f"Flask {release.version} with today's dependencies: {candidate.status}: {candidate.detail}")
            continue
        reference = reference_for(release.version, todays)
        if reference is None:
            log(f"Flask {release.version}: no today record to compare with; it starts the today baseline")
            outcome.started.append(release.version)
            continue
        moved = tuple(today.moved(reference, candidate))
        changes = [replace(c, today=True, moved=moved) for c in compare(reference, candidate)]
        outcome.changes.extend(changes)
        if moved and not changes:
            outcome.moved.append(f"{', '.join(moved)} (Flask {release.version})")
    return failed


def news(candidate: Observation, own: Observation | None) -> bool:
    """Whether a candidate says something its release's own record does not: nothing new is never written."""
    if own is None:
        return True
    return own.packages != candidate.packages or own.python != candidate.python or bool(compare(own, candidate))


def _take(candidates: Path, baseline: Path) -> list[str]:
    """Move every candidate that is news into ``baseline``; return the releases taken."""
    baseline.mkdir(parents=True, exist_ok=True)
    taken = []
    for path in sorted(candidates.glob("flask-*.json")):
        target = baseline / path.name
        candidate = load(path)
        if news(candidate, load(target) if target.exists() else None):
            os.replace(path, target)
            taken.append(candidate.flask)
        else:
            path.unlink()
    return taken


def accept(options: Options, listed: list[Release]) -> tuple[list[str], list[Path]]:
    """Take what is new into the baselines, add new releases to the catalogue, re-render the report.

    A candidate identical to its release's record (same packages, Python and behaviour) leaves the
    record as it was; a today record whose line has a newer release is dropped with it.
    """
    layout = options.output
    stored = catalogue.load(layout.releases) if layout.releases.exists() else []
    known = {r.version for r in stored}
    merged = sorted([*stored, *(r for r in listed if r.version not in known)], key=lambda r: r.key)
    # All or nothing: a report that cannot render (or an interruption) puts every record back as it was.
    with unchanged_on_failure([layout.results, layout.today], [layout.releases]):
        if len(merged) != len(stored):
            catalogue.save(merged, layout.releases)
        taken = _take(layout.candidates, layout.results)
        taken_today = _take(layout.today_candidates, layout.today)
        for old in today.superseded(load_all(layout.today)):
            (layout.today / f"flask-{old.flask}.json").unlink()
        written = write_report(layout, layout.releases) if taken or taken_today else []
    return [*taken, *(f"{v} (today)" for v in taken_today)], written


def summary_markdown(outcome: Outcome) -> str:
    """The outcome as markdown, for a CI job summary: the verdict, each change, what moved, what was left out."""
    lines = [f"## Regression alarm: {OUTCOME_NAMES[outcome.code]} (exit {outcome.code})", "", outcome.summary, ""]
    sections: list[tuple[str, Iterable[object]]] = [
        ("Changes", outcome.changes),
        ("Moved without a change in behaviour", outcome.moved),
        ("Left out", outcome.notes),
    ]
    for title, items in sections:
        listed = [f"- {_markdown_text(str(item))}" for item in items]
        if listed:
            lines += [f"### {title}", "", *listed, ""]
    audited = ", ".join(outcome.audited) or "none"
    lines.append(
        f"Audited with the dependencies of their era: {audited}. With today's: {', '.join(outcome.today) or 'none'}."
    )
    return "\n".join(lines) + "\n"


def _markdown_text(text: str) -> str:
    """Text that markdown shows as written: outside code spans, the characters it would read as markup are
    escaped; inside them nothing is (a backslash there would be shown)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # the even parts lie outside code spans
        parts[i] = parts[i].replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("<", "&lt;")
    return "`".join(parts)


def parse_options(argv: list[str]) -> Options:
    """The alarm's options; raises cli.OptionError naming a bad one."""
    assert __doc__ is not None
    parser = cli.parser(
        "nox -s regression --", __doc__.splitlines()[0], [cli.add_index_url, lambda p: cli.add_output(p, REPO.root)]
    )
    parser.add_argument("--envs", type=Path, help="where candidate environments are built")
    parser.add_argument("--accept", action="store_true", help="on exit 0, take what is new into the baselines")
    parser.add_argument("--accept-changes", action="store_true", help="also accept candidates that changed (exit 1)")
    parser.add_argument(
        "--summary",
        type=cli.file_path,
        metavar="FILE",
        help="append the outcome as markdown to FILE (a CI job summary)",
    )
    parser.add_argument(
        "--verdict",
        type=cli.file_path,
        metavar="FILE",
        help="write the outcome as JSON to FILE (for the job that tells people)",
    )
    args = parser.parse_args(argv)
    envs = args.envs.resolve() if args.envs else None
    return Options(
        args.index_url, Layout(args.output), envs, args.accept, args.accept_changes, args.summary, args.verdict
    )


def run(argv: list[str], log: Log = print) -> Outcome:
    """Parse the command line, check, report each change, accept if asked; return the outcome."""
    try:
        options = parse_options(argv)
    except cli.OptionError as exc:
        return Outcome(UNAVAILABLE, str(exc))
    try:
        with _one_alarm(options):
            outcome = _check_and_accept(options, log)
    except (KeyboardInterrupt, Exception) as exc:
        outcome = Outcome(UNAVAILABLE, _failure(exc))
    if outcome.code == CHANGED:
        log(
            f"candidates are in {options.output.candidates}; review them, then rerun with --accept-changes to take them"
        )
    if options.summary is not None:
        _append(options.summary, summary_markdown(outcome), log)
    if options.verdict is not None:
        try:
            outcome.verdict().write(options.verdict)
        except OSError as exc:
            log(f"could not write the verdict to {options.verdict}: {exc}; the outcome line below still says it")
    return outcome


def _check_and_accept(options: Options, log: Log) -> Outcome:
    outcome = check(options, log)
    for change in outcome.changes:
        log(f"  {change}")
    for note in outcome.notes:
        log(f"  note: {note}")
    if options.accepts(outcome.code):
        taken, written = accept(options, outcome.listed)
        outcome.accepted = taken
        for path in written:
            log(f"wrote {path}")
        log(f"accepted {', '.join(taken)} into the baselines" if taken else "nothing new to accept")
    return outcome


@contextmanager
def _one_alarm(options: Options) -> Iterator[None]:
    """One alarm at a time on an output and on an environments folder: a second one would delete the first one's
    environments and candidates under its running probes. The second fails at once (exit 2)."""
    options.output.state.mkdir(parents=True, exist_ok=True)
    options.environments.mkdir(parents=True, exist_ok=True)
    with (
        FileLock(options.output.state / "regression.lock", timeout=0),
        FileLock(options.environments / ".regression.lock", timeout=0),
    ):
        yield


def _failure(exc: BaseException) -> str:
    """Why the alarm stopped, as the outcome says it: never as a change in behaviour."""
    if isinstance(exc, Timeout):
        return f"another regression alarm is running on the same output or environments ({exc.lock_file}); wait for it"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted; the baselines are as they were (accepting moves nothing until everything renders)"
    return (
        f"the alarm itself failed ({type(exc).__name__}: {exc}); the baselines are as they were: report it with "
        "this line"
    )


def _append(path: Path, text: str, log: Log) -> None:
    """Append to a job summary (appending is how CI steps share that file); a failure is said, not raised."""
    try:
        with path.open("a", encoding="utf-8") as summary:
            summary.write(text)
    except OSError as exc:
        log(f"could not append the summary to {path}: {exc}; the outcome line below still says it")


def main(argv: list[str] | None = None) -> int:
    """The command line: prints what it does, ends with the outcome line, exits with its code."""
    # A CI timeout or a kill sends SIGTERM: unwind like Ctrl-C, so servers stop and the outcome line is printed.
    stop_on_sigterm()
    outcome = run(sys.argv[1:] if argv is None else argv)
    print(outcome.last_line)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())

"""The regression alarm: audit releases newer than the baseline and compare how they behave.

The baseline is the accepted observation records (``reports/results/``). New releases on the
index, and the newest release again, are audited into a candidate folder and compared with the
baseline record of the release before them (the newest one again with its own record). The
outcome is an exit code, so a scheduled job can fail on it:

0  nothing new, or everything new behaves like its predecessor (``--accept`` takes the candidates)
1  a behaviour changed: the release, the mode, before -> after
2  the index could not be read or a release could not be audited; baseline and report untouched
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from packaging.version import Version

from scripts.audit import run as audit
from scripts.audit.plan import plan
from scripts.audit.records import CLI_MODES, MODE_CALLS, MODES, Observation, behaviour, load_all, save
from scripts.common import cli
from scripts.common.jsonio import DataError
from scripts.layout import REPO, Layout
from scripts.packages import catalogue, index, interpreters
from scripts.packages.catalogue import Release
from scripts.packages.environments import Unavailable
from scripts.report.pages import write_report

__all__ = ["Change", "Options", "Outcome", "check", "compare", "main", "run"]

SAME, CHANGED, UNAVAILABLE = 0, 1, 2
OUTCOME_NAMES = {SAME: "no behaviour change", CHANGED: "behaviour changed", UNAVAILABLE: "could not run"}
#: Statuses that mean the release was never started here, so nothing can be said about its behaviour.
#: (An install that failed for the index's or the machine's reasons raises instead of becoming a status.)
NOT_AUDITED = ("no-interpreter", "no-distribution")

Log = Callable[[str], None]


@dataclass(frozen=True)
class Change:
    """One difference between a release's observation and the baseline it is compared with."""

    release: str
    reference: str
    aspect: str
    before: str
    after: str

    def __str__(self) -> str:
        against = "its baseline record" if self.reference == self.release else f"Flask {self.reference}"
        return f"Flask {self.release}, {self.aspect}: {self.before} -> {self.after} (compared with {against})"


@dataclass
class Outcome:
    """What a regression run found; ``code`` is the exit code."""

    code: int
    summary: str
    audited: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    #: The final releases the index lists (empty when it could not be read).
    listed: list[Release] = field(default_factory=list)

    @property
    def last_line(self) -> str:
        return f"regression: {OUTCOME_NAMES[self.code]} (exit {self.code}): {self.summary}"


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

    def accepts(self, code: int) -> bool:
        """Whether candidates of an outcome go into the baseline: never when the alarm could not run."""
        return (self.accept and code == SAME) or (self.accept_changes and code in (SAME, CHANGED))

    @property
    def environments(self) -> Path:
        return self.envs or self.output.state / "regression"


def compare(reference: Observation, candidate: Observation) -> list[Change]:
    """How ``candidate`` behaves differently from ``reference``, mode by mode."""

    def change(aspect: str, before: str, after: str) -> Change:
        return Change(candidate.flask, reference.flask, aspect, before, after)

    if reference.status != candidate.status:
        before = reference.status + (f" ({reference.detail})" if reference.detail else "")
        return [change("status", before, candidate.status + (f" ({candidate.detail})" if candidate.detail else ""))]
    if candidate.status != "ok":
        return []
    changes = []
    for mode in (*MODES, *sorted((set(reference.modes) | set(candidate.modes)) - set(MODES))):
        if mode not in reference.modes and not (mode in CLI_MODES and reference.cli is False):
            # A `flask run` mode is left out for a reason of the release's (it had no CLI); any other mode missing
            # from the baseline was added to the audit after the baseline was observed: nothing to compare.
            continue
        before, after = behaviour(reference.modes.get(mode)), behaviour(candidate.modes.get(mode))
        if before != after:
            changes.append(change(f"`{MODE_CALLS.get(mode, mode)}`", before, after))
    return changes


def reference_for(release: str, baseline: dict[str, Observation]) -> Observation | None:
    """The release's own baseline record, else the newest baseline release before it."""
    if release in baseline:
        return baseline[release]
    earlier = [v for v in baseline if Version(v) < Version(release)]
    return baseline[max(earlier, key=Version)] if earlier else None


def to_audit(listed: list[Release], baseline: dict[str, Observation]) -> list[Release]:
    """Releases without a baseline record, plus the newest release again, oldest first."""
    newest = max(listed, key=lambda r: r.key)
    return [r for r in listed if r.version not in baseline or r is newest]


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
    baseline = {o.flask: o for o in load_all(options.output.results)}
    found = interpreters.discover()
    audit_options = audit.Options(index_url=index_url, output=options.output, force=True)
    # Candidates of an earlier run must not be taken for this one's.
    for stale in options.output.candidates.glob("flask-*.json"):
        stale.unlink()
    outcome = Outcome(SAME, "", listed=listed)
    failed = []
    for release in to_audit(listed, baseline):
        log(f"Flask {release.version}: auditing")
        candidate = audit.observe(plan(release, found), options.environments / release.version, audit_options, log)
        save(candidate, options.output.candidates)
        outcome.audited.append(release.version)
        if candidate.status in NOT_AUDITED:
            failed.append(f"Flask {release.version}: {candidate.status}: {candidate.detail}")
            continue
        reference = reference_for(release.version, baseline)
        if reference is None:
            log(f"Flask {release.version}: no earlier baseline record to compare with")
            continue
        outcome.changes.extend(compare(reference, candidate))
    if failed:
        return Outcome(UNAVAILABLE, "; ".join(failed), outcome.audited, outcome.changes, listed)
    if outcome.changes:
        outcome.code = CHANGED
        outcome.summary = f"{len(outcome.changes)} change(s) in Flask " + ", ".join(
            sorted({c.release for c in outcome.changes}, key=Version)
        )
    else:
        outcome.summary = f"audited {', '.join(outcome.audited)}; all behave like the baseline"
    return outcome


def accept(options: Options, listed: list[Release]) -> list[Path]:
    """Move every candidate into the baseline, add its release to the catalogue, re-render the report."""
    layout = options.output
    stored = catalogue.load(layout.releases)
    known = {r.version for r in stored}
    merged = sorted([*stored, *(r for r in listed if r.version not in known)], key=lambda r: r.key)
    catalogue.save(merged, layout.releases)
    layout.results.mkdir(parents=True, exist_ok=True)
    for path in sorted(layout.candidates.glob("flask-*.json")):
        os.replace(path, layout.results / path.name)
    return write_report(layout, layout.releases)


def parse_options(argv: list[str]) -> Options:
    """The alarm's options; raises cli.OptionError naming a bad one."""
    assert __doc__ is not None
    parser = cli.parser(
        "nox -s regression --", __doc__.splitlines()[0], [cli.add_index_url, lambda p: cli.add_output(p, REPO.root)]
    )
    parser.add_argument("--envs", type=Path, help="where candidate environments are built")
    parser.add_argument("--accept", action="store_true", help="on exit 0, move the candidates into the baseline")
    parser.add_argument("--accept-changes", action="store_true", help="also accept candidates that changed (exit 1)")
    args = parser.parse_args(argv)
    envs = args.envs.resolve() if args.envs else None
    return Options(args.index_url, Layout(args.output), envs, args.accept, args.accept_changes)


def run(argv: list[str], log: Log = print) -> Outcome:
    """Parse the command line, check, report each change, accept if asked; return the outcome."""
    try:
        options = parse_options(argv)
    except cli.OptionError as exc:
        return Outcome(UNAVAILABLE, str(exc))
    outcome = check(options, log)
    for change in outcome.changes:
        log(f"  {change}")
    if options.accepts(outcome.code):
        for path in accept(options, outcome.listed):
            log(f"wrote {path}")
        log(f"accepted {', '.join(outcome.audited)} into the baseline")
    elif outcome.code == CHANGED:
        log(
            f"candidates are in {options.output.candidates}; review them, then rerun with --accept-changes to take them"
        )
    return outcome


def main(argv: list[str] | None = None) -> int:
    """The command line: prints what it does, ends with the outcome line, exits with its code."""
    outcome = run(sys.argv[1:] if argv is None else argv)
    print(outcome.last_line)
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())

"""What the daily alarm and the fanned-out audit tell people: a pull request, an issue, or nothing.

Each runs as two jobs. The first installs releases and observes them with read-only permissions
and no kept credentials; it hands over its verdict (``python -m scripts.ci.regression --verdict
FILE``, ``python -m scripts.ci.fanout merge --verdict FILE``) and the files it accepted. The
second holds the write permissions and only that artifact; it runs this module and does what it
says:

- no behaviour change, and something was accepted: a pull request with the records and pages;
- behaviour changed: an issue with the changes, the releases and packages, and a link to the run;
- could not run: a warning, until ``--threshold`` runs in a row could not; then an issue;
- nothing new: nothing.

A run whose first job left no verdict (it crashed, or was stopped) could not run either. The
verdicts of earlier runs come from their artifacts, newest first; a run that left none is skipped.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

from scripts.ci.verdict import CHANGED, Verdict
from scripts.common import cli
from scripts.common.clock import stamp
from scripts.common.jsonio import DataError, write_text_atomic

__all__ = ["Message", "decide", "history", "main", "parse"]

Action = Literal["pull-request", "issue", "none"]
#: Who speaks: the daily alarm, or the audit's merge of the runners' records.
Source = Literal["alarm", "audit"]
#: The pull request's title, by who opens it.
PROPOSALS: dict[str, str] = {
    "alarm": "Regression alarm: new releases or moved dependencies, behaviour unchanged",
    "audit": "Audit: the records and pages the CI runners observed",
}
#: Could-not-run runs in a row that open an issue: one failed day is the index's bad day, three are a broken alarm.
THRESHOLD = 3
#: GitHub's limits: a title's characters, and a body's (an issue or pull request over them is refused).
TITLE_LIMIT, BODY_LIMIT = 256, 65536
#: Could-not-run runs listed in an issue, newest first; the count says how many there were.
LISTED_RUNS = 10
#: The issue labels: one open issue per kind, commented on by later runs while it stays open.
CHANGED_LABEL = "alarm: behaviour changed"
BROKEN_LABEL = "alarm: could not run"


@dataclass(frozen=True)
class Message:
    """What the write job does: open (or update) ``action``, with ``title``, ``label`` and ``body``; ``fail``: the
    run is marked failed, so that a red run matches an issue that needs a person."""

    action: Action
    title: str = ""
    label: str = ""
    body: str = ""
    fail: bool = False
    #: One line for the job's log: what was decided and why.
    said: str = ""


def decide(
    verdict: Verdict, earlier: list[Verdict], run_url: str, threshold: int = THRESHOLD, source: Source = "alarm"
) -> Message:
    """What to tell people about ``verdict``, given the verdicts of the runs before it, newest first.

    :param run_url: the run's page, linked from every pull request and issue.
    :param threshold: could-not-run runs in a row (this one included) that open an issue.
    :param source: who speaks; it names the pull request.
    """
    link = f"The run: {run_url}"
    if verdict.code == CHANGED:
        releases = ", ".join(verdict.releases) or "see the changes"
        moved = f" Packages that moved: {', '.join(verdict.moved)}." if verdict.moved else ""
        body = (
            f"The daily regression alarm observed a change in behaviour in Flask {releases}.{moved}\n\n"
            f"{verdict.summary}\n{link}\n\nThe candidates are the run's artifact `regression-candidates`. If the "
            "new behaviour is the truth, accept it with `nox -s regression -- --accept-changes` and commit; if not "
            "(a loaded runner, a broken tool), fix that and run the workflow again.\n"
        )
        title = f"Regression alarm: behaviour changed in Flask {releases}"
        return Message("issue", title, CHANGED_LABEL, body, True, f"behaviour changed in Flask {releases}: an issue")
    if verdict.could_not_run:
        streak = [verdict]
        for before in earlier:
            if not before.could_not_run:
                break
            streak.append(before)
        if len(streak) < threshold:
            said = f"could not run ({len(streak)} in a row; an issue at {threshold}): {verdict.last_line}"
            return Message("none", said=said)
        lines = "\n".join(f"- {v.at or 'a run'}: {v.last_line}" for v in streak[:LISTED_RUNS])
        body = (
            f"The daily regression alarm could not run {len(streak)} times in a row, so nothing is watching Flask's "
            f"behaviour. Newest first:\n\n{lines}\n\n{link}\n\nExit 2 is the index or the runner, never a change "
            "in behaviour: fix what the lines name, then run the workflow again.\n"
        )
        title = "Regression alarm: could not run"
        return Message(
            "issue", title, BROKEN_LABEL, body, True, f"could not run {len(streak)} times in a row: an issue"
        )
    if verdict.accepted:
        accepted = ", ".join(verdict.accepted)
        body = f"{verdict.last_line}\n\nAccepted: {accepted}; the pages are re-rendered.\n\n{verdict.summary}\n{link}\n"
        return Message("pull-request", PROPOSALS[source], "", body, False, f"accepted {accepted}: a pull request")
    return Message("none", said="nothing new: nothing to tell")


def history(folder: Path | None) -> list[Verdict]:
    """The verdicts of earlier runs below ``folder`` (one ``verdict.json`` per run), newest first."""
    if folder is None or not folder.is_dir():
        return []
    found = [Verdict.read(path) for path in folder.rglob("verdict.json")]
    return sorted(found, key=lambda v: v.at, reverse=True)


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line; raises cli.OptionError naming a bad option."""
    assert __doc__ is not None
    parser = cli.Parser(prog="python -m scripts.ci.tell", description=__doc__.splitlines()[0])
    parser.add_argument("verdict", type=Path, help="this run's verdict (missing: the alarm could not say one)")
    parser.add_argument("--history", type=Path, help="a folder of earlier runs' verdict.json files")
    parser.add_argument("--threshold", type=cli.positive_int, default=THRESHOLD, help="could-not-run runs for an issue")
    parser.add_argument("--run-url", default="", help="this run's page, linked from what is opened")
    parser.add_argument("--source", choices=sorted(PROPOSALS), default="alarm", help="who speaks")
    parser.add_argument(
        "--body", type=cli.file_path, required=True, metavar="FILE", help="where the text to post is written"
    )
    parser.add_argument(
        "--record", type=Path, required=True, metavar="FILE", help="where this run's verdict is kept for later runs"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Print the step's outputs (``action=``, ``title=``, ``label=``, ``fail=``) for ``$GITHUB_OUTPUT``."""
    try:
        args = parse(argv)
    except cli.OptionError as exc:
        print(exc, file=sys.stderr)
        return 2
    verdict = Verdict.read(args.verdict)
    if not verdict.at:
        verdict = replace(verdict, at=stamp())
    message = decide(verdict, history(args.history), args.run_url, args.threshold, args.source)
    body = message.body
    if len(body) > BODY_LIMIT:
        cut = "\n\n(cut short at GitHub's limit: the run's summary has it all)\n"
        body = body[: BODY_LIMIT - len(cut)] + cut
    try:
        write_text_atomic(args.body, body)
        verdict.write(args.record)
    except DataError as exc:
        print(f"tell: {exc}", file=sys.stderr)
        return 2
    print(f"tell: {message.said}", file=sys.stderr)
    for name, value in (("action", message.action), ("title", message.title), ("label", message.label)):
        # One line each: a line break in a value would let the artifact write outputs of its own.
        print(f"{name}={' '.join(value.split())[:TITLE_LIMIT]}")
    print(f"fail={'true' if message.fail else 'false'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

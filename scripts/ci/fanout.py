"""Fan-out on CI runners: split the audit sessions into shards, then merge the runners' records.

``shards`` reads ``nox -l --json`` and prints a JSON matrix for GitHub Actions; ``check`` fails a
shard whose sessions did not each observe their release; ``merge`` takes the records the runners
uploaded, checks each against the schema, puts the Linux ones into the baseline and the other
platforms' into ``reports/platforms/<platform>/``, and renders the report.

A merge holds runners to the same rule as a local audit: a record that says the release was not
observed there (``no-interpreter``; ``install-failed`` where the release installed before) never
replaces a record that observed it, and another platform's is no row at all. It refuses an empty
input and, told which releases each platform ran, one without a record that observed it: a shard
that failed uploads nothing, a runner without the interpreter uploads "not run", and a report
"merged" from either would be the committed one, re-rendered.
"""

from __future__ import annotations

import argparse
import json
import re
import shlex
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import jsonschema
from packaging.version import Version

from scripts.audit.records import NOT_OBSERVED, NOT_RUN_ON_A_RUNNER, SCHEMA_PATH, Observation, load, load_all, save
from scripts.ci.unchanged import unchanged_on_failure
from scripts.ci.verdict import SAME, Verdict
from scripts.common import cli
from scripts.common.clock import stamp
from scripts.common.jsonio import DataError, read_json
from scripts.layout import REPO, Layout, release_file
from scripts.packages import catalogue, era
from scripts.report.pages import write_report
from scripts.report.summary import summary

__all__ = [
    "MergeError",
    "Merged",
    "collect",
    "expected_releases",
    "group",
    "main",
    "merge",
    "parse",
    "shards",
    "unobserved",
]

#: The platform whose records make the matrix; records from other platforms are their own cells.
BASELINE_PLATFORM = "linux"
_SESSION = re.compile(r"^observe\((?P<release>[^)]+)\)$")
#: What ``sys.platform`` can say (linux, darwin, win32, freebsd14, …): a folder name, never a path.
_PLATFORM = re.compile(r"^[a-z][a-z0-9]*$")
#: Releases whose newest interpreter is this old or older need an image that still has Python 2.7 or 3.7.
LEGACY_CEILING = (3, 7)
Group = Literal["legacy", "current"]


def group(session: str) -> Group:
    """``legacy`` for a release whose interpreter ceiling is Python 3.7 or older (2.7 and 3.7 are only on older
    runner images), else ``current``."""
    found = _SESSION.match(session)
    bound = era.ceiling(found["release"])[0] if found else None
    return "legacy" if bound is not None and bound <= LEGACY_CEILING else "current"


def shards(sessions: list[dict[str, Any]], count: int, of: Group | None = None) -> list[dict[str, Any]]:
    """The audit sessions (of one group, if given) dealt round-robin into at most ``count`` shards (a GitHub
    matrix ``include``)."""
    names = [s["session"] for s in sessions if s["name"] == "observe" and (of is None or group(s["session"]) == of)]
    groups = [names[i::count] for i in range(min(count, len(names)))]
    # Quoted for the shell that runs them: a name is the noxfile's, but a quote in it must stay a character.
    return [{"shard": i + 1, "sessions": " ".join(map(shlex.quote, group))} for i, group in enumerate(groups)]


class MergeError(RuntimeError):
    """Runner records that cannot be merged; the message names the file."""


def collect(folders: list[Path]) -> list[tuple[Path, Observation]]:
    """Every record below ``folders``, validated; raises MergeError naming the first bad file or folder."""
    validator = jsonschema.Draft202012Validator(read_json(SCHEMA_PATH))
    found = []
    for folder in folders:
        if not folder.is_dir():
            raise MergeError(f"{folder} is not a folder of records: name the folders the artifacts were downloaded to")
        for path in sorted(folder.rglob("flask-*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                validator.validate(data)
                observation = Observation.from_json(data)
            except (OSError, ValueError, TypeError, KeyError, jsonschema.ValidationError) as exc:
                raise MergeError(f"{path} is not an observation record: {str(exc).splitlines()[0]}") from exc
            _check_record(path, observation)
            found.append((path, observation))
    return found


def _check_record(path: Path, observation: Observation) -> None:
    """What the schema cannot say: the evidence is what was saved, the file names its release, the platform is a
    platform, the time is a time."""
    if not observation.vouched:
        raise MergeError(
            f"{path}: its evidence does not match its evidence_digest (changed after it was observed): rerun the "
            "shard that made it"
        )
    if path.name != release_file(path.parent, observation.flask).name:
        raise MergeError(f"{path} holds Flask {observation.flask}: a record must be named for its release")
    if not observation.platform or not _PLATFORM.match(observation.platform):
        raise MergeError(f"{path} names no platform as sys.platform says one ({observation.platform!r})")
    _moment(path, observation)


def _moment(path: Path, observation: Observation) -> datetime:
    """When the record was observed, as a time (text compares wrongly across offsets)."""
    try:
        moment = datetime.fromisoformat(str(observation.observed_at).replace("Z", "+00:00"))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise MergeError(f"{path} has no observed_at time with a zone ({observation.observed_at!r})")
    return moment


@dataclass
class Merged:
    """What a merge wrote, and each record it kept over a runner's that did not observe the release."""

    #: The observation records written, then the pages (and data files) rendered from them.
    records: list[Path] = field(default_factory=list)
    pages: list[Path] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)

    @property
    def written(self) -> list[Path]:
        return [*self.records, *self.pages]


def expected_releases(sessions: list[dict[str, Any]]) -> set[str]:
    """The releases of the ``observe(X)`` sessions in ``nox -l --json`` output: the Linux shards' work."""
    return {m["release"] for s in sessions if (m := _SESSION.match(str(s.get("session", ""))))}


def _observed(observation: Observation) -> bool:
    """Whether the record observed the release there (an install that failed on a runner may be its index's)."""
    return observation.status not in NOT_RUN_ON_A_RUNNER


def _replaces(incoming: Observation, present: Observation | None, path: Path) -> str | None:
    """None when ``incoming`` may replace ``present`` (the record at ``path``), else why it may not."""
    if present is None:
        return None
    if incoming.status in NOT_OBSERVED and present.status not in NOT_OBSERVED:
        return f"the runner did not observe it ({incoming.status}: {incoming.detail})"
    if incoming.status == "install-failed" and _observed(present):
        # An era's dependencies do not change: a release that installed before and fails now points at the index.
        return f"it installed before and the runner's install failed ({incoming.detail}); rerun that shard"
    if present.observed_at and _moment(path, present) > _moment(path, incoming):
        return f"the record here is newer ({present.observed_at}) than the runner's ({incoming.observed_at})"
    return None


def _choose(found: list[tuple[Path, Observation]]) -> dict[tuple[str, str], Observation]:
    """One record per platform and release: one that observed the release over one that did not, then the newest.

    Two records equally placed that disagree are a question for a person, not for folder order.
    """
    chosen: dict[tuple[str, str], tuple[Path, Observation]] = {}
    for path, observation in found:
        key = (str(observation.platform), observation.flask)
        rank = (_observed(observation), _moment(path, observation))
        if key not in chosen:
            chosen[key] = (path, observation)
            continue
        kept_path, kept = chosen[key]
        kept_rank = (_observed(kept), _moment(kept_path, kept))
        if rank == kept_rank and observation != kept:
            raise MergeError(f"{path} and {kept_path} observed Flask {key[1]} at the same time and disagree")
        if rank > kept_rank:
            chosen[key] = (path, observation)
    return {key: observation for key, (_, observation) in chosen.items()}


def merge(folders: list[Path], output: Layout, expected: dict[str, set[str]] | None = None) -> Merged:
    """Write the runners' records into ``output`` and render its report: all of it, or nothing.

    :param expected: the releases each platform's runners were to observe; one without a record stops the merge.
    :raises MergeError: no record at all, a bad record, an expected one missing, a release the catalogue does not
        list, or a report that cannot be rendered; every file is then as it was.
    """
    chosen = _choose(collect(folders))
    if not chosen:
        raise MergeError(
            f"no records under {', '.join(map(str, folders))}: the shards uploaded nothing (see their jobs); "
            "the committed report stays as it is"
        )
    missing = unobserved(chosen, expected or {})
    if missing:
        raise MergeError(
            f"{len(missing)} expected observation(s) missing ({', '.join(missing)}): rerun the failed shards"
        )
    try:
        listed = {r.version for r in catalogue.load(output.releases)}
    except DataError as exc:
        raise MergeError(str(exc)) from exc
    orphans = sorted({release for _, release in chosen} - listed)
    if orphans:
        raise MergeError(f"{output.releases} lists no release {', '.join(orphans)}: refresh the catalogue first")
    merged = Merged()
    targets = {key: _folder(output, key[0]) for key in chosen}
    try:
        with unchanged_on_failure(sorted(set(targets.values()))):
            _write(chosen, targets, merged)
            merged.pages += write_report(output, output.releases)
    except (OSError, DataError) as exc:
        raise MergeError(f"nothing merged: {exc}") from exc
    return merged


def unobserved(chosen: dict[tuple[str, str], Observation], expected: dict[str, set[str]]) -> list[str]:
    """Each expected platform and release that has no record observing it, and what it has instead."""
    found = []
    for platform, releases in expected.items():
        for release in releases:
            record = chosen.get((platform, release))
            if record is None:
                found.append(f"{platform}: Flask {release}")
            elif not _observed(record):
                found.append(f"{platform}: Flask {release} ({record.status}: {record.detail})")
    return sorted(found)


def check(folder: Path, releases: set[str], platform: str = sys.platform) -> list[str]:
    """What a shard that ran ``releases`` on ``platform`` failed to observe, from the records under ``folder``.

    :raises MergeError: a record there is not a valid observation record.
    """
    return unobserved(_choose(collect([folder])) if folder.is_dir() else {}, {platform: releases})


def _write(chosen: dict[tuple[str, str], Observation], targets: dict[tuple[str, str], Path], merged: Merged) -> None:
    """Each chosen record into its folder, unless the one there may not be replaced (said in ``merged.kept``)."""
    for (platform, release), observation in sorted(chosen.items()):
        folder = targets[(platform, release)]
        path = release_file(folder, release)
        try:
            present = load(path) if path.exists() else None
        except DataError:
            present = None  # a damaged record observed nothing that could be kept
        why = (
            f"the runner did not observe it ({observation.status}): another platform's rows are observations only"
            if platform != BASELINE_PLATFORM and not _observed(observation)
            else _replaces(observation, present, path)
        )
        if why is not None:
            merged.kept.append(f"kept {path.name} ({platform}, {present.status if present else ''}): {why}")
            continue
        merged.records.append(save(observation, folder))


def _folder(output: Layout, platform: str) -> Path:
    return output.results if platform == BASELINE_PLATFORM else output.platforms / platform


def _summary(layout: Layout, merged: Merged) -> str:
    """The merge and the answer it renders, as markdown for a CI job summary."""
    releases = catalogue.audited(catalogue.load(layout.releases))
    lines = ["## The audit, merged", "", f"{len(merged.records)} record(s) merged; {len(merged.kept)} kept.", ""]
    lines += [f"- {item}" for item in merged.kept]
    lines += ["", "### The answer", "", *(f"- {line}" for line in summary(releases, load_all(layout.results)))]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line; raises cli.OptionError naming a bad option."""
    assert __doc__ is not None
    parser = cli.Parser(prog="python -m scripts.ci.fanout", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    split = commands.add_parser("shards", help="print a GitHub matrix of audit shards from `nox -l --json` on stdin")
    split.add_argument("--count", type=cli.positive_int, default=8)
    split.add_argument("--group", choices=["legacy", "current"], help="only the releases of one group of images")
    shard = commands.add_parser("check", help="fail unless each session's release has a record that observed it")
    shard.add_argument("folder", type=Path, help="the shard's records (its --output's reports/results)")
    shard.add_argument("sessions", nargs="+", metavar="SESSION", help="the shard's observe(X) sessions")
    join = commands.add_parser("merge", help="merge runners' records and render the report")
    join.add_argument("folders", nargs="+", type=Path)
    join.add_argument(
        "--sessions", type=Path, metavar="FILE", help="`nox -l --json -s observe` output: every release needs a record"
    )
    join.add_argument(
        "--expect",
        action="append",
        default=[],
        metavar="PLATFORM=X,Y",
        help="releases a platform's runners observed (e.g. darwin=1.1.4,3.1.3); each needs a record",
    )
    join.add_argument(
        "--summary", type=cli.file_path, metavar="FILE", help="append the outcome as markdown (a job summary)"
    )
    join.add_argument(
        "--verdict", type=cli.file_path, metavar="FILE", help="write the outcome as JSON (for the job that proposes it)"
    )
    cli.add_output(join, REPO.root)
    return parser.parse_args(argv)


def _expected(args: argparse.Namespace) -> dict[str, set[str]]:
    """The releases each platform was to observe, from --sessions and --expect; raises MergeError when unreadable."""
    expected: dict[str, set[str]] = {}
    if args.sessions is not None:
        try:
            sessions = json.loads(args.sessions.read_text(encoding="utf-8"))
            if not isinstance(sessions, list) or not all(isinstance(s, dict) for s in sessions):
                raise ValueError("not a list of sessions")
        except (OSError, ValueError) as exc:
            raise MergeError(f"{args.sessions} is not `nox -l --json` output ({exc})") from exc
        expected[BASELINE_PLATFORM] = expected_releases(sessions)
        if not expected[BASELINE_PLATFORM]:
            raise MergeError(f"{args.sessions} lists no observe(X) session: nothing could be checked")
    for item in args.expect:
        platform, _, releases = item.partition("=")
        named = {r.strip() for r in releases.split(",") if r.strip()}
        if not _PLATFORM.match(platform) or not named or "=" in releases:
            raise MergeError(f"--expect {item!r}: give PLATFORM=X,Y as sys.platform names it (e.g. darwin=1.1.4,3.1.3)")
        expected.setdefault(platform, set()).update(named)
    return expected


def _check_shard(folder: Path, sessions: list[str]) -> int:
    """``check``: 0 when every session's release was observed here, else 2 naming each that was not."""
    releases = expected_releases([{"session": name} for name in sessions])
    if len(releases) != len(sessions):
        print(f"check: name observe(X) sessions only, as nox lists them (got {' '.join(sessions)})", file=sys.stderr)
        return 2
    try:
        missing = check(folder, releases)
    except MergeError as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    if missing:
        print(
            f"check: {len(missing)} of {len(releases)} release(s) not observed on this runner ({', '.join(missing)}): "
            "its interpreters or its install failed; see the session's log above",
            file=sys.stderr,
        )
        return 2
    print(f"check: {len(releases)} release(s) observed on {sys.platform}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """``shards`` or ``merge``; exit 2 with one line on stderr when an option or a record is bad."""
    try:
        args = parse(argv)
    except cli.OptionError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "shards":
        try:
            dealt = shards(json.load(sys.stdin), args.count, args.group)
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            print(f"shards: stdin is not `nox -l --json` output ({type(exc).__name__}: {exc})", file=sys.stderr)
            return 2
        if not dealt:
            # GitHub refuses an empty matrix with a message that names nothing of ours.
            print(f"shards: no observe(X) session in group {args.group or 'any'}", file=sys.stderr)
            return 2
        print(json.dumps({"include": dealt}))
        return 0
    if args.command == "check":
        return _check_shard(args.folder, args.sessions)
    try:
        layout = Layout(args.output)
        merged = merge(args.folders, layout, _expected(args))
    except MergeError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 2
    for path in merged.written:
        print(path)
    for item in merged.kept:
        print(f"merge: {item}", file=sys.stderr)
    text = _summary(layout, merged)
    if args.summary is not None:
        with args.summary.open("a", encoding="utf-8") as summary_file:
            summary_file.write(text)
    if args.verdict is not None:
        accepted = tuple(sorted({p.stem.removeprefix("flask-") for p in merged.records}, key=Version))
        said = f"merge: {len(merged.records)} record(s) merged, {len(merged.kept)} kept"
        Verdict(SAME, said, text, accepted=accepted, at=stamp()).write(args.verdict)
    return 0


if __name__ == "__main__":
    sys.exit(main())

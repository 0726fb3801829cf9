"""Fan-out on CI runners: split the audit sessions into shards, then merge the runners' records.

``shards`` reads ``nox -l --json`` and prints a JSON matrix for GitHub Actions; ``merge`` takes
the records the runners uploaded, checks each against the schema, puts the Linux ones into the
baseline and the other platforms' into ``reports/platforms/<platform>/``, and renders the report.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema

from scripts.audit.records import SCHEMA_PATH, Observation, save
from scripts.common import cli
from scripts.common.jsonio import read_json
from scripts.layout import REPO, Layout
from scripts.report.pages import write_report

__all__ = ["MergeError", "collect", "main", "merge", "parse", "shards"]

#: The platform whose records make the matrix; records from other platforms are their own cells.
BASELINE_PLATFORM = "linux"


def shards(sessions: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """The audit sessions dealt round-robin into at most ``count`` shards (a GitHub matrix ``include``)."""
    names = [s["session"] for s in sessions if s["name"] == "observe"]
    groups = [names[i::count] for i in range(min(count, len(names)))]
    return [{"shard": i + 1, "sessions": " ".join(f"'{name}'" for name in group)} for i, group in enumerate(groups)]


class MergeError(RuntimeError):
    """Runner records that cannot be merged; the message names the file."""


def collect(folders: list[Path]) -> list[tuple[Path, Observation]]:
    """Every record below ``folders``, validated; raises MergeError naming the first bad file."""
    validator = jsonschema.Draft202012Validator(read_json(SCHEMA_PATH))
    found = []
    for folder in folders:
        for path in sorted(folder.rglob("flask-*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                validator.validate(data)
            except (OSError, ValueError, jsonschema.ValidationError) as exc:
                raise MergeError(f"{path} is not an observation record: {str(exc).splitlines()[0]}") from exc
            found.append((path, Observation.from_json(data)))
    return found


def merge(folders: list[Path], output: Layout) -> list[Path]:
    """Write the runners' records into ``output`` (newest observation wins per release and platform)."""
    chosen: dict[tuple[str, str], Observation] = {}
    for _, observation in collect(folders):
        key = (observation.platform or BASELINE_PLATFORM, observation.flask)
        kept = chosen.get(key)
        if kept is None or (observation.observed_at or "") > (kept.observed_at or ""):
            chosen[key] = observation
    written = []
    for (platform, _), observation in sorted(chosen.items()):
        folder = output.results if platform == BASELINE_PLATFORM else output.platforms / platform
        written.append(save(observation, folder))
    return written


def parse(argv: list[str] | None) -> argparse.Namespace:
    """The command line; raises cli.OptionError naming a bad option."""
    assert __doc__ is not None
    parser = cli.Parser(prog="python -m scripts.ci.fanout", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    split = commands.add_parser("shards", help="print a GitHub matrix of audit shards from `nox -l --json` on stdin")
    split.add_argument("--count", type=cli.positive_int, default=8)
    join = commands.add_parser("merge", help="merge runners' records and render the report")
    join.add_argument("folders", nargs="+", type=Path)
    cli.add_output(join, REPO.root)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """``shards`` or ``merge``; exit 2 with one line on stderr when an option or a record is bad."""
    try:
        args = parse(argv)
    except cli.OptionError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "shards":
        print(json.dumps({"include": shards(json.load(sys.stdin), args.count)}))
        return 0
    try:
        layout = Layout(args.output)
        written = merge(args.folders, layout)
    except MergeError as exc:
        print(f"merge: {exc}", file=sys.stderr)
        return 2
    for path in [*written, *write_report(layout, layout.releases)]:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

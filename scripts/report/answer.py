"""The readers' page, ``docs/index.md``: the answer, the timeline, the claims, how it was observed, the matrix."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from packaging.version import Version

from scripts.audit.records import MODE_CALLS, Observation
from scripts.grid.records import GridRecord
from scripts.introductions.records import IntroductionsRecord
from scripts.packages.catalogue import Line, Release
from scripts.report.claims import ARTICLE, Verdict
from scripts.report.forkless import forkless_section
from scripts.report.grid import code, said
from scripts.report.matrix import HOW_MADE, matrix_table, platform_section
from scripts.report.matrix_chart import figure
from scripts.report.summary import by_version, lead, summary
from scripts.report.today import today_section
from scripts.report.wording import facts, plural, version_key
from scripts.servers.records import ServersRun

__all__ = ["claims_section", "interpreter_rules", "render_answer_page"]


def _one_minor_higher(group: list[Observation], grids: Sequence[GridRecord]) -> str:
    """What the grid saw one Python minor above the one the group runs on: its failures, quoted."""
    by_release = {g.flask: g for g in grids}
    failures: dict[str, list[str]] = {}
    higher = None
    for observation in group:
        minor = version_key(".".join((observation.python or "0").split(".")[:2]))
        cells = (
            [c for c in by_release[observation.flask].cells if c.kind == "era"]
            if observation.flask in by_release
            else []
        )
        above = sorted(
            (c for c in cells if c.python and version_key(c.python) > minor), key=lambda c: version_key(c.python or "")
        )
        if above and above[0].status != "ok":
            higher = above[0].python
            failures.setdefault(said(above[0]), []).append(observation.flask)
    if not failures:
        return ""
    failed = sum(len(flasks) for flasks in failures.values())
    if len(failures) == 1:
        return f" On Python {higher}, {failed} of {len(group)} failed: {code(next(iter(failures)))}."
    # Several errors (each release names itself in its own): counted here, quoted on each release's page.
    statuses = Counter(error.split(":", 1)[0] for error in failures for _ in failures[error])
    counted = ", ".join(f"{n} {status}" for status, n in statuses.most_common())
    pages = "[each release's page](releases/index.md)"
    return f" On Python {higher}, {failed} of {len(group)} failed ({counted}): {pages} quotes its error."


def interpreter_rules(
    releases: list[Release], observations: list[Observation], grids: Sequence[GridRecord] = ()
) -> str:
    """Which interpreter each run of releases got, and why, as the records state it; above it, what the grid saw."""
    found = by_version(observations)
    runs: list[tuple[str, list[Observation]]] = []
    for release in sorted(releases, key=lambda r: Version(r.version)):
        observation = found.get(release.version)
        if observation is None or observation.environment is None:
            continue
        rule = observation.environment.interpreter_rule
        if runs and runs[-1][0] == rule and runs[-1][1][-1].python == observation.python:
            runs[-1][1].append(observation)
        else:
            runs.append((rule, [observation]))
    lines = []
    for rule, group in runs:
        pythons = sorted({".".join((o.python or "?").split(".")[:2]) for o in group}, key=version_key)
        span = group[0].flask if len(group) == 1 else f"{group[0].flask} to {group[-1].flask}"
        higher = _one_minor_higher(group, grids)
        lines.append(f"- Flask {span} ({plural(len(group), 'release')}): Python {', '.join(pythons)}. {rule}.{higher}")
    return "\n".join(lines)


def claims_section(verdicts: list[Verdict], comparison: ServersRun | None = None) -> str:
    """The article's claims and the extra points, each with its verdict, where it was seen, and evidence.

    :param comparison: the server comparison claim 7 is judged on, if one was measured.
    """
    lines = [
        "## Claims",
        "",
        f'A widely read article, "{ARTICLE}", makes claims 1 to 7 about `app.run()`. Each verdict is computed from '
        "the records (claim 7 from the server comparison), never written by hand. Points A to D are not in the "
        "article; they are recorded next to it.",
        "",
    ]
    for verdict in verdicts:
        label = f"Claim {verdict.key}" if verdict.key.isdigit() else f"Point {verdict.key}"
        lines += [
            f"- **{label}:** {verdict.claim}",
            f"  - Verdict: **{verdict.verdict}**",
            f"  - Shown by: {verdict.shown_by}",
        ]
        # One fact a line: evidence joins several, and a 700-character line does not read.
        said = facts(verdict.evidence)
        lines += [f"  - Evidence: {said[0]}"] if len(said) == 1 else ["  - Evidence:", *(f"    - {f}" for f in said)]
    if comparison is not None:
        load, cpus = comparison.load, comparison.machine.get("cpus", "?")
        clients = ", ".join(str(n) for n in load.get("concurrency", []))
        lines += [
            "",
            f"Claim 7's verdict rests on speed alone: requests per second and latency, {load.get('rounds')} rounds "
            f"of {load.get('round_seconds', 0):g} s at {clients} clients, on one machine with {cpus} CPUs. "
            "The claim is also about production use: security, stability over hours and memory were not measured.",
            "",
            "The server comparison behind claim 7, round by round: [`reports/servers.md`](../reports/servers.md).",
            "",
            "![Requests per second by server, route and concurrency](servers.svg)",
        ]
    return "\n".join(lines) + "\n\n"


def render_answer_page(
    releases: list[Release],
    observations: list[Observation],
    claims_text: str = "",
    platforms: Sequence[Observation] = (),
    grids: Sequence[GridRecord] = (),
    introductions: IntroductionsRecord | None = None,
    lines: Sequence[Line] = (),
    today: Sequence[Observation] = (),
) -> str:
    bullets = "\n".join(f"- {line}" for line in summary(releases, observations, introductions))
    forkless = forkless_section(introductions, list(lines))
    installed_today = today_section(today, "../reports/constraints/")
    modes = "\n".join(f"| `{key}` | `{call}` |" for key, call in MODE_CALLS.items())
    return f"""# Does Flask's `app.run()` serve requests concurrently?

{lead(releases, observations)}

{bullets}

![Flask releases on a timeline, coloured by what plain app.run() did](timeline.svg)

Look up one release: [a page per release](releases/index.md), each with every call's verdict.

Also here: [which Python and Werkzeug each release runs with](grid.md) (observed, next to what the
metadata declares), [how to run each release today](../reports/constraints.md) (verified requirements
files) and [the development server next to production servers](../reports/servers.md).

{claims_text}{forkless}{installed_today}## How this was observed

{HOW_MADE}

| mode | call |
|---|---|
{modes}

Each release runs on the newest interpreter it works on with its era's dependencies (the
bounds were found by installing every release on every Python and probing it):

{interpreter_rules(releases, observations, grids)}

## How to read the matrix

- **`app.run()` concurrent?** — *yes (threads, 5 of 5 in flight)* means all five held requests were
  inside the handler together, each on its own thread; *no (main thread only, 1 of 5 in flight)*
  means the server took the next request only after the first was released.
- **`app.run(debug=True)`** — the debug server. *in the reloader's child* means the requests were
  served by the child process Werkzeug's reloader starts, not by the process that was started;
  *the same with `flask run`* means `FLASK_DEBUG=1 flask run` did exactly the same.
- **`app.run(processes=3)`** (as most projects write it, `threaded` left at its default) and
  **`threaded=False, processes=3`** (as the article writes it) — how many requests were in flight at
  once, and how many distinct process ids served six sequential requests: six pids for six requests
  is a fork per request, not a pool.
- **`threaded=True, processes=3`** — the error the server raised, verbatim.
- **Python / Werkzeug** — the interpreter and Werkzeug the release was observed with; *Notes* say
  what had to change for it to install, or why it was not run.

The evidence for every cell is in [`reports/results/`](../reports/results/); the same table stands
alone in [`reports/matrix.md`](../reports/matrix.md), and as data in
[`reports/matrix.json`](../reports/matrix.json) (schema:
[`matrix.schema.json`](../scripts/report/matrix.schema.json)).

## The matrix

{figure(releases, observations, "matrix.svg")}

{matrix_table(releases, observations)}
{platform_section(platforms)}
Generated from the observation records by `nox -s render`; do not edit.
"""

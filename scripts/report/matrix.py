"""Rendering: observation records into ``reports/matrix.md``, ``docs/index.md`` and a timeline SVG.

Reads records only, so any record (from this machine or a CI runner) renders the same way.
Output depends on nothing but the data: same records, same bytes.
"""

from __future__ import annotations

import argparse
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from packaging.version import Version

from scripts.audit import records
from scripts.audit.records import MODE_CALLS, ModeObservation, Observation
from scripts.packages import catalogue
from scripts.packages.catalogue import Release
from scripts.report import claims, markdown
from scripts.report import servers as servers_report
from scripts.report.claims import Verdict
from scripts.report.timeline import render_timeline_svg
from scripts.servers import records as server_records

ROOT = Path(__file__).resolve().parent.parent.parent

HOW_MADE = (
    "Each release was installed with the dependencies uploaded up to one day after it, on the newest "
    "Python it runs on, and started as a tiny probe app. The probe binds 127.0.0.1 on a free port: "
    "that is the only change from a bare `app.run()`. Concurrency is observed, not timed: five requests "
    "are held open inside the handler at once and the harness counts how many got in before it released any."
)


def _releases(count: int) -> str:
    return "1 release" if count == 1 else f"{count} releases"


def _by_version(observations: Iterable[Observation]) -> dict[str, Observation]:
    return {o.flask: o for o in observations}


def _ok(observation: Observation | None) -> bool:
    return observation is not None and observation.status == "ok"


def describe_concurrency(mode: ModeObservation | None) -> str:
    """One cell: did the mode serve concurrently, with what workers, how many in flight."""
    if mode is None:
        return "— (no CLI)"
    if mode.outcome != "served":
        return f"{mode.outcome}: `{mode.error}`"
    answer = "yes" if mode.concurrent else "no"
    return f"{answer} ({mode.workers}, {mode.max_in_flight} of {mode.sent} in flight)"


def describe_processes(mode: ModeObservation | None) -> str:
    """The processes=3 cell: a pool, or a fork per request, and the cap on requests in flight."""
    if mode is None:
        return ""
    if mode.outcome != "served":
        return f"{mode.outcome}: `{mode.error}`"
    if mode.workers == "forked processes":
        per_request = mode.distinct_pids == mode.sequential
        how = "fork per request" if per_request else f"{mode.distinct_pids} worker processes"
        return f"{how}, ≤{mode.max_in_flight} in flight ({mode.distinct_pids} pids / {mode.sequential} requests)"
    return describe_concurrency(mode)


def describe_refusal(mode: ModeObservation | None) -> str:
    if mode is None:
        return ""
    if mode.outcome == "error":
        return f"`{mode.error}`"
    return describe_concurrency(mode)


def _notes(observation: Observation) -> str:
    notes = []
    if observation.status != "ok":
        detail = observation.detail or ""
        notes.append(detail if detail.startswith("not run") else f"{observation.status}: {detail}".rstrip(": "))
    notes.extend(observation.environment.get("changes", []))
    return "; ".join(notes)


COLUMNS = (
    "Flask",
    "Released",
    "Python",
    "Werkzeug",
    "`app.run()` concurrent?",
    "`flask run` concurrent?",
    "`processes=3`",
    "`threaded=True, processes=3`",
    "Notes",
)


def _row(release: Release, observation: Observation | None) -> list[str]:
    if observation is None:
        return [release.version, release.released or "", "", "", "", "", "", "", "not audited yet"]
    modes = observation.modes
    if observation.status == "ok" or modes:
        cells = [
            describe_concurrency(modes.get("default")) if "default" in modes else "",
            describe_concurrency(modes.get("flask_run")),
            describe_processes(modes.get("processes3")),
            describe_refusal(modes.get("threaded_processes3")),
        ]
    else:
        cells = ["", "", "", ""]
    return [
        release.version,
        release.released or "",
        observation.python or "",
        observation.packages.get("werkzeug", ""),
        *cells,
        _notes(observation),
    ]


def matrix_table(releases: list[Release], observations: list[Observation]) -> str:
    """The one-row-per-release markdown table, oldest release first."""
    found = _by_version(observations)
    ordered = sorted(releases, key=lambda r: Version(r.version))
    return markdown.table(COLUMNS, (_row(release, found.get(release.version)) for release in ordered))


def _first_of_run(
    releases: list[Release], found: dict[str, Observation], mode: str
) -> tuple[Release | None, list[str], list[str], list[str]]:
    """Where ``mode`` turns concurrent for good: the first release R after which every observed
    release is concurrent, and the observed releases before R split into concurrent and not."""
    observed = [r for r in releases if _ok(found.get(r.version)) and mode in found[r.version].modes]
    served = [r for r in observed if found[r.version].modes[mode].outcome == "served"]
    start = None
    for release in reversed(served):
        if not found[release.version].modes[mode].concurrent:
            break
        start = release
    if start is None:
        return None, [], [], [r.version for r in served]
    since = [r.version for r in served if Version(r.version) >= Version(start.version)]
    before = [r for r in served if Version(r.version) < Version(start.version)]
    exceptions = [r.version for r in before if found[r.version].modes[mode].concurrent]
    serial = [r.version for r in before if not found[r.version].modes[mode].concurrent]
    return start, since, exceptions, serial


def _transition_sentence(label: str, releases: list[Release], found: dict[str, Observation], mode: str) -> str:
    start, since, exceptions, serial = _first_of_run(releases, found, mode)
    if start is None:
        return f"{label} served one request at a time in all {len(serial)} observed releases."
    sentence = (
        f"{label} serves requests concurrently (threads) from Flask {start.version} ({start.released}): "
        f"{len(since)} of {len(since)} observed releases since"
    )
    if not serial and not exceptions:
        return sentence + "."
    sentence += f"; before {start.version}: {len(serial)} of {len(serial) + len(exceptions)} observed releases"
    sentence += " serve one request at a time"
    if exceptions:
        sentence += f" (exceptions, concurrent: {', '.join(exceptions)})"
    return sentence + "."


def _observed_with(releases: list[Release], found: dict[str, Observation], mode: str) -> list[Observation]:
    """The observed releases in which ``mode`` was run, oldest first."""
    return [found[r.version] for r in releases if _ok(found.get(r.version)) and mode in found[r.version].modes]


def _werkzeug_span(observations: list[Observation]) -> str:
    versions = sorted({o.packages.get("werkzeug", "?") for o in observations}, key=_version_or_zero)
    return f"Werkzeug {versions[0]}" if len(versions) == 1 else f"Werkzeug {versions[0]} to {versions[-1]}"


def _version_or_zero(text: str) -> Version:
    try:
        return Version(text)
    except ValueError:
        return Version("0")


def _processes_sentence(releases: list[Release], found: dict[str, Observation]) -> str:
    runs = [o for o in _observed_with(releases, found, "processes3") if o.modes["processes3"].outcome == "served"]
    forked = [
        o
        for o in runs
        if o.modes["processes3"].workers == "forked processes"
        and o.modes["processes3"].distinct_pids == o.modes["processes3"].sequential
    ]
    caps = Counter(o.modes["processes3"].max_in_flight for o in forked)
    cap_text = ", ".join(f"at most {cap} requests in flight at once in {n}" for cap, n in sorted(caps.items()))
    return (
        f"`processes=3` forks a new process for every request (not a pool of 3 workers) in {len(forked)} of "
        f"{len(runs)} releases where it served; {cap_text or 'no cap observed'}."
    )


def _refusal_sentence(releases: list[Release], found: dict[str, Observation]) -> str:
    by_error: dict[str, list[Observation]] = {}
    for observation in _observed_with(releases, found, "threaded_processes3"):
        by_error.setdefault(str(observation.modes["threaded_processes3"].error), []).append(observation)
    parts = [f"`{error}` ({len(group)} of them, {_werkzeug_span(group)})" for error, group in by_error.items()]
    return f"`threaded=True, processes=3` refuses to start: {'; '.join(parts) or 'not observed'}."


def _coverage_sentence(releases: list[Release], found: dict[str, Observation]) -> str:
    statuses = Counter(found[r.version].status if r.version in found else "not audited yet" for r in releases)
    ok = statuses.pop("ok", 0)
    text = f"{ok} of {len(releases)} releases observed"
    if statuses:
        text += "; not observed: " + ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    return text + "."


def summary(releases: list[Release], observations: list[Observation]) -> list[str]:
    """Summary sentences, every number computed from the records."""
    found = _by_version(observations)
    ordered = sorted(releases, key=lambda r: Version(r.version))
    return [
        _transition_sentence("Plain `app.run()`", ordered, found, "default"),
        _transition_sentence("`flask run`", ordered, found, "flask_run"),
        _processes_sentence(ordered, found),
        _refusal_sentence(ordered, found),
        _coverage_sentence(ordered, found),
    ]


PLATFORM_COLUMNS = (
    "Flask",
    "Platform",
    "Python",
    "Werkzeug",
    "`app.run()`",
    "`processes=3`",
    "`threaded=True, processes=3`",
)


def platform_section(observations: Sequence[Observation]) -> str:
    """Cells observed on other platforms (CI runners), or nothing when there are none."""
    if not observations:
        return ""
    rows = []
    for o in sorted(observations, key=lambda o: (Version(o.flask), o.platform or "")):
        modes = o.modes
        cells = [
            o.flask,
            o.platform or "?",
            o.python or "",
            o.packages.get("werkzeug", ""),
            describe_concurrency(modes["default"]) if "default" in modes else _notes(o),
            describe_processes(modes.get("processes3")),
            describe_refusal(modes.get("threaded_processes3")),
        ]
        rows.append(cells)
    return (
        "\n## Other platforms\n\nThe same probe on CI runners of other systems (Windows has no `os.fork`), "
        "from `reports/platforms/`.\n\n" + markdown.table(PLATFORM_COLUMNS, rows) + "\n"
    )


def observed_span(observations: list[Observation]) -> str:
    """When the observations were made, from their records (cached ones keep their own date)."""
    moments = sorted(o.observed_at for o in observations if o.observed_at)
    if not moments:
        return "No observation made yet."
    span = moments[0] if moments[0] == moments[-1] else f"from {moments[0]} to {moments[-1]}"
    return f"Observed {span} (UTC, each record's `observed_at`)."


def render_matrix(
    releases: list[Release], observations: list[Observation], platforms: Sequence[Observation] = ()
) -> str:
    bullets = "\n".join(f"- {line}" for line in summary(releases, observations))
    return (
        "# Flask development server: concurrency by release\n\n"
        "Generated from `reports/results/*.json` by `nox -s render`; do not edit. "
        f"{observed_span(observations)}\n\n"
        f"{HOW_MADE}\n\n## Summary\n\n{bullets}\n\n## Matrix\n\n{matrix_table(releases, observations)}\n"
        f"{platform_section(platforms)}"
    )


def interpreter_rules(releases: list[Release], observations: list[Observation]) -> str:
    """Which interpreter each run of releases got, and why, as the records state it."""
    found = _by_version(observations)
    runs: list[tuple[str, list[Observation]]] = []
    for release in sorted(releases, key=lambda r: Version(r.version)):
        observation = found.get(release.version)
        if observation is None or not observation.environment:
            continue
        rule = observation.environment.get("interpreter_rule", "")
        if runs and runs[-1][0] == rule:
            runs[-1][1].append(observation)
        else:
            runs.append((rule, [observation]))
    lines = []
    for rule, group in runs:
        pythons = sorted({".".join((o.python or "?").split(".")[:2]) for o in group}, key=_version_or_zero)
        span = group[0].flask if len(group) == 1 else f"{group[0].flask} to {group[-1].flask}"
        lines.append(f"- Flask {span} ({_releases(len(group))}): Python {', '.join(pythons)}. {rule}.")
    return "\n".join(lines)


def claims_section(verdicts: list[Verdict], with_servers: bool = False) -> str:
    """The article's claims and the extra points, each with its verdict, where it was seen, and evidence."""
    lines = [
        "## Claims",
        "",
        "A widely read article makes the claims below about `app.run()`; each verdict is computed from the "
        "records (claim 7 from the server comparison), never written by hand.",
        "",
    ]
    for verdict in verdicts:
        label = f"Claim {verdict.key}" if verdict.key.isdigit() else f"Point {verdict.key}"
        lines += [
            f"- **{label}:** {verdict.claim}",
            f"  - Verdict: **{verdict.verdict}**",
            f"  - Shown by: {verdict.shown_by}",
            f"  - Evidence: {verdict.evidence}",
        ]
    if with_servers:
        lines += [
            "",
            "The server comparison behind claim 7, round by round: [`reports/servers.md`](../reports/servers.md).",
            "",
            "![Requests per second by server, route and concurrency](servers.svg)",
        ]
    return "\n".join(lines) + "\n\n"


def render_docs_page(
    releases: list[Release],
    observations: list[Observation],
    claims_text: str = "",
    platforms: Sequence[Observation] = (),
) -> str:
    bullets = "\n".join(f"- {line}" for line in summary(releases, observations))
    modes = "\n".join(f"| `{key}` | `{call}` |" for key, call in MODE_CALLS.items())
    return f"""# Does Flask's `app.run()` serve requests concurrently?

Generated from the observation records by `nox -s render`; do not edit.

{bullets}

![Flask releases on a timeline, coloured by what plain app.run() did](timeline.svg)

Also here: [which Python and Werkzeug each release runs with](grid.md) (observed, next to what the
metadata declares) and [the development server next to production servers](../reports/servers.md).

{claims_text}## How this was observed

{HOW_MADE}

| mode | call |
|---|---|
{modes}

Each release runs on the newest interpreter it works on with its era's dependencies (the
bounds were found by installing every release on every Python and probing it):

{interpreter_rules(releases, observations)}

## How to read the matrix

- **`app.run()` concurrent?** — *yes (threads, 5 of 5 in flight)* means all five held requests were
  inside the handler together, each on its own thread; *no (main thread only, 1 of 5 in flight)*
  means the server took the next request only after the first was released.
- **`processes=3`** — how many requests were in flight at once, and how many distinct process ids
  served six sequential requests: six pids for six requests is a fork per request, not a pool.
- **`threaded=True, processes=3`** — the error the server raised, verbatim.
- **Python / Werkzeug** — the interpreter and Werkzeug the release was observed with; *Notes* say
  what had to change for it to install, or why it was not run.

The evidence for every cell is in [`reports/results/`](../reports/results/); the same table stands
alone in [`reports/matrix.md`](../reports/matrix.md).

## The matrix

{matrix_table(releases, observations)}
{platform_section(platforms)}"""


def write_reports(releases_path: Path, results_dir: Path, reports_dir: Path, docs_dir: Path) -> list[Path]:
    """Render every generated page from the catalogue and the records; return the paths written."""
    releases = catalogue.audited(catalogue.load(releases_path))
    observations = records.load_all(results_dir)
    platforms = [o for folder in sorted((reports_dir / "platforms").glob("*")) for o in records.load_all(folder)]
    servers = server_records.load_if_present(reports_dir / server_records.DATA)
    claims_text = claims_section(claims.evaluate(observations, servers), with_servers=servers is not None)
    pages = {
        reports_dir / "matrix.md": render_matrix(releases, observations, platforms),
        docs_dir / "index.md": render_docs_page(releases, observations, claims_text, platforms),
        docs_dir / "timeline.svg": render_timeline_svg(releases, observations),
    }
    if servers is not None:
        pages.update(servers_report.pages(servers, reports_dir, docs_dir))
    for path, text in pages.items():
        records.write_text_atomic(path, text)
    return list(pages)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Render reports/ and docs/ from the observation records.")
    parser.add_argument("--releases", type=Path, default=ROOT / "reports" / "releases.json")
    parser.add_argument("--results", type=Path, default=ROOT / "reports" / "results")
    parser.add_argument("--reports", type=Path, default=ROOT / "reports")
    parser.add_argument("--docs", type=Path, default=ROOT / "docs")
    args = parser.parse_args()
    for written in write_reports(args.releases, args.results, args.reports, args.docs):
        print(written)

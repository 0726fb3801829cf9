"""Rendering: summary numbers come from the records, tables are ordered and stable, the SVG is sound."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import replace

from scripts.audit import records
from scripts.audit.records import ModeObservation, Observation
from scripts.bench.records import Bench
from scripts.ci import mutation
from scripts.layout import REPO, ROOT, Layout
from scripts.packages import catalogue
from scripts.packages.catalogue import Release
from scripts.report import answer, bench, claims, matrix, pages, summary, timeline, wording
from scripts.report.timeline import render_timeline_svg
from tests import conftest


def release(version: str, day: str) -> Release:
    return conftest.release(version, uploaded=f"{day}T12:00:00Z")


def served(concurrent: bool, **extra) -> ModeObservation:
    fields = {
        "call": "app.run()",
        "outcome": "served",
        "sent": 5,
        "concurrent": concurrent,
        "max_in_flight": 5 if concurrent else 1,
        "workers": "threads" if concurrent else "main thread only",
        "sequential": 6,
    }
    return ModeObservation(**{**fields, **extra})


#: Days the tests name by a letter, as a record stores them (a date: the schema allows nothing else).
DAYS = {"x": "2026-01-01", "y": "2026-01-02"}


def observed(version: str, concurrent: bool, day: str) -> Observation:
    return Observation(
        flask=version,
        released=DAYS.get(day, day),
        status="ok",
        python="3.9.18",
        packages={"werkzeug": "0.14.1"},
        modes={
            "default": served(concurrent),
            "processes3": served(True, max_in_flight=3, workers="forked processes", distinct_pids=6),
            "threaded_processes3": ModeObservation(call="x", outcome="error", error="ValueError: no | way"),
        },
    )


RELEASES = [
    release("0.9", "2012-07-01"),
    release("0.10", "2013-06-13"),
    release("0.12.5", "2020-02-10"),
    release("1.0", "2018-04-26"),
    release("1.1.1", "2019-07-08"),
    release("3.0.0", "2023-09-30"),
]


def observations(**flips: bool) -> list[Observation]:
    """0.9 not run, 0.10 and 0.12.5 serial, 1.0 and 1.1.1 concurrent, 3.0.0 without a record."""
    concurrent = {"0.10": False, "0.12.5": False, "1.0": True, "1.1.1": True} | flips
    days = {r.version: r.released or "" for r in RELEASES}
    found = [observed(version, value, days[version]) for version, value in concurrent.items()]
    found.append(Observation(flask="0.9", released="2012-07-01", status="no-interpreter", detail="not run: x"))
    return found


def test_summary_names_the_first_concurrent_release_with_counts():
    line = summary.summary(RELEASES, observations())[0]
    assert "from Flask 1.0 (2018-04-26)" in line
    assert "2 of 2 observed releases from it in version order" in line
    assert "before 1.0: 2 of 2 observed releases serve one request at a time" in line


def test_where_date_order_and_version_order_part_the_pages_say_so():
    """0.12.5 (2020) comes after 1.0 (2018) by date: a reader of "from 1.0 (2018-04-26)" would expect it concurrent."""
    said = (
        "Flask 0.12.5 (2020-02-10), a maintenance release of the 0.12 line published after 1.0 (2018-04-26), "
        "serves one request at a time"
    )
    assert said in render_timeline_svg(RELEASES, observations())
    assert f"in date order, {said}" in claims.claim_4(observations()).evidence
    # Said once in words on the answer page (in the lead), not again in the bullets or under the timeline.
    page = answer.render_answer_page(RELEASES, observations())
    assert "0.12.5, published after 1.0" in page.split("\n")[2] and "date order" not in page.split("## Claims")[0]
    # Published before 1.0, it says nothing; with two of them, both are named.
    earlier = [replace(o, released="2017-01-01") if o.flask == "0.12.5" else o for o in observations()]
    assert "published after" not in summary.lead(RELEASES, earlier)
    two = [*observations(), observed("0.11.2", False, "2019-01-01")]
    with_two = [*RELEASES, release("0.11.2", "2019-01-01")]
    assert "That includes 0.11.2 and 0.12.5, published after 1.0." in summary.lead(with_two, two)
    assert (
        "Flask 0.11.2 (2019-01-01) and 0.12.5 (2020-02-10), maintenance releases of the 0.11 and 0.12 lines "
        "published after 1.0 (2018-04-26), serve one request at a time" in claims.claim_4(two).evidence
    )


def test_summary_follows_the_data_not_version_numbers():
    line = summary.summary(RELEASES, observations(**{"1.0": False}))[0]
    assert "from Flask 1.1.1" in line
    exception = summary.summary(RELEASES, observations(**{"0.10": True}))[0]
    assert (
        "before 1.0: 1 of 2 observed releases serve one request at a time (exceptions, concurrent: 0.10)." in exception
    ), "the exception counts in the denominator"


def test_coverage_counts_statuses_and_missing_records():
    line = summary.summary(RELEASES, observations())[-1]
    assert line == "4 of 6 releases observed; not observed: 1 no-interpreter, 1 not audited yet."


def test_rows_are_in_version_order_and_escaped():
    table = matrix.matrix_table(RELEASES, observations())
    rows = [line.split(" | ")[0].strip("| ") for line in table.splitlines()[2:]]
    assert rows == [f"[{v}](../docs/releases/{v}.md)" for v in ("0.9", "0.10", "0.12.5", "1.0", "1.1.1", "3.0.0")]
    assert "`ValueError: no \\| way`" in table
    assert "| [3.0.0](../docs/releases/3.0.0.md) | 2023-09-30 |" in table and table.rstrip().endswith(
        "not audited yet |"
    )
    assert "not run: x" in table
    assert "fork per request, ≤3 in flight (6 pids / 6 requests)" in table


def test_timeline_is_wellformed_and_deterministic():
    svg = render_timeline_svg(RELEASES, observations())
    root = ET.fromstring(svg)
    circles = root.findall("{http://www.w3.org/2000/svg}circle")
    assert len(circles) == len(RELEASES) + 3, "one dot per release plus the legend"
    colours = [c.get("fill") for c in circles[: len(RELEASES)]]
    assert colours.count(timeline.KINDS["concurrent"][0]) == 2
    assert svg == render_timeline_svg(list(reversed(RELEASES)), list(reversed(observations())))


def test_write_reports_is_stable(tmp_path):
    layout = Layout(tmp_path)
    catalogue.save(RELEASES, layout.releases)
    for observation in observations():
        records.save(observation, layout.results)
    paths = pages.write_report(layout, layout.releases)
    first = {p: p.read_bytes() for p in paths}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in paths if p.parent != layout.release_pages) == [
        "docs/index.md",
        "docs/matrix.svg",
        "docs/timeline.svg",
        "reports/matrix.json",
        "reports/matrix.md",
    ]
    assert sorted(p.name for p in paths if p.parent == layout.release_pages) == sorted(
        ["index.md", *(f"{r.version}.md" for r in RELEASES)]
    ), "a page per release, observed or not"
    pages.write_report(layout, layout.releases)
    assert {p: p.read_bytes() for p in paths} == first


def test_docs_page_has_a_claims_section_with_every_verdict():
    verdicts = claims.evaluate(observations(), None)
    page = answer.render_answer_page(RELEASES, observations(), answer.claims_section(verdicts))
    section = page.split("## Claims", 1)[1].split("## How this was observed", 1)[0]
    for verdict in verdicts:
        assert f"  - Verdict: **{verdict.verdict}**" in section
        assert all(fact in section for fact in wording.facts(verdict.evidence))
    assert "**Claim 7:**" in section and "**Point C:**" in section
    assert "servers.svg" not in section, "the chart is linked only when a server comparison exists"


def test_matrix_states_when_the_observations_were_made():
    early = Observation("1.0", "2018-04-26", "ok", observed_at="2026-11-24T10:00:00Z")
    late = Observation("2.0.3", "2022-02-14", "ok", observed_at="2026-11-25T07:00:00Z")
    assert matrix.observed_span([late, early]) == (
        "Observed from 2026-11-24T10:00:00Z to 2026-11-25T07:00:00Z (UTC, each record's `observed_at`)."
    )
    assert matrix.observed_span([]) == "No observation made yet."


#: A renderer in its own process: writes its record and renders. Asked to hold, it says "computed" once it has
#: read the records and made its pages, and writes them only when the test says "go" (a slow machine, made to
#: order). Every renderer says "waiting" as it asks for the render lock.
WRITER = """
import sys
from pathlib import Path
sys.path.insert(0, {root!r})
from scripts.audit import records
from scripts.layout import Layout
from scripts.report import pages
from tests.test_render import observed

class Announced(pages.FileLock):
    def acquire(self, *args, **kwargs):
        print("waiting", flush=True)
        return super().acquire(*args, **kwargs)

pages.FileLock = Announced
layout = Layout(Path({output!r}))
records.save(observed({version!r}, True, "2020-01-01"), layout.results)
computed = pages.report_pages
def held(*args, **kwargs):
    found = computed(*args, **kwargs)
    print("computed", flush=True)
    sys.stdin.readline()
    return found
if {hold!r}:
    pages.report_pages = held
pages.write_report(layout, layout.releases)
"""


def test_renderers_side_by_side_leave_a_report_with_every_record(tmp_path):
    """The order is the test's: the first renderer reads the records and holds its pages; the second writes its
    record and asks for the lock (or, were there none, renders and ends); only then does the first write."""
    layout = Layout(tmp_path)
    catalogue.save([release("1.0", "2018-04-26"), release("2.0", "2021-05-11")], layout.releases)

    def writer(version: str, hold: bool) -> subprocess.Popen[str]:
        program = WRITER.format(root=str(ROOT), output=str(tmp_path), version=version, hold=hold)
        return subprocess.Popen(
            [sys.executable, "-c", program], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    first = writer("1.0", hold=True)
    assert first.stdout is not None and first.stdin is not None
    assert first.stdout.readline() == "waiting\n" and first.stdout.readline() == "computed\n"
    second = writer("2.0", hold=False)
    assert second.stdout is not None
    # "waiting" with the lock; without one the second would render, write and end (an empty line).
    assert second.stdout.readline() in ("waiting\n", "")
    first.stdin.write("go\n")
    first.stdin.close()
    assert first.wait(60) == 0 and second.wait(60) == 0
    matrix = layout.matrix_page.read_text()
    assert (
        "| [1.0](../docs/releases/1.0.md) |" in matrix
        and "| [2.0](../docs/releases/2.0.md) | 2021-05-11 |" in matrix
        and "not audited yet" not in matrix
    )


def test_the_committed_pages_are_what_the_committed_records_render_to():
    """Generated files are never edited by hand: rendering the committed records gives them back, byte for byte."""
    rendered = {**pages.report_pages(REPO), **pages.grid_pages(REPO)}
    if REPO.bench_data.exists():
        rendered[REPO.bench_page] = bench.render(Bench.read(REPO.bench_data))
    if REPO.mutation_data.exists():
        rendered[REPO.mutation_page] = mutation.render(mutation.MutationRun.read(REPO.mutation_data))
    differing = [str(path.relative_to(REPO.root)) for path, text in rendered.items() if path.read_text() != text]
    assert differing == [], "run `nox -s render` and commit, or find what edited these by hand"


def test_the_summary_of_nothing_observed_says_so():
    lines = summary.summary(RELEASES, [])
    assert lines == [
        "Plain `app.run()` served one request at a time in all 0 observed releases.",
        "`flask run` served one request at a time in all 0 observed releases.",
        "`app.run(debug=True)` is not observed yet.",
        "`processes=3` forks a new process for every request (not a pool of 3 workers) in 0 of 0 releases where it "
        "served; no cap observed.",
        "`app.run(processes=3)` is not observed yet.",
        "`threaded=True, processes=3` refuses to start: not observed.",
        "0 of 6 releases observed; not observed: 6 not audited yet.",
    ]


def test_the_summary_counts_a_pool_apart_and_lists_caps_and_exceptions_in_full():
    found = observations(**{"0.10": True, "0.12.5": True, "1.0": False})
    pool = served(True, max_in_flight=3, workers="forked processes", distinct_pids=3)
    found[0].modes["processes3"] = pool
    found[1].modes["processes3"] = served(True, max_in_flight=2, workers="forked processes", distinct_pids=6)
    lines = summary.summary(RELEASES, found)
    assert lines[0].endswith(
        "before 1.1.1: 1 of 3 observed releases serve one request at a time (exceptions, concurrent: 0.10, 0.12.5)."
    )
    assert lines[3].endswith(
        "in 3 of 4 releases where it served; at most 2 requests in flight at once in 1, "
        "at most 3 requests in flight at once in 2."
    )
    assert lines[-1] == "4 of 6 releases observed; not observed: 1 no-interpreter, 1 not audited yet."
    everything = [o for o in observations() if o.status == "ok"]
    everything += [observed("0.9", False, "2012-07-01"), observed("3.0.0", True, "2023-09-30")]
    assert summary.summary(RELEASES, everything)[-1] == "6 of 6 releases observed."
    assert (
        "before 1.0: 3 of 3 observed releases serve one request at a time."
        in (summary.summary(RELEASES, everything)[0])
    )


def test_a_mode_concurrent_in_every_observed_release_is_said_so_in_one_sentence():
    line = summary.summary(RELEASES, observations(**{"0.10": True, "0.12.5": True}))[0]
    assert line == (
        "Plain `app.run()` serves requests concurrently (threads) from Flask 0.10 (2013-06-13): "
        "4 of 4 observed releases from it in version order."
    )


def test_the_flask_run_cell_tells_a_release_without_the_command_from_a_mode_not_observed():
    without = Observation("0.10", "2013-06-13", "ok", cli=False, modes={"default": served(False)})
    unobserved = Observation("1.0", "2018-04-26", "ok", cli=True, modes={"default": served(True)})
    table = matrix.matrix_table(RELEASES[1:4], [without, unobserved])
    assert "| 2013-06-13 |  |  | no (main thread only, 1 of 5 in flight) | — (no CLI) |" in table
    assert "| 2018-04-26 |  |  | yes (threads, 5 of 5 in flight) | not observed |" in table


def with_debug(found: list[Observation]) -> list[Observation]:
    """The debug server serving like plain ``app.run()``, from the reloader's child; ``flask run`` the same."""
    for observation in found:
        if observation.status == "ok":
            debug = replace(observation.modes["default"], server_process="reloader child")
            observation.modes["debug"] = observation.modes["flask_run_debug"] = debug
    return found


def test_the_summary_says_how_the_debug_server_serves_and_from_which_process():
    found = with_debug(observations())
    line = summary.summary(RELEASES, found)[2]
    assert line == (
        "`app.run(debug=True)`, the tutorials' call, serves one request at a time in Flask 0.10 to 0.12.5 "
        "(2 releases); serves concurrently (a thread per request) in Flask 1.0 to 1.1.1 (2 releases); the server "
        "runs in a child process that Werkzeug's reloader starts, not in the process you started, in 4 of 4; "
        "`FLASK_DEBUG=1 flask run` does the same in 4 of the 4 with a `flask` command."
    )
    found[3].modes["flask_run_debug"] = served(False)
    assert summary.summary(RELEASES, found)[2].endswith(
        "does the same in 3 of the 4 with a `flask` command (not in Flask 1.1.1 (1 release))."
    )


def test_the_summary_groups_processes_as_written_by_what_it_did():
    found = observations()
    refused = ModeObservation(call="x", outcome="error", error="ValueError: no")
    for observation in found:
        if observation.status == "ok":
            era = observation.flask.startswith("0.")
            observation.modes["processes3_plain"] = observation.modes["processes3"] if era else refused
    assert summary.summary(RELEASES, found)[4] == (
        "`app.run(processes=3)`, written without `threaded` as most projects do, forks a new process for every "
        "request in Flask 0.10 to 0.12.5 (2 releases); is refused at start (`ValueError: no`) in Flask 1.0 to "
        "1.1.1 (2 releases)."
    )


def test_the_debug_cell_says_the_reloader_child_and_whether_flask_run_agrees():
    found = with_debug(observations())
    table = matrix.matrix_table(RELEASES, found)
    assert "| yes (threads in the reloader's child, 5 of 5 in flight); the same with `flask run` |" in table
    found[3].modes["flask_run_debug"] = served(False)
    table = matrix.matrix_table(RELEASES, found)
    disagreeing = "`flask run`: no (main thread only, 1 of 5 in flight)"
    assert f"| yes (threads in the reloader's child, 5 of 5 in flight); {disagreeing} |" in table


def test_a_debug_server_that_fails_is_said_with_its_error():
    found = with_debug(observations())
    found[3].modes["debug"] = ModeObservation(call="x", outcome="error", error="OSError: no reloader")
    assert "fails (error: `OSError: no reloader`) in Flask 1.1.1 (1 release)" in summary.summary(RELEASES, found)[2]


def test_the_interpreter_rules_quote_what_the_grid_saw_one_minor_higher():
    from scripts.audit.records import Build
    from scripts.grid.records import Cell, GridRecord
    from scripts.report.answer import interpreter_rules

    rule = "The newest Python the grid saw it serve on with its era's dependencies"
    found = []
    for version in ("1.0", "1.0.2"):
        observation = observed(version, True, "2018-04-26")
        observation.environment = Build("uv", None, [], [], rule)
        found.append(observation)
    error = "ImportError: cannot import name 'Mapping' from 'collections'"
    grids = [
        GridRecord(
            version,
            None,
            None,
            [
                Cell("era", version, "3.9", "ok"),
                Cell("era", version, "3.10", "import-failed", detail=error),
                Cell("era", version, "3.11", "import-failed", detail="other"),
            ],
        )
        for version in ("1.0", "1.0.2")
    ]
    releases = [release("1.0", "2018-04-26"), release("1.0.2", "2018-05-02")]
    assert interpreter_rules(releases, found, grids) == (
        f"- Flask 1.0 to 1.0.2 (2 releases): Python 3.9. {rule}. On Python 3.10, 2 of 2 failed: "
        f"`import-failed: {error}`."
    )
    grids[1].cells[1].status, grids[1].cells[1].detail = "install-failed", "Failed to build `flask==1.0.2`"
    assert interpreter_rules(releases, found, grids).endswith(
        "On Python 3.10, 2 of 2 failed (1 import-failed, 1 install-failed): "
        "[each release's page](releases/index.md) quotes its error."
    )
    assert interpreter_rules(releases, found) == f"- Flask 1.0 to 1.0.2 (2 releases): Python 3.9. {rule}."


def test_evidence_is_cut_into_facts_only_where_a_fact_ends():
    text = "a (b; c); `d; e`; f [g; h]; i"
    assert wording.facts(text) == ["a (b; c)", "`d; e`", "f [g; h]", "i"]
    assert wording.facts("one fact") == ["one fact"]
    assert "; ".join(wording.facts(text)) == text, "nothing is lost or added"


def test_claim_7_says_what_its_verdict_rests_on_from_the_comparison_itself():
    from scripts.servers.records import ServersRun

    verdicts = claims.evaluate(observations(), None)
    run = ServersRun(
        "2026-12-01T00:00:00Z", {"cpus": 4}, {}, {"rounds": 5, "round_seconds": 3.0, "concurrency": [1, 8]}, []
    )
    section = answer.claims_section(verdicts, run)
    assert "requests per second and latency, 5 rounds of 3 s at 1, 8 clients, on one machine with 4 CPUs" in section
    assert "were not measured" in section and "rests on" not in answer.claims_section(verdicts)
    assert f'"{claims.ARTICLE}"' in section, "the article is named by its title"


def test_an_introduction_says_what_the_release_below_showed_instead():
    from scripts.introductions.records import Introduction, IntroductionsRecord, Sample

    refused = ModeObservation("x", "error", "ValueError: Your platform does not support forking.", failed_in="server")
    answer = Introduction(
        "outcome", "processes3_nofork", "ValueError: Your platform does not support forking.", "3.9.18",
        "0.12.1", "0.11.15", "0.11.14", True, None, [], 4, 0,
    )  # fmt: skip
    mro = "TypeError: Cannot create a consistent method resolution"
    broke = Sample("0.11.14", "3.9.18", {"processes3_nofork": mro})
    found = IntroductionsRecord([answer], [broke])
    said = wording.introduced(found, "processes3_nofork", refused)
    assert said.endswith(f", where it showed `{mro}` instead")
    served = Sample("0.11.14", "3.9.18", {"processes3_nofork": "served"})
    assert "instead" not in wording.introduced(IntroductionsRecord([answer], [served]), "processes3_nofork", refused)


def test_the_answer_page_opens_with_the_answer_in_a_few_short_sentences():
    releases = [release("0.9", "2012-07-01"), release("0.12.4", "2018-04-30"), release("1.0", "2018-04-26")]
    found = [observed(r.version, r.version == "1.0", r.released or "") for r in releases]
    said = summary.lead(releases, found)
    sentences = said.split(". ")
    assert 2 <= len(sentences) <= 4 and all(len(s) < 120 for s in sentences), said
    assert said.startswith("Yes, from Flask 1.0 on: plain `app.run()` serves each request in a thread of its own.")
    assert "Before 1.0, it serves one request at a time. That includes 0.12.4, published after 1.0." in said
    assert "forks a process per request" in said
    assert summary.lead(releases[:2], found[:2]).startswith("No: plain `app.run()` served one request at a time")
    page = answer.render_answer_page(releases, found)
    assert page.split("\n")[2] == said, "the answer comes right under the title"


def test_the_matrix_as_data_is_valid_and_says_what_the_records_say():
    import json

    import jsonschema
    from packaging.version import Version

    from scripts.audit.records import load_all
    from scripts.layout import REPO
    from scripts.report import matrix_data

    data = json.loads(REPO.matrix_data.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(matrix_data.SCHEMA_PATH.read_text())).validate(data)
    records = {o.flask: o for o in load_all(REPO.results)}
    assert [r["flask"] for r in data["releases"]] == sorted(records, key=Version)
    for entry in data["releases"]:
        record = records[entry["flask"]]
        assert (REPO.root / entry["record"]).exists() and (REPO.root / entry["page"]).exists()
        assert set(entry["modes"]) == set(record.modes)
        default = entry["modes"]["default"]
        assert (default["concurrent"], default["max_in_flight"]) == (
            record.modes["default"].concurrent,
            record.modes["default"].max_in_flight,
        )

# /// script
# requires-python = ">=3.11"
# dependencies = [
#   "nox>=2026.10",
#   "uv>=0.9",
#   "virtualenv>=20.15,<20.22",
#   "packaging>=24",
#   "pip>=23",
#   "requests>=2.31",
#   "jsonschema>=4.20",
#   "filelock>=3.12",
# ]
# [tool.nox]
# script-download-python = "never"
# ///
"""Does Flask's ``app.run()`` serve requests concurrently? One nox session per Flask release.

nox -s audit                  # observe every final release, render the report once, print the answer
nox -s "observe(1.0)"         # observe one release (nox -s render renders the report)
nox -s audit -j 2             # two releases at a time
nox -s audit -- --force       # re-observe where a cached observation exists
nox -s catalogue              # refresh reports/releases.json from the package index
nox -s grid                   # every release x every Python x Werkzeug lines
nox -s constraints            # for every release, the fewest upper bounds that make it serve today
nox -s introductions          # the Werkzeug release that first showed each refusal text, by bisection
nox -s regression             # new releases, and today's dependencies of the watched ones; fail if behaviour changed
nox -s docs                   # the static site of the pages (Sphinx, strict) in build/site/html/
nox -s servers                # the dev server next to waitress and gunicorn, under the same load
nox -s bench                  # time the audit (writes reports/bench.md)
"""

from __future__ import annotations

import ast
import functools
import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import nox

# The `nox` console script does not put the noxfile's folder on sys.path (`python -m nox` does).
sys.path.insert(0, str(Path(__file__).resolve().parent))

from scripts.audit import run as audit_run
from scripts.audit.harness import ProbeFault
from scripts.audit.plan import Plan, plan
from scripts.common.cli import OptionError
from scripts.common.evidence import Confirmations
from scripts.common.failures import redact
from scripts.common.jsonio import DataError
from scripts.common.processes import stop_on_sigterm
from scripts.layout import REPO
from scripts.packages import catalogue, environments, index
from scripts.packages.environments import Unavailable
from scripts.packages.interpreters import Interpreter, discover

# What one session alone needs is imported in it: under -j every session is a nox process of its own,
# which loads this file first, and an observe session should not pay for the report, the site or the alarm.

nox.needs_version = ">=2026.10"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
#: Failures that are not a release's own: the session fails with their one line and records nothing.
NOT_RECORDED = (DataError, OptionError, Unavailable, index.IndexUnavailable, audit_run.NotRecorded, ProbeFault)


def _option_uses(argv: list[str], short: tuple[str, ...], long: tuple[str, ...]) -> list[list[str]]:
    """Each use of one of nox's options in ``argv``, in order, with the values typed after it (``-j 2``, ``-j2``,
    ``--parallel=2``, ``-s a b``); the words after ``--`` are the sessions' own, never nox's."""
    uses, taking = list[list[str]](), False
    for word in argv[1:]:
        if word == "--":
            break
        flag, equals, value = word.partition("=")
        if word in short or word in long:
            uses.append([])
            taking = True
        elif equals and flag in long:
            uses.append([value])
            taking = False
        elif word[:2] in short and not word.startswith("--"):  # -j2, -sNAME: argparse takes that one value only
            uses.append([word[2:]])
            taking = False
        elif word.startswith("-"):
            taking = False
        elif taking:
            uses[-1].append(word)
    return uses


def _runs_sessions_in_children(argv: list[str]) -> bool:
    """Whether this nox process hands its sessions to child processes (``-j N``, N > 1), as read from ``argv``.

    Read wrongly, only speed suffers: a child that inherits no index asks pip itself.
    """
    if "--parallel-worker" in argv:
        return False
    uses = _option_uses(argv, ("-j",), ("--parallel",))
    if uses:
        return (uses[0] or [""])[0] != "1"
    return os.environ.get("NOX_PARALLEL", "1") != "1"


# Each child would otherwise start pip to learn the configured index (half a second per release).
if _runs_sessions_in_children(sys.argv):
    index.hand_down_configured_index()
# SIGTERM (nox -j stopping its workers, a CI timeout) unwinds like Ctrl-C: installers and probes stop with us.
stop_on_sigterm()
AUDIT_REQUIREMENTS = "requirements/audit.txt"
Options = TypeVar("Options")


def _catalogue() -> tuple[list[str], str]:
    """The audited releases, read from the stored catalogue only (no network, no interpreter asked)."""
    try:
        return [r.version for r in catalogue.audited(catalogue.load(REPO.releases))], ""
    except DataError as exc:
        return [], str(exc)


RELEASES, CATALOGUE_PROBLEM = _catalogue()
if CATALOGUE_PROBLEM:
    # `nox -l` would otherwise list one bare observe session and exit 0, as if all were well.
    print(f"nox > {CATALOGUE_PROBLEM}", file=sys.stderr)


def _log(session: nox.Session) -> Callable[[str], None]:
    """The session's log, with the credentials of any URL hidden."""
    return lambda line: session.log(redact(line))


def _options(session: nox.Session, parse: Callable[[list[str]], Options]) -> Options:
    """The session's options after ``--``; a bad one fails the session with the parser's message."""
    try:
        return parse(list(session.posargs))
    except OptionError as exc:
        session.error(redact(str(exc)))


def _confirmations(session: nox.Session, kind: str) -> Confirmations:
    """Where this machine keeps the keys its ``kind`` records were observed under (never in the records)."""
    return Confirmations(Path(session.cache_dir) / "confirmed" / kind)


@functools.cache
def _machine(cache: Path) -> list[Interpreter]:
    """This machine's interpreters, asked once per nox process (versions remembered in ``cache``)."""
    return discover(cache / "interpreters.json", lambda line: print(f"nox > {line}", file=sys.stderr))


def _plan(session: nox.Session, release: str) -> Plan:
    releases = {r.version: r for r in catalogue.load(REPO.releases)}
    return plan(releases[release], _machine(session.cache_dir))


def _named_sessions(argv: list[str]) -> set[str]:
    """The sessions named on nox's command line (``-s``, ``--session``…, else NOXSESSION), as typed."""
    uses = _option_uses(argv, ("-s", "-e"), ("--sessions", "--session"))
    return {name for names in uses for name in names} or set(filter(None, os.environ.get("NOXSESSION", "").split(",")))


def _as_nox_reads(name: str) -> str:
    """A session name as nox compares it: parsed as Python where it parses, so ``observe(0.1)`` and
    ``observe(0.10)`` read as the same number."""
    try:
        return ast.dump(ast.parse(name))
    except (SyntaxError, TypeError, ValueError):
        return name


def _shadowed(signature: str, named: set[str]) -> bool:
    """Whether nox would select ``signature`` only because a name given for another session reads as the same
    number: ``-s observe(0.1)`` selects Flask 0.10's session too, and so does the child nox -j starts for it."""
    return signature not in named and any(_as_nox_reads(name) == _as_nox_reads(signature) for name in named)


NAMED = _named_sessions(sys.argv)


def _per_release(function: Callable[[nox.Session, str], None]) -> Callable[..., None]:
    """One session per release of the catalogue, run side by side under -j.

    With no readable catalogue, one session that says how to make it: an empty parametrization
    would break every ``requires=`` that names the session. A release whose session only a name given for
    another would select (0.10 under ``-s observe(0.1)``) is left out, so each runs once and alone.
    """

    @functools.wraps(function)
    def session_function(session: nox.Session, release: str = "") -> None:
        if not release:
            session.error(CATALOGUE_PROBLEM)
        function(session, release)

    releases = [r for r in RELEASES if not _shadowed(f"{function.__name__}({r})", NAMED)]
    parametrized = (
        nox.parametrize("release", releases, ids=releases)(session_function) if releases else session_function
    )
    return nox.session(venv_backend="none", default=False, allow_parallel=True)(parametrized)


# -- the audit ------------------------------------------------------------------------------------


@_per_release
def observe(session: nox.Session, release: str) -> None:
    """Observe one Flask release in every mode and write its record (nox -s audit renders the report)."""
    options = _options(session, audit_run.parse_options)
    location = session.env_dir.resolve()
    try:
        chosen = _plan(session, release)
        hit = None if options.force else audit_run.cached(chosen, options.output.results, location, options)
        if hit is not None:
            session.log(f"Flask {release}: cached observation of {hit.observed_at} ({hit.status}); --force re-observes")
            return
        observation = audit_run.run(chosen, location, options, _log(session))
    except NOT_RECORDED as exc:
        session.error(redact(str(exc)))
    session.log(f"Flask {release}: {observation.status} {observation.detail or ''}".rstrip())


@nox.session(venv_backend="none", default=False, requires=["observe"])
def audit(session: nox.Session) -> None:
    """Observe every Flask release, render the report once, and print the answer."""
    from scripts.audit.records import load_all
    from scripts.report import pages
    from scripts.report.summary import lead, summary

    options = _options(session, audit_run.parse_options)
    try:
        written = pages.write_report(options.output)
        releases = catalogue.audited(catalogue.load(REPO.releases))
        observations = load_all(options.output.results)
    except NOT_RECORDED as exc:
        session.error(redact(str(exc)))
    for line in [lead(releases, observations), *summary(releases, observations)]:
        session.log(line)
    session.log("the report: " + ", ".join(str(path) for path in written[:2]))
    news = options.output.news
    if news.exists():
        # A changed verdict is news: said last, after the answer, each confirmed in a fresh environment.
        for line in news.read_text(encoding="utf-8").splitlines():
            session.warn(f"CHANGED (confirmed in a fresh environment): {line}")
        news.unlink()


@nox.session(venv_backend="none", default=False)
def check(session: nox.Session) -> None:
    """Observe your own environment's Flask in every mode, changing nothing: nox -s check -- PYTHON."""
    from scripts.audit import check as checking

    options = _options(session, checking.parse_options)
    try:
        observation = checking.observe(options, _log(session))
        if options.json is not None:
            checking.write(observation, options.json)
    except (checking.CheckFailed, *NOT_RECORDED) as exc:
        session.error(redact(str(exc)))
    for line in checking.table(observation):
        print(line)
    if options.json is not None:
        session.log(f"wrote {options.json}")


@nox.session(venv_backend="none", default=False)
def render(session: nox.Session) -> None:
    """Render reports/ and docs/ pages from the observation, grid, server and benchmark records."""
    from scripts.ci import mutation
    from scripts.report import pages

    # The audit's options: what follows -- goes to every session, and render runs beside observe sessions.
    layout = _options(session, audit_run.parse_options).output
    try:
        extra = {}
        if layout.mutation_data.exists():
            extra[layout.mutation_page] = mutation.render(mutation.MutationRun.read(layout.mutation_data))
        written = pages.write_all(layout, extra)
    except NOT_RECORDED as exc:
        session.error(redact(str(exc)))
    for path in written:
        session.log(f"wrote {path}")


@nox.session(default=False)
def docs(session: nox.Session) -> None:
    """Build the static site of the committed pages with Sphinx, strictly, into build/site/html/."""
    from scripts.site import build as site

    session.install("-r", _toolchain("docs"))
    python = environments.venv_python(Path(session.virtualenv.location))
    try:
        home = site.build(REPO, site.Site(), python, _log(session))
    except site.SiteBroken as exc:
        session.error(str(exc))
    session.log(f"the site: {home}")


@nox.session(name="catalogue", venv_backend="none", default=False)
def refresh_catalogue(session: nox.Session) -> None:
    """Refresh reports/releases.json and werkzeug-lines.json from the package index (--index-url URL)."""
    options = _options(session, catalogue.parse_options)
    try:
        releases, lines = catalogue.refresh(options, REPO)
    except (index.IndexUnavailable, catalogue.CatalogueShrinks) as exc:
        session.error(f"catalogue not refreshed: {exc}")
    session.log(f"{releases} Flask releases listed, {lines} Werkzeug lines")


# -- the compatibility grid ----------------------------------------------------------------------


@_per_release
def cells(session: nox.Session, release: str) -> None:
    """Observe one Flask release on every Python and Werkzeug line (nox -s grid renders the pages)."""
    from scripts.bench import records as bench_records
    from scripts.grid import run as grid_run

    options = _options(session, grid_run.parse_options)
    try:
        releases, found = catalogue.load(REPO.releases), _machine(session.cache_dir)
        # Werkzeug cells are found by the run-it-today search: they share its attempts and bisections.
        searches = Path(session.cache_dir) / "constraints"
        before = bench_records.children_cpu()
        grid_run.run(
            release, releases, found, options, searches, _log(session), session.env_dir.resolve(),
            _confirmations(session, "grid"),
        )  # fmt: skip
        if bench_records.CHILDREN_COUNTED:
            # What the cells' own processes used, apart from this process's work: the bench's floor is made of it.
            session.log(bench_records.cells_cpu_line(bench_records.children_cpu() - before))
    except NOT_RECORDED as exc:
        session.error(redact(str(exc)))


@nox.session(venv_backend="none", default=False, requires=["cells"])
def grid(session: nox.Session) -> None:
    """Observe every release's grid cells, then render the grid pages."""
    from scripts.grid import run as grid_run
    from scripts.report import pages

    options = _options(session, grid_run.parse_options)
    for path in pages.write_grid(options.output):
        session.log(f"wrote {path}")


# -- how to run each release today ----------------------------------------------------------------


@_per_release
def today(session: nox.Session, release: str) -> None:
    """Find the fewest upper bounds that make one Flask release serve today (nox -s constraints renders)."""
    from scripts.constraints import run as constraints_run

    options = _options(session, constraints_run.parse_options)
    try:
        found = _machine(session.cache_dir)
        releases = catalogue.load(REPO.releases)
        chosen = next(r for r in releases if r.version == release)
        confirmations = _confirmations(session, "constraints")
        hit = constraints_run.cached(chosen, found, options, confirmations)
        if hit is not None:
            session.log(
                f"Flask {release}: found today, first found {(hit.observed_at or '?')[:10]}; --force searches again"
            )
            return
        cache = Path(session.cache_dir) / "constraints"
        record = constraints_run.run(release, releases, found, options, cache, confirmations, _log(session))
    except NOT_RECORDED as exc:
        session.error(redact(str(exc)))
    verdict = f"Python {record.python}: {', '.join(record.requirements)}" if record.verified else record.reason
    session.log(f"Flask {release}: {verdict}")


@nox.session(venv_backend="none", default=False, requires=["today"])
def constraints(session: nox.Session) -> None:
    """For every release, find how to run it today, then write reports/constraints/ and its page."""
    from scripts.constraints import run as constraints_run
    from scripts.report import pages

    options = _options(session, constraints_run.parse_options)
    try:
        written = pages.write_constraints(options.output)
    except NOT_RECORDED as exc:
        session.error(redact(str(exc)))
    session.log(f"wrote {len(written)} files under {options.output.constraints}")


# -- which Werkzeug release introduced what -----------------------------------------------------------


@nox.session(venv_backend="none", default=False)
def introductions(session: nox.Session) -> None:
    """Bisect Werkzeug's releases for the first to show each text the report attributes to Werkzeug."""
    from scripts.audit.records import load_all
    from scripts.grid.cells import relevant
    from scripts.introductions import run as introductions_run
    from scripts.report import pages

    options = _options(session, introductions_run.parse_options)
    try:
        observations = load_all(options.output.results)
        lines = relevant(catalogue.load_lines(REPO.werkzeug_lines))
        cache = Path(session.cache_dir) / "introductions"
        found = introductions_run.run(
            observations, _machine(session.cache_dir), lines, options, cache, _confirmations(session, "introductions"),
            _log(session),
        )  # fmt: skip
        written = pages.write_report(options.output)
    except NOT_RECORDED as exc:
        session.error(redact(str(exc)))
    if found is None:
        session.log("introductions found before under the same records and code; --force asks again")
    else:
        for answer in found.introductions:
            session.log(f"{answer.shows}: first {answer.first} (exact: {answer.exact}), {answer.trials} trials")
    session.log("the report: " + ", ".join(str(path) for path in written[:2]))


# -- the alarm, the servers, the benchmark -------------------------------------------------------


@nox.session(venv_backend="none", default=False)
def regression(session: nox.Session) -> None:
    """Audit new releases, and the watched ones with today's dependencies; fail if behaviour changed."""
    from scripts.ci import regression as alarm
    from scripts.ci.verdict import SAME

    outcome = alarm.run(list(session.posargs), _log(session))
    if outcome.code != SAME:
        session.error(outcome.last_line)
    session.log(outcome.last_line)


@nox.session(default=False)
def servers(session: nox.Session) -> None:
    """Serve one app with the dev server, waitress and gunicorn; load each the same way (--rounds N …)."""
    from scripts.report import pages
    from scripts.servers import run as servers_run

    options = _options(session, servers_run.parse_options)
    group = nox.project.dependency_groups(PYPROJECT, "servers")
    # The index goes in the environment, not on the command line nox prints: its URL may hold credentials.
    url = index.configured_index_url(options.index_url)
    session.install(*group, env={"UV_DEFAULT_INDEX": url, "PIP_INDEX_URL": url})
    python = environments.venv_python(Path(session.virtualenv.location))
    try:
        measured = servers_run.run(python, options.settings, _log(session))
    except servers_run.ServersFault as exc:
        session.error(str(exc))
    measured.write(options.output.servers_data)
    session.log(f"wrote {options.output.servers_data}")
    pages.write_report(options.output)


@nox.session(venv_backend="none", default=False)
def bench(session: nox.Session) -> None:
    """Time the audit cold, warm, cached and for one release, and uv against venv + pip (-- --releases all)."""
    from scripts.bench import run as bench_run
    from scripts.report import pages
    from scripts.report.bench import table

    options, layout = _options(session, lambda args: bench_run.parse(args, session.cache_dir / "interpreters.json"))
    try:
        measured = bench_run.main(options, _log(session))
    except bench_run.BenchFailed as exc:
        session.error(str(exc))
    for path in pages.write_bench(layout, measured):
        session.log(f"wrote {path}")
    session.log("\n" + table(measured))


# -- the project's own checks --------------------------------------------------------------------


#: The project's own toolchains, each compiled from the dependency group of its name into requirements/NAME.txt:
#: pinned, so a new release of Sphinx or mypy changes nothing until an update bot's pull request passes CI.
TOOLCHAINS = ("lint", "docs", "tests")


def _toolchain(group: str) -> str:
    return f"requirements/{group}.txt"


@nox.session(venv_backend="none", default=False)
def requirements(session: nox.Session) -> None:
    """Compile requirements/lint.txt, docs.txt and tests.txt from pyproject.toml's groups (pinned, every platform)."""
    oldest = str(PYPROJECT["project"]["requires-python"]).removeprefix(">=")
    # The index goes in the environment, not on the command line nox prints: its URL may hold credentials.
    url = index.configured_index_url()
    for group in TOOLCHAINS:
        session.run(
            *environments.uv_command(), "pip", "compile", "--quiet", "--universal", "--python-version", oldest,
            "--group", f"pyproject.toml:{group}", "-o", _toolchain(group), env={"UV_DEFAULT_INDEX": url},
        )  # fmt: skip


@nox.session(default=False)
def mutants(session: nox.Session) -> None:
    """Mutation-test the core with mutmut and write reports/mutation.md (about 15 minutes on two cores)."""
    from scripts.ci import mutation
    from scripts.common.clock import stamp
    from scripts.common.jsonio import write_text_atomic

    mutmut = nox.project.dependency_groups(PYPROJECT, "mutants")
    session.install("-r", AUDIT_REQUIREMENTS, "-r", _toolchain("tests"), *mutmut)
    # A fresh run: mutmut keeps results between runs, and results of other code must not mix in.
    shutil.rmtree(REPO.root / "mutants", ignore_errors=True)
    started = time.monotonic()
    session.run("mutmut", "run", "--max-children", str(os.cpu_count() or 1))
    version = str(session.run("mutmut", "--version", silent=True) or "").strip().rsplit(" ", 1)[-1]
    reasons = mutation.reasons(REPO.root / "tests" / "mutation-survivors.toml")
    found = mutation.read(REPO.root / "mutants", reasons, stamp(), version, time.monotonic() - started)
    found.write(REPO.mutation_data)
    write_text_atomic(REPO.mutation_page, mutation.render(found))
    session.log(f"{found.score:.1%} of the core's mutants killed; wrote {REPO.mutation_page}")
    if found.score < mutation.TARGET or found.unexplained:
        names = ", ".join(s.name for s in found.unexplained[:5])
        session.error(
            f"mutation score {found.score:.1%} (target {mutation.TARGET:.0%}); {len(found.unexplained)} survivors "
            f"without a reason ({names}): add tests, or reasons in tests/mutation-survivors.toml"
        )


#: The systems the workflows' runners use (sys.platform's names): the code is type-checked as each sees it.
PLATFORMS = ("linux", "darwin", "win32")


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff, and mypy (strict) as Linux, macOS and Windows each see the code."""
    session.install("-r", AUDIT_REQUIREMENTS, "-r", _toolchain("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    for platform in PLATFORMS:
        session.run("mypy", "--platform", platform)


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass pytest options after --, e.g. -- -m 'not slow')."""
    session.install("-r", AUDIT_REQUIREMENTS, "-r", _toolchain("tests"))
    session.run("pytest", *session.posargs)


if __name__ == "__main__":
    nox.main()

"""Does Flask's ``app.run()`` serve requests concurrently? One nox session per Flask release.

nox -s audit                  # every final release, then the report
nox -s "audit(1.0)"           # one release
nox -s audit -j 2             # two releases at a time
nox -s audit -- --force       # re-observe where a cached observation exists
nox -s catalogue              # refresh reports/releases.json from the package index
nox -s regression             # audit releases newer than the baseline; fail if behaviour changed
nox -s grid                   # every release x every Python x Werkzeug lines
nox -s servers                # the dev server next to waitress and gunicorn, under the same load
nox -s bench                  # time the audit (writes reports/bench.md)
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from scripts.audit import run as auditing  # noqa: E402
from scripts.bench import run as bench_  # noqa: E402
from scripts.ci import regression as regression_  # noqa: E402
from scripts.grid import run as grid_  # noqa: E402
from scripts.packages import catalogue as catalogue_  # noqa: E402
from scripts.packages import environments as environment  # noqa: E402
from scripts.packages import index, interpreters  # noqa: E402
from scripts.report import pages as report  # noqa: E402
from scripts.servers import run as servers_  # noqa: E402

nox.needs_version = ">=2026.10"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

REQUIREMENTS = ROOT / "requirements"
PLANS = {plan.version: plan for plan in auditing.plans()}


def _nox_python(plan: auditing.Plan) -> str | bool:
    """nox builds uv environments; Python 2.7 ones (and missing interpreters) are handled by the audit."""
    return plan.interpreter.path if plan.interpreter and plan.installer == "uv" else False


# Audit sessions share nothing but the report, which is rendered under a lock: they may run in parallel
# (nox -s audit -j N). Their environments are kept between runs; a filled one is not filled again.
@nox.session(venv_backend="uv", default=False, allow_parallel=True, reuse_venv=True)
@nox.parametrize(
    "python,release",
    [nox.param(_nox_python(plan), version, id=version) for version, plan in PLANS.items()],
)
def audit(session: nox.Session, release: str) -> None:
    """Audit one Flask release under every mode, record the observation, re-render the report."""
    options = auditing.options_from_args(session.posargs)
    plan = PLANS[release]
    # nox makes the uv environments; the Python 2.7 ones are made by the audit in the session's own folder.
    location = Path(session.virtualenv.location if session.python else session.env_dir).resolve()
    hit = None if options.force else auditing.cached(plan, auditing.results_dir(options.output), location)
    if hit is not None:
        session.log(f"Flask {release}: cached observation of {hit.observed_at} ({hit.status}); --force re-observes")
    else:
        observation = auditing.run(plan, location, options, session.log)
        session.log(f"Flask {release}: {observation.status} {observation.detail or ''}".rstrip())
    report.write(auditing.RELEASES, options.output)


@nox.session(venv_backend="none", default=False, allow_parallel=True)
@nox.parametrize("release", list(PLANS), ids=list(PLANS))
def grid(session: nox.Session, release: str) -> None:
    """Observe one Flask release on every Python and Werkzeug line, then re-render the grid."""
    options = grid_.options_from_args(session.posargs)
    releases = catalogue_.load(auditing.RELEASES)
    record = grid_.record_path(options.records, release)
    before = record.read_bytes() if record.exists() else None
    grid_.run(release, releases, interpreters.discover(auditing.INTERPRETER_CACHE), options, session.log)
    # Re-rendered by whichever session changed a record last; a rerun that observed nothing renders nothing.
    if before != record.read_bytes() or not (options.output / "reports" / "grid.md").exists():
        report.write_grid(options.output)


@nox.session(venv_backend="none", default=False)
def catalogue(session: nox.Session) -> None:
    """Refresh reports/releases.json and werkzeug-lines.json from the package index (--index-url URL)."""
    count = catalogue_.refresh(session.posargs, auditing.RELEASES)
    lines = grid_.werkzeug_lines(
        grid_.Options().werkzeug_lines, grid_.options_from_args(session.posargs).index_url, refresh=True
    )
    session.log(f"{count} Flask releases listed, {len(lines)} Werkzeug lines")


@nox.session(venv_backend="none", default=False)
def regression(session: nox.Session) -> None:
    """Audit Flask releases newer than the baseline and fail if their behaviour changed."""
    outcome = regression_.run(session.posargs, session.log)
    if outcome.code != regression_.SAME:
        session.error(outcome.last_line)
    session.log(outcome.last_line)


@nox.session(default=False)
def servers(session: nox.Session) -> None:
    """Serve one app with the dev server, waitress and gunicorn; load each the same way; report (--rounds N …)."""
    settings, output, index_url = servers_.options_from_args(session.posargs)
    requirements = str(REQUIREMENTS / "servers.txt")
    session.install("--index-url", index.configured_index_url(index_url), "-r", requirements)
    run = servers_.run(environment.venv_python(Path(session.virtualenv.location)), settings, session.log)
    session.log(f"wrote {servers_.save(run, output)}")
    report.write(auditing.RELEASES, output)


@nox.session(venv_backend="none", default=False)
def bench(session: nox.Session) -> None:
    """Time the audit cold, warm, cached and for one release, and uv against venv + pip (-- --releases all)."""
    bench_.main(session.posargs, session.log)


@nox.session(venv_backend="none")
def render(session: nox.Session) -> None:
    """Render reports/ and docs/ pages from the observation, grid and server records."""
    for path in [*report.write(auditing.RELEASES, ROOT), *report.write_grid(ROOT)]:
        session.log(f"wrote {path.relative_to(ROOT)}")


@nox.session
def lint(session: nox.Session) -> None:
    """Run ruff on the project."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite (pass pytest options after --, e.g. -- -m 'not slow')."""
    session.install("-r", str(REQUIREMENTS / "tests.txt"))
    session.run("pytest", *session.posargs)


if __name__ == "__main__":
    nox.main()

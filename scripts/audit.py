"""One release through the pipeline: environment, probe runs, observation record.

Nothing here knows about nox: the noxfile (or a test) hands over the plan, the
environment's location and a log function, and gets the written record back.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from scripts import catalogue, environment, harness, index, interpreters, pins, records
from scripts.environment import InstallRequest, SetupFailed
from scripts.pins import Plan, cutoff
from scripts.records import MODES, ModeObservation, Observation

ROOT = Path(__file__).resolve().parent.parent
RELEASES = ROOT / "reports" / "releases.json"
#: A change to any of these can change what is observed, so they key the cache.
OBSERVING_SOURCES = (
    ROOT / "probes" / "app.py",
    ROOT / "scripts" / "harness.py",
    ROOT / "scripts" / "environment.py",
    ROOT / "scripts" / "pins.py",
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Options:
    """What the user asked for on the command line (after ``--``)."""

    #: The index given with --index-url; None means the user's uv/pip configuration (looked up when needed).
    index_url: str | None = None
    force: bool = False
    #: Where reports/ and docs/ are written; the repository itself unless --output says otherwise.
    output: Path = ROOT
    modes: tuple[str, ...] = MODES
    settings: harness.Settings = field(default_factory=harness.Settings)


def cache_key(plan: Plan) -> str:
    """Everything known before installing that decides the result: release, interpreter, era, sources."""
    digest = hashlib.sha256()
    interpreter = plan.interpreter.version_text if plan.interpreter else "none"
    era = cutoff(plan.release)
    digest.update(f"{plan.version}|{interpreter}|{plan.installer}|{era}".encode())
    for source in OBSERVING_SOURCES:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def results_dir(output: Path) -> Path:
    return output / "reports" / "results"


def cached(plan: Plan, results: Path) -> Observation | None:
    """The stored observation when it was made under the same key, else None."""
    path = records.record_path(results, plan.version)
    if not path.exists():
        return None
    observation = records.load(path)
    return observation if observation.cache_key == cache_key(plan) else None


def _observation(plan: Plan, status: str, detail: str | None = None, **fields: object) -> Observation:
    return Observation(
        flask=plan.version,
        released=plan.release.released,
        status=status,
        detail=detail,
        observed_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cache_key=cache_key(plan),
        platform=sys.platform,
        **fields,  # type: ignore[arg-type]
    )


def not_runnable(plan: Plan) -> Observation | None:
    """The record for a release that cannot be run here at all, or None if it can."""
    if not plan.release.installable:
        return _observation(plan, "no-distribution", "the index has no installable file for this release")
    if plan.interpreter is None:
        return _observation(plan, "no-interpreter", f"not run: needs {plan.needs}, not found")
    return None


def _prepare(plan: Plan, location: Path, options: Options, log: Log) -> tuple[Path, dict[str, object]]:
    """Create (if needed) and fill the environment; return its python and how it was built."""
    assert plan.interpreter is not None
    era = cutoff(plan.release)
    index_url = index.configured_index_url(options.index_url)
    request = InstallRequest(f"flask=={plan.version}", index_url, era, datetime.now(UTC))
    python = environment.venv_python(location)
    if plan.installer == "pip":
        environment.create_virtualenv(plan.interpreter.path, location, log)
        changes = environment.pip_install(python, request, log)
    else:
        if not python.exists():
            environment.create_uv_venv(plan.interpreter.path, location, log)
        changes = environment.uv_install(python, request, log)
    environment.check_import(python)
    built = {
        "installer": plan.installer,
        # None: the index gives no upload dates (a local PEP 503 index), so its newest files were taken.
        "cutoff": environment.utc(era) if era else None,
        "requirements": [request.requirement],
        "changes": changes,
        "interpreter_rule": plan.rule,
    }
    return python, built


def describe(seen: ModeObservation) -> str:
    """One log line for a mode's observation."""
    if seen.outcome != "served":
        return f"{seen.outcome}: {seen.error}"
    return f"{seen.max_in_flight} of {seen.sent} held requests in flight at once ({seen.workers})"


def status_from_default(default: ModeObservation | None) -> tuple[str, str | None]:
    """The release status follows plain ``app.run()``: the mode every user gets."""
    if default is None or default.outcome == "served":
        return "ok", None
    return ("timeout" if default.outcome == "timeout" else "server-failed"), default.error


def run(plan: Plan, location: Path, options: Options, log: Log = print) -> Observation:
    """Audit one release and write its record atomically; a failure is recorded, not raised."""
    observation = observe(plan, location, options, log)
    records.save(observation, results_dir(options.output))
    return observation


def observe(plan: Plan, location: Path, options: Options, log: Log = print) -> Observation:
    """Audit one release without writing anything; a failure is part of the observation, not raised."""
    observation = not_runnable(plan)
    if observation is not None:
        return observation
    assert plan.interpreter is not None
    try:
        python, built = _prepare(plan, location, options, log)
    except SetupFailed as exc:
        log(f"{exc.status}: {exc.detail}")
        return _observation(plan, exc.status, exc.detail, python=plan.interpreter.version_text)
    modes: dict[str, ModeObservation] = {}
    for mode in options.modes:
        if mode == harness.CLI_MODE and not harness.has_cli(python):
            continue
        modes[mode] = harness.observe_mode(python, mode, options.settings)
        log(f"{mode}: {describe(modes[mode])}")
    status, detail = status_from_default(modes.get("default"))
    return _observation(
        plan,
        status,
        detail,
        python=environment.interpreter_version(python),
        packages=environment.installed_packages(python),
        environment=built,
        modes=modes,
    )


def plans(releases_path: Path = RELEASES) -> list[Plan]:
    """One plan per audited release, from the stored catalogue and this machine's interpreters."""
    found = interpreters.discover()
    return [pins.plan(release, found) for release in catalogue.audited(catalogue.load(releases_path))]


def options_from_args(args: list[str]) -> Options:
    """Parse the audit's own options (what follows ``--`` on the nox command line)."""
    parser = argparse.ArgumentParser(prog="nox -s audit --", description="Options of the Flask audit.")
    parser.add_argument("--force", action="store_true", help="re-observe even where a cached observation exists")
    parser.add_argument("--index-url", help="package index (Simple API); default: your uv/pip configuration")
    parser.add_argument("--output", type=Path, default=ROOT, help="write reports/ and docs/ under this folder")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="modes to observe")
    parser.add_argument(
        "--negative-window",
        type=float,
        default=harness.Settings.negative_window,
        help="seconds to wait for another held request before concluding the server serialises",
    )
    parsed = parser.parse_args(args)
    return Options(
        index_url=parsed.index_url,
        force=parsed.force,
        output=parsed.output.resolve(),
        modes=tuple(m for m in MODES if m in parsed.modes),
        settings=harness.Settings(negative_window=parsed.negative_window),
    )

"""One release through the pipeline: environment, probe runs, observation record.

Nothing here knows about nox: the noxfile (or a test) hands over the plan, the
environment's location and a log function, and gets the written record back.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from scripts.audit import harness, records
from scripts.audit.records import MODES, ModeObservation, Observation
from scripts.packages import catalogue, index, interpreters
from scripts.packages import environments as environment
from scripts.packages import era as pins
from scripts.packages.environments import InstallRequest, SetupFailed
from scripts.packages.era import Plan, cutoff

ROOT = Path(__file__).resolve().parent.parent.parent
RELEASES = ROOT / "reports" / "releases.json"
#: A change to any of these can change what is observed, so they key the cache (with every probe).
OBSERVING_SOURCES = (
    ROOT / "scripts" / "audit" / "harness.py",
    ROOT / "scripts" / "packages" / "environments.py",
    ROOT / "scripts" / "packages" / "era.py",
    ROOT / "scripts" / "audit" / "run.py",
)
PROBES = ROOT / "probes"
#: Interpreter versions remembered between nox start-ups (see interpreters.discover).
INTERPRETER_CACHE = ROOT / ".nox" / ".cache" / "interpreters.json"

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
    #: How many modes of one release are observed at once (each its own probe, port and control socket).
    mode_jobs: int = 3


def observing_sources() -> list[Path]:
    return [*OBSERVING_SOURCES, *sorted(PROBES.glob("*.py"))]


def plan_key(plan: Plan) -> str:
    """What is known before installing: release, interpreter version, installer, era, observing sources."""
    digest = hashlib.sha256()
    interpreter = plan.interpreter.version_text if plan.interpreter else "none"
    era = cutoff(plan.release)
    digest.update(f"{plan.version}|{interpreter}|{plan.installer}|{era}".encode())
    for source in observing_sources():
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    return digest.hexdigest()[:16]


def environment_key(held: environment.Inventory) -> str:
    """What the environment holds: its exact Python and every installed distribution (tooling included)."""
    listing = [f"python=={held.python}", *(f"{name}=={version}" for name, version in held.distributions.items())]
    return hashlib.sha256("\n".join(listing).encode()).hexdigest()[:16]


NOTHING_INSTALLED = environment.Inventory(None, {})


def cache_key(plan: Plan, held: environment.Inventory = NOTHING_INSTALLED) -> str:
    """``<plan key>-<environment key>``: a record is reused only when both parts match."""
    return f"{plan_key(plan)}-{environment_key(held)}"


def results_dir(output: Path) -> Path:
    return output / "reports" / "results"


def cached(plan: Plan, results: Path, location: Path | None = None) -> Observation | None:
    """The stored observation when it was made under the same key, else None.

    With ``location`` (the release's environment) the whole key is checked against what the
    environment holds now, which costs one interpreter start; without it only the plan part is,
    and the record's own package list is taken on trust.
    """
    path = records.record_path(results, plan.version)
    if not path.exists():
        return None
    observation = records.load(path)
    stored = observation.cache_key or ""
    if location is None:
        return observation if stored.split("-")[0] == plan_key(plan) else None
    runnable = not_runnable(plan) is None
    held = environment.inventory(environment.venv_python(location)) if runnable else NOTHING_INSTALLED
    return observation if stored == cache_key(plan, held) else None


def _observation(
    plan: Plan,
    status: str,
    detail: str | None = None,
    held: environment.Inventory = NOTHING_INSTALLED,
    **fields: object,
) -> Observation:
    return Observation(
        flask=plan.version,
        released=plan.release.released,
        status=status,
        detail=detail,
        observed_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        cache_key=cache_key(plan, held),
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
    python = environment.venv_python(location)
    # No era where the index gives no upload dates (a local PEP 503 index): its newest files are taken.
    era_text = environment.utc(era) if era else None
    wanted = environment.Build(plan.installer, plan.interpreter.path, f"flask=={plan.version}", era_text)
    previous = environment.recorded_build(location)
    if python.exists() and previous is not None and previous.same_request(wanted):
        log(f"reusing the environment filled for {wanted.requirement} ({location})")
        changes = previous.changes
    else:
        changes = _fill(plan, location, options, wanted, log)
    built = {
        "installer": plan.installer,
        "cutoff": wanted.cutoff,
        "requirements": [wanted.requirement],
        "changes": changes,
        "interpreter_rule": plan.rule,
    }
    return python, built


def _fill(plan: Plan, location: Path, options: Options, wanted: environment.Build, log: Log) -> list[str]:
    """Install the release into the environment (creating it if needed) and stamp it when it imports."""
    assert plan.interpreter is not None
    index_url = index.configured_index_url(options.index_url)
    request = InstallRequest(wanted.requirement, index_url, cutoff(plan.release), datetime.now(UTC))
    python = environment.venv_python(location)
    if location.exists():
        environment.forget_build(location)
    if plan.installer == "pip":
        environment.create_virtualenv(plan.interpreter.path, location, log)
        changes = environment.pip_install(python, request, log)
    else:
        if not python.exists():
            environment.create_uv_venv(plan.interpreter.path, location, log)
        changes = environment.uv_install(python, request, log)
    environment.check_import(python)
    environment.record_build(location, replace(wanted, index_url=index_url, changes=changes))
    return changes


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
    """Audit one release and write its record atomically; a failure is recorded, not raised.

    A machine without the release's interpreter does not overwrite an observation made on one that had it.
    """
    observation = observe(plan, location, options, log)
    path = records.record_path(results_dir(options.output), plan.version)
    if observation.status == "no-interpreter" and path.exists():
        kept = records.load(path)
        if kept.status != "no-interpreter":
            log(f"{observation.detail}; kept the observation of {kept.observed_at} ({kept.status})")
            return kept
    records.save(observation, results_dir(options.output))
    return observation


def observe(plan: Plan, location: Path, options: Options, log: Log = print) -> Observation:
    """Audit one release without writing anything; a failure is part of the observation, not raised."""
    observation = not_runnable(plan)
    if observation is not None:
        return observation
    assert plan.interpreter is not None
    started = time.monotonic()
    try:
        python, built = _prepare(plan, location, options, log)
    except SetupFailed as exc:
        log(f"{exc.status}: {exc.detail}")
        # Keyed on nothing installed, which an existing environment never matches: the next run tries
        # again, since the cause (the network, the index) may have gone away.
        return _observation(plan, exc.status, exc.detail, python=plan.interpreter.version_text)
    ready = time.monotonic()
    modes = observe_modes(python, options)
    for mode, seen in modes.items():
        log(f"{mode}: {describe(seen)}")
    log(f"environment ready in {ready - started:.2f}s, {len(modes)} modes observed in {time.monotonic() - ready:.2f}s")
    status, detail = status_from_default(modes.get("default"))
    held = environment.inventory(python)
    return _observation(
        plan,
        status,
        detail,
        held,
        python=held.python,
        packages=held.packages,
        environment=built,
        modes=modes,
    )


def observe_modes(python: Path, options: Options) -> dict[str, ModeObservation]:
    """Every requested mode the environment supports, ``options.mode_jobs`` probes at a time, in mode order.

    Modes share nothing (each probe gets its own free port and control socket), so running them
    side by side overlaps their start-up and their negative windows.
    """
    wanted = [m for m in options.modes if m != harness.CLI_MODE or harness.has_cli(python)]
    with ThreadPoolExecutor(max_workers=max(1, options.mode_jobs), thread_name_prefix="mode") as pool:
        seen = list(pool.map(lambda mode: harness.observe_mode(python, mode, options.settings), wanted))
    return dict(zip(wanted, seen, strict=True))


def plans(releases_path: Path = RELEASES) -> list[Plan]:
    """One plan per audited release, from the stored catalogue and this machine's interpreters."""
    found = interpreters.discover(INTERPRETER_CACHE)
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
    parser.add_argument(
        "--mode-jobs",
        type=int,
        default=Options.mode_jobs,
        help="how many modes of one release to observe at once (default %(default)s)",
    )
    parsed = parser.parse_args(args)
    return Options(
        index_url=parsed.index_url,
        force=parsed.force,
        output=parsed.output.resolve(),
        modes=tuple(m for m in MODES if m in parsed.modes),
        settings=harness.Settings(negative_window=parsed.negative_window),
        mode_jobs=parsed.mode_jobs,
    )

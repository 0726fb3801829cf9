"""One release through the pipeline: environment, probe runs, observation record.

Nothing here knows about nox: the noxfile (or a test, or the regression alarm) hands over the
plan, the environment's location and a log function, and gets the observation back.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from scripts.audit import cache, harness
from scripts.audit.plan import Plan
from scripts.audit.probe import has_cli
from scripts.audit.records import (
    CLI_MODE,
    MODES,
    Build,
    EarlierSchema,
    Mode,
    ModeObservation,
    Observation,
    Status,
    behaviour,
    load,
    save,
)
from scripts.common import cli
from scripts.common.clock import now, stamp
from scripts.layout import REPO, Layout, release_file
from scripts.packages import environments, index
from scripts.packages.environments import InstallRequest, Inventory, SetupFailed
from scripts.packages.era import cutoff

__all__ = ["Options", "cached", "not_runnable", "observe", "options_parser", "run"]

Log = Callable[[str], None]
#: The probe's /hold gives up on the harness after this long (probes/app.py, HOLD_SECONDS).
PROBE_HOLD_SECONDS = 30.0


@dataclass(frozen=True)
class Options:
    """What the user asked for on the command line (after ``--``)."""

    #: The index given with --index-url; None means the user's uv/pip configuration (looked up when needed).
    index_url: str | None = None
    force: bool = False
    #: Where reports/ and docs/ are written; the repository itself unless --output says otherwise.
    output: Layout = REPO
    modes: tuple[Mode, ...] = MODES
    settings: harness.Settings = field(default_factory=harness.Settings)
    #: How many modes of one release are observed at once (each its own probe, port and control socket).
    mode_jobs: int = 3


def options_parser() -> cli.Parser:
    parser = cli.parser(
        "nox -s audit --",
        "Options of the Flask audit.",
        [cli.add_index_url, lambda p: cli.add_output(p, REPO.root), lambda p: cli.add_force(p, "releases")],
    )
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="modes to observe")
    parser.add_argument(
        "--negative-window",
        type=cli.bounded_float(
            0.0, 10.0, f"it must end well before the probe stops holding, after {PROBE_HOLD_SECONDS:g}s"
        ),
        default=harness.Settings.negative_window,
        metavar="SECONDS",
        help="how long to wait for another held request before concluding the server serialises (default %(default)s)",
    )
    parser.add_argument(
        "--mode-jobs",
        type=cli.positive_int,
        default=Options.mode_jobs,
        metavar="N",
        help="how many modes of one release to observe at once (default %(default)s)",
    )
    return parser


def parse_options(args: list[str]) -> Options:
    """The audit's options from what follows ``--``; raises cli.OptionError naming a bad one."""
    parsed: argparse.Namespace = options_parser().parse_args(args)
    return Options(
        index_url=parsed.index_url,
        force=parsed.force,
        output=Layout(parsed.output),
        modes=tuple(m for m in MODES if m in parsed.modes),
        settings=harness.Settings(negative_window=parsed.negative_window),
        mode_jobs=parsed.mode_jobs,
    )


def _observation(
    plan: Plan,
    status: Status,
    detail: str | None = None,
    held: Inventory = cache.NOTHING_INSTALLED,
    settings: harness.Settings = harness.DEFAULT_SETTINGS,
    **fields: object,
) -> Observation:
    return Observation(
        flask=plan.version,
        released=plan.release.released,
        status=status,
        detail=detail,
        observed_at=stamp(),
        cache_key=cache.cache_key(plan, held, settings),
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


def cached(plan: Plan, results: Path, location: Path | None = None, options: Options = Options()) -> Observation | None:
    """The stored observation when it was made under the same key, else None.

    With ``location`` (the release's environment) the whole key is checked against what the
    environment holds now, which costs one interpreter start; without it only the plan part is,
    and the record's own package list is taken on trust.
    """
    path = release_file(results, plan.version)
    if not path.exists():
        return None
    try:
        observation = load(path)
    except EarlierSchema:
        return None  # made by older code: its key cannot match, and observing again replaces it
    stored = observation.cache_key or ""
    if location is None:
        return observation if stored.split("-")[0] == cache.plan_key(plan, options.settings) else None
    runnable = not_runnable(plan) is None
    held = environments.inventory(environments.venv_python(location)) if runnable else cache.NOTHING_INSTALLED
    return observation if stored == cache.cache_key(plan, held, options.settings) else None


def _prepare(plan: Plan, location: Path, options: Options, log: Log) -> tuple[Path, Build]:
    """Create (if needed) and fill the environment; return its python and how it was built."""
    assert plan.interpreter is not None
    era = cutoff(plan.release)
    python = environments.venv_python(location)
    # No era where the index gives no upload dates (a local PEP 503 index): its newest files are taken.
    wanted = environments.Build(
        plan.installer, plan.interpreter.path, f"flask=={plan.version}", stamp(era) if era else None
    )
    previous = environments.recorded_build(location)
    if python.exists() and previous is not None and previous.same_request(wanted):
        log(f"reusing the environment filled for {wanted.requirement} ({location})")
        changes = previous.changes
    else:
        changes = _fill(plan, location, options, wanted, log)
    return python, Build(plan.installer, wanted.cutoff, [wanted.requirement], changes, plan.rule)


def _fill(plan: Plan, location: Path, options: Options, wanted: environments.Build, log: Log) -> list[str]:
    """Install the release into the environment (creating it if needed) and stamp it when it imports."""
    assert plan.interpreter is not None
    index_url = index.configured_index_url(options.index_url)
    request = InstallRequest(wanted.requirement, index_url, cutoff(plan.release), now())
    python = environments.venv_python(location)
    if location.exists():
        environments.forget_build(location)
    if plan.installer == "pip":
        environments.create_virtualenv(plan.interpreter.path, location, log)
        changes = environments.pip_install(python, request, log)
    else:
        if not python.exists():
            environments.create_uv_venv(plan.interpreter.path, location, log)
        changes = environments.uv_install(python, request, log)
    environments.check_import(python)
    environments.record_build(location, replace(wanted, index_url=index_url, changes=changes))
    return changes


def status_from_default(default: ModeObservation | None) -> tuple[Status, str | None]:
    """The release status follows plain ``app.run()``: the mode every user gets."""
    if default is None or default.outcome == "served":
        return "ok", None
    return ("timeout" if default.outcome == "timeout" else "server-failed"), default.error


def run(plan: Plan, location: Path, options: Options, log: Log = print) -> Observation:
    """Audit one release and write its record atomically; a failure of the release is recorded, not raised.

    A machine without the release's interpreter does not overwrite an observation made on one that had it.

    :param plan: the release and the interpreter chosen for it.
    :param location: the release's environment (created and filled when it does not hold the release).
    :param options: the command line's options.
    :param log: where progress lines go (nox's session log).
    """
    observation = observe(plan, location, options, log)
    results = options.output.results
    path = release_file(results, plan.version)
    if observation.status == "no-interpreter" and path.exists():
        kept = load(path)  # an unreadable record fails here, before anything replaces it
        if kept.status != "no-interpreter":
            log(f"{observation.detail}; kept the observation of {kept.observed_at} ({kept.status})")
            return kept
    save(observation, results)
    return observation


def observe(plan: Plan, location: Path, options: Options, log: Log = print) -> Observation:
    """Audit one release without writing anything; a failure of the release is part of the observation."""
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
        return _observation(
            plan, exc.status, exc.detail, settings=options.settings, python=plan.interpreter.version_text
        )
    ready = time.monotonic()
    modes = observe_modes(python, options, log)
    log(f"environment ready in {ready - started:.2f}s, {len(modes)} modes observed in {time.monotonic() - ready:.2f}s")
    status, detail = status_from_default(modes.get("default"))
    held = environments.inventory(python)
    return _observation(
        plan,
        status,
        detail,
        held,
        options.settings,
        python=held.python,
        packages=held.packages,
        environment=built,
        modes=modes,
    )


def observe_modes(python: Path, options: Options, log: Log = print) -> dict[Mode, ModeObservation]:
    """Every requested mode the environment supports, ``options.mode_jobs`` probes at a time, in mode order.

    Modes share nothing (each probe gets its own free port and control socket), so running them
    side by side overlaps their start-up and their negative windows. Each mode's time goes to the
    log, never into the record.
    """
    wanted = [m for m in options.modes if m != CLI_MODE or has_cli(python)]

    def timed(mode: Mode) -> tuple[ModeObservation, float]:
        started = time.monotonic()
        return harness.observe_mode(python, mode, options.settings), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=options.mode_jobs, thread_name_prefix="mode") as pool:
        seen = list(pool.map(timed, wanted))
    for mode, (observation, seconds) in zip(wanted, seen, strict=True):
        log(f"{mode}: {behaviour(observation)} ({seconds:.2f}s)")
    return {mode: observation for mode, (observation, _) in zip(wanted, seen, strict=True)}

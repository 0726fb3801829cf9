"""One release through the pipeline: environment, probe runs, observation record.

Nothing here knows about nox: the noxfile (or a test, or the regression alarm) hands over the
plan, the environment's location and a log function, and gets the observation back.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from filelock import FileLock
from packaging.version import Version

from scripts.audit import cache, harness
from scripts.audit.plan import Plan
from scripts.audit.probe import has_cli
from scripts.audit.records import (
    CLI_MODES,
    MODES,
    Build,
    ChangedRecord,
    EarlierSchema,
    Mode,
    ModeObservation,
    Observation,
    Status,
    behaviour,
    differences,
    load,
    save,
    status_from_default,
)
from scripts.common import cli
from scripts.common.clock import now, stamp
from scripts.common.jsonio import check_writable, write_json_atomic
from scripts.layout import REPO, Layout, release_file
from scripts.packages import environments, index
from scripts.packages.environments import InstallRequest, Inventory, SetupFailed, Unavailable
from scripts.packages.era import cutoff

__all__ = [
    "NotRecorded",
    "Options",
    "Unconfirmed",
    "cached",
    "confirm",
    "confirmed_key",
    "not_runnable",
    "observe",
    "options_parser",
    "parse_options",
    "run",
]

Log = Callable[[str], None]
#: The probe's /hold gives up on the harness after this long (probes/app.py, HOLD_SECONDS).
PROBE_HOLD_SECONDS = 30.0
#: The shortest negative window: a held request needs this long, on a loaded machine, to reach the handler of
#: a server that runs requests side by side (the harness's own tests use 0.2 s against a server that lets one
#: in per second).
NEGATIVE_WINDOW_MINIMUM = 0.2
#: How long the index may take to list Flask before an install: a healthy one answers in well under a second.
PREFLIGHT_SECONDS = 15.0


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
        "options after --",
        "Options of the Flask audit (nox -s audit, observe(X), render).",
        [cli.add_index_url, lambda p: cli.add_output(p, REPO.root), lambda p: cli.add_force(p, "releases")],
    )
    parser.add_argument(
        "--modes",
        nargs="+",
        action="extend",
        choices=MODES,
        help="modes to observe (default: all; given twice, both lists count)",
    )
    parser.add_argument(
        "--negative-window",
        type=cli.bounded_float(
            NEGATIVE_WINDOW_MINIMUM,
            10.0,
            "a shorter wait takes a threaded server for a serial one; a longer one must still end well before "
            f"the probe stops holding, after {PROBE_HOLD_SECONDS:g}s",
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
        modes=tuple(m for m in MODES if m in (parsed.modes or MODES)),
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


def _confirmation(location: Path) -> Path:
    """Beside the release's environment: the key under which this machine last observed what its record holds."""
    return location.parent / f".{location.name}.observed.json"


def confirmed_key(location: Path, record: Observation) -> str | None:
    """The key this machine observed ``record``'s evidence under (None: it never did, or the record changed)."""
    try:
        stamp_data = json.loads(_confirmation(location).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(stamp_data, dict) or stamp_data.get("evidence_digest") != record.evidence_digest:
        return None
    key = stamp_data.get("cache_key")
    return key if isinstance(key, str) else None


def cached(plan: Plan, results: Path, location: Path, options: Options = Options()) -> Observation | None:
    """The stored observation when this machine observed it under the key it would observe it under now, else None.

    The key's plan part is known at once; its environment part is checked against what the environment at
    ``location`` holds now (an interpreter start only where its files changed since they were last read).
    """
    path = release_file(results, plan.version)
    if not path.exists():
        return None
    try:
        observation = load(path)
    except EarlierSchema:
        return None  # made by older code: its key cannot match, and observing again replaces it
    if not set(options.modes) - set(CLI_MODES) <= set(observation.modes) and observation.status == "ok":
        return None  # made with fewer modes than asked for now
    stored = confirmed_key(location, observation)
    if stored is None:
        return None
    if not_runnable(plan) is not None:
        held = cache.NOTHING_INSTALLED
    else:
        # Under the environment's lock: reading may stamp it, and another session may be filling it.
        location.parent.mkdir(parents=True, exist_ok=True)
        with _lock(location):
            held = environments.held(environments.venv_python(location))
    return observation if stored == cache.cache_key(plan, held, options.settings) else None


class NotRecorded(RuntimeError):
    """An observation that must not become the release's record; the message says why and what to do."""


def _not_reusable(
    location: Path, previous: environments.Build | None, wanted: environments.Build, held: environments.Inventory
) -> str | None:
    """Why the environment at ``location``, holding ``held``, cannot be used as it is (None: it can).

    Reused only when it was filled for the same release, interpreter, era and index, still holds
    exactly the files it was stamped with, and still imports Flask: an environment changed by hand
    or by another tool is rebuilt, never observed.
    """
    reason = environments.stale(location, previous, wanted, held)
    if reason is not None:
        return reason
    try:
        environments.check_import(environments.venv_python(location))
    except SetupFailed as exc:
        return f"Flask no longer imports in it ({exc.detail})"
    return None


def _prepare(plan: Plan, location: Path, options: Options, log: Log) -> tuple[Path, Build, environments.Inventory]:
    """Make the environment hold the release (reusing it when it already does); return its python, its build
    and what it holds (read once: nothing installs into it while it is observed, under its lock)."""
    assert plan.interpreter is not None
    era = cutoff(plan.release)
    index_url = index.configured_index_url(options.index_url)
    wanted = environments.Build(
        plan.installer,
        plan.interpreter.path,
        f"flask=={plan.version}",
        stamp(era) if era else None,  # no era where the index gives no upload dates: its newest files count
        environments.index_identity(index_url),
    )
    previous = environments.recorded_build(location)
    python = environments.venv_python(location)
    if options.force:
        # Nothing is taken on trust when asked to observe again: not even what the environment held.
        (location / environments.INVENTORY_STAMP).unlink(missing_ok=True)
    held = environments.held(python)
    reason = _not_reusable(location, previous, wanted, held)
    if reason is None and previous is not None:
        log(f"reusing the environment filled for {wanted.requirement} ({location})")
        changes = previous.changes
    else:
        if previous is not None:
            log(f"rebuilding {location}: {reason}")
        changes, held = _fill(plan, location, wanted, index_url, log)
    built = Build(plan.installer, wanted.cutoff, [wanted.requirement], changes, plan.rule)
    return python, built, held


def _check_index(plan: Plan, index_url: str) -> None:
    """Ask the index for the release before installing: a dead, hanging or partial index fails here, fast."""
    try:
        files = index.project_files("flask", index_url, timeout=PREFLIGHT_SECONDS)
        listed = {index.file_version(f.filename) for f in files if not f.yanked}
    except index.IndexUnavailable as exc:
        raise Unavailable(f"{exc}; nothing was recorded: check --index-url or your pip/uv configuration") from exc
    if Version(plan.version) not in listed:
        raise Unavailable(
            f"the index at {index_url} lists no file of flask=={plan.version}, which the catalogue lists; "
            "nothing was recorded: use an index that holds it, or refresh the catalogue from this one"
        )
    if cutoff(plan.release) is not None and not any(f.upload_time for f in files):
        raise Unavailable(
            f"the index at {index_url} gives no upload times, and the era of flask=={plan.version} (dependencies "
            "uploaded up to a day after it) needs them; nothing was recorded: use an index that serves PEP 691 "
            "JSON with upload times, or refresh the catalogue from this index (its releases then carry no era)"
        )


def _fill(
    plan: Plan, location: Path, wanted: environments.Build, index_url: str, log: Log
) -> tuple[list[str], environments.Inventory]:
    """Make the environment afresh, install the release into it, and stamp it once it imports; return the
    changes made to get it to install, and what it holds."""
    assert plan.interpreter is not None
    _check_index(plan, index_url)
    if location.exists():
        environments.forget_build(location)
        shutil.rmtree(location)
    request = InstallRequest(wanted.requirement, index_url, cutoff(plan.release), now())
    changes = environments.fill(plan.interpreter, location, request, log)
    python = environments.venv_python(location)
    environments.check_import(python)
    held = environments.held(python)
    environments.record_build(location, replace(wanted, files=environments.files_identity(held), changes=changes))
    return changes, held


def run(plan: Plan, location: Path, options: Options, log: Log = print) -> Observation:
    """Audit one release and write its record atomically; a failure of the release is recorded, not raised.

    A machine without the release's interpreter does not overwrite an observation made on one that had it.

    :param plan: the release and the interpreter chosen for it.
    :param location: the release's environment (created and filled when it does not hold the release).
    :param options: the command line's options.
    :param log: where progress lines go (nox's session log).
    """
    # Before any probe runs: a read-only or full output folder fails here, in one line, not after every mode.
    output = options.output
    check_writable([output.results, output.reports, output.docs])
    observation = observe(plan, location, options, log)
    results = options.output.results
    path = release_file(results, plan.version)
    try:
        # An unreadable record fails here, before anything replaces it.
        previous = load(path) if path.exists() else None
    except EarlierSchema:
        previous = None
    except ChangedRecord as exc:
        log(f"{exc}: replacing it with this observation")
        previous = None
    if observation.status == "no-interpreter" and previous is not None and previous.status != "no-interpreter":
        log(f"{observation.detail}; kept the observation of {previous.observed_at} ({previous.status})")
        return previous
    if set(options.modes) != set(MODES):
        observation = _merged(observation, previous, None if previous is None else confirmed_key(location, previous))
    changed = differences(previous, observation) if previous is not None else []
    if changed and not_runnable(plan) is None:
        observation = _confirmed(plan, location, options, log, observation, changed)
    save(observation, results)
    confirm(location, observation)
    return observation


class Unconfirmed(NotRecorded):
    """A changed verdict that a freshly made environment did not show again: a fault of ours or of the machine."""


def _confirmed(
    plan: Plan, location: Path, options: Options, log: Log, first: Observation, changed: list[tuple[str, str, str]]
) -> Observation:
    """A verdict that differs from the record is news: the release is observed again in an environment made afresh,
    and the change stands only if that one shows it too (the fresh observation is returned).

    :raises Unconfirmed: the fresh environment answered otherwise than the first; nothing may be written.
    """
    said = "; ".join(f"{aspect}: {before} -> {after}" for aspect, before, after in changed)
    log(f"Flask {plan.version}: the verdict differs from its record ({said}); observing again in a fresh environment")
    with _lock(location):
        environments.forget_build(location)
        shutil.rmtree(location, ignore_errors=True)
    again = observe(plan, location, options, log)
    # Compared over the modes observed again (all, or those --modes asked for and ``first`` merged in).
    disagree = differences(again, first)
    if disagree:
        raise Unconfirmed(
            f"Flask {plan.version}: the verdict changed ({said}), but a freshly made environment answered otherwise ("
            + "; ".join(f"{aspect}: {fresh}" for aspect, fresh, _ in disagree)
            + "); nothing was written: rerun on a quiet machine, and report it if it stays"
        )
    news = [f"Flask {plan.version}, {aspect}: {before} -> {after}" for aspect, before, after in changed]
    for line in news:
        log(f"CHANGED, confirmed in a fresh environment: {line}")
    # For the end of the run, where the audit prints them after its answer (sessions run in processes of their own).
    options.output.news.parent.mkdir(parents=True, exist_ok=True)
    with options.output.news.open("a", encoding="utf-8") as kept:
        kept.write("".join(f"{line}\n" for line in news))
    return again if set(options.modes) == set(MODES) else first


def confirm(location: Path, saved: Observation) -> None:
    """Keep this machine's key for what the record ``saved`` holds (written, or left as it was: the same evidence)."""
    write_json_atomic(_confirmation(location), {"cache_key": saved.cache_key, "evidence_digest": saved.evidence_digest})


def _merged(observation: Observation, previous: Observation | None, previous_key: str | None) -> Observation:
    """A run of some modes only, merged into the release's record: the modes it observed replace theirs.

    Only a record this machine observed under the same key (release, interpreter, settings, code, environment)
    can take them: modes observed under different keys are not one observation.
    """
    if previous is None or observation.status != "ok" or previous.status != "ok":
        return observation
    if previous_key != observation.cache_key:
        raise NotRecorded(
            f"the record of Flask {observation.flask} was observed under another key (other code, settings or "
            f"environment, or on another machine), so a run of {', '.join(observation.modes)} only cannot be "
            "merged into it; observe every mode (leave out --modes)"
        )
    modes = {mode: observation.modes.get(mode) or previous.modes.get(mode) for mode in MODES}
    return replace(observation, modes={mode: seen for mode, seen in modes.items() if seen is not None})


def observe(plan: Plan, location: Path, options: Options, log: Log = print) -> Observation:
    """Audit one release without writing anything; a failure of the release is part of the observation.

    :raises Unavailable: the environment could not be made for a reason that is not the release's own.
    """
    observation = not_runnable(plan)
    if observation is not None:
        return observation
    location.parent.mkdir(parents=True, exist_ok=True)
    # One user of an environment at a time: another session for the same release (a second terminal,
    # another index) would otherwise rebuild it under probes that are running in it.
    with _lock(location):
        return _observe_in(plan, location, options, log)


def _lock(location: Path) -> FileLock:
    """The lock of one environment, beside it (it must outlive the environment's removal)."""
    return FileLock(location.parent / f".{location.name}.lock")


def _observe_in(plan: Plan, location: Path, options: Options, log: Log) -> Observation:
    assert plan.interpreter is not None
    started = time.monotonic()
    try:
        python, built, held = _prepare(plan, location, options, log)
    except SetupFailed as exc:
        log(f"{exc.status}: {exc.detail}")
        # The release's own failure (a fault of the index or the machine raises Unavailable instead).
        # Keyed on nothing installed, which an existing environment never matches: the next run tries again.
        return _observation(
            plan, exc.status, exc.detail, settings=options.settings, python=plan.interpreter.version_text
        )
    ready = time.monotonic()
    modes = observe_modes(python, options, log)
    log(f"environment ready in {ready - started:.2f}s, {len(modes)} modes observed in {time.monotonic() - ready:.2f}s")
    status, detail = status_from_default(modes.get("default"))
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
        cli=has_cli(python),
    )


def observe_modes(python: Path, options: Options, log: Log = print) -> dict[Mode, ModeObservation]:
    """Every requested mode the environment supports, ``options.mode_jobs`` probes at a time, in mode order.

    Modes share nothing (each probe gets its own free port and control socket), so running them
    side by side overlaps their start-up and their negative windows. Each mode's time goes to the
    log, never into the record.
    """
    wanted = [m for m in options.modes if m not in CLI_MODES or has_cli(python)]

    def timed(mode: Mode) -> tuple[ModeObservation, float]:
        started = time.monotonic()
        return harness.observe_mode(python, mode, options.settings), time.monotonic() - started

    with ThreadPoolExecutor(max_workers=options.mode_jobs, thread_name_prefix="mode") as pool:
        seen = list(pool.map(timed, wanted))
    for mode, (observation, seconds) in zip(wanted, seen, strict=True):
        log(f"{mode}: {behaviour(observation)} ({seconds:.2f}s)")
    return {mode: observation for mode, (observation, _) in zip(wanted, seen, strict=True)}

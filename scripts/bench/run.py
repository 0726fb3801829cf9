"""The benchmark: how long the audit takes from a fresh clone, cold, warm, cached, for one release,
how long the grid takes, what the probes alone cost, and uv against pip.

Every run goes through nox the way a user runs it, in a temporary folder (environments and
records), so the committed ``reports/`` are never touched. The numbers are stored in
``reports/bench.json`` (``bench.records``); ``report.bench`` renders ``reports/bench.md`` from them.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from scripts.audit import harness
from scripts.audit.plan import Plan
from scripts.audit.plan import plans as plans_for
from scripts.audit.records import MODES, Mode, load
from scripts.audit.run import Options as AuditOptions
from scripts.audit.run import not_runnable, observe_modes
from scripts.bench.records import (
    FLOOR_MARK,
    Bench,
    EnvironmentPair,
    Measurement,
    Phase,
    cells_cpu_seconds,
    children_cpu,
    median,
)
from scripts.common import cli
from scripts.common.clock import now, stamp
from scripts.common.failures import first_error_line
from scripts.common.jsonio import read_json
from scripts.common.processes import ProcessGroup, load_average, run
from scripts.grid import records as grid_records
from scripts.layout import REPO, ROOT, Layout, release_file
from scripts.packages import catalogue, environments, index
from scripts.packages.environments import InstallRequest
from scripts.packages.era import cutoff
from scripts.packages.interpreters import Interpreter, discover

__all__ = ["BenchOptions", "main", "parse"]

NOXFILE = ROOT / "noxfile.py"
#: One release per era: Python 2.7 + pip, the 0.x line, 1.0 (threads by default), old pins, today's.
FIXED = ("0.9", "0.12.5", "1.0", "1.0.3", "2.0.3", "3.1.3")
RUN_TIMEOUT = 3600.0
#: The module that observes one release's grid cells again (``cells_alone``), run as ``python -m``.
REPLAY = "scripts.bench.replay"
#: What a replay ends with: how many cells it observed, and what their processes used (CPU-seconds).
_REPLAY_SAID = re.compile(r"(?P<observed>\d+) (?P<cpu>\d+\.\d+)")
#: How often ``cells_alone`` looks at its replays; a polling interval, never a verdict.
POLL_SECONDS = 0.2
#: How long a replay that is stopped gets to end before it is killed.
STOP_SECONDS = 5.0
ALL = 62
_READY = re.compile(r"environment ready in ([\d.]+)s, (\d+) modes observed in ([\d.]+)s")
_SESSION = re.compile(r"Running session observe\(([^)]+)\)")
_MODE_LINE = re.compile(r"nox > (?P<mode>\w+): .* \((?P<seconds>[\d.]+)s\)$")

Log = Callable[[str], None]


@dataclass(frozen=True)
class BenchOptions:
    releases: tuple[str, ...]
    rounds: int
    cold_rounds: int
    pair_rounds: int
    jobs: int
    mode_jobs: int
    workdir: Path | None
    index_url: str | None
    interpreter_cache: Path | None = None
    #: Time the README's audit command in a fresh clone with empty package caches.
    fresh_clone: bool = True
    #: Time the grid of the chosen releases, cold and forced.
    grid: bool = True


@dataclass
class Timed:
    wall: float
    cpu: float
    output: str


def parse(args: Sequence[str], interpreter_cache: Path | None = None) -> tuple[BenchOptions, Layout]:
    """The benchmark's options from what follows ``--``, and where its data and page go."""
    parser = cli.parser(
        "nox -s bench --", "Time the audit.", [cli.add_index_url, lambda p: cli.add_output(p, REPO.root)]
    )
    parser.add_argument(
        "--releases", default="fixed", help="'fixed' (default: one release per era), 'all', or versions: 1.0,2.0.3"
    )
    parser.add_argument("--rounds", type=cli.positive_int, default=3, help="rounds of the cheap measurements")
    parser.add_argument("--cold-rounds", type=cli.positive_int, default=1, help="rounds of the cold audit")
    parser.add_argument("--pair-rounds", type=cli.positive_int, default=1, help="rounds of uv against venv + pip")
    parser.add_argument("--jobs", type=cli.positive_int, default=2, help="nox -j for the audit runs")
    parser.add_argument("--mode-jobs", type=cli.positive_int, default=AuditOptions.mode_jobs, help="audit --mode-jobs")
    parser.add_argument("--workdir", type=Path, help="where environments and records go (default: a temp folder)")
    parser.add_argument(
        "--fresh-clone",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the README's audit command in a fresh clone with empty package caches (all releases)",
    )
    parser.add_argument(
        "--grid", action=argparse.BooleanOptionalAction, default=True, help="time the grid, cold and forced"
    )
    parsed = parser.parse_args(args)
    options = BenchOptions(
        releases=tuple(parsed.releases.split(",")),
        rounds=parsed.rounds,
        cold_rounds=parsed.cold_rounds,
        pair_rounds=parsed.pair_rounds,
        jobs=parsed.jobs,
        mode_jobs=parsed.mode_jobs,
        workdir=parsed.workdir,
        index_url=parsed.index_url,
        interpreter_cache=interpreter_cache,
        fresh_clone=parsed.fresh_clone,
        grid=parsed.grid,
    )
    return options, Layout(parsed.output)


def audit_plans(found: list[Interpreter]) -> list[Plan]:
    """One plan per release of the repository's catalogue."""
    return plans_for(catalogue.load(REPO.releases), found)


def chosen(plans: list[Plan], wanted: tuple[str, ...]) -> list[Plan]:
    """The plans the benchmark runs: all, the fixed set, or the versions named."""
    if wanted == ("all",):
        return plans
    names = FIXED if wanted == ("fixed",) else wanted
    by_version = {plan.version: plan for plan in plans}
    missing = [name for name in names if name not in by_version]
    if missing:
        raise cli.OptionError(f"--releases: not in reports/releases.json: {', '.join(missing)}; pick from `nox -l`")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise cli.OptionError(f"--releases: named more than once: {', '.join(twice)}; name each release once")
    return [by_version[name] for name in names]


class BenchFailed(RuntimeError):
    """A run the benchmark times failed: its numbers would mean nothing; the message has its output."""


def timed(argv: Sequence[str | Path], what: str, cwd: Path = ROOT, env: Mapping[str, str] | None = None) -> Timed:
    """Run a command to the end (bounded), returning its wall and CPU seconds; fail loudly if it fails."""
    cpu, start = children_cpu(), time.monotonic()
    done = run(argv, RUN_TIMEOUT, cwd=cwd, env=env)
    wall, used = time.monotonic() - start, children_cpu() - cpu
    if not done.ok:
        raise BenchFailed(f"{what} failed ({done.returncode}):\n{done.output[-4000:]}")
    return Timed(wall, used, done.output)


def nox_audit(
    plans: Sequence[Plan], envdir: Path, output: Path, options: BenchOptions, *extra: str, jobs: int | None = None
) -> Timed:
    """``nox -s observe(…)… render``: the releases' sessions and the report, as ``nox -s audit`` runs them."""
    sessions = [f"observe({plan.version})" for plan in plans]
    after = ["--output", str(output), "--mode-jobs", str(options.mode_jobs), *extra]
    if options.index_url:
        after += ["--index-url", options.index_url]
    argv: list[str | Path] = [
        sys.executable,
        "-m",
        "nox",
        "-f",
        NOXFILE,
        "--envdir",
        envdir,
        "-j",
        str(jobs or options.jobs),
    ]
    return timed([*argv, "-s", *sessions, "render", "--", *after], f"nox audit of {len(plans)} releases")


def readme_audit_command(readme: Path = ROOT / "README.md") -> str:
    """The README's first command, the one that runs the audit, as the README gives it."""
    block = readme.read_text(encoding="utf-8").split("```\n", 2)[1]
    return block.splitlines()[0]


#: What a fresh machine has not got: every cache the README's command fills, pointed at empty folders.
EMPTY_CACHES = {
    "UV_CACHE_DIR": "uv",
    "PIP_CACHE_DIR": "pip",
    "VIRTUALENV_OVERRIDE_APP_DATA": "virtualenv",
}


#: Settings that would make the fresh clone's run skip the caches rather than fill them, or inherit a run's.
NOT_INHERITED = (index.HANDED_DOWN, "VIRTUAL_ENV", "UV_NO_CACHE", "PIP_NO_CACHE_DIR")


def fresh_environment(caches: Path, index_url: str | None = None) -> dict[str, str]:
    """This process's environment with empty package caches under ``caches``, as on a fresh machine.

    The user's index configuration stays (the README's command needs an index), or ``index_url`` where
    the bench was given one; what a run of this project hands down to its own children does not.
    """
    inherited = {name: value for name, value in os.environ.items() if name not in NOT_INHERITED}
    chosen = {"UV_DEFAULT_INDEX": index_url, "PIP_INDEX_URL": index_url} if index_url else {}
    return {**inherited, **chosen, **{name: str(caches / folder) for name, folder in EMPTY_CACHES.items()}}


def fresh_clone(work: Path, index_url: str | None, log: Log) -> Timed:
    """The README's audit command, verbatim, in a fresh clone of this repository's HEAD, with empty caches."""
    clone, caches = work / "clone", work / "empty-caches"
    for folder in (clone, caches):
        shutil.rmtree(folder, ignore_errors=True)
    cloned = run(["git", "clone", "--quiet", str(ROOT), str(clone)], 600)
    if not cloned.ok:
        raise BenchFailed(f"git clone of {ROOT} failed: {cloned.output[-2000:]}")
    if run(["git", "status", "--porcelain"], 60, cwd=ROOT).stdout.strip():
        log("the working tree has changes that are not committed: the fresh clone times HEAD without them")
    command = readme_audit_command(clone / "README.md")
    log(f"fresh clone, empty caches: {command}")
    environment = fresh_environment(caches, index_url)
    return timed(["sh", "-c", command], "the README's audit command in a fresh clone", clone, environment)


def nox_grid(plans: Sequence[Plan], envdir: Path, root: Path, options: BenchOptions, *extra: str) -> Timed:
    """``nox -s cells(…)…``: the grid cells of the releases, as ``nox -s grid`` runs them (without its page)."""
    after = ["--output", str(root), *extra]
    if options.index_url:
        after += ["--index-url", options.index_url]
    sessions = [f"cells({plan.version})" for plan in plans]
    argv: list[str | Path] = [sys.executable, "-m", "nox", "-f", NOXFILE, "--envdir", envdir, "-j", str(options.jobs)]
    return timed([*argv, "-s", *sessions, "--", *after], f"nox grid of {len(plans)} releases")


def grid_root(work: Path, name: str = "grid") -> Path:
    """A copy of this checkout's reports without grid records: cells start from its constraints records."""
    root = work / name
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(REPO.reports, root / "reports", ignore=shutil.ignore_patterns("grid", "candidates"))
    return root


def grid_cells(root: Path) -> tuple[int, int]:
    """How many cells the grid records under ``root`` hold, and how many of them served."""
    total = served = 0
    for path in Layout(root).grid.glob("*.json"):
        for cell in grid_records.load(path).cells:
            total += 1
            served += cell.status == "ok"
    return total, served


def filled(envdir: Path, plans: Sequence[Plan]) -> Iterator[Path]:
    """The interpreters of the releases' filled environments under ``envdir``, in the plans' order."""
    for plan in plans:
        location = environment_of(envdir, plan.version)
        if location is not None:
            yield environments.venv_python(location)


def probes_alone(envdir: Path, plans: Sequence[Plan], mode_jobs: int) -> tuple[float, float, int]:
    """CPU-seconds and wall seconds of the probes alone, every mode of every release in turn, and how many
    releases: the observation itself, with no nox, installer or record around it. Its CPU divided by the
    cores is a floor no schedule of the audit can go under."""
    settings = replace(AuditOptions(), mode_jobs=mode_jobs)
    cpu, start, count = children_cpu(), time.monotonic(), 0
    for python in filled(envdir, plans):
        observe_modes(python, settings, lambda line: None)
        count += 1
    return children_cpu() - cpu, time.monotonic() - start, count


@contextmanager
def environment_variables(variables: Mapping[str, str] | None) -> Iterator[None]:
    """This process's environment replaced by ``variables`` for the block (None: left as it is), so that the
    installers the audit's functions start see it; restored afterwards."""
    if variables is None:
        yield
        return
    kept = dict(os.environ)
    os.environ.clear()
    os.environ.update(variables)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(kept)


def environments_alone(
    plans: Sequence[Plan], folder: Path, index_url: str, variables: Mapping[str, str] | None = None
) -> tuple[float, int]:
    """CPU-seconds of making every release's environment in turn, as the audit makes one (create, install,
    import check, inventory) with nothing around it, and how many were made: with the cold run's caches,
    or (``variables`` from ``fresh_environment``) with empty ones. A release that fails to install or import
    costs the audit the same, and counts. Only the processes started count, so this is a lower bound."""
    cpu, count = children_cpu(), 0
    with environment_variables(variables):
        for plan in plans:
            assert plan.interpreter is not None
            location = folder / plan.version
            shutil.rmtree(location, ignore_errors=True)
            request = InstallRequest(f"flask=={plan.version}", index_url, cutoff(plan.release), now())
            try:
                environments.fill(plan.interpreter, location, request)
                python = environments.venv_python(location)
                environments.check_import(python)
                environments.inventory(python)
            except environments.SetupFailed:
                pass
            except (environments.Unavailable, OSError) as exc:
                raise BenchFailed(f"Flask {plan.version}'s environment could not be made: {exc}") from exc
            count += 1
            shutil.rmtree(location, ignore_errors=True)
    return children_cpu() - cpu, count


def tools_alone(work: Path, variables: Mapping[str, str]) -> float:
    """CPU-seconds of the README audit command's tool install alone (what comes before nox), in an empty
    folder with ``variables``' empty caches."""
    folder = work / "tools"
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(ROOT / "requirements", folder / "requirements")
    steps = readme_audit_command().split(" && ")[:-1]
    try:
        return timed(["sh", "-c", " && ".join(steps)], "the README's tool install", folder, variables).cpu
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def cells_alone(
    plans: Sequence[Plan], work: Path, index_url: str, interpreters: Path, jobs: int
) -> tuple[float, float, int, Path]:
    """CPU-seconds of every cell of the releases' grid observed again, the grid's way, from empty search caches
    (new installs of the same requests, the searches' attempts and bisections, the probes; package caches as
    they are), one release per process (``scripts.bench.replay``), ``jobs`` at a time; of these, what the
    processes the cells started used (installs, imports, probes) as each replay counted them; how many cells were
    observed (not ruled out); and the folder of the records they made. No nox or session is in it, and the
    interpreters are read from the grid run's cache file. The first failure stops every release still running
    and fails the benchmark.

    :param interpreters: the grid run's interpreters' cache file: the same interpreters, so the same cells.
    """
    root, searches = grid_root(work, "grid-alone"), work / "grid-alone-searches"
    shutil.rmtree(searches, ignore_errors=True)
    pending, running, failed, observed, cells = list(plans), dict[str, ProcessGroup](), list[str](), 0, 0.0
    deadline = time.monotonic() + RUN_TIMEOUT
    cpu = children_cpu()
    try:
        while (pending or running) and not failed:
            while pending and len(running) < jobs:
                version = pending.pop(0).version
                argv = [sys.executable, "-m", REPLAY, version, str(root), str(searches), str(interpreters)]
                running[version] = ProcessGroup(argv, {**os.environ, index.HANDED_DOWN: index_url}, ROOT)
            for version, process in list(running.items()):
                if not process.exited():
                    continue
                del running[version]
                output, code = process.output(), process.process.returncode
                process.stop(STOP_SECONDS)  # reaped: its CPU, and its children's, count from here
                last = _REPLAY_SAID.fullmatch((output.strip().splitlines() or [""])[-1])
                if code != 0 or last is None:
                    failed.append(f"Flask {version} ({code}): {first_error_line(output) or output[-2000:]}")
                else:
                    observed, cells = observed + int(last["observed"]), cells + float(last["cpu"])
            if time.monotonic() > deadline:
                failed.append(f"{', '.join(running)} did not finish within {RUN_TIMEOUT:g}s")
            time.sleep(POLL_SECONDS)
    finally:
        # Stopped on every way out (a failure, Ctrl-C): no replay outlives the benchmark.
        for process in running.values():
            process.stop(STOP_SECONDS)
        shutil.rmtree(searches, ignore_errors=True)
    if not failed and observed and cells <= 0:
        failed.append("the replays counted no CPU for their cells' processes (this system does not count it)")
    if failed:
        raise BenchFailed(
            f"the grid's cells observed alone failed: {'; '.join(failed)}; no benchmark was written: "
            "fix what it names (the index, an interpreter) and run nox -s bench again"
        )
    return children_cpu() - cpu, cells, observed, Layout(root).grid


#: A grid cell's place in its release's record: kind, Python (an era or declared cell's), Werkzeug line.
Place = tuple[str, str | None, str | None]
#: What two observations of one cell may differ in: when, and the key of the code that made them.
_UNCOMPARED = ("observed_at", "cache_key")


def _cells_by_place(path: Path) -> dict[Place, dict[str, object]]:
    """Everything each cell of a grid record found, but when and under which key."""
    return {
        (c.kind, None if c.kind == "werkzeug" else c.python, c.werkzeug_line): {
            name: value for name, value in asdict(c).items() if name not in _UNCOMPARED
        }
        for c in grid_records.load(path).cells
    }


def replay_differences(cold: Path, alone: Path) -> list[str]:
    """Where the cells observed alone (records in ``alone``) came out otherwise than the cold run's (``cold``):
    each field of a cell that differs (its time and key apart); a release or a cell only one of them has."""
    found = []
    for name in sorted({path.name for path in (*cold.glob("*.json"), *alone.glob("*.json"))}):
        if not (cold / name).exists() or not (alone / name).exists():
            found.append(f"{name}: only in {'the replay' if (alone / name).exists() else 'the cold run'}")
            continue
        before, after = _cells_by_place(cold / name), _cells_by_place(alone / name)
        for place in sorted(set(before) | set(after), key=str):
            where = f"{name} {' '.join(part for part in place if part)}"
            if place not in before or place not in after:
                found.append(f"{where}: only in {'the replay' if place in after else 'the cold run'}")
                continue
            for field, value in before[place].items():
                if after[place].get(field) != value:
                    found.append(f"{where}: {field} {value!r} in the cold run, {after[place].get(field)!r} alone")
    return found


def session_phases(run: str, output: str, plans: Sequence[Plan]) -> list[Phase]:
    """Summed "environment ready" and "modes observed" seconds from the sessions' log lines."""
    installer = {plan.version: plan.installer for plan in plans}
    ready: dict[str, float] = {}
    observing = 0.0
    current = None
    for line in output.splitlines():
        if found := _SESSION.search(line):
            current = found.group(1)
        elif (found := _READY.search(line)) and current is not None:
            kind = "pip, Python 2.7" if installer.get(current) == "pip" else "uv"
            ready[kind] = ready.get(kind, 0.0) + float(found.group(1))
            observing += float(found.group(3))
    phases = [Phase(run, f"environment ready ({kind})", round(s, 2)) for kind, s in sorted(ready.items())]
    return [*phases, Phase(run, "modes observed (wall per release)", round(observing, 2))] if ready else phases


def mode_phases(run: str, output: str) -> list[Phase]:
    """Seconds per mode, summed over the sessions' log lines of one run (each includes start-up and stop)."""
    sums: dict[str, float] = {}
    for line in output.splitlines():
        found = _MODE_LINE.search(line)
        if found and found["mode"] in MODES:
            sums[found["mode"]] = sums.get(found["mode"], 0.0) + float(found["seconds"])
    return [Phase(run, f"mode {mode} (start, observe, stop)", round(sums[mode], 2)) for mode in MODES if mode in sums]


def environment_of(envdir: Path, version: str) -> Path | None:
    """The filled environment of ``version`` under ``envdir``, found by its build stamp."""
    for stamped in envdir.glob(f"*/{environments.BUILD_STAMP}"):
        build = environments.recorded_build(stamped.parent)
        if build is not None and build.requirement == f"flask=={version}":
            return stamped.parent
    return None


def verdict_rounds(python: Path, mode: Mode, rounds: int) -> list[float]:
    """Seconds to start, observe and stop one mode, ``rounds`` times."""
    seconds = []
    for _ in range(rounds):
        started = time.monotonic()
        harness.observe_mode(python, mode, harness.Settings())
        seconds.append(round(time.monotonic() - started, 3))
    return seconds


def pair(plan: Plan, work: Path, index_url: str, log: Log) -> EnvironmentPair | None:
    """Make ``plan``'s environment with uv, then with venv + pip pinned to what uv installed."""
    assert plan.interpreter is not None
    era = cutoff(plan.release)
    if era is None:
        return None
    request = InstallRequest(f"flask=={plan.version}", index_url, era, now())
    uv_dir, pip_dir = work / f"uv-{plan.version}", work / f"pip-{plan.version}"
    work.mkdir(parents=True, exist_ok=True)
    for folder in (uv_dir, pip_dir):
        shutil.rmtree(folder, ignore_errors=True)
    start = time.monotonic()
    python = environments.create_uv_venv(plan.interpreter.path, uv_dir)
    outputs: list[str] = []
    try:
        environments.uv_install(python, request, outputs=outputs)
    except environments.SetupFailed as exc:
        log(f"{plan.version}: uv failed ({exc.detail}), left out of the comparison")
        return None
    uv_seconds = time.monotonic() - start
    built = sum(line.strip().startswith("Built ") for output in outputs for line in output.splitlines())
    pinned = work / f"pins-{plan.version}.txt"
    pinned.write_text("".join(f"{n}=={v}\n" for n, v in environments.inventory(python).packages.items()))
    pip_seconds, failure = _venv_and_pip(plan.interpreter.path, pip_dir, index_url, pinned, request.requirement)
    if failure:
        log(f"{plan.version}: venv + pip failed ({failure}), left out of the comparison")
        return None
    for folder in (uv_dir, pip_dir):
        shutil.rmtree(folder, ignore_errors=True)
    python_version = plan.interpreter.version_text
    return EnvironmentPair(plan.version, python_version, round(uv_seconds, 3), round(pip_seconds, 3), built)


def _venv_and_pip(
    interpreter: str, location: Path, index_url: str, pinned: Path, requirement: str
) -> tuple[float, str]:
    """``python -m venv`` and ``pip install``, retried like the audit's uv path with an old setuptools
    when an old sdist's setup.py needs one; the seconds it took and the failure, if any."""
    start = time.monotonic()
    made = run([interpreter, "-m", "venv", location], environments.INSTALL_TIMEOUT)
    if not made.ok:
        return time.monotonic() - start, first_error_line(made.output) or "venv failed"
    pip: list[str | Path] = [environments.venv_python(location), "-m", "pip", "install", "--disable-pip-version-check"]
    install = [*pip, "--no-input", "--index-url", index_url, "-c", pinned, requirement]
    done = run(install, environments.INSTALL_TIMEOUT)
    if not done.ok:
        legacy = run([*pip, "--no-input", "--index-url", index_url, environments.LEGACY_BUILD_CONSTRAINT], 600)
        done = run(install, environments.INSTALL_TIMEOUT) if legacy.ok else done
    failure = "" if done.ok else first_error_line(done.output) or "pip install failed"
    return time.monotonic() - start, failure


def median_pair(samples: list[EnvironmentPair]) -> EnvironmentPair:
    first = samples[0]
    uv, pip = median([s.uv for s in samples]), median([s.pip for s in samples])
    assert uv is not None and pip is not None
    return EnvironmentPair(first.release, first.python, uv, pip, first.built_from_source)


def measure(options: BenchOptions, work: Path, log: Log) -> Bench:
    # Every release's plan, asked once: the fresh clone covers them all, the other runs the chosen ones.
    every_plan = audit_plans(discover(options.interpreter_cache))
    plans = chosen(every_plan, options.releases)
    runnable = [plan for plan in plans if not_runnable(plan) is None]
    if not runnable:
        raise BenchFailed("no chosen release has an interpreter on this machine: nothing to time (see `nox -l`)")
    count = len(plans)
    index_url = index.configured_index_url(options.index_url)
    load_before = load_average()
    measurements: list[Measurement] = []
    profile: list[Phase] = []

    if options.fresh_clone:
        log("the README's audit command in a fresh clone with empty caches (every release)")
        clone = fresh_clone(work, options.index_url, log)
        what = "fresh clone, empty caches: the README's audit command, tools installed too"
        measurements.append(_measurement("fresh-clone", what, ALL, [clone], 150, ALL))
        profile += session_phases("fresh-clone", clone.output, every_plan)
        # What the fresh clone cannot do without, each alone with empty caches of its own: its floor (below).
        # The clone audits every release, so its environments are measured over every release too.
        every = [plan for plan in every_plan if not_runnable(plan) is None]
        empty = fresh_environment(work / "empty-caches-alone", options.index_url)
        log("the README's tool install alone, empty caches")
        tools_cpu = tools_alone(work, empty)
        log(f"the environments alone, every release in turn, empty caches ({len(every)} releases)")
        fresh_envs_cpu, fresh_count = environments_alone(every, work / "alone", index_url, empty)
        shutil.rmtree(work / "empty-caches-alone", ignore_errors=True)

    cold = []
    for round_ in range(options.cold_rounds):
        envdir, output = work / "envs", work / "out"
        shutil.rmtree(envdir, ignore_errors=True)
        shutil.rmtree(output, ignore_errors=True)
        log(f"cold audit of {count} releases, round {round_ + 1}")
        cold.append(nox_audit(plans, envdir, output, options))
    profile += session_phases("cold", cold[-1].output, plans)
    measurements.append(_measurement("cold", "cold audit (fresh environments, no records)", count, cold, 90, ALL))
    log(f"the environments alone, every release in turn, caches as the cold run left them ({len(runnable)} releases)")
    envs_cpu, _ = environments_alone(runnable, work / "alone", index_url)

    warm = []
    for round_ in range(options.rounds):
        log(f"warm audit (--force) of {count} releases, round {round_ + 1}")
        warm.append(nox_audit(plans, work / "envs", work / "out", options, "--force"))
    profile += session_phases("warm", warm[-1].output, plans)
    profile += mode_phases("warm", warm[-1].output)
    measurements.append(_measurement("warm", "warm audit (environments built, --force)", count, warm, 30, ALL))
    log(f"the probes alone, every mode of {count} releases in turn")
    cpu, _, probed = probes_alone(work / "envs", runnable, options.mode_jobs)
    cores = os.cpu_count() or 1
    what = f"the probes alone: {cpu:.1f} CPU-s for every mode of {probed} releases, / {cores} cores {FLOOR_MARK}"
    profile.append(Phase("warm", what, round(cpu / cores, 2)))
    # A cold run makes every environment and then probes it; a fresh clone installs its tools first and
    # fills empty caches. Each part measured alone, their CPU over the cores bounds the run from below.
    what = (
        f"the probes alone ({cpu:.1f} CPU-s) and the environments alone ({envs_cpu:.1f} CPU-s, caches as the "
        f"cold run left them), / {cores} cores {FLOOR_MARK}"
    )
    profile.append(Phase("cold", what, round((cpu + envs_cpu) / cores, 2)))
    if options.fresh_clone and probed:
        # The probes were run over the chosen releases; the clone probes all of them: in proportion.
        every_probe = cpu * fresh_count / probed
        scaled_note = "" if fresh_count == probed else f", {cpu:.1f} over {probed} releases in proportion"
        what = (
            f"the tool install alone ({tools_cpu:.1f} CPU-s), the environments of {fresh_count} releases alone "
            f"with empty caches ({fresh_envs_cpu:.1f} CPU-s) and their probes alone ({every_probe:.1f} CPU-s"
            f"{scaled_note}), / {cores} cores {FLOOR_MARK}"
        )
        profile.append(Phase("fresh-clone", what, round((tools_cpu + fresh_envs_cpu + every_probe) / cores, 2)))

    cached = []
    for round_ in range(options.rounds):
        log(f"cached rerun of {count} releases, round {round_ + 1}")
        cached.append(nox_audit(plans, work / "envs", work / "out", options))
    what = f"rerun, every observation cached, `-j {options.jobs}` (a nox process per session)"
    measurements.append(_measurement("cached", what, count, cached, None, None))
    # Under -j every session is a nox process of its own; one process running them in turn is cheaper here.
    in_turn = []
    for round_ in range(options.rounds):
        log(f"cached rerun of {count} releases in one nox process (-j 1), round {round_ + 1}")
        in_turn.append(nox_audit(plans, work / "envs", work / "out", options, jobs=1))
    what = "rerun, every observation cached, `-j 1`"
    measurements.append(_measurement("cached-j1", what, count, in_turn, 2, ALL))

    one = runnable[-1]
    single = []
    for round_ in range(options.rounds):
        log(f"cold audit of Flask {one.version} alone, round {round_ + 1}")
        shutil.rmtree(work / "one", ignore_errors=True)
        single.append(nox_audit([one], work / "one" / "envs", work / "one" / "out", options))
    measurements.append(_measurement("one", f"one release cold (Flask {one.version})", 1, single, 10, 1))

    measurements += _verdicts(work, plans, options.rounds * 2, log)

    if options.grid:
        grid_measurements, grid_phases = _grid(runnable, work, options, index_url, log)
        measurements += grid_measurements
        profile += grid_phases

    pairs = []
    for plan in (p for p in runnable if p.installer == "uv"):
        log(f"Flask {plan.version}: environment with uv, then with venv + pip")
        samples = [s for _ in range(options.pair_rounds) if (s := pair(plan, work / "pairs", index_url, log))]
        if samples:
            pairs.append(median_pair(samples))

    return Bench(
        made_at=stamp(),
        machine={
            "cores": os.cpu_count(),
            "load_before": load_before,
            "load_after": load_average(),
            "python": sys.version.split()[0],
            "nox": _version([sys.executable, "-m", "nox", "--version"]),
            "uv": _version([*environments.uv_command(), "--version"]),
        },
        settings={
            "releases": [plan.version for plan in plans],
            "catalogue": len(catalogue.audited(catalogue.load(REPO.releases))),
            "jobs": options.jobs,
            "mode_jobs": options.mode_jobs,
            "negative_window": harness.Settings.negative_window,
            "probed": probed,
        },
        measurements=measurements,
        pairs=pairs,
        profile=profile,
    )


def _verdicts(work: Path, plans: Sequence[Plan], rounds: int, log: Log) -> list[Measurement]:
    """The cost of a single-threaded verdict (it waits out the negative window) next to a threaded one."""
    results = Layout(work / "out").results
    serial = [
        plan
        for plan in plans
        if (path := release_file(results, plan.version)).exists()
        and (seen := load(path).modes.get("default")) is not None
        and seen.concurrent is False
    ]
    location = environment_of(work / "envs", serial[-1].version) if serial else None
    if location is None:
        log("no single-threaded release in the set: verdict cost not measured")
        return []
    python = environments.venv_python(location)
    version = serial[-1].version
    log(f"verdict cost on Flask {version}, {rounds} rounds")
    found = []
    verdicts: tuple[tuple[Mode, str, float | None], ...] = (
        ("default", f"single-threaded verdict (Flask {version} `app.run()`)", 1.0),
        ("threaded", f"threaded verdict (Flask {version} `threaded=True`)", None),
    )
    for mode, what, target in verdicts:
        seconds = verdict_rounds(python, mode, rounds)
        found.append(Measurement(f"verdict-{mode}", what, 1, seconds, [], target, 1 if target else None))
    return found


def cells_cpu(output: str, sessions: int, run_cpu: float) -> float:
    """What the cells' own processes used in a grid run (environments, installs, imports, probes, metadata read),
    from the line each of its ``sessions`` sessions ends with; the benchmark fails where a session did not say,
    or where the sum cannot be right (nothing, or more than the ``run_cpu`` of the whole run)."""
    found = cells_cpu_seconds(output)
    if len(found) != sessions:
        raise BenchFailed(
            f"{len(found)} of the grid's {sessions} cells sessions said what their cells' processes used; no "
            "benchmark was written: each cells session must end with its cells_cpu_line (noxfile.py)"
        )
    used = sum(found)
    if not 0 < used <= run_cpu:
        raise BenchFailed(
            f"the grid's cells sessions said their cells' processes used {used:.1f} CPU-s of the run's "
            f"{run_cpu:.1f}; no benchmark was written: this system does not count child processes' CPU as expected"
        )
    return used


def grid_work(root: Path, searches: Path) -> str:
    """What a grid run made an environment for, counted from its records under ``root`` and the attempts its
    Werkzeug cells' searches kept in ``searches``: era and plain cells, attempts, and how many were Python 2.7's.
    The benchmark fails where Werkzeug cells were searched and no attempt is found (the wrong folder)."""
    records = [cell for path in Layout(root).grid.glob("*.json") for cell in grid_records.load(path).cells]
    cells = [c for c in records if c.kind != "werkzeug" and c.status not in grid_records.NOT_RUN]
    attempts = [read_json(path) for path in searches.glob("attempts/*/*.json")]
    if any(c.kind == "werkzeug" and c.tried for c in records) and not attempts:
        raise BenchFailed(f"the grid's Werkzeug cells were searched, but no attempt is kept under {searches}")
    failed = sum(a["outcome"] == "install-failed" for a in attempts)
    old = sum(c.python == "2.7" for c in cells) + sum(str(a["python"]).startswith("2.") for a in attempts)
    return (
        f"{len(cells)} era and plain-install cells and {len(attempts)} attempts of the Werkzeug cells' searches "
        f"({failed} of which did not install), {old} of all these on Python 2.7 (virtualenv and pip)"
    )


def _grid(
    plans: Sequence[Plan], work: Path, options: BenchOptions, index_url: str, log: Log
) -> tuple[list[Measurement], list[Phase]]:
    """The grid of ``plans``: cold (fresh nox folder and records, package caches as they are), then forced; and
    the cold run's floor: the CPU of the processes its cells started, the least of what they used in the run and
    what they used observed again alone (where every cell came out as in the run), over the cores."""
    root, envdir = grid_root(work), work / "grid-envs"
    shutil.rmtree(envdir, ignore_errors=True)
    log(f"cold grid of {len(plans)} releases")
    cold = nox_grid(plans, envdir, root, options)
    cells, served = grid_cells(root)
    log(f"the grid: {cells} cells, {served} served")
    in_run, cores = cells_cpu(cold.output, len(plans), cold.cpu), os.cpu_count() or 1
    # Counted before the forced run, which keeps the search's attempts and could add a new day's.
    work_done = grid_work(root, envdir / ".cache" / "constraints")
    # The forced run writes over the cold records: kept aside to check the replay against.
    cold_records = work / "grid-cold-records"
    shutil.rmtree(cold_records, ignore_errors=True)
    shutil.copytree(Layout(root).grid, cold_records)
    log(f"forced grid (--force) of {len(plans)} releases")
    forced = nox_grid(plans, envdir, root, options, "--force")
    # As many releases at a time as -j: one after another took twice as long and used no less CPU (1792 CPU-s
    # alone against 1747 two at a time, both above the cold run's 1581; 2026-11-29).
    log(f"the grid's cells observed again alone, {len(plans)} releases, {options.jobs} at a time")
    interpreters = envdir / ".cache" / "interpreters.json"
    total, alone, observed, replayed = cells_alone(plans, work, index_url, interpreters, options.jobs)
    differences = replay_differences(cold_records, replayed)
    counted = (
        f"the processes its cells started (environments, installs, imports, probes, metadata read) for {work_done}: "
        f"{in_run:.1f} CPU-s of the run's {cold.cpu:.1f}, as its {len(plans)} sessions counted them"
    )
    again = (
        f"observed again alone after it ({observed} cells; its searches from empty caches, package caches as it "
        f"left them; {options.jobs} releases at a time, no nox), {alone:.1f} CPU-s of the replays' {total:.1f}"
    )
    if differences:
        # Not the cold run's work: it bounds nothing, and the run's own count is not checked against another schedule.
        for line in differences[:20]:
            log(f"the replay differs from the cold run: {line}")
        floor = f"{counted}; {again}, with {len(differences)} differences from the run: not a floor"
        phases = [Phase("grid-cold", floor, 0.0)]
    else:
        least = min(in_run, alone)
        floor = f"{counted}; {again}, every cell as in the run; the lesser, / {cores} cores {FLOOR_MARK}"
        phases = [Phase("grid-cold", floor, round(least / cores, 2))]
    what = f"full grid, cold ({cells} cells, {served} served)"
    measurements = [
        _measurement("grid-cold", what, len(plans), [cold], 600, ALL),
        _measurement(
            "grid-forced",
            "full grid, forced (`--force`, the environments of era cells that served and the search caches kept)",
            len(plans),
            [forced],
            360,
            ALL,
        ),
    ]
    return measurements, phases


def _measurement(
    name: str, what: str, releases: int, runs: list[Timed], target: float | None, target_releases: int | None
) -> Measurement:
    return Measurement(
        name, what, releases, [round(r.wall, 3) for r in runs], [round(r.cpu, 3) for r in runs], target, target_releases
    )


def _version(argv: list[str | Path]) -> str:
    done = run(argv, 60)
    return (done.stdout or done.stderr).strip().splitlines()[-1] if done.ok else "unknown"


def main(options: BenchOptions, log: Log = print) -> Bench:
    """Measure everything in ``options.workdir`` (a temporary folder by default); return the data.

    :param options: what to measure and how often (``parse``).
    :param log: where progress lines go.
    """
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
        return measure(options, options.workdir.resolve(), log)
    with tempfile.TemporaryDirectory(prefix="flask-audit-bench-") as work:
        return measure(options, Path(work), log)

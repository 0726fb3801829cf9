"""The benchmark: how long the audit takes cold, warm, cached, for one release, and uv against pip.

Every run goes through nox the way a user runs it, in a temporary folder (environments and
records), so the committed ``reports/results`` are never touched. The numbers are stored in
``reports/bench.json``; ``scripts/bench_report`` renders ``reports/bench.md`` from them.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from scripts.audit import harness, records
from scripts.audit import run as audit
from scripts.common.failures import first_error_line
from scripts.packages import environments as environment
from scripts.packages import era as pins
from scripts.packages import index
from scripts.packages.environments import InstallRequest
from scripts.packages.era import Plan
from scripts.report.bench import Bench, EnvironmentPair, Measurement, Phase, median, render, table

ROOT = Path(__file__).resolve().parent.parent.parent
NOXFILE = ROOT / "noxfile.py"
#: One release per era: Python 2.7 + pip, the 0.x line, 1.0 (threads by default), old pins, today's.
FIXED = ("0.9", "0.12.5", "1.0", "1.0.3", "2.0.3", "3.1.3")
RUN_TIMEOUT = 3600.0
ALL = 62
_READY = re.compile(r"environment ready in ([\d.]+)s, (\d+) modes observed in ([\d.]+)s")
_SESSION = re.compile(r"Running session audit\(([^)]+)\)")

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
    report_dir: Path
    index_url: str | None


@dataclass
class Timed:
    wall: float
    cpu: float
    output: str


def parse(args: Sequence[str]) -> BenchOptions:
    parser = argparse.ArgumentParser(prog="nox -s bench --", description="Time the audit.")
    parser.add_argument(
        "--releases", default="fixed", help="'fixed' (default: one release per era), 'all', or versions: 1.0,2.0.3"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the cheap measurements (median shown)")
    parser.add_argument("--cold-rounds", type=int, default=1, help="rounds of the cold audit (each rebuilds all)")
    parser.add_argument("--pair-rounds", type=int, default=1, help="rounds of the uv / venv + pip comparison")
    parser.add_argument("--jobs", type=int, default=2, help="nox -j for the audit runs")
    parser.add_argument("--mode-jobs", type=int, default=audit.Options.mode_jobs, help="audit --mode-jobs")
    parser.add_argument("--workdir", type=Path, help="where environments and records go (default: a temp folder)")
    parser.add_argument("--report-dir", type=Path, default=ROOT / "reports", help="where bench.json/.md go")
    parser.add_argument("--index-url", help="package index (default: your uv/pip configuration)")
    parsed = parser.parse_args(args)
    return BenchOptions(
        releases=tuple(parsed.releases.split(",")),
        rounds=max(1, parsed.rounds),
        cold_rounds=max(1, parsed.cold_rounds),
        pair_rounds=max(1, parsed.pair_rounds),
        jobs=max(1, parsed.jobs),
        mode_jobs=max(1, parsed.mode_jobs),
        workdir=parsed.workdir,
        report_dir=parsed.report_dir.resolve(),
        index_url=parsed.index_url,
    )


def chosen(plans: list[Plan], wanted: tuple[str, ...]) -> list[Plan]:
    """The plans the benchmark runs: all, the fixed set, or the versions named."""
    if wanted == ("all",):
        return plans
    names = FIXED if wanted == ("fixed",) else wanted
    by_version = {plan.version: plan for plan in plans}
    missing = [name for name in names if name not in by_version]
    if missing:
        raise SystemExit(f"not in reports/releases.json: {', '.join(missing)}; pick from `nox -l`")
    return [by_version[name] for name in names]


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(argv: Sequence[str], what: str) -> Timed:
    """Run a command to the end (bounded), returning its wall and CPU seconds; fail loudly if it fails."""
    cpu, start = children_cpu(), time.monotonic()
    done = subprocess.run(
        [str(a) for a in argv],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    wall, used = time.monotonic() - start, children_cpu() - cpu
    if done.returncode != 0:
        raise SystemExit(f"{what} failed ({done.returncode}):\n{(done.stdout + done.stderr)[-4000:]}")
    return Timed(wall, used, done.stdout + done.stderr)


def nox_audit(
    plans: Sequence[Plan], envdir: Path, output: Path, options: BenchOptions, *extra: str, jobs: int | None = None
) -> Timed:
    sessions = [f"audit({plan.version})" for plan in plans]
    after = ["--output", str(output), "--mode-jobs", str(options.mode_jobs), *extra]
    if options.index_url:
        after += ["--index-url", options.index_url]
    argv = [sys.executable, "-m", "nox", "-f", NOXFILE, "--envdir", envdir, "-j", str(jobs or options.jobs)]
    return timed([*argv, "-s", *sessions, "--", *after], f"nox audit of {len(plans)} releases")


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


def mode_phases(run: str, results: Path) -> list[Phase]:
    """Seconds per mode, summed over the records of one run (each includes start-up and stop)."""
    sums: dict[str, float] = {}
    for observation in records.load_all(results):
        for mode, seen in observation.modes.items():
            sums[mode] = sums.get(mode, 0.0) + (seen.seconds or 0.0)
    return [Phase(run, f"mode {mode} (start, observe, stop)", round(s, 2)) for mode, s in sums.items()]


def environment_of(envdir: Path, version: str) -> Path | None:
    """The filled environment of ``version`` under ``envdir``, found by its build stamp."""
    for stamp in envdir.glob(f"*/{environment.BUILD_STAMP}"):
        build = environment.recorded_build(stamp.parent)
        if build is not None and build.requirement == f"flask=={version}":
            return stamp.parent
    return None


def verdict_rounds(python: Path, mode: str, rounds: int) -> list[float]:
    return [harness.observe_mode(python, mode, harness.Settings()).seconds or 0.0 for _ in range(rounds)]


def pair(plan: Plan, work: Path, index_url: str, log: Log) -> EnvironmentPair | None:
    """Make ``plan``'s environment with uv, then with venv + pip pinned to what uv installed."""
    assert plan.interpreter is not None
    era = pins.cutoff(plan.release)
    if era is None:
        return None
    request = InstallRequest(f"flask=={plan.version}", index_url, era, datetime.now(UTC))
    uv_dir, pip_dir = work / f"uv-{plan.version}", work / f"pip-{plan.version}"
    work.mkdir(parents=True, exist_ok=True)
    for folder in (uv_dir, pip_dir):
        shutil.rmtree(folder, ignore_errors=True)
    start = time.monotonic()
    python = environment.create_uv_venv(plan.interpreter.path, uv_dir)
    outputs: list[str] = []
    try:
        environment.uv_install(python, request, outputs=outputs)
    except environment.SetupFailed as exc:
        log(f"{plan.version}: uv failed ({exc.detail}), left out of the comparison")
        return None
    uv_seconds = time.monotonic() - start
    built = sum(line.strip().startswith("Built ") for output in outputs for line in output.splitlines())
    pinned = work / f"pins-{plan.version}.txt"
    pinned.write_text("".join(f"{n}=={v}\n" for n, v in environment.inventory(python).packages.items()))
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
    made = environment.run([interpreter, "-m", "venv", location], environment.INSTALL_TIMEOUT)
    if made.returncode != 0:
        return time.monotonic() - start, first_error_line(made.stdout + made.stderr) or "venv failed"
    pip = [environment.venv_python(location), "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    install = [*pip, "--index-url", index_url, "-c", pinned, requirement]
    done = environment.run(install, environment.INSTALL_TIMEOUT)
    if done.returncode != 0:
        legacy = environment.run([*pip, "--index-url", index_url, environment.LEGACY_BUILD_CONSTRAINT], 600)
        done = environment.run(install, environment.INSTALL_TIMEOUT) if legacy.returncode == 0 else done
    failure = "" if done.returncode == 0 else first_error_line(done.stdout + done.stderr) or "pip install failed"
    return time.monotonic() - start, failure


def median_pair(samples: list[EnvironmentPair]) -> EnvironmentPair:
    first = samples[0]
    uv, pip = median([s.uv for s in samples]), median([s.pip for s in samples])
    assert uv is not None and pip is not None
    return EnvironmentPair(first.release, first.python, uv, pip, first.built_from_source)


def measure(options: BenchOptions, work: Path, log: Log) -> Bench:
    plans = chosen(audit.plans(), options.releases)
    runnable = [plan for plan in plans if audit.not_runnable(plan) is None]
    count = len(plans)
    load_before = [round(x, 2) for x in os.getloadavg()]
    measurements: list[Measurement] = []
    profile: list[Phase] = []

    cold = []
    for round_ in range(options.cold_rounds):
        envdir, output = work / "envs", work / "out"
        shutil.rmtree(envdir, ignore_errors=True)
        shutil.rmtree(output, ignore_errors=True)
        log(f"cold audit of {count} releases, round {round_ + 1}")
        cold.append(nox_audit(plans, envdir, output, options))
    profile += session_phases("cold", cold[-1].output, plans)
    measurements.append(_measurement("cold", "cold audit (fresh environments, no records)", count, cold, 180, ALL))

    warm = []
    for round_ in range(options.rounds):
        log(f"warm audit (--force) of {count} releases, round {round_ + 1}")
        warm.append(nox_audit(plans, work / "envs", work / "out", options, "--force"))
    profile += session_phases("warm", warm[-1].output, plans)
    profile += mode_phases("warm", audit.results_dir(work / "out"))
    measurements.append(_measurement("warm", "warm audit (environments built, --force)", count, warm, 75, ALL))

    cached = []
    for round_ in range(options.rounds):
        log(f"cached rerun of {count} releases, round {round_ + 1}")
        cached.append(nox_audit(plans, work / "envs", work / "out", options))
    measurements.append(_measurement("cached", "rerun, every observation cached", count, cached, 10, ALL))
    # Under -j every session is a nox process of its own; one process running them in turn is cheaper here.
    in_turn = []
    for round_ in range(options.rounds):
        log(f"cached rerun of {count} releases in one nox process (-j 1), round {round_ + 1}")
        in_turn.append(nox_audit(plans, work / "envs", work / "out", options, jobs=1))
    what = "rerun, every observation cached, `-j 1`"
    measurements.append(_measurement("cached-j1", what, count, in_turn, 10, ALL))

    one = runnable[-1]
    single = []
    for round_ in range(options.rounds):
        log(f"cold audit of Flask {one.version} alone, round {round_ + 1}")
        shutil.rmtree(work / "one", ignore_errors=True)
        single.append(nox_audit([one], work / "one" / "envs", work / "one" / "out", options))
    measurements.append(_measurement("one", f"one release cold (Flask {one.version})", 1, single, 10, 1))

    measurements += _verdicts(work, plans, options.rounds * 2, log)

    index_url = index.configured_index_url(options.index_url)
    pairs = []
    for plan in (p for p in runnable if p.installer == "uv"):
        log(f"Flask {plan.version}: environment with uv, then with venv + pip")
        samples = [s for _ in range(options.pair_rounds) if (s := pair(plan, work / "pairs", index_url, log))]
        if samples:
            pairs.append(median_pair(samples))

    return Bench(
        made_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        machine={
            "cores": os.cpu_count(),
            "load_before": load_before,
            "load_after": [round(x, 2) for x in os.getloadavg()],
            "python": sys.version.split()[0],
            "nox": _version([sys.executable, "-m", "nox", "--version"]),
            "uv": _version([*environment.uv_command(), "--version"]),
        },
        settings={
            "releases": [plan.version for plan in plans],
            "catalogue": len(audit.plans()),
            "jobs": options.jobs,
            "mode_jobs": options.mode_jobs,
            "negative_window": harness.Settings.negative_window,
        },
        measurements=measurements,
        pairs=pairs,
        profile=profile,
    )


def _verdicts(work: Path, plans: Sequence[Plan], rounds: int, log: Log) -> list[Measurement]:
    """The cost of a single-threaded verdict (it waits out the negative window) next to a threaded one."""
    results = work / "out" / "reports" / "results"
    serial = [
        plan
        for plan in plans
        if (path := records.record_path(results, plan.version)).exists()
        and (seen := records.load(path).modes.get("default")) is not None
        and seen.concurrent is False
    ]
    location = environment_of(work / "envs", serial[-1].version) if serial else None
    if location is None:
        log("no single-threaded release in the set: verdict cost not measured")
        return []
    python = environment.venv_python(location)
    version = serial[-1].version
    log(f"verdict cost on Flask {version}, {rounds} rounds")
    found = []
    for mode, what, target in (
        ("default", f"single-threaded verdict (Flask {version} `app.run()`)", 1.0),
        ("threaded", f"threaded verdict (Flask {version} `threaded=True`)", None),
    ):
        seconds = verdict_rounds(python, mode, rounds)
        found.append(Measurement(f"verdict-{mode}", what, 1, seconds, [], target, 1 if target else None))
    return found


def _measurement(
    name: str, what: str, releases: int, runs: list[Timed], target: float, target_releases: int
) -> Measurement:
    return Measurement(
        name, what, releases, [round(r.wall, 3) for r in runs], [round(r.cpu, 3) for r in runs], target, target_releases
    )


def _version(argv: list[str]) -> str:
    done = environment.run(argv, 60)
    return (done.stdout or done.stderr).strip().splitlines()[-1] if done.returncode == 0 else "unknown"


def write(bench: Bench, report_dir: Path) -> tuple[Path, Path]:
    data, page = report_dir / "bench.json", report_dir / "bench.md"
    records.write_json_atomic(data, bench.to_json())
    records.write_text_atomic(page, render(bench))
    return data, page


def main(args: Sequence[str], log: Log = print) -> Bench:
    options = parse(args)
    if options.workdir is not None:
        options.workdir.mkdir(parents=True, exist_ok=True)
        bench = measure(options, options.workdir.resolve(), log)
    else:
        with tempfile.TemporaryDirectory(prefix="flask-audit-bench-") as work:
            bench = measure(options, Path(work), log)
    for path in write(bench, options.report_dir):
        log(f"wrote {path}")
    log("\n" + table(bench))
    return bench


if __name__ == "__main__":
    main(sys.argv[1:])

"""Rendering the benchmark: ``reports/bench.md`` from ``reports/bench.json``; same data, same bytes."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.bench.records import (
    FLOOR_MARK,
    NO_FLOOR_MARK,
    UV_TARGET_RATIO,
    Bench,
    EnvironmentPair,
    floor,
    median,
    scaled,
    uv_pip_ratio,
    verdict,
)

__all__ = ["limits", "render", "table"]

# -- the markdown -----------------------------------------------------------------------------------


def _s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def table(bench: Bench) -> str:
    """Medians against targets, one row per measurement, then the uv/pip ratio."""
    lines = [
        "| measurement | releases | rounds | median | CPU (median) | target | for 62 / target count | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in bench.measurements:
        target = f"≤ {m.target:g} s for {m.target_releases}" if m.target is not None else ""
        extrapolated = _s(scaled(m)) if m.target_releases and m.releases != m.target_releases else ""
        lines.append(
            f"| {m.what} | {m.releases} | {len(m.rounds)} | {_s(median(m.rounds))} | {_s(median(m.cpu))} "
            f"| {target} | {extrapolated} | {verdict(m)} |"
        )
    ratio = uv_pip_ratio(bench.pairs)
    if ratio is not None:
        met = "met" if ratio >= UV_TARGET_RATIO else "not met"
        uv, pip = sum(p.uv for p in bench.pairs), sum(p.pip for p in bench.pairs)
        totals = f"pip {pip:.2f} s / uv {uv:.2f} s = **{ratio:.1f}x**"
        lines.append(
            f"| environments, plain venv + pip vs uv (total) | {len(bench.pairs)} | 1 | {totals} "
            f"| | ≥ {UV_TARGET_RATIO:g}x | | {met} |"
        )
    return "\n".join(lines)


def pairs_table(pairs: Sequence[EnvironmentPair]) -> str:
    lines = ["| release | Python | uv | venv + pip | pip / uv | built from sdists |", "|---|---|---|---|---|---|"]
    for p in pairs:
        ratio = f"{p.pip / p.uv:.1f}x" if p.uv > 0 else "—"
        lines.append(f"| {p.release} | {p.python} | {_s(p.uv)} | {_s(p.pip)} | {ratio} | {p.built_from_source} |")
    return "\n".join(lines)


#: What stands for FLOOR_MARK where a run's own floor came out above the run's own CPU over the cores.
NOT_A_FLOOR = "(more CPU than the run itself used: not a floor)"


def void_floor(bench: Bench, run: str) -> bool:
    """Whether ``run``'s own floor used more CPU than the run did: the run did all the work the floor measures
    and more, so such a measurement (the same work measured again need not cost the same CPU) bounds nothing."""
    own, cores = floor(bench, run), bench.machine.get("cores") or 1
    cpu = next((median(m.cpu) for m in bench.measurements if m.name == run), None)
    return own is not None and cpu is not None and own.seconds * cores > cpu


def profile_table(bench: Bench) -> str:
    lines = ["| run | phase | seconds |", "|---|---|---|"]
    for p in bench.profile:
        void = p.phase.endswith(FLOOR_MARK) and void_floor(bench, p.run)
        phase = p.phase.removesuffix(FLOOR_MARK) + NOT_A_FLOOR if void else p.phase
        seconds = "—" if p.phase.endswith(NO_FLOOR_MARK) else f"{p.seconds:.2f}"
        lines.append(f"| {p.run} | {phase} | {seconds} |")
    return "\n".join(lines)


#: The runs whose floor is the probes' (measured beside the warm run): an audit observes every mode.
AUDIT_RUNS = ("warm", "cold", "fresh-clone")


def limits(bench: Bench) -> list[str]:
    """One sentence per target not met, naming the measured figure and where its time went."""
    sentences = []
    cores = bench.machine.get("cores") or 1
    for m in bench.measurements:
        if m.target is None or verdict(m).startswith("met"):
            continue
        wall, cpu = median(m.rounds), median(m.cpu)
        sentence = f"{m.what}: measured {_s(wall)} for {m.releases} releases, target ≤ {m.target:g} s"
        if cpu is not None and wall:
            busy = cpu / (wall * cores)
            sentence += f"; its processes used {cpu:.1f} CPU-seconds, {busy:.0%} of {cores} cores over the run"
        phases = [p for p in bench.profile if p.run == m.name and not p.phase.endswith((FLOOR_MARK, NO_FLOOR_MARK))]
        if phases:
            sentence += "; summed over sessions: " + ", ".join(f"{p.phase} {p.seconds:.1f} s" for p in phases)
        own = floor(bench, m.name)
        none = next((p for p in bench.profile if p.run == m.name and p.phase.endswith(NO_FLOOR_MARK)), None)
        if own is None and none is not None:
            sentences.append(f"{sentence}. It has no floor: {none.phase.removesuffix(NO_FLOOR_MARK)}.")
            continue
        if own is not None and void_floor(bench, m.name):
            sentence += (
                f". It has no floor: {own.phase.removesuffix(FLOOR_MARK).strip()}; that is more CPU than the run "
                f"itself used ({cpu:.1f} CPU-s), so it bounds nothing"
            )
            sentences.append(sentence + ".")
            continue
        # A run without a floor of its own (a bench made before cold runs had one) is set against the probes',
        # in proportion to the releases they covered; a run's own floor covers the releases it ran.
        below = own or (floor(bench, "warm") if m.name in AUDIT_RUNS else None)
        if below is not None and wall:
            covered = m.releases if own else (bench.settings.get("probed") or m.releases)
            seconds = below.seconds * m.releases / covered
            at_target = seconds * (m.target_releases or m.releases) / m.releases
            side = "above" if at_target > m.target else "within"
            scaled_note = "" if covered == m.releases else f" (measured over {covered} releases, in proportion)"
            sentence += (
                f". Its floor is {seconds:.1f} s{scaled_note}, {side} the target: "
                f"{below.phase.removesuffix(FLOOR_MARK).strip()}; {max(wall - seconds, 0):.1f} s of this run is "
                "above the floor"
            )
        sentences.append(sentence + ".")
    ratio = uv_pip_ratio(bench.pairs)
    if ratio is not None and ratio < UV_TARGET_RATIO:
        measured = f"uv is {ratio:.1f}x faster than venv + pip, target ≥ {UV_TARGET_RATIO:g}x."
        built = sum(p.built_from_source for p in bench.pairs)
        rebuilt = (
            f" uv built {built} distributions from sdists here although the audit runs before had installed the "
            "same releases: its cache did not give back the wheels it had built on this machine."
            if built
            else ""
        )
        sentences.append(f"{measured} {split(bench.pairs)}{rebuilt}")
    return sentences


def split(pairs: Sequence[EnvironmentPair]) -> str:
    """The ratio apart for releases whose dependencies are all wheels and for those uv built from sdists."""
    parts = []
    for label, group in (
        ("all dependencies wheels", [p for p in pairs if not p.built_from_source]),
        ("uv built sdists (a build both paths pay)", [p for p in pairs if p.built_from_source]),
    ):
        ratio = uv_pip_ratio(group)
        if ratio is not None:
            uv = median([p.uv for p in group])
            count = f"{len(group)} release" + ("" if len(group) == 1 else "s")
            parts.append(f"{label}: {count}, {ratio:.1f}x (uv median {_s(uv)})")
    return "; ".join(parts).capitalize() + "." if parts else ""


def render(bench: Bench) -> str:
    settings = bench.settings
    machine = bench.machine
    limit_lines = "\n".join(f"- {s}" for s in limits(bench)) or "- Every target is met."
    return f"""# Benchmark: how long the audit takes

Generated from `reports/bench.json` by `nox -s bench`; do not edit. Made {bench.made_at} on
{machine.get("cores")} cores (load average before: {machine.get("load_before")}, after:
{machine.get("load_after")}), nox {machine.get("nox")}, {machine.get("uv")}.

Releases: {", ".join(settings["releases"])} ({len(settings["releases"])} of {settings["catalogue"]}).
Sessions ran with `nox -s audit -j {settings["jobs"]} -- --mode-jobs {settings["mode_jobs"]}`
(negative window {settings["negative_window"]:g} s). The fresh clone runs the README's audit command,
verbatim, in a new clone with empty uv, pip and virtualenv caches, tools installed too. Cold means a
fresh nox environment folder and no observation records (uv's and pip's caches stay as they are);
warm means the environments are built and every release is observed again (`--force`); cached means
nothing changed since the last run. The grid runs the releases' `cells` sessions with the same `-j`:
cold in a fresh nox folder without grid records, then forced (the environments of era cells that served, kept
in the nox folder, are probed again; the others are made again). The probes alone are every mode of
every release run in turn by the harness, with no nox, installer or record around them: their CPU
over the cores is a floor no schedule can beat. The cold run's floor adds the environments made alone,
one after another, the audit's way; the fresh clone's adds the README's tool install and the
environments made alone with empty caches of their own. The cold grid's floor is the CPU of the processes
its cells started (environments, installs, imports, probes, metadata read), over the cores: the lesser of
what they used in the run, as each `cells` session counted them, and what they used observed again after it
without nox (one release per process, `-j` at a time, its searches from empty caches), where every cell came
out as in the run; with a cell that came out otherwise it has no floor. The Python work of nox and of the
sessions themselves (scheduling, the searches' and records' own code, the harness's requests) is above it. A
floor that used more CPU than its run did is no floor.

## Medians against the targets

{table(bench)}

## Where targets are not met, and why

{limit_lines}

## Where the time goes

Summed over the sessions of one round (sessions overlap under `-j`, so sums exceed the wall time),
and the floors: what each run cannot do without, measured alone (the cold grid's: the lesser of its count in the
run and without nox).

{profile_table(bench)}

## Environments: uv against plain `venv` + pip, same releases, side by side

Each release's environment is made twice: `uv venv` + `uv pip install` (the audit's path) and
`python -m venv` + `pip install` pinned to the very package set uv installed.

{pairs_table(bench.pairs)}

{split(bench.pairs)}
"""

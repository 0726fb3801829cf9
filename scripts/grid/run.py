"""The compatibility grid: observe every cell of one release, reusing cells whose key is unchanged.

A cell is cached in the release's grid record under a key of everything that decides it
(``CellSpec.key``), so a rerun with nothing new observes nothing.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from filelock import FileLock
from packaging.version import Version

from scripts.audit import harness
from scripts.audit.records import status_from_default
from scripts.common.clock import now, stamp
from scripts.common.evidence import Confirmations
from scripts.constraints import records as constraints_records
from scripts.constraints import run as search
from scripts.constraints.run import Options
from scripts.grid.cells import CellSpec, line_admits, relevant, specs
from scripts.grid.records import Cell, GridRecord, load, save
from scripts.layout import REPO, release_file
from scripts.packages import environments, era, index
from scripts.packages.catalogue import Release, lines, load_lines
from scripts.packages.environments import SetupFailed
from scripts.packages.interpreters import Interpreter

__all__ = ["observe", "observe_release", "parse_options", "prune", "run"]

Log = Callable[[str], None]


def parse_options(args: list[str]) -> Options:
    """The grid's options from what follows ``--``; raises cli.OptionError naming a bad one."""
    return search.parse_options(args, "grid", "cells")


def _ruled_out(spec: CellSpec) -> tuple[str, str] | None:
    """Why a cell is not run here at all (its status and detail), or None."""
    if spec.werkzeug is not None and not spec.pythons and spec.ceiling is not None:
        return "not-allowed", (
            f"Werkzeug {spec.werkzeug.line} requires {spec.werkzeug.requires_python}; "
            f"Flask {spec.release.version} served today up to Python {spec.ceiling}"
        )
    if spec.interpreter is None:
        return "no-interpreter", "no interpreter here that the metadata allows"
    if not era.admits(spec.release.requires_python, spec.interpreter.version_text):
        return "not-allowed", f"requires_python {spec.release.requires_python}"
    if spec.werkzeug and not line_admits(spec.werkzeug, spec.interpreter):
        return "not-allowed", f"Werkzeug {spec.werkzeug.line} requires {spec.werkzeug.requires_python}"
    return None


def observe(
    spec: CellSpec,
    index_url: str,
    settings: harness.Settings,
    log: Log = print,
    cache: Path | None = None,
    kept: Path | None = None,
) -> Cell:
    """Install, import and probe one cell; failures are the cell's status.

    :param cache: where a Werkzeug cell's attempts and bisections are kept (shared with the run-it-today search).
    :param kept: where era cells keep their environments between runs (a rerun probes again without installing);
        None, or another kind of cell: a throw-away environment.
    """
    moment = now()
    cell = Cell(spec.kind, spec.release.version, spec.python, "ok", observed_at=stamp(moment), cache_key=spec.key())
    cell.werkzeug_line = spec.werkzeug.line if spec.werkzeug else None
    ruled_out = _ruled_out(spec)
    if ruled_out is not None:
        cell.status, cell.detail = ruled_out  # type: ignore[assignment]
        return cell
    assert spec.interpreter is not None
    if spec.werkzeug is not None:
        return _observe_werkzeug(spec, cell, index_url, cache or Path(tempfile.mkdtemp(prefix="flask-grid-")), log)
    request = spec.request(index_url, moment)
    if spec.kind == "era" and kept is not None and request.cutoff is not None:
        # An era's install is the same every time (its cut-off fixes every file it installs), so it is kept; a
        # plain install of today, or an era on an index without upload dates, is made again: the newest changes.
        location = kept / f"{spec.kind}-{spec.python}"
        location.parent.mkdir(parents=True, exist_ok=True)
        # One user of an environment at a time: a second run of the same release would refill it under a probe.
        with _lock(location):
            return _observe_in(spec, cell, location, request, settings, log)
    with tempfile.TemporaryDirectory(prefix="flask-grid-") as workdir:
        return _observe_in(spec, cell, Path(workdir) / "env", request, settings, log)


def _lock(location: Path) -> FileLock:
    """The lock of one kept environment, beside it (it must outlive the environment's removal)."""
    return FileLock(location.parent / f".{location.name}.lock")


def _wanted(spec: CellSpec, request: environments.InstallRequest) -> environments.Build:
    assert spec.interpreter is not None
    return environments.Build(
        environments.installer_for(spec.interpreter.version),
        spec.interpreter.path,
        request.requirement,
        stamp(request.cutoff) if request.cutoff else None,
        environments.index_identity(request.index_url),
    )


def _observe_in(
    spec: CellSpec,
    cell: Cell,
    location: Path,
    request: environments.InstallRequest,
    settings: harness.Settings,
    log: Log,
) -> Cell:
    """Fill the cell's environment at ``location`` (or reuse it where it was filled for the same request and
    still holds the files it was stamped with), then probe plain ``app.run()`` in it.

    Only an environment whose cell serves is kept. A reused one whose cell no longer serves is made again and
    observed once more: the failure of an environment damaged since it was filled (a module file removed by
    hand) is never the release's.
    """
    assert spec.interpreter is not None
    python, wanted = environments.venv_python(location), _wanted(spec, request)
    previous = environments.recorded_build(location)
    held = environments.held(python)
    reason = environments.stale(location, previous, wanted, held)
    if reason is None and previous is not None:
        reused = _probe(replace(cell, notes=previous.changes), python, held, settings)
        if reused.status == "ok":
            return reused
        reason = f"its cell no longer serves ({reused.status}: {reused.detail}); made again to tell it from the release"
    if previous is not None:
        log(f"rebuilding {location}: {reason}")
    if location.exists():
        environments.forget_build(location)
        shutil.rmtree(location)
    try:
        cell.notes = environments.fill(spec.interpreter, location, request)
    except SetupFailed as exc:
        shutil.rmtree(location, ignore_errors=True)  # nothing to keep: the next run installs again
        cell.status, cell.detail = exc.status, exc.detail
        return cell
    held = environments.held(python)
    environments.record_build(location, replace(wanted, files=environments.files_identity(held), changes=cell.notes))
    observed = _probe(cell, python, held, settings)
    if observed.status != "ok":
        # Kept only where the cell serves: one that fails would be made again at every run anyway (see above).
        environments.forget_build(location)
        shutil.rmtree(location, ignore_errors=True)
    return observed


def _probe(cell: Cell, python: Path, held: environments.Inventory, settings: harness.Settings) -> Cell:
    """What plain ``app.run()`` does in the filled environment of ``python``, holding ``held``."""
    cell.python_version, cell.packages = held.python, held.packages
    cell.declared = environments.declared_requirements(python)
    seen = harness.observe_mode(python, "default", settings)
    if seen.outcome == "error" and seen.failed_in == "app":
        # A probe that got as far as its app imported Flask, so the import is checked only where the probe
        # exited before its app existed: a release that does not import is told from one whose app fails.
        try:
            environments.check_import(python)
        except SetupFailed as exc:
            cell.status, cell.detail = exc.status, exc.detail
            return cell
    if seen.outcome != "served":
        cell.status, cell.detail = status_from_default(seen)
    else:
        cell.concurrent = seen.concurrent
    return cell


def prune(kept: Path, cells: list[CellSpec]) -> list[Path]:
    """Remove the environments under ``kept`` that no cell of the release uses any more (an interpreter gone
    from the machine, a cell now ruled out); return them."""
    used = {f"{spec.kind}-{spec.python}" for spec in cells if spec.kind == "era" and _ruled_out(spec) is None}
    removed = []
    for location in sorted(kept.glob("era-*")) if kept.is_dir() else []:
        if location.name not in used and location.is_dir() and not location.is_symlink():
            with _lock(location):
                environments.forget_build(location)
                shutil.rmtree(location, ignore_errors=True)
            if not location.exists():
                removed.append(location)
    return removed


def _observe_werkzeug(spec: CellSpec, cell: Cell, index_url: str, cache: Path, log: Log) -> Cell:
    """The run-it-today search with the Werkzeug line pinned: bounds on the other dependencies where they are
    what fails, an older Python where the interpreter (or the pair, the same on two minors) is; the last
    attempt is the cell."""
    trials = search.Trials(spec.release, index_url, cache, log, pinned=spec.pinned)
    found = search.find(spec.release, list(spec.pythons), trials, spec.start)
    if not found.verified and spec.start and found.attempts[0].outcome == "install-failed":
        # The bounds the release needed with its own Werkzeug are a head start, not a requirement: where they
        # cannot be installed beside this line (MarkupSafe<2.1 under Werkzeug 2.2), the search starts plain.
        plain = search.find(spec.release, list(spec.pythons), trials)
        found = replace(plain, attempts=[*found.attempts, *plain.attempts])
    cell.tried = [
        f"Python {a.python} [{', '.join(a.constraints)}]: {a.outcome}" + (f": {a.error}" if a.error else "")
        for a in found.attempts
    ]
    if found.verified:
        served = [a for a in found.attempts if a.outcome == "served"][-1]
        cell.python, cell.python_version = found.python, served.python
        cell.packages, cell.declared = found.packages, served.declared
        cell.bounds = [b.requirement for b in found.bounds]
        return cell
    last = found.attempts[-1]
    cell.python, cell.python_version = ".".join(last.python.split(".")[:2]), last.python
    cell.packages, cell.declared = last.packages, last.declared
    cell.status, cell.detail = last.outcome, last.error  # type: ignore[assignment]  # never "served" here
    cell.culprit_kind, cell.culprit = last.culprit_kind, last.culprit
    return cell


def observe_release(
    release: Release,
    cells: list[CellSpec],
    folder: Path,
    index_url: str | None = None,
    force: bool = False,
    settings: harness.Settings | None = None,
    log: Log = print,
    cache: Path | None = None,
    kept: Path | None = None,
    confirmations: Confirmations | None = None,
) -> GridRecord:
    """Observe every cell of one release not already cached, saving the record after each cell.

    :param cache: where Werkzeug cells keep their attempts and bisections (see ``observe``).
    :param kept: where era cells keep their environments (see ``observe``).
    :param confirmations: where this machine keeps the cells' keys (None: every cell is observed).
    """
    path = release_file(folder, release.version)
    previous = load(path).cells if path.exists() else []
    keys = confirmations.keys(path, len(previous)) if confirmations else [None] * len(previous)
    for there, key in zip(previous, keys, strict=True):
        there.cache_key = key
    stored = {} if force else {there.cache_key: there for there in previous if there.cache_key is not None}
    # Era cells of Pythons this machine has not got were observed elsewhere (or before): evidence, kept as it is.
    here = {spec.python for spec in cells if spec.kind == "era"}
    elsewhere = [there for there in previous if there.kind == "era" and there.python not in here]
    record = GridRecord(release.version, release.released, release.requires_python)
    url = index.configured_index_url(index_url)
    reused = 0
    for at, spec in enumerate(cells):
        cached = stored.get(spec.key())
        if cached is not None:
            record.cells.append(cached)
            reused += 1
            continue
        cell = observe(spec, url, settings or harness.Settings(), log, cache, kept)
        record.cells.append(cell)
        with_wz = f" + Werkzeug {cell.werkzeug_line}" if cell.werkzeug_line else ""
        log(f"{cell.kind}: Flask {cell.flask}{with_wz} on Python {cell.python}: {cell.status} {cell.detail or ''}")
        # Saved as it goes, with the stored cells not reached yet: an interrupted run keeps what it observed, and
        # loses nothing it had.
        ahead = {
            _place(later.kind, later.python, later.werkzeug.line if later.werkzeug else None)
            for later in cells[at + 1 :]
        }
        rest = [there for there in previous if _place(there.kind, there.python, there.werkzeug_line) in ahead]
        _save(replace(record, cells=_in_order([*record.cells, *rest, *elsewhere])), folder, confirmations)
    record.cells = _in_order([*record.cells, *elsewhere])
    _save(record, folder, confirmations)
    for location in prune(kept, cells) if kept is not None else []:
        log(f"removed {location}: no cell of Flask {release.version} uses it now")
    log(f"Flask {release.version}: {len(cells) - reused} cells observed, {reused} cached")
    return record


def _in_order(cells: list[Cell]) -> list[Cell]:
    """Era cells by Python version, then the others as planned (the file's order, whichever machine wrote it)."""
    era = sorted((c for c in cells if c.kind == "era"), key=lambda c: Version(c.python or "0"))
    return [*era, *(c for c in cells if c.kind != "era")]


def _place(kind: str, python: str | None, werkzeug_line: str | None) -> tuple[str, str | None]:
    """Where a cell stands in its release's grid: an era or plain cell by its Python, a Werkzeug cell by its line
    (it names the Python it ended on, which is not the one it was planned with)."""
    return (kind, python) if werkzeug_line is None else (kind, werkzeug_line)


def _save(record: GridRecord, folder: Path, confirmations: Confirmations | None) -> None:
    """Write the record if its evidence changed, and keep the keys its cells were observed under here."""
    path = save(record, folder)
    if confirmations is not None:
        confirmations.confirm(path, [cell.cache_key for cell in record.cells], record.to_json())


def run(
    version: str,
    releases: list[Release],
    found: list[Interpreter],
    options: Options,
    cache: Path,
    log: Log = print,
    kept: Path | None = None,
    confirmations: Confirmations | None = None,
) -> GridRecord:
    """Every cell of one release (cached ones reused), saved to its grid record.

    :param version: the Flask release.
    :param releases: the catalogue (the release, and the newest patch of each Flask line).
    :param found: this machine's interpreters.
    :param options: the command line's options.
    :param cache: where attempts and bisections are kept between runs (the run-it-today search's).
    :param kept: where the release's era cells keep their environments between runs.
    :param confirmations: where this machine keeps the keys its cells were observed under.
    """
    release = next(r for r in releases if r.version == version)
    wz = relevant(load_lines(REPO.werkzeug_lines))
    path = release_file(options.output.constraints, version)
    today = constraints_records.load(path) if path.exists() else None
    cells = specs(release, found, wz, lines(releases), today)
    return observe_release(
        release,
        cells,
        options.output.grid,
        options.index_url,
        options.force,
        log=log,
        cache=cache,
        kept=kept,
        confirmations=confirmations,
    )

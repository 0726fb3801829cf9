"""The compatibility grid: observe every cell of one release, reusing cells whose key is unchanged.

A cell is cached in the release's grid record under a key of everything that decides it
(``CellSpec.key``), so a rerun with nothing new observes nothing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from scripts.audit import harness
from scripts.audit.records import status_from_default
from scripts.common import cli
from scripts.common.clock import now, stamp
from scripts.grid.cells import CellSpec, line_admits, relevant, specs
from scripts.grid.records import Cell, GridRecord, load, save
from scripts.layout import REPO, Layout, release_file
from scripts.packages import environments, era, index
from scripts.packages.catalogue import Release, lines, load_lines
from scripts.packages.environments import SetupFailed
from scripts.packages.interpreters import Interpreter

__all__ = ["Options", "observe", "observe_release", "parse_options", "run"]

Log = Callable[[str], None]
#: Werkzeug's own runtime dependencies: newer Werkzeug lines need newer ones than a release's era had.
WERKZEUG_DEPENDENCIES = ("markupsafe",)


@dataclass(frozen=True)
class Options:
    """The grid's options (after ``--``)."""

    force: bool = False
    index_url: str | None = None
    #: Where reports/ and docs/ are written.
    output: Layout = REPO


def parse_options(args: list[str], session: str = "grid", what: str = "cells") -> Options:
    """The options of a session that observes per release (``--force``, ``--index-url``, ``--output``).

    :raises cli.OptionError: naming a bad one.
    """
    parser = cli.parser(
        f"nox -s {session} --",
        f"Options of nox -s {session}.",
        [cli.add_index_url, lambda p: cli.add_output(p, REPO.root), lambda p: cli.add_force(p, what)],
    )
    parsed = parser.parse_args(args)
    return Options(parsed.force, parsed.index_url, Layout(parsed.output))


def _uv_install(spec: CellSpec, python: Path, index_url: str, moment: datetime) -> list[str]:
    """Install the cell; a Werkzeug line that needs a newer MarkupSafe than the era's gets one, noted."""
    try:
        return environments.uv_install(python, spec.request(index_url, moment))
    except SetupFailed as exc:
        if not spec.werkzeug or "exclude-newer" not in exc.output:
            raise
        exempt = (*spec.exempt, *WERKZEUG_DEPENDENCIES)
        changes = environments.uv_install(python, spec.request(index_url, moment, exempt))
        return [
            *changes,
            f"{', '.join(WERKZEUG_DEPENDENCIES)} newer than the era, as Werkzeug {spec.werkzeug.line} requires",
        ]


def _ruled_out(spec: CellSpec) -> tuple[str, str] | None:
    """Why a cell is not run here at all (its status and detail), or None."""
    if spec.interpreter is None:
        return "no-interpreter", "no interpreter here that the metadata allows"
    if not era.admits(spec.release.requires_python, spec.interpreter.version_text):
        return "not-allowed", f"requires_python {spec.release.requires_python}"
    if spec.werkzeug and not line_admits(spec.werkzeug, spec.interpreter):
        return "not-allowed", f"Werkzeug {spec.werkzeug.line} requires {spec.werkzeug.requires_python}"
    return None


def observe(spec: CellSpec, index_url: str, settings: harness.Settings, log: Log = print) -> Cell:
    """Install, import and probe one cell in a throw-away environment; failures are the cell's status."""
    moment = now()
    cell = Cell(spec.kind, spec.release.version, spec.python, "ok", observed_at=stamp(moment), cache_key=spec.key())
    cell.werkzeug_line = spec.werkzeug.line if spec.werkzeug else None
    ruled_out = _ruled_out(spec)
    if ruled_out is not None:
        cell.status, cell.detail = ruled_out  # type: ignore[assignment]
        return cell
    assert spec.interpreter is not None
    with tempfile.TemporaryDirectory(prefix="flask-grid-") as workdir:
        location = Path(workdir) / "env"
        python = environments.venv_python(location)
        try:
            if spec.interpreter.version >= (3, 6):
                environments.create_uv_venv(spec.interpreter.path, location)
                cell.notes = _uv_install(spec, python, index_url, moment)
            else:
                environments.create_virtualenv(spec.interpreter.path, location)
                environments.pip_install(python, spec.request(index_url, moment))
            held = environments.inventory(python)
            cell.python_version, cell.packages = held.python, held.packages
            cell.declared = environments.declared_requirements(python)
            environments.check_import(python)
        except SetupFailed as exc:
            cell.status, cell.detail = exc.status, exc.detail
            return cell
        seen = harness.observe_mode(python, "default", settings)
    if seen.outcome != "served":
        cell.status, cell.detail = status_from_default(seen)
    else:
        cell.concurrent = seen.concurrent
    return cell


def observe_release(
    release: Release,
    cells: list[CellSpec],
    folder: Path,
    index_url: str | None = None,
    force: bool = False,
    settings: harness.Settings | None = None,
    log: Log = print,
) -> GridRecord:
    """Observe every cell of one release not already cached, saving the record after each cell."""
    path = release_file(folder, release.version)
    stored = {c.cache_key: c for c in load(path).cells} if path.exists() and not force else {}
    record = GridRecord(release.version, release.released, release.requires_python)
    url = index.configured_index_url(index_url)
    reused = 0
    for spec in cells:
        cached = stored.get(spec.key())
        if cached is not None:
            record.cells.append(cached)
            reused += 1
            continue
        cell = observe(spec, url, settings or harness.Settings(), log)
        record.cells.append(cell)
        with_wz = f" + Werkzeug {cell.werkzeug_line}" if cell.werkzeug_line else ""
        log(f"{cell.kind}: Flask {cell.flask}{with_wz} on Python {cell.python}: {cell.status} {cell.detail or ''}")
        # Saved as it goes: an interrupted run keeps what it observed.
        save(record, folder)
    save(record, folder)
    log(f"Flask {release.version}: {len(cells) - reused} cells observed, {reused} cached")
    return record


def run(
    version: str, releases: list[Release], found: list[Interpreter], options: Options, log: Log = print
) -> GridRecord:
    """Every cell of one release (cached ones reused), saved to its grid record.

    :param version: the Flask release.
    :param releases: the catalogue (the release, and the newest patch of each Flask line).
    :param found: this machine's interpreters.
    :param options: the command line's options.
    """
    release = next(r for r in releases if r.version == version)
    wz = relevant(load_lines(REPO.werkzeug_lines))
    cells = specs(release, found, wz, lines(releases))
    return observe_release(release, cells, options.output.grid, options.index_url, options.force, log=log)

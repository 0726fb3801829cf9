"""The compatibility grid: which Flask release runs on which Python, and with which Werkzeug, as observed.

Three kinds of cell, each observed the way an audit observes a release (install, import, start the
probe, watch plain ``app.run()``), with one environment per cell, thrown away afterwards:

- ``era``: the release with its era's dependencies on one Python (every Python its requires_python allows);
- ``declared``: a plain, unpinned install today (``pip install flask==X``) on the newest Python it allows;
- ``werkzeug``: the newest patch of a Flask minor line with the newest patch of one Werkzeug minor line.

A cell is cached in the release's grid record under a key of everything that decides it, so a rerun
with nothing new observes nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scripts.audit import harness
from scripts.audit.records import read_json, write_json_atomic
from scripts.packages import catalogue, index
from scripts.packages import environments as environment
from scripts.packages import era as pins
from scripts.packages.catalogue import Release
from scripts.packages.environments import InstallRequest, SetupFailed
from scripts.packages.interpreters import Interpreter

ROOT = Path(__file__).resolve().parent.parent.parent
SCHEMA_PATH = Path(__file__).with_name("grid.schema.json")
SCHEMA_VERSION = 1
KINDS = ("era", "declared", "werkzeug")
#: ok, a failed step (as in the audit), or not run: the metadata rules it out, or no such interpreter here.
STATUSES = ("ok", "install-failed", "import-failed", "server-failed", "timeout", "not-allowed", "no-interpreter")
#: A change to any of these can change a cell, so they key the cache.
OBSERVING_SOURCES = (
    ROOT / "probes" / "app.py",
    ROOT / "scripts" / "audit" / "harness.py",
    ROOT / "scripts" / "packages" / "environments.py",
    Path(__file__),
)

Log = Callable[[str], None]


@dataclass(frozen=True)
class Line:
    """The newest final patch of a minor line (of Flask or Werkzeug) as the index lists it."""

    line: str
    version: str
    uploaded: str | None
    requires_python: str | None

    def admits(self, interpreter: Interpreter) -> bool:
        return _admits(self.requires_python, interpreter)


@dataclass
class Cell:
    """One observed (or ruled out) combination."""

    kind: str
    flask: str
    python: str | None
    status: str
    werkzeug_line: str | None = None
    detail: str | None = None
    #: Versions as installed: the interpreter, Flask's dependencies.
    python_version: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    #: Flask's own requirements, as its installed metadata declares them.
    declared: list[str] = field(default_factory=list)
    concurrent: bool | None = None
    #: What had to change from the plan for it to install.
    notes: list[str] = field(default_factory=list)
    observed_at: str | None = None
    cache_key: str | None = None


@dataclass
class GridRecord:
    """Every grid cell of one Flask release."""

    flask: str
    released: str | None
    requires_python: str | None
    cells: list[Cell] = field(default_factory=list)
    schema_version: int = SCHEMA_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> GridRecord:
        data = dict(data)
        data["cells"] = [Cell(**cell) for cell in data.get("cells", [])]
        return cls(**data)


@dataclass(frozen=True)
class CellSpec:
    """What one cell installs, on which interpreter, as of when."""

    kind: str
    release: Release
    interpreter: Interpreter | None
    python: str
    werkzeug: Line | None = None

    @property
    def cutoff(self) -> datetime | None:
        """The release's era (Werkzeug exempt in a Werkzeug cell); none for a plain install of today."""
        return None if self.kind == "declared" else pins.cutoff(self.release)

    @property
    def exempt(self) -> tuple[str, ...]:
        # Only Werkzeug leaves the era, so that the cell shows Werkzeug's effect alone.
        return ("werkzeug",) if self.werkzeug else ()

    def request(self, index_url: str, now: datetime, exempt: tuple[str, ...] | None = None) -> InstallRequest:
        overrides = (f"werkzeug=={self.werkzeug.line}.*",) if self.werkzeug else ()
        exempt = self.exempt if exempt is None else exempt
        return InstallRequest(f"flask=={self.release.version}", index_url, self.cutoff, now, overrides, exempt)

    def key(self) -> str:
        digest = hashlib.sha256()
        interpreter = self.interpreter.version_text if self.interpreter else "none"
        wz = self.werkzeug.version if self.werkzeug else ""
        digest.update(f"{self.kind}|{self.release.version}|{interpreter}|{wz}|{self.cutoff}".encode())
        if self.kind == "declared":
            # Today's newest dependencies decide it: one observation per day.
            digest.update(datetime.now(UTC).strftime("%Y-%m-%d").encode())
        for source in OBSERVING_SOURCES:
            digest.update(source.read_bytes())
        return digest.hexdigest()[:16]


def _admits(requires_python: str | None, interpreter: Interpreter) -> bool:
    if not requires_python:
        return True
    try:
        return Version(interpreter.version_text) in SpecifierSet(requires_python)
    except InvalidSpecifier:
        return True


def minor_text(interpreter: Interpreter) -> str:
    return f"{interpreter.minor[0]}.{interpreter.minor[1]}"


def lines(releases: list[Release]) -> list[Line]:
    """The newest final patch of each minor line, oldest line first."""
    newest: dict[str, Release] = {}
    for release in catalogue.audited(releases):
        if not release.installable:
            continue
        minor = ".".join(str(part) for part in (*release.key.release, 0)[:2])
        if minor not in newest or release.key > newest[minor].key:
            newest[minor] = release
    return [
        Line(minor, r.version, r.uploaded, r.requires_python)
        for minor, r in sorted(newest.items(), key=lambda item: Version(item[0]))
    ]


def werkzeug_lines(path: Path, index_url: str | None = None, refresh: bool = False) -> list[Line]:
    """Werkzeug's minor lines, from the stored catalogue file, fetched from the index when missing."""
    if path.exists() and not refresh:
        return [Line(**entry) for entry in read_json(path)["lines"]]
    fetched = catalogue.releases_from_files(index.project_files("werkzeug", index.configured_index_url(index_url)))
    found = lines(fetched)
    write_json_atomic(path, {"project": "werkzeug", "lines": [asdict(line) for line in found]})
    return found


def specs(release: Release, found: list[Interpreter], wz_lines: list[Line], flask_lines: list[Line]) -> list[CellSpec]:
    """Every cell of one release: each Python, the plain install, and Werkzeug lines if it heads its line."""
    usable = [i for i in found if i.version[0] == 2 or i.version >= (3, 6)]
    cells = [CellSpec("era", release, i, minor_text(i)) for i in usable]
    allowed = [i for i in usable if _admits(release.requires_python, i)]
    newest = max(allowed) if allowed else None
    cells.append(CellSpec("declared", release, newest, minor_text(newest) if newest else "none"))
    if any(line.version == release.version for line in flask_lines):
        plan = pins.plan(release, found)
        for wz in wz_lines:
            cells.append(_werkzeug_cell(release, wz, plan.interpreter, allowed))
    return cells


def _werkzeug_cell(release: Release, wz: Line, proven: Interpreter | None, allowed: list[Interpreter]) -> CellSpec:
    """The interpreter the audit runs the release on; where the Werkzeug line rules it out, the next newer one.

    Never across Python 2 and 3: a release that runs on Python 2 only is not tried on 3 for a newer Werkzeug.
    """
    fitting = sorted(i for i in allowed if wz.admits(i) and (proven is None or i.version[0] == proven.version[0]))
    newer = [i for i in fitting if proven is None or i >= proven]
    # With none that fits, the proven one: the cell then says which Python the Werkzeug line requires.
    chosen = newer[0] if newer else (fitting[-1] if fitting else proven)
    return CellSpec("werkzeug", release, chosen, minor_text(chosen) if chosen else "none", wz)


_DECLARED_PROGRAM = r"""
import os, sys
found = []
for entry in sys.path:
    if 'site-packages' not in entry or not os.path.isdir(entry):
        continue
    for name in os.listdir(entry):
        if name.lower().startswith('flask-') and name.endswith(('.dist-info', '.egg-info')):
            folder = os.path.join(entry, name)
            metadata = os.path.join(folder, 'METADATA' if name.endswith('.dist-info') else 'PKG-INFO')
            if os.path.exists(metadata):
                for line in open(metadata):
                    if line.startswith('Requires-Dist:'):
                        found.append(line.split(':', 1)[1].strip())
            requires = os.path.join(folder, 'requires.txt')
            if os.path.exists(requires):
                for line in open(requires):
                    if line.startswith('['):
                        break
                    if line.strip():
                        found.append(line.strip())
sys.stdout.write('\n'.join(found))
"""


def declared_requirements(python: Path) -> list[str]:
    """Flask's requirements as its installed metadata declares them (extras left out)."""
    done = environment.run([python, "-c", _DECLARED_PROGRAM], environment.IMPORT_TIMEOUT)
    return [line for line in done.stdout.splitlines() if "extra ==" not in line]


#: Werkzeug's own runtime dependencies: newer Werkzeug lines need newer ones than a release's era had.
WERKZEUG_DEPENDENCIES = ("markupsafe",)


def _uv_install(spec: CellSpec, python: Path, index_url: str, now: datetime) -> list[str]:
    """Install the cell; a Werkzeug line that needs a newer MarkupSafe than the era's gets one, noted."""
    try:
        return environment.uv_install(python, spec.request(index_url, now))
    except SetupFailed as exc:
        if not spec.werkzeug or "exclude-newer" not in exc.output:
            raise
        exempt = (*spec.exempt, *WERKZEUG_DEPENDENCIES)
        changes = environment.uv_install(python, spec.request(index_url, now, exempt))
        return [
            *changes,
            f"{', '.join(WERKZEUG_DEPENDENCIES)} newer than the era, as Werkzeug {spec.werkzeug.line} requires",
        ]


def observe(spec: CellSpec, index_url: str, settings: harness.Settings, log: Log = print) -> Cell:
    """Install, import and probe one cell in a throw-away environment; failures are the cell's status."""
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    cell = Cell(spec.kind, spec.release.version, spec.python, "ok", observed_at=stamp, cache_key=spec.key())
    cell.werkzeug_line = spec.werkzeug.line if spec.werkzeug else None
    if spec.interpreter is None:
        cell.status, cell.detail = "no-interpreter", "no interpreter here that the metadata allows"
        return cell
    if not _admits(spec.release.requires_python, spec.interpreter):
        cell.status, cell.detail = "not-allowed", f"requires_python {spec.release.requires_python}"
        return cell
    if spec.werkzeug and not spec.werkzeug.admits(spec.interpreter):
        cell.status, cell.detail = (
            "not-allowed",
            f"Werkzeug {spec.werkzeug.line} requires {spec.werkzeug.requires_python}",
        )
        return cell
    with tempfile.TemporaryDirectory(prefix="flask-grid-") as workdir:
        location = Path(workdir) / "env"
        python = environment.venv_python(location)
        try:
            if spec.interpreter.version >= (3, 6):
                environment.create_uv_venv(spec.interpreter.path, location)
                cell.notes = _uv_install(spec, python, index_url, now)
            else:
                environment.create_virtualenv(spec.interpreter.path, location)
                environment.pip_install(python, spec.request(index_url, now))
            cell.python_version = environment.interpreter_version(python)
            cell.packages = environment.installed_packages(python)
            cell.declared = declared_requirements(python)
            environment.check_import(python)
        except SetupFailed as exc:
            cell.status, cell.detail = exc.status, exc.detail
            return cell
        seen = harness.observe_mode(python, "default", settings)
    if seen.outcome != "served":
        cell.status = "timeout" if seen.outcome == "timeout" else "server-failed"
        cell.detail = seen.error
    else:
        cell.concurrent = seen.concurrent
    return cell


def record_path(folder: Path, version: str) -> Path:
    return folder / f"flask-{version}.json"


def load(path: Path) -> GridRecord:
    return GridRecord.from_json(read_json(path))


def load_all(folder: Path) -> list[GridRecord]:
    return [load(path) for path in sorted(folder.glob("flask-*.json"))]


def audit_release(
    release: Release,
    cells: list[CellSpec],
    folder: Path,
    index_url: str | None = None,
    force: bool = False,
    settings: harness.Settings | None = None,
    log: Log = print,
) -> GridRecord:
    """Observe every cell of one release not already cached, saving the record after each cell."""
    path = record_path(folder, release.version)
    stored = {(c.cache_key): c for c in load(path).cells} if path.exists() and not force else {}
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
        write_json_atomic(path, record.to_json())
    write_json_atomic(path, record.to_json())
    log(f"Flask {release.version}: {len(cells) - reused} cells observed, {reused} cached")
    return record


def schema() -> dict:
    return read_json(SCHEMA_PATH)


@dataclass(frozen=True)
class Options:
    """The grid's options (after ``--``)."""

    force: bool = False
    index_url: str | None = None
    #: The folder holding reports/ and docs/.
    output: Path = ROOT

    @property
    def records(self) -> Path:
        return self.output / "reports" / "grid"

    @property
    def werkzeug_lines(self) -> Path:
        return self.output / "reports" / "werkzeug-lines.json"


def options_from_args(args: list[str]) -> Options:
    parser = argparse.ArgumentParser(prog="nox -s grid --", description="Options of the compatibility grid.")
    parser.add_argument("--force", action="store_true", help="re-observe cells even where a cached one exists")
    parser.add_argument("--index-url", help="package index (Simple API); default: your uv/pip configuration")
    parser.add_argument("--output", type=Path, default=ROOT, help="write reports/ and docs/ under this folder")
    parsed = parser.parse_args(args)
    return Options(parsed.force, parsed.index_url, parsed.output.resolve())


def run(
    version: str, releases: list[Release], found: list[Interpreter], options: Options, log: Log = print
) -> GridRecord:
    """Every cell of one release (cached ones reused), saved to its grid record."""
    release = next(r for r in releases if r.version == version)
    lines_path = options.werkzeug_lines if options.werkzeug_lines.exists() else ROOT / "reports" / "werkzeug-lines.json"
    wz = relevant(werkzeug_lines(lines_path, options.index_url))
    cells = specs(release, found, wz, lines(releases))
    return audit_release(release, cells, options.records, options.index_url, options.force, log=log)


#: The oldest Werkzeug line any Flask release was built against: older lines predate Flask.
OLDEST_WERKZEUG_LINE = Version("0.6")


def relevant(wz_lines: list[Line]) -> list[Line]:
    """The Werkzeug lines worth pairing: from the one Flask 0.1 came with on."""
    return [line for line in wz_lines if Version(line.line) >= OLDEST_WERKZEUG_LINE]

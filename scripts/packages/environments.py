"""Environments: a virtual environment holding one Flask release and the dependencies asked for.

Python 3.6+ environments are made and filled by uv (``--exclude-newer`` gives the era);
Python 2.7 ones by ``virtualenv<20.22`` and pip with a constraints file computed from the
index's upload times, since uv neither creates nor installs into Python 2 environments.
What an environment holds is read by ``probes/inventory.py`` in its own interpreter.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

import packaging
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from scripts.common.clock import stamp
from scripts.common.failures import first_error_line, redact
from scripts.common.jsonio import write_json_atomic
from scripts.common.processes import STEERING, WINDOWS, Finished, clean_environment, run
from scripts.layout import PROBES
from scripts.packages import index
from scripts.packages.interpreters import Interpreter, probe_version

__all__ = [
    "BUILD_STAMP",
    "CONTENTS_STAMP",
    "INVENTORY_STAMP",
    "Build",
    "InstallRequest",
    "Installer",
    "Inventory",
    "SetupFailed",
    "Unavailable",
    "check_import",
    "contents",
    "create_uv_venv",
    "create_virtualenv",
    "declared_requirements",
    "files_identity",
    "fill",
    "forget_build",
    "held",
    "index_identity",
    "installer_for",
    "inventory",
    "pip_install",
    "record_build",
    "recorded_build",
    "stale",
    "uv_command",
    "uv_index_config",
    "uv_install",
    "venv_python",
]

INSTALL_TIMEOUT = 900.0
IMPORT_TIMEOUT = 60.0
#: Build backends are not part of the era: old sdists are built with tools that run on today's Pythons.
BUILD_TOOLS = ("setuptools", "wheel")
#: Retried when a build fails: ``setuptools.Feature`` (MarkupSafe 1.0 needs it) went away in setuptools 46.
LEGACY_BUILD_CONSTRAINT = "setuptools<46"
#: Every distribution Flask has pulled in on Python 2.7, for the pip constraints file.
PY2_ERA_PROJECTS = ("werkzeug", "jinja2", "markupsafe", "itsdangerous", "click")
#: Installer tooling: present in every environment, left out of the record's package list.
TOOLING = frozenset({"pip", "setuptools", "wheel", "distribute"})
INVENTORY_PROGRAM = PROBES / "inventory.py"
DECLARED_PROGRAM = PROBES / "declared.py"

Installer = Literal["uv", "pip"]
SetupStatus = Literal["install-failed", "import-failed"]
Log = Callable[[str], None]


class SetupFailed(RuntimeError):
    """The release's own failure to install or import: its dependencies as of its era cannot be
    resolved or built, or it does not import. It becomes the release's record; ``status`` names the step."""

    def __init__(self, status: SetupStatus, detail: str, output: str = "") -> None:
        super().__init__(detail)
        self.status: SetupStatus = status
        self.detail = detail
        self.output = output


class Unavailable(RuntimeError):
    """The environment could not be made for a reason that is not the release's own: the package
    index or the network, the machine, an installer that ran out of time. Nothing is recorded;
    the message (credentials hidden) says what failed and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


#: How uv says it could not talk to the index (its top-level error), as opposed to resolving or building.
_UV_UNREACHABLE = ("Request failed after", "Failed to fetch", "Could not connect", "error sending request")
#: What pip (Python 2.7's, too) says when the index failed it: an HTTP error on a file the index lists, a
#: download that broke, retries used up. Never the release's own failure, whatever the last line says.
_PIP_UNREACHABLE = re.compile(
    r"HTTP error \d+ while getting|because of HTTP error|due to an EnvironmentError|Max retries exceeded"
)


#: How uv and pip say a file they downloaded is damaged: it does not match the hash the index gave, or it cannot
#: be read as the archive its name says (a proxy that cut it short, a broken mirror). Read from the installer's
#: verdict only (uv's error and cause lines, pip's last lines), never from a build's own output.
_DAMAGED = re.compile(
    r"Hash mismatch|DO NOT MATCH THE HASHES|Failed to extract archive|Invalid tar file|unexpected end of file"
    r"|deflate decompression error|BadZip[Ff]ile|not a zip file|not a gzip file|ReadError|Error -3 while decompressing"
)
#: uv's hint for a wheel it could not take apart: "The structure of `werkzeug` (v3.1.9) was invalid:" and why.
_UV_INVALID = re.compile(
    r"The structure of `(?P<project>[^`]+)` \(v(?P<version>[^)]+)\) was invalid:\s*\n\s*(?P<why>.+)"
)
#: Why a wheel's structure was invalid, when what is wrong is reading its archive, not what the release put in it.
_UNREADABLE_ARCHIVE = ("Failed to read from zip file", "zip file", "end of file", "EOF")


def _damaged_download(done: Finished) -> str | None:
    """The installer's words when a downloaded file was damaged, else None (a release's own archive with a
    missing or wrong ``.dist-info`` is still the release's)."""
    invalid = _UV_INVALID.search(done.output)
    if invalid and any(marker in invalid["why"] for marker in _UNREADABLE_ARCHIVE):
        return f"{invalid['project']} {invalid['version']}: {invalid['why'].strip()}"
    lines = [line.strip() for line in done.output.splitlines() if line.strip()]
    verdict = [line for line in lines if line.startswith(("error:", "cause:", "ERROR:"))] + lines[-3:]
    said = next((line for line in verdict if _DAMAGED.search(line)), None)
    return None if said is None else re.sub(r"^(?:error|cause|ERROR): ", "", said)


_ABSENT = re.compile(
    r"(?:Because |and )(?P<project>[\w.-]+) was not found in the package registry"
    r"|Could not find a version that satisfies the requirement (?P<pip>\S+) \(from versions: none\)"
)


def _top_error(done: Finished) -> str:
    """The installer's own verdict: uv's ``error:`` line and its causes, or pip's last ``ERROR:`` line."""
    lines = done.output.splitlines()
    uv = [line for line in lines if line.startswith("error:") or line.lstrip().startswith("cause:")]
    pip = [line for line in lines if line.startswith("ERROR:")]
    return " / ".join(uv) if uv else (pip[-1] if pip else "")


def _not_the_release(done: Finished, request: InstallRequest) -> str | None:
    """Why a failed install is not the release's own (None when it is): the installer could not reach
    the index, ran out of time, or the index does not hold the release the catalogue lists."""
    if done.timed_out:
        return f"the installer did not finish within {done.timeout:g}s (a slow or hanging index?)"
    verdict = _top_error(done)
    if verdict.startswith("error:") and any(marker in verdict.split(" / ")[0] for marker in _UV_UNREACHABLE):
        return f"the package index could not be reached: {first_error_line(done.output)}"
    if "Retrying (Retry(" in done.output and "No matching distribution found for" in verdict:
        return f"the package index could not be reached: {verdict.removeprefix('ERROR: ')}"
    damaged = _damaged_download(done)
    if damaged is not None:
        return f"a file downloaded from the index at {request.index_url} is damaged ({damaged})"
    pip_failed = _PIP_UNREACHABLE.search(done.output)
    if pip_failed:
        line = next(x for x in done.output.splitlines() if pip_failed.group(0) in x).strip()
        return f"the package index failed the installer: {line}"
    missing = (
        f"there is no version of {request.requirement}",
        f"No matching distribution found for {request.requirement}",
    )
    if any(marker in verdict for marker in missing):
        return f"the index at {request.index_url} does not offer {request.requirement}, which the catalogue lists"
    # A project the index does not hold at all (a partial mirror), the release's or a dependency's: uv says
    # "X was not found in the package registry", pip "(from versions: none)". Versions that exist but fall
    # outside the era are the release's own resolution failure, and are said differently.
    absent = _ABSENT.search(verdict) or _ABSENT.search(done.output)
    if absent:
        return f"the index at {request.index_url} does not hold {absent['project'] or absent['pip']}"
    return None


def _install_failed(done: Finished, request: InstallRequest, fallback: str, after: str = "") -> Exception:
    """What a failed installer run means: Unavailable when it is not the release's fault, else SetupFailed.

    :param after: what an earlier attempt said, when this run was the retry that tried to work around it.
    """
    reason = _not_the_release(done, request)
    if reason is not None:
        return Unavailable(f"{reason}; nothing was recorded: check --index-url or your pip/uv configuration and retry")
    return SetupFailed("install-failed", (first_error_line(done.output) or fallback) + after, done.output)


def venv_python(location: Path) -> Path:
    if WINDOWS:  # pragma: no cover - CI's Windows runners
        return location / "Scripts" / "python.exe"
    return location / "bin" / "python"


def uv_command() -> list[str]:
    """uv as installed beside the running Python (the project's requirements install it)."""
    return [sys.executable, "-m", "uv"]


@dataclass(frozen=True)
class InstallRequest:
    """What to install and as of when."""

    requirement: str
    index_url: str
    #: None where the index gives no upload dates (a local PEP 503 index): then its newest files count.
    cutoff: datetime | None
    now: datetime
    #: Requirements that win over what any package declares (uv's --override), e.g. one Werkzeug line.
    overrides: tuple[str, ...] = ()
    #: Constraints on what the resolver may choose, within what the packages declare (``jinja2<3.1``).
    constraints: tuple[str, ...] = ()
    #: Bytecode compiled at install, for an environment started again and again (the audit's). One started
    #: once and thrown away (a grid cell, a search's attempt) is cheaper without: its one start compiles
    #: only what it imports (measured on 26 served cells: 1.39 CPU-s each compiled, 1.00 without).
    compiled: bool = True


#: What uv is told about the files an index lists: they never change. PyPI refuses a file name once it
#: was used, and mirrors copy PyPI. An index that sends no caching headers at all (no ETag, Last-Modified
#: or Cache-Control) otherwise has uv revalidate every file, find it "modified", download it again and
#: rebuild every sdist on every install: each old release's five sdists, every time. The listings keep
#: the index's own headers, so a new release or a yank is seen at once.
IMMUTABLE_FILES = "max-age=365000000, immutable"
#: uv settings that name an index: either would replace the configuration file's index, and with it
#: the caching rule. The URL they hold is the one the run resolved (``index.configured_index_url``).
_INDEX_VARIABLES = ("UV_DEFAULT_INDEX", "UV_INDEX_URL")


@contextmanager
def uv_index_config(index_url: str) -> Iterator[Path]:
    """A ``uv.toml`` naming ``index_url`` as the default index with immutable files, for ``--config-file``.

    It lives in a private temporary folder (mode 0700) and is gone after the block: the URL may hold
    credentials. uv applies an index's ``cache-control`` only to an index defined in configuration,
    never to one given by ``--index-url``, so the index is named there and nowhere else.
    """
    with tempfile.TemporaryDirectory(prefix="flask-audit-uv-") as folder:
        path = Path(folder) / "uv.toml"
        url, rule = _toml_string(index_url), _toml_string(IMMUTABLE_FILES)
        text = f"[[index]]\nurl = {url}\ndefault = true\ncache-control = {{ files = {rule} }}\n"
        path.write_text(text, encoding="utf-8")
        yield path


def _toml_string(text: str) -> str:
    """``text`` as a TOML basic string: JSON's escapes of quotes, backslashes and control characters are
    TOML's too; DEL, which JSON leaves alone, must be escaped; the rest stays as it is (UTF-8)."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def build_cache(version: tuple[int, ...], legacy: bool = False) -> Path:
    """The uv cache an install on interpreter ``version`` uses: one per interpreter version, and apart
    again for installs retried with LEGACY_BUILD_CONSTRAINT (``<uv cache>-flask-audit/3.13.0[-setuptools-lt-46]``).

    uv keeps the wheels it builds and gives them to any interpreter whose tags they fit. Shared, a wheel
    built on Python 3.9 would install on 3.13, where building the same sdist fails (old setuptools needs
    ``distutils``); and a wheel built under the old setuptools would let the next install skip the failing
    build, so its environment would no longer say it needed the old setuptools. Kept apart, what an
    install does is what building on that interpreter with those tools does, whatever the machine built before.
    """
    own = _uv_cache(os.environ.get("UV_CACHE_DIR"))
    return own.with_name(own.name + "-flask-audit") / (
        ".".join(map(str, version)) + ("-setuptools-lt-46" if legacy else "")
    )


@functools.cache
def _uv_cache(chosen: str | None) -> Path:
    """uv's cache folder, asked once per value of UV_CACHE_DIR (which names it when set)."""
    done = run([*uv_command(), "cache", "dir"], IMPORT_TIMEOUT, env=uv_environment())
    if not done.ok or not done.stdout.strip():
        raise Unavailable(f"uv could not name its cache folder: {first_error_line(done.output)}")
    return Path(done.stdout.strip().splitlines()[-1])


def uv_environment() -> dict[str, str]:
    """The environment uv installs run in: this process's, without the settings that name an index."""
    return {name: value for name, value in os.environ.items() if name not in _INDEX_VARIABLES}


def uv_install_command(
    python: Path, request: InstallRequest, config: Path, cache: Path, version: tuple[int, ...]
) -> list[str]:
    """The ``uv pip install`` command line for ``request`` (writes its overrides file beside the environment).

    :param config: the ``uv_index_config`` that names ``request.index_url``.
    :param cache: the ``build_cache`` to use.
    :param version: the version of the environment's interpreter.
    """
    command = [*uv_command(), "pip", "install", "--config-file", str(config), "--python", str(python)]
    # Copies, not uv's hard links into its cache (its default on Linux): an edit inside one environment would
    # change the cached file, and with it every environment made from it later, a fresh one included.
    command += ["--cache-dir", str(cache), "--link-mode", "copy"]
    # Compiled once here: every probe start would otherwise compile Flask and its dependencies again
    # (they run with PYTHONDONTWRITEBYTECODE, and so may the user's shell). uv's compiler does not run
    # on Python 3.6, where it fails the whole install.
    if request.compiled and version >= (3, 7):
        command.append("--compile-bytecode")
    # uv leaves out every file without an upload time once --exclude-newer is given.
    if request.cutoff:
        command += ["--exclude-newer", stamp(request.cutoff)]
        command += [f"--exclude-newer-package={name}={stamp(request.now)}" for name in BUILD_TOOLS]
    if request.overrides:
        overrides = python.parent.parent / "overrides.txt"
        overrides.write_text("\n".join(request.overrides) + "\n")
        command += ["--override", str(overrides)]
    if request.constraints:
        constraints = python.parent.parent / "constraints.txt"
        constraints.write_text("\n".join(request.constraints) + "\n")
        command += ["--constraint", str(constraints)]
    return [*command, request.requirement, *request.overrides]


def _is_build_failure(done: Finished) -> bool:
    """An old sdist's build failed (as opposed to resolution, or the index)."""
    return "Failed to build" in done.output or "build" in (first_error_line(done.output) or "").lower()


def uv_install(
    python: Path, request: InstallRequest, log: Log | None = None, outputs: list[str] | None = None
) -> list[str]:
    """Install with uv as of ``request.cutoff``; return the changes made to get it to install.

    ``outputs`` (when given) collects uv's output of every attempt, for the benchmark.
    """
    with uv_index_config(request.index_url) as config:
        return _uv_install(python, request, config, log, outputs)


def _uv_install(
    python: Path, request: InstallRequest, config: Path, log: Log | None, outputs: list[str] | None
) -> list[str]:
    # Asked once: the grid and the run-it-today search install thousands of times, a start each.
    version = probe_version(python)
    if version is None:
        # Without it the install would share another interpreter's cache of built wheels.
        raise Unavailable(f"{python} did not say its version (does it run? a loaded machine?); nothing was recorded")
    base = uv_install_command(python, request, config, build_cache(version), version)
    environment = uv_environment()
    done = run(base, INSTALL_TIMEOUT, log, env=environment)
    if outputs is not None:
        outputs.append(done.output)
    if done.ok:
        return []
    if str(config) in done.output:
        raise Unavailable(
            f"uv could not use the configuration made for the index ({first_error_line(done.output)}); "
            "nothing was recorded: check --index-url or your pip/uv configuration"
        )
    if _not_the_release(done, request) is None and _is_build_failure(done):
        constraint = python.parent.parent / "build-constraints.txt"
        constraint.write_text(LEGACY_BUILD_CONSTRAINT + "\n")
        legacy = uv_install_command(python, request, config, build_cache(version, True), version)
        retry = run([*legacy, "--build-constraints", str(constraint)], INSTALL_TIMEOUT, log, env=environment)
        if outputs is not None:
            outputs.append(retry.output)
        first = first_error_line(done.output)
        if retry.ok:
            return [f"{first}; built with {LEGACY_BUILD_CONSTRAINT} instead"]
        # The retry's own error is the one that stands; the first attempt's is what it tried to work around.
        raise _install_failed(retry, request, "install failed", f" (with {LEGACY_BUILD_CONSTRAINT}; without: {first})")
    raise _install_failed(done, request, "install failed")


def newest_before(project: str, index_url: str, cutoff: datetime) -> str | None:
    """The newest final version of ``project`` with a file uploaded at or before ``cutoff``."""
    versions: list[Version] = []
    for file in index.project_files(project, index_url):
        if file.upload_time is None or file.upload_time > cutoff or file.yanked:
            continue
        version = index.file_version(file.filename)
        if version is not None and not version.is_prerelease:
            versions.append(version)
    return str(max(versions)) if versions else None


def py2_constraints(index_url: str, cutoff: datetime) -> list[str]:
    """pip constraints equivalent to uv's ``--exclude-newer`` for the projects Flask pulls in."""
    lines = []
    for project in PY2_ERA_PROJECTS:
        try:
            newest = newest_before(project, index_url, cutoff)
        except index.IndexUnavailable as exc:
            raise Unavailable(f"{exc}; nothing was recorded: check the index and retry") from exc
        if newest:
            lines.append(f"{project}<={newest}")
    return lines


def create_uv_venv(interpreter: str, location: Path, log: Log | None = None) -> Path:
    """A Python 3.6+ environment made by uv."""
    done = run([*uv_command(), "venv", "--quiet", "--python", interpreter, location], INSTALL_TIMEOUT, log)
    if not done.ok:
        raise Unavailable(f"uv could not create an environment at {location}: {first_error_line(done.output)}")
    return venv_python(location)


def create_virtualenv(interpreter: str, location: Path, log: Log | None = None) -> Path:
    """A Python 2.7 environment via the ``virtualenv`` beside the running Python (must be <20.22)."""
    python = venv_python(location)
    if python.exists():
        return python
    done = run([sys.executable, "-m", "virtualenv", "--quiet", "-p", interpreter, location], INSTALL_TIMEOUT, log)
    if not done.ok:
        raise Unavailable(
            f"virtualenv could not create a Python 2.7 environment at {location} (it must be older than 20.22): "
            f"{first_error_line(done.output)}"
        )
    return python


def pip_install(python: Path, request: InstallRequest, log: Log | None = None) -> list[str]:
    """Install with pip and a constraints file as of ``request.cutoff`` (Python 2.7)."""
    constraints = python.parent.parent / "era-constraints.txt"
    lines = py2_constraints(request.index_url, request.cutoff) if request.cutoff else []
    constraints.write_text("\n".join([*lines, *request.constraints]) + "\n")
    pip: list[str | Path] = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
    pip += [] if request.compiled else ["--no-compile"]
    # Python 2's pip keeps the legacy resolver: a top-level requirement (an override) wins, with a warning.
    done = run(
        [*pip, "--index-url", request.index_url, "-c", constraints, request.requirement, *request.overrides],
        INSTALL_TIMEOUT,
        log,
    )
    if not done.ok:
        raise _install_failed(done, request, "pip install failed")
    return []


def installer_for(version: tuple[int, ...]) -> Installer:
    """uv for Python 3.6+, pip (in a ``virtualenv<20.22`` environment) for Python 2.7, which uv cannot target."""
    return "uv" if version >= (3, 6) else "pip"


def fill(interpreter: Interpreter, location: Path, request: InstallRequest, log: Log | None = None) -> list[str]:
    """Make an environment of ``interpreter`` at ``location`` (empty or absent) and install ``request`` into it
    with the installer its version calls for; return what had to change for it to install.

    :raises SetupFailed: the release or its dependencies could not be installed (the release's own failure).
    :raises Unavailable: the environment could not be made, or the index failed (nobody's observation).
    """
    if installer_for(interpreter.version) == "uv":
        return uv_install(create_uv_venv(interpreter.path, location, log), request, log)
    return pip_install(create_virtualenv(interpreter.path, location, log), request, log)


# -- what an environment holds ----------------------------------------------------------------------


@dataclass(frozen=True)
class Inventory:
    """What an environment holds, read in one interpreter start: its Python and every distribution."""

    python: str | None
    #: Every installed distribution (normalized name -> version), installer tooling included.
    distributions: dict[str, str]
    #: A digest of each distribution's list of installed files ("-" where it has none).
    digests: dict[str, str] = field(default_factory=dict)
    #: The folders read (real paths), in the order the interpreter's ``sys.path`` gives them.
    scanned: tuple[str, ...] = ()

    @property
    def packages(self) -> dict[str, str]:
        """The distributions without installer tooling, as the record lists them."""
        return {name: version for name, version in self.distributions.items() if name not in TOOLING}


def inventory(python: Path) -> Inventory:
    """Ask ``python`` for its version and installed distributions; an empty inventory if it does not run."""
    if not python.exists():
        return Inventory(None, {})
    # As the probe runs: nothing in the shell (PYTHONPATH, …) adds folders to what is read. No bytecode is
    # written: a path file's module compiled into site-packages would change what the stamp's mark covers.
    quiet = clean_environment(STEERING, {"PYTHONDONTWRITEBYTECODE": "1"})
    done = run([python, INVENTORY_PROGRAM], IMPORT_TIMEOUT, env=quiet)
    interpreter = None
    distributions, digests, scanned = {}, {}, []
    for line in done.stdout.splitlines():
        fields = line.split("\t")
        if fields[0] == "python" and len(fields) == 2:
            interpreter = fields[1]
            continue
        if fields[0] == "scanned" and len(fields) == 2:
            # Hexadecimal UTF-8 (or the file system's bytes on Python 2): a pipe's code page may not hold it.
            with contextlib.suppress(ValueError):  # unreadable: it matches no folder marked, so nothing is stamped
                scanned.append(os.fsdecode(bytes.fromhex(fields[1])))
            continue
        if len(fields) != 3:
            continue
        name = canonicalize_name(fields[0])
        try:
            distributions[name] = str(Version(fields[1]))
        except InvalidVersion:
            distributions[name] = fields[1]
        digests[name] = fields[2]
    return Inventory(
        interpreter if done.ok else None,
        dict(sorted(distributions.items())),
        dict(sorted(digests.items())),
        tuple(scanned),
    )


#: Beside an environment: its last inventory and the mark of the files it was read from.
INVENTORY_STAMP = "audit-inventory.json"
#: The version of the stamp's contents and of how the mark is made; a stamp of another is never trusted.
_STAMP_FORMAT = 1
_FILE_LISTS = ("RECORD", "installed-files.txt", "SOURCES.txt")
#: Files changed this recently are not vouched for by their status: a file system keeps times to a clock
#: tick, so a file rewritten at the same size within the tick in which it was read would look unchanged
#: (git's "racily clean" entries). Such an environment is asked again until its files are older.
RACY_SECONDS = 2.0


@dataclass(frozen=True)
class _Mark:
    digest: str
    #: The real paths of the site-packages folders it covers.
    folders: tuple[str, ...]
    #: The newest modification or status-change time among the files it covers.
    newest_ns: int


@functools.cache
def _inventory_code() -> str:
    """The code that makes an inventory: the program read in the interpreter, the parsing of what it prints
    (this module) and the version parser. A stamp made by other code is read again."""
    parts = [INVENTORY_PROGRAM.read_bytes(), Path(__file__).read_bytes(), packaging.__version__.encode()]
    return hashlib.sha256(b"|".join([*parts, str(_STAMP_FORMAT).encode()])).hexdigest()


def _files_mark(python: Path) -> _Mark | None:
    """The status (device, inode, size, modification and change times) of everything the inventory reads,
    and of what decides which interpreter runs: the interpreter behind ``python`` and every ``python*``
    beside the one pyvenv.cfg's ``home`` names, pyvenv.cfg, each site-packages folder and every entry in it
    (path files, ``sitecustomize``), and each distribution's file list. An install, a removal, a rebuild, an
    interpreter replaced or a new path file changes it. None where it cannot be read.
    """
    location = python.parent.parent
    marks, newest = [_inventory_code()], 0

    def status(path: Path) -> str:
        nonlocal newest
        info = path.stat()
        newest = max(newest, info.st_mtime_ns, info.st_ctime_ns)
        return f"{path} {info.st_dev} {info.st_ino} {info.st_size} {info.st_mtime_ns} {info.st_ctime_ns}"

    def status_if_any(path: Path) -> str:
        """A path that may be absent (a dangling link, a folder a path file names before it exists)."""
        try:
            return status(path.resolve())
        except (OSError, RuntimeError):
            return f"{path} absent"

    try:
        configuration = location / "pyvenv.cfg"
        marks += [status(python.resolve()), status(configuration)]
        for line in configuration.read_text(encoding="utf-8").splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "home":
                marks += [status_if_any(path) for path in sorted(Path(value.strip()).glob("python*"))]
        folders = sorted(
            {p.resolve() for p in (*location.glob("lib*/python*/site-packages"), *location.glob("Lib/site-packages"))}
        )
        for folder in folders:
            # The folder's listing, not its own status: that changes when the interpreter writes ``__pycache__``.
            marks.append(str(folder))
            for entry in sorted(folder.iterdir()):
                if entry.name == "__pycache__":
                    continue  # written by the interpreter as it starts (a path file's module): derived, not read
                marks.append(status(entry))
                if entry.name.endswith(".pth") and entry.is_file():
                    # Each folder it names, present or not: one created later joins sys.path.
                    lines = entry.read_text(encoding="utf-8", errors="replace").splitlines()
                    named = [line.strip() for line in lines if line.strip() and not line.startswith(("#", "import"))]
                    marks += [status_if_any(folder / line) for line in named]
                if entry.name.endswith((".dist-info", ".egg-info")) and entry.is_dir():
                    marks += [status(entry / name) for name in _FILE_LISTS if (entry / name).is_file()]
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a symbolic link loop
        return None
    if not folders:
        return None
    digest = hashlib.sha256("\n".join(marks).encode()).hexdigest()
    return _Mark(digest, tuple(sorted(str(folder) for folder in folders)), newest)


def _stamped(path: Path, mark: _Mark) -> Inventory | None:
    """The inventory stamped at ``path`` if it was read from files with ``mark``, else None."""
    try:
        stamped = json.loads(path.read_text(encoding="utf-8"))
        python, distributions, digests = stamped["python"], stamped["distributions"], stamped["digests"]
        if stamped["mark"] != mark.digest:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None  # no stamp, or not one this code wrote
    if not (isinstance(distributions, dict) and isinstance(digests, dict)):
        return None
    texts = [python, *distributions, *distributions.values(), *digests, *digests.values()]
    if not all(isinstance(text, str) for text in texts):
        return None
    return Inventory(python, distributions, digests, mark.folders)


def held(python: Path) -> Inventory:
    """What the environment of ``python`` holds, as ``inventory`` reads it; taken from the stamp beside it,
    with no interpreter started, while everything the inventory reads keeps the status it had when read.

    Rechecking a cached record then costs a directory listing, not an interpreter start (about 30 ms each).
    Call it only with the environment's lock held: it writes the stamp.
    """
    location = python.parent.parent
    stamp_path = location / INVENTORY_STAMP
    started = time.time_ns()
    mark = _files_mark(python)
    if mark is not None:
        reused = _stamped(stamp_path, mark)
        if reused is not None:
            return reused
    stamp_path.unlink(missing_ok=True)
    found = inventory(python)
    # The mark is taken before reading: a change while the interpreter reads makes the files differ from it next
    # time. Not stamped: files too recent to be told apart by their status, and an interpreter that read
    # folders other than the ones marked (a path file that adds one).
    vouched = (
        mark is not None
        and found.python is not None
        and started - mark.newest_ns > RACY_SECONDS * 1e9
        and sorted(set(found.scanned)) == list(mark.folders)
    )
    if vouched:
        assert mark is not None
        fields = {"mark": mark.digest, "python": found.python, "distributions": found.distributions}
        write_json_atomic(stamp_path, {**fields, "digests": found.digests})
    return found


def declared_requirements(python: Path) -> list[str]:
    """Flask's requirements as its installed metadata declares them (extras left out)."""
    return run([python, DECLARED_PROGRAM], IMPORT_TIMEOUT).stdout.splitlines()


def check_import(python: Path) -> None:
    """Import Flask the way the probe will; raise SetupFailed("import-failed") if it cannot.

    As the probe does, it runs without the shell's steering variables (PYTHONPATH, FLASK_…) and away from
    the caller's working folder (a ``flask.py`` there would be imported instead). An import that does not
    finish in time is the machine's, never the release's: Unavailable.
    """
    quiet = clean_environment(STEERING, {"PYTHONDONTWRITEBYTECODE": "1"})
    done = run([python, "-c", "import flask"], IMPORT_TIMEOUT, cwd=python.parent.parent, env=quiet)
    if done.timed_out:
        raise Unavailable(
            f"importing Flask in {python.parent.parent} did not finish within {IMPORT_TIMEOUT:g}s (a loaded "
            "machine?); nothing was recorded: rerun on a quieter machine"
        )
    if not done.ok:
        raise SetupFailed("import-failed", first_error_line(done.output) or "import flask failed", done.output)


# -- reusing a filled environment ----------------------------------------------------------------

BUILD_STAMP = "audit-build.json"


def index_identity(index_url: str) -> str:
    """Which index an environment was filled from, without writing the URL (it may hold credentials)."""
    return hashlib.sha256(index_url.encode()).hexdigest()[:16]


def files_identity(held: Inventory) -> str:
    """What an environment holds, to the file lists: it changes when anything is added, removed or rebuilt."""
    listing = [f"python=={held.python}"]
    listing += [f"{name}=={version} {held.digests.get(name, '-')}" for name, version in held.distributions.items()]
    return hashlib.sha256("\n".join(listing).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Build:
    """How an environment was filled. Stored in it once filling and the import check succeeded,
    so that the next run reuses it instead of installing again (no installer, no network)."""

    installer: Installer
    interpreter: str
    requirement: str
    cutoff: str | None
    #: ``index_identity`` of the index it was filled from (the URL itself is not written).
    index: str = ""
    #: ``files_identity`` of what it held when it was stamped.
    files: str = ""
    changes: list[str] = field(default_factory=list)

    def same_request(self, other: Build) -> bool:
        """Filled for the same release, interpreter, era and index (how it went is not part of the request)."""
        return (self.installer, self.interpreter, self.requirement, self.cutoff, self.index) == (
            other.installer,
            other.interpreter,
            other.requirement,
            other.cutoff,
            other.index,
        )


#: Beside an environment: the digest of every file it held when it was filled (see :func:`contents`).
CONTENTS_STAMP = "audit-contents.json"
#: Written into an environment by the interpreter as it imports, or by this module: never part of its contents.
_DERIVED_SUFFIXES = (".pyc", ".pyo")
_OUR_STAMPS = frozenset({BUILD_STAMP, INVENTORY_STAMP, CONTENTS_STAMP})
#: How many differences a reason names before it counts the rest.
_NAMED_DIFFERENCES = 3


def contents(location: Path) -> dict[str, str]:
    """Every file of the environment at ``location``, by path relative to it, with the SHA-256 of its bytes (a
    link: ``link:`` and where it points). Bytecode and this module's stamps are left out: the interpreter
    writes the one as it imports, and the other is written after filling.

    Its own interpreter's files are marked by :func:`held`; this covers what was installed, byte for byte, which
    an install's file lists (RECORD) only name: a deleted, changed or added module is told here.
    """
    found: dict[str, str] = {}
    for folder, folders, files in os.walk(location):
        folders[:] = sorted(name for name in folders if name != "__pycache__")
        here = Path(folder)
        for name in files:
            path = here / name
            if name.endswith(_DERIVED_SUFFIXES) or (here == location and name in _OUR_STAMPS):
                continue
            relative = path.relative_to(location).as_posix()
            if path.is_symlink():
                found[relative] = f"link:{os.readlink(path)}"
                continue
            digest = hashlib.sha256()
            with path.open("rb") as stream:
                for chunk in iter(lambda: stream.read(1 << 20), b""):
                    digest.update(chunk)
            found[relative] = digest.hexdigest()
        # A folder link is not walked (os.walk does not follow it): where it points is its content.
        for name in list(folders):
            if (here / name).is_symlink():
                found[(here / name).relative_to(location).as_posix()] = f"link:{os.readlink(here / name)}"
    return dict(sorted(found.items()))


def _differences(before: dict[str, str], now: dict[str, str]) -> str:
    """What differs between two :func:`contents`, the first few named: ``changed a, b; removed c; added d``."""
    kinds = (
        ("changed", sorted(path for path in before.keys() & now.keys() if before[path] != now[path])),
        ("removed", sorted(before.keys() - now.keys())),
        ("added", sorted(now.keys() - before.keys())),
    )
    said = []
    for kind, paths in kinds:
        if paths:
            named = ", ".join(paths[:_NAMED_DIFFERENCES])
            more = f" and {len(paths) - _NAMED_DIFFERENCES} more" if len(paths) > _NAMED_DIFFERENCES else ""
            said.append(f"{kind} {named}{more}")
    return "; ".join(said)


def _stamped_contents(location: Path) -> dict[str, str] | None:
    try:
        stamped = json.loads((location / CONTENTS_STAMP).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    files = stamped.get("files") if isinstance(stamped, dict) else None
    if not isinstance(files, dict) or not all(isinstance(v, str) for v in (*files, *files.values())):
        return None
    return files


def stale(location: Path, previous: Build | None, wanted: Build, held: Inventory) -> str | None:
    """Why the environment at ``location``, stamped ``previous`` and holding ``held``, was not filled as
    ``wanted`` asks, or no longer holds exactly what it was filled with (None: it was, and does)."""
    if previous is None or not venv_python(location).exists():
        return "it was never filled"
    if not previous.same_request(wanted):
        return "it was filled for another release, interpreter, era or package index"
    if files_identity(held) != previous.files:
        return "its installed files changed since it was filled"
    filled = _stamped_contents(location)
    if filled is None:
        return "it holds no digest of the files it was filled with"
    differences = _differences(filled, contents(location))
    if differences:
        return f"its files differ from those it was filled with: {differences}"
    return None


def recorded_build(location: Path) -> Build | None:
    """The build stamped into the environment at ``location``, or None: never filled, unreadable, or not a
    stamp this code wrote (an environment with such a stamp is made again, never trusted)."""
    try:
        build = Build(**json.loads((location / BUILD_STAMP).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None
    texts = (build.installer, build.interpreter, build.requirement, build.index, build.files, *build.changes)
    well_formed = (
        build.installer in ("uv", "pip")
        and isinstance(build.changes, list)
        and all(isinstance(text, str) for text in texts)
        and (build.cutoff is None or isinstance(build.cutoff, str))
    )
    return build if well_formed else None


def record_build(location: Path, build: Build) -> None:
    """Stamp a freshly filled environment: how it was filled, and the digest of every file it holds now."""
    write_json_atomic(location / CONTENTS_STAMP, {"files": contents(location)})
    write_json_atomic(location / BUILD_STAMP, asdict(build))


def forget_build(location: Path) -> None:
    """Drop the stamps before emptying or filling, so that an interrupted removal or install is never taken for
    a finished one."""
    (location / BUILD_STAMP).unlink(missing_ok=True)
    (location / INVENTORY_STAMP).unlink(missing_ok=True)
    (location / CONTENTS_STAMP).unlink(missing_ok=True)

"""Environments: a virtual environment holding one Flask release and its era's dependencies.

Python 3.6+ environments are made and filled by uv (``--exclude-newer`` gives the era);
Python 2.7 ones by ``virtualenv<20.22`` and pip with a constraints file computed from the
index's upload times, since uv neither creates nor installs into Python 2 environments.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from packaging.version import InvalidVersion, Version

from scripts import index
from scripts.failures import first_error_line
from scripts.interpreters import probe_version

INSTALL_TIMEOUT = 900.0
IMPORT_TIMEOUT = 60.0
#: Build backends are not part of the era: old sdists are built with tools that run on today's Pythons.
BUILD_TOOLS = ("setuptools", "wheel")
#: Retried when a build fails: ``setuptools.Feature`` (MarkupSafe 1.0 needs it) went away in setuptools 46.
LEGACY_BUILD_CONSTRAINT = "setuptools<46"
#: Every distribution Flask has pulled in on Python 2.7, for the pip constraints file.
PY2_ERA_PROJECTS = ("werkzeug", "jinja2", "markupsafe", "itsdangerous", "click")

Log = Callable[[str], None]


class SetupFailed(RuntimeError):
    """A step that builds or checks an environment failed; ``status`` classifies it."""

    def __init__(self, status: str, detail: str, output: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.output = output


def venv_python(location: Path) -> Path:
    if sys.platform == "win32":  # pragma: no cover - CI's Windows runners
        return location / "Scripts" / "python.exe"
    return location / "bin" / "python"


def run(argv: Sequence[str], timeout: float, log: Log | None = None) -> subprocess.CompletedProcess[str]:
    """Run a command with a bound, capturing its output (echoed to ``log`` when given)."""
    if log:
        log(" ".join(str(a) for a in argv))
    try:
        done = subprocess.run(
            [str(a) for a in argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return subprocess.CompletedProcess(argv, -1, out, f"timed out after {timeout:g}s")
    if log and done.returncode != 0:
        log((done.stdout + done.stderr).strip()[-4000:])
    return done


def uv_command() -> list[str]:
    """uv as installed beside the running Python (the project's requirements install it)."""
    return [sys.executable, "-m", "uv"]


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
    #: Projects the cut-off does not apply to (e.g. that Werkzeug line, newer than the release).
    exempt: tuple[str, ...] = ()


def uv_install(python: Path, request: InstallRequest, log: Log | None = None) -> list[str]:
    """Install with uv as of ``request.cutoff``; return the changes made to get it to install."""
    # uv leaves out every file without an upload time once --exclude-newer is given.
    base = [*uv_command(), "pip", "install", "--python", str(python), "--index-url", request.index_url]
    if request.cutoff:
        base += ["--exclude-newer", utc(request.cutoff)]
        base += [f"--exclude-newer-package={name}={utc(request.now)}" for name in (*BUILD_TOOLS, *request.exempt)]
    if request.overrides:
        overrides = python.parent.parent / "overrides.txt"
        overrides.write_text("\n".join(request.overrides) + "\n")
        base += ["--override", str(overrides)]
    base += [request.requirement, *request.overrides]
    done = run(base, INSTALL_TIMEOUT, log)
    if done.returncode == 0:
        return []
    first_failure = done.stdout + done.stderr
    if "Failed to build" in first_failure or "build" in (first_error_line(first_failure) or "").lower():
        constraint = python.parent.parent / "build-constraints.txt"
        constraint.write_text(LEGACY_BUILD_CONSTRAINT + "\n")
        retry = run([*base, "--build-constraints", str(constraint)], INSTALL_TIMEOUT, log)
        if retry.returncode == 0:
            return [f"built old sdists with {LEGACY_BUILD_CONSTRAINT}: {first_error_line(first_failure)}"]
    raise SetupFailed("install-failed", first_error_line(first_failure) or "install failed", first_failure)


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


def py2_constraints(index_url: str, cutoff: datetime, exempt: tuple[str, ...] = ()) -> list[str]:
    """pip constraints equivalent to uv's ``--exclude-newer`` for the projects Flask pulls in."""
    lines = []
    for project in (p for p in PY2_ERA_PROJECTS if p not in exempt):
        try:
            newest = newest_before(project, index_url, cutoff)
        except index.IndexUnavailable as exc:
            raise SetupFailed("install-failed", str(exc)) from exc
        if newest:
            lines.append(f"{project}<={newest}")
    return lines


def create_uv_venv(interpreter: str, location: Path, log: Log | None = None) -> Path:
    """A Python 3.6+ environment made by uv (nox does this itself for its sessions)."""
    done = run([*uv_command(), "venv", "--quiet", "--python", interpreter, str(location)], INSTALL_TIMEOUT, log)
    if done.returncode != 0:
        raise SetupFailed("install-failed", f"uv could not create the environment: {first_error_line(done.stderr)}")
    return venv_python(location)


def create_virtualenv(interpreter: str, location: Path, log: Log | None = None) -> Path:
    """A Python 2.7 environment via the ``virtualenv`` beside the running Python (must be <20.22)."""
    python = venv_python(location)
    if python.exists():
        return python
    done = run([sys.executable, "-m", "virtualenv", "--quiet", "-p", interpreter, str(location)], INSTALL_TIMEOUT, log)
    if done.returncode != 0:
        raise SetupFailed(
            "install-failed",
            f"virtualenv could not create a Python 2.7 environment (install virtualenv<20.22): "
            f"{first_error_line(done.stdout + done.stderr)}",
        )
    return python


def pip_install(python: Path, request: InstallRequest, log: Log | None = None) -> list[str]:
    """Install with pip and a constraints file as of ``request.cutoff`` (Python 2.7)."""
    constraints = python.parent.parent / "era-constraints.txt"
    lines = py2_constraints(request.index_url, request.cutoff, request.exempt) if request.cutoff else []
    constraints.write_text("\n".join(lines) + "\n")
    done = run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--index-url",
            request.index_url,
            "-c",
            constraints,
            request.requirement,
            # Python 2's pip keeps the legacy resolver: a top-level requirement wins, with a warning.
            *request.overrides,
        ],
        INSTALL_TIMEOUT,
        log,
    )
    if done.returncode != 0:
        output = done.stdout + done.stderr
        raise SetupFailed("install-failed", first_error_line(output) or "pip install failed", output)
    return []


_LIST_PROGRAM = """
import os, sys
seen = {}
for entry in sys.path:
    # Only installed distributions: the standard library carries egg-info files of its own.
    if 'site-packages' not in entry or not os.path.isdir(entry):
        continue
    for name in os.listdir(entry):
        for suffix in ('.dist-info', '.egg-info'):
            if name.endswith(suffix):
                stem = name[: -len(suffix)]
                project, _, version = stem.partition('-')
                version = version.split('-py')[0]
                if project and version:
                    seen[project] = version
for project in sorted(seen):
    sys.stdout.write('%s==%s\\n' % (project, seen[project]))
"""


def installed_packages(python: Path) -> dict[str, str]:
    """Every distribution importable by ``python`` (normalized name -> version), pip and setuptools left out."""
    done = run([python, "-c", _LIST_PROGRAM], IMPORT_TIMEOUT)
    packages = {}
    for line in done.stdout.splitlines():
        name, _, version = line.partition("==")
        name = index.normalize(name)
        if name in {"pip", "setuptools", "wheel", "distribute"}:
            continue
        try:
            packages[name] = str(Version(version))
        except InvalidVersion:
            packages[name] = version
    return dict(sorted(packages.items()))


def check_import(python: Path) -> None:
    """Import Flask the way the probe will; raise SetupFailed("import-failed") if it cannot."""
    done = run([python, "-c", "import flask"], IMPORT_TIMEOUT)
    if done.returncode != 0:
        output = done.stdout + done.stderr
        raise SetupFailed("import-failed", first_error_line(output) or "import flask failed", output)


def interpreter_version(python: Path) -> str | None:
    version = probe_version(python)
    return ".".join(map(str, version)) if version else None

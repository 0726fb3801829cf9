"""Interpreter discovery: which Pythons this machine has, found on PATH, in pyenv and in a CI tool cache.

Discovery never goes above the newest Python the interpreter ceilings were observed on
(``SURVEYED``): a newer one could break a release in a way nobody has seen, and the audit would
pick it as "the newest interpreter the release allows". It is passed over, and the log says so.
An exact list in ``FLASK_AUDIT_PYTHONS`` (paths, separated by the system's path separator) is used
as it is, newer ones included: that is how a CI workflow names the interpreters it installed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.common.jsonio import DataError, read_json, write_json_atomic
from scripts.common.processes import WINDOWS, run

__all__ = ["ALLOW_LIST", "SURVEYED", "Interpreter", "InterpreterMissing", "discover", "probe_version", "pyenv_root"]

#: The variable that names the interpreters exactly.
ALLOW_LIST = "FLASK_AUDIT_PYTHONS"
#: The newest Python minor the interpreter ceilings (``era.PYTHON_CEILINGS``) were observed on.
SURVEYED = (3, 13)

Log = Callable[[str], None]


class InterpreterMissing(DataError):
    """An interpreter named in FLASK_AUDIT_PYTHONS does not run, or a folder interpreters are looked for in cannot
    be read; the message names it."""


def _unreadable(path: Path, exc: OSError) -> InterpreterMissing:
    remedy = f"make it readable, or name the interpreters to use in {ALLOW_LIST} (separated by {os.pathsep!r})"
    return InterpreterMissing(path, f"cannot be read ({exc.strerror or exc})", remedy)


_VERSION_PROGRAM = "import sys; sys.stdout.write('%d.%d.%d' % sys.version_info[:3])"
_PATH_NAMES = ["python", "python3", "python2"] + [f"python3.{minor}" for minor in range(6, 20)] + ["python2.7"]


@dataclass(frozen=True, order=True)
class Interpreter:
    """A Python interpreter that answered when asked its version."""

    version: tuple[int, int, int]
    path: str

    @property
    def minor(self) -> tuple[int, int]:
        return self.version[:2]

    @property
    def version_text(self) -> str:
        return ".".join(map(str, self.version))


def pyenv_root() -> Path | None:
    root = os.environ.get("PYENV_ROOT")
    if root:
        return Path(root)
    pyenv = shutil.which("pyenv")
    if pyenv:
        try:
            out = run([pyenv, "root"], timeout=10)
        except OSError:
            out = None
        if out and out.ok and out.stdout.strip():
            return Path(out.stdout.strip())
    default = Path.home() / ".pyenv"
    return default if default.is_dir() else None


def _tool_cache() -> list[Path]:
    """Interpreters a CI runner's setup-python installed: on Windows only the first is on PATH, as python.exe."""
    root = os.environ.get("RUNNER_TOOL_CACHE")
    if not root:
        return []
    pattern = "Python/*/*/python.exe" if WINDOWS else "Python/*/*/bin/python3"
    return sorted(Path(root).glob(pattern))


def _py_launcher() -> list[Path]:
    """What Windows' ``py`` launcher lists (``py -0p``: one interpreter per line, its path last)."""
    py = shutil.which("py") if WINDOWS else None
    if py is None:
        return []
    try:
        out = run([py, "-0p"], timeout=10)
    except OSError:
        return []
    return [Path(line.split()[-1]) for line in out.stdout.splitlines() if line.strip().endswith(".exe")]


def _candidates() -> list[Path]:
    named = os.environ.get(ALLOW_LIST)
    if named is not None:
        return [Path(p) for p in named.split(os.pathsep) if p.strip()]
    found = [Path(p) for name in _PATH_NAMES if (p := shutil.which(name))]
    root = pyenv_root()
    if root is not None:
        versions = root / "versions"
        # glob() passes over a folder it cannot read: its interpreters would be missed without a word.
        if versions.is_dir() and not os.access(versions, os.R_OK | os.X_OK):
            raise _unreadable(versions, PermissionError(13, "Permission denied"))
        found.extend(sorted(versions.glob("*/bin/python")))
    return [*found, *_tool_cache(), *_py_launcher()]


def probe_version(path: Path, timeout: float = 10.0) -> tuple[int, int, int] | None:
    """The interpreter's version, or None when it does not run."""
    try:
        out = run([path, "-c", _VERSION_PROGRAM], timeout=timeout)
    except OSError:
        return None
    if not out.ok:
        return None
    try:
        major, minor, micro = (int(part) for part in out.stdout.strip().split("."))
    except ValueError:
        return None
    return major, minor, micro


def _identity(real: Path) -> str:
    """Changes when the binary is replaced or rebuilt, so a remembered version is asked again."""
    stat = real.stat()
    return f"{real}|{stat.st_ino}|{stat.st_size}|{stat.st_mtime_ns}"


def _remembered(cache: Path | None) -> dict[str, list[int] | None]:
    if cache is None or not cache.exists():
        return {}
    try:
        data = read_json(cache)
    except DataError:
        return {}  # a damaged cache is asked again, like an empty one
    return data if isinstance(data, dict) else {}


def _remember(cache: Path | None, versions: dict[str, list[int] | None]) -> None:
    if cache is None:
        return
    # A cache that cannot be written only costs the next run the same subprocesses.
    with contextlib.suppress(OSError):
        write_json_atomic(cache, versions)


def discover(cache: Path | None = None, log: Log | None = None) -> list[Interpreter]:
    """One interpreter per minor version (its newest patch), oldest first, none above SURVEYED unless named.

    pyenv shims are skipped: they re-dispatch to whichever version pyenv selects,
    so the real binaries under ``versions/`` stand for them. With ``cache``, each binary's
    version is remembered by its identity (inode, size, mtime): nox imports the noxfile once per
    session under ``-j``, and asking nine interpreters costs a tenth of a second each time.

    :param log: where a passed-over interpreter is said (newer than SURVEYED).
    :raises InterpreterMissing: an interpreter named in FLASK_AUDIT_PYTHONS does not answer.
    """
    named = os.environ.get(ALLOW_LIST) is not None
    best: dict[tuple[int, int], Interpreter] = {}
    seen: set[Path] = set()
    remembered = _remembered(cache)
    versions: dict[str, list[int] | None] = {}
    for path in _candidates():
        if "shims" in path.parts:
            continue
        try:
            real = path.resolve()
            exists = real.exists()
        except OSError as exc:  # an interpreter's folder this user cannot read
            raise _unreadable(path, exc) from exc
        if named and not exists:
            raise InterpreterMissing(path, f"is named in {ALLOW_LIST} but does not exist", "name interpreters that run")
        if real in seen or not exists:
            continue
        seen.add(real)
        identity = _identity(real)
        if identity in remembered:
            known = remembered[identity]
            version = (known[0], known[1], known[2]) if known else None
        else:
            version = probe_version(real)
        versions[identity] = list(version) if version else None
        if version is None:
            if named:
                raise InterpreterMissing(
                    path, f"is named in {ALLOW_LIST} but does not run or say its version", "name interpreters that run"
                )
            continue
        if not named and version[:2] > SURVEYED:
            if log is not None:
                log(
                    f"Python {'.'.join(map(str, version))} at {path} is newer than "
                    f"{SURVEYED[0]}.{SURVEYED[1]}, the newest Python the interpreter ceilings were observed on: not "
                    f"used (name it in {ALLOW_LIST} to audit with it)"
                )
            continue
        current = best.get(version[:2])
        if current is None or version > current.version:
            best[version[:2]] = Interpreter(version, str(path))
    if versions != remembered:
        _remember(cache, versions)
    return sorted(best.values())

"""The catalogues: every Flask release the index lists, and the minor lines of Flask and Werkzeug.

They are stored in ``reports/releases.json`` and ``reports/werkzeug-lines.json`` so that nox lists
one session per release without touching the network; ``nox -s catalogue`` rebuilds both.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from scripts.common import cli
from scripts.common.clock import parse_stamp, stamp
from scripts.common.jsonio import DataError, read_record, write_json_atomic
from scripts.layout import Layout
from scripts.packages.index import IndexFile, configured_index_url, file_version, project_files

__all__ = [
    "REFRESH",
    "CatalogueShrinks",
    "Line",
    "Release",
    "audited",
    "check_not_shrinking",
    "fetch",
    "fetch_lines",
    "lines",
    "load",
    "load_lines",
    "parse_options",
    "refresh",
    "releases_from_files",
    "save",
    "save_lines",
]

PROJECT = "flask"
INSTALLABLE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
#: What to do when a catalogue cannot be read.
REFRESH = "run `nox -s catalogue` to rebuild it from the package index"


@dataclass(frozen=True)
class Release:
    """One release of Flask as the index lists it."""

    version: str
    uploaded: str | None  # ISO 8601 UTC time of the earliest file; None where the index has no dates
    requires_python: str | None
    yanked: bool
    installable: bool  # the index has a wheel or sdist that is not yanked
    prerelease: bool

    @property
    def released(self) -> str | None:
        """The release date (YYYY-MM-DD) or None when the index gives no upload times."""
        return self.uploaded[:10] if self.uploaded else None

    @property
    def key(self) -> Version:
        return Version(self.version)


@dataclass(frozen=True)
class Line:
    """The newest final patch of a minor line (of Flask or Werkzeug) as the index lists it."""

    line: str
    version: str
    uploaded: str | None
    requires_python: str | None


def releases_from_files(files: list[IndexFile]) -> list[Release]:
    """Group index files by version, oldest release first."""
    grouped: dict[Version, list[IndexFile]] = defaultdict(list)
    for file in files:
        version = file_version(file.filename)
        if version is not None:
            grouped[version].append(file)
    releases = []
    for version in sorted(grouped):
        group = grouped[version]
        times = sorted(f.upload_time for f in group if f.upload_time is not None)
        installable = [f for f in group if f.filename.endswith(INSTALLABLE_SUFFIXES) and not f.yanked]
        # Prefer what an installer would see: the declared requirement on an installable file.
        declared = [f.requires_python for f in installable or group if f.requires_python]
        releases.append(
            Release(
                version=str(version),
                uploaded=stamp(times[0]) if times else None,
                requires_python=declared[0] if declared else None,
                yanked=all(f.yanked for f in group),
                installable=bool(installable),
                prerelease=version.is_prerelease or version.is_devrelease,
            )
        )
    return releases


def audited(releases: list[Release], include_prereleases: bool = False) -> list[Release]:
    """The releases the audit covers: final releases (and pre-releases if asked)."""
    return [r for r in releases if include_prereleases or not r.prerelease]


def lines(releases: list[Release]) -> list[Line]:
    """The newest final, installable patch of each minor line, oldest line first."""
    newest: dict[str, Release] = {}
    for release in audited(releases):
        if not release.installable:
            continue
        minor = ".".join(str(part) for part in (*release.key.release, 0)[:2])
        if minor not in newest or release.key > newest[minor].key:
            newest[minor] = release
    return [
        Line(minor, r.version, r.uploaded, r.requires_python)
        for minor, r in sorted(newest.items(), key=lambda item: Version(item[0]))
    ]


# -- from the index ------------------------------------------------------------------------------


def fetch(index_url: str) -> list[Release]:
    """Flask's releases as the index lists them (raises IndexUnavailable)."""
    return releases_from_files(project_files(PROJECT, index_url))


def fetch_lines(project: str, index_url: str) -> list[Line]:
    """The minor lines of ``project`` as the index lists them (raises IndexUnavailable)."""
    return lines(releases_from_files(project_files(project, index_url)))


class CatalogueShrinks(RuntimeError):
    """A refresh would drop releases the stored catalogue knows; the message names them."""


def check_not_shrinking(stored: list[Release], fetched: list[Release]) -> None:
    """Refuse a catalogue that lacks releases the stored one has (a partial mirror, a wrong index)."""
    dropped = sorted({r.version for r in stored} - {r.version for r in fetched}, key=Version)
    if dropped:
        shown = ", ".join(dropped[:10]) + (f" and {len(dropped) - 10} more" if len(dropped) > 10 else "")
        raise CatalogueShrinks(
            f"the index lists {len(fetched)} Flask releases and lacks {len(dropped)} the catalogue has ({shown}); "
            "check --index-url, or pass --allow-shrink to keep only what it lists"
        )


@dataclass(frozen=True)
class RefreshOptions:
    index_url: str | None = None
    allow_shrink: bool = False


def parse_options(args: list[str]) -> RefreshOptions:
    """``nox -s catalogue`` options; raises cli.OptionError naming a bad one."""
    parser = cli.parser("nox -s catalogue --", "Rebuild the catalogues from the package index.", [cli.add_index_url])
    parser.add_argument(
        "--allow-shrink", action="store_true", help="keep only what the index lists, even if it lacks known releases"
    )
    parsed = parser.parse_args(args)
    return RefreshOptions(parsed.index_url, parsed.allow_shrink)


def refresh(options: RefreshOptions, layout: Layout) -> tuple[int, int]:
    """Rebuild both catalogues from the index; return how many releases and Werkzeug lines it lists.

    Works whatever state the stored files are in (missing, corrupt). Nothing is written unless both
    were read.

    :raises IndexUnavailable: the index could not be read.
    :raises CatalogueShrinks: the index lacks known releases and ``allow_shrink`` is off.
    """
    url = configured_index_url(options.index_url)
    fetched = fetch(url)
    werkzeug = fetch_lines("werkzeug", url)
    if not options.allow_shrink:
        try:
            stored = load(layout.releases)
        except DataError:
            stored = []  # nothing trustworthy to compare with: the refresh is what repairs it
        check_not_shrinking(stored, fetched)
    save(fetched, layout.releases)
    save_lines("werkzeug", werkzeug, layout.werkzeug_lines)
    return len(fetched), len(werkzeug)


# -- stored ----------------------------------------------------------------------------------------


def _release(entry: Any) -> Release:
    """A catalogue entry, its fields checked: a damaged one raises TypeError or ValueError here, not later."""
    release = Release(**entry)
    optional_texts = (release.uploaded, release.requires_python)
    flags = (release.yanked, release.installable, release.prerelease)
    if not isinstance(release.version, str) or not all(t is None or isinstance(t, str) for t in optional_texts):
        raise TypeError(f"an entry has a field of the wrong type: {entry!r}")
    if not all(isinstance(flag, bool) for flag in flags):
        raise TypeError(f"an entry has a flag that is not true or false: {entry!r}")
    Version(release.version)  # raises InvalidVersion (a ValueError) for what is not a version
    if release.uploaded is not None:
        parse_stamp(release.uploaded)
    return release


def save(releases: list[Release], path: Path) -> None:
    write_json_atomic(path, {"project": PROJECT, "releases": [asdict(r) for r in releases]})


def load(path: Path) -> list[Release]:
    """The stored catalogue, oldest first.

    :raises DataError: the file is missing, not JSON, or not a catalogue (the message says to refresh it).
    """
    return read_record(path, lambda data: [_release(entry) for entry in data["releases"]], "a catalogue", REFRESH)


def save_lines(project: str, found: list[Line], path: Path) -> None:
    write_json_atomic(path, {"project": project, "lines": [asdict(line) for line in found]})


def load_lines(path: Path) -> list[Line]:
    """The stored minor lines.

    :raises DataError: the file is missing, not JSON, or not a list of lines.
    """
    return read_record(path, lambda data: [Line(**entry) for entry in data["lines"]], "a list of minor lines", REFRESH)

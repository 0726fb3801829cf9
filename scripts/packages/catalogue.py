"""The release catalogue: every Flask release the index lists, with its dates and flags.

The catalogue is stored in ``reports/releases.json`` so that the noxfile can list one
session per release without touching the network; ``refresh`` rebuilds it from the index.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from packaging.version import Version

from scripts.audit.records import read_json, write_json_atomic
from scripts.packages import index

PROJECT = "flask"
INSTALLABLE_SUFFIXES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")


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


def releases_from_files(files: list[index.IndexFile]) -> list[Release]:
    """Group index files by version, oldest release first."""
    grouped: dict[Version, list[index.IndexFile]] = defaultdict(list)
    for file in files:
        version = index.file_version(file.filename)
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
                uploaded=times[0].strftime("%Y-%m-%dT%H:%M:%SZ") if times else None,
                requires_python=declared[0] if declared else None,
                yanked=all(f.yanked for f in group),
                installable=bool(installable),
                prerelease=version.is_prerelease or version.is_devrelease,
            )
        )
    return releases


def fetch(index_url: str) -> list[Release]:
    """Read the catalogue from the index (raises index.IndexUnavailable)."""
    return releases_from_files(index.project_files(PROJECT, index_url))


def save(releases: list[Release], path: Path) -> None:
    write_json_atomic(path, {"project": PROJECT, "releases": [asdict(r) for r in releases]})


def load(path: Path) -> list[Release]:
    """The stored catalogue, oldest first; empty when it was never refreshed."""
    if not path.exists():
        return []
    return [Release(**entry) for entry in read_json(path)["releases"]]


def audited(releases: list[Release], include_prereleases: bool = False) -> list[Release]:
    """The releases the audit covers: final releases (and pre-releases if asked)."""
    return [r for r in releases if include_prereleases or not r.prerelease]


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def refresh(args: list[str], path: Path) -> int:
    """Rebuild the stored catalogue from the index (``--index-url URL`` picks one); return its size."""
    import argparse

    parser = argparse.ArgumentParser(prog="nox -s catalogue --")
    parser.add_argument("--index-url", help="package index (Simple API); default: your uv/pip configuration")
    releases = fetch(index.configured_index_url(parser.parse_args(args).index_url))
    save(releases, path)
    return len(releases)

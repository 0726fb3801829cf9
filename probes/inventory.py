"""What an environment holds: its Python and every installed distribution, printed one per line.

Runs inside the audited interpreter (Python 2.7-3.13, standard library only):

    python probes/inventory.py

    python<TAB>3.9.18
    scanned<TAB>2f706174682f...   (each folder read, its real path as hexadecimal UTF-8, one line each)
    flask<TAB>1.0<TAB>sha256 of its RECORD (or installed-files.txt), or - where it has neither
    ...

The digest of a distribution's file list (which holds a hash of every installed file, for wheels)
tells two builds of the same version apart: a release renumbered, or re-uploaded to another index.
"""

import binascii
import hashlib
import os
import sys

FILE_LISTS = ("RECORD", "installed-files.txt", "SOURCES.txt")


def _digest(folder):
    for name in FILE_LISTS:
        path = os.path.join(folder, name)
        if os.path.isfile(path):
            with open(path, "rb") as handle:
                return hashlib.sha256(handle.read()).hexdigest()
    return "-"


def scanned():
    """The folders read: installed distributions only (the standard library carries egg-info files of its own)."""
    return [entry for entry in sys.path if "site-packages" in entry and os.path.isdir(entry)]


def distributions():
    found = {}
    for entry in scanned():
        for name in sorted(os.listdir(entry)):
            for suffix in (".dist-info", ".egg-info"):
                if name.endswith(suffix):
                    stem = name[: -len(suffix)]
                    project, _, version = stem.partition("-")
                    version = version.split("-py")[0]
                    if project and version:
                        folder = os.path.join(entry, name)
                        found[project] = (version, _digest(folder) if os.path.isdir(folder) else "-")
    return found


if __name__ == "__main__":
    sys.stdout.write("python\t%d.%d.%d\n" % sys.version_info[:3])
    for folder in scanned():
        real = os.path.realpath(folder)
        if not isinstance(real, bytes):  # Python 3: the file system's own bytes
            real = os.fsencode(real)
        sys.stdout.write("scanned\t%s\n" % binascii.hexlify(real).decode("ascii"))
    listed = distributions()
    for project in sorted(listed):
        sys.stdout.write("%s\t%s\t%s\n" % (project, listed[project][0], listed[project][1]))

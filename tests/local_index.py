"""A local package index on disk, made from real wheels, holding a Flask release newer than any real one.

The fake release is a real Flask wheel renamed to a new version, optionally with the default of
``app.run(threaded=...)`` flipped, so the regression alarm meets a release whose behaviour did or did
not change. The index is a PEP 503 tree (no upload dates), usable as ``file://`` or over loopback HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import subprocess
import sys
import zipfile
from email.parser import HeaderParser
from pathlib import Path

from packaging.utils import canonicalize_name

from scripts.packages import index

THREADED_DEFAULT = 'options.setdefault("threaded", True)'


def download(requirement: str, python_version: str, dest: Path) -> list[Path]:
    """Real wheels for ``requirement`` and its dependencies, for ``python_version``, from the configured index."""
    done = subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check"),
            *("--only-binary", ":all:", "--python-version", python_version),
            *("--index-url", index.configured_index_url(), "--dest", str(dest), requirement),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"pip download {requirement} failed: {done.stderr[-2000:]}"
    return sorted(dest.glob("*.whl"))


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def rebuild_flask(wheel: Path, version: str, dest: Path, flip_threaded_default: bool) -> Path:
    """A copy of a real Flask wheel as release ``version``, with ``threaded`` defaulting to False if asked."""
    edits = (
        {"flask/app.py": (THREADED_DEFAULT, THREADED_DEFAULT.replace("True", "False"))} if flip_threaded_default else {}
    )
    return rebuild(wheel, "flask", version, dest, edits)


def rebuild(wheel: Path, project: str, version: str, dest: Path, edits: dict[str, tuple[str, str]]) -> Path:
    """A copy of a real wheel of ``project`` as release ``version``, with each file's ``(old, new)`` text replaced."""
    with zipfile.ZipFile(wheel) as source:
        members = {name: source.read(name) for name in source.namelist()}
    old_info = next(name.split("/")[0] for name in members if name.split("/")[0].endswith(".dist-info"))
    new_info = f"{project}-{version}.dist-info"
    rebuilt: dict[str, bytes] = {}
    for name, data in members.items():
        if name.startswith(old_info + "/"):
            name = new_info + name[len(old_info) :]
        if name == f"{new_info}/METADATA":
            data = re.sub(rb"(?m)^Version: .*$", f"Version: {version}".encode(), data, count=1)
        if name in edits:
            old, new = edits[name]
            source_text = data.decode()
            assert source_text.count(old) == 1, f"{wheel.name}: {name} no longer holds {old!r} once"
            data = source_text.replace(old, new).encode()
        rebuilt[name] = data
    record = f"{new_info}/RECORD"
    lines = [_record_line(name, data) for name, data in sorted(rebuilt.items()) if name != record]
    rebuilt[record] = ("\n".join([*lines, f"{record},,"]) + "\n").encode()
    target = dest / f"{project}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in rebuilt.items():
            out.writestr(name, data)
    return target


def _requires_python(wheel: Path) -> str | None:
    if wheel.suffix != ".whl":
        return None  # an sdist: its metadata is only known once built
    with zipfile.ZipFile(wheel) as archive:
        metadata = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return HeaderParser().parsestr(archive.read(metadata).decode()).get("Requires-Python")


def fake_index(wheels: list[Path], root: Path, version: str, flip: bool) -> str:
    """An index under ``root`` holding the dependency wheels and Flask renumbered as ``version`` (flipped if asked)."""
    flask_wheel = next(w for w in wheels if w.name.lower().startswith("flask-"))
    root.mkdir(parents=True, exist_ok=True)
    fake = rebuild_flask(flask_wheel, version, root, flip_threaded_default=flip)
    return write_index([*(w for w in wheels if w != flask_wheel), fake], root / "index")


def write_index(wheels: list[Path], root: Path) -> str:
    """A PEP 503 index under ``root`` listing ``wheels``; returns its ``file://`` URL (ending in /)."""
    files = root / "files"
    files.mkdir(parents=True, exist_ok=True)
    projects: dict[str, list[Path]] = {}
    for wheel in wheels:
        target = files / wheel.name
        if wheel != target:
            target.write_bytes(wheel.read_bytes())
        projects.setdefault(canonicalize_name(wheel.name.split("-")[0]), []).append(target)
    simple = root / "simple"
    for project, listed in projects.items():
        anchors = []
        for wheel in sorted(listed):
            requires = _requires_python(wheel)
            attribute = f' data-requires-python="{html.escape(requires)}"' if requires else ""
            anchors.append(f'<a href="../../files/{wheel.name}"{attribute}>{wheel.name}</a>')
        (simple / project).mkdir(parents=True, exist_ok=True)
        (simple / project / "index.html").write_text("<html><body>\n" + "\n".join(anchors) + "\n</body></html>\n")
    links = "\n".join(f'<a href="{p}/">{p}</a>' for p in sorted(projects))
    (simple / "index.html").write_text(f"<html><body>\n{links}\n</body></html>\n")
    return simple.as_uri() + "/"


def legacy_sdist(name: str, version: str, setup_body: str, dest: Path) -> Path:
    """An sdist of the old kind (a setup.py, no pyproject.toml), as the sdists of Flask's first years are."""
    import io
    import tarfile

    dest.mkdir(parents=True, exist_ok=True)
    path = dest / f"{name}-{version}.tar.gz"
    files = {
        "PKG-INFO": f"Metadata-Version: 1.0\nName: {name}\nVersion: {version}\n",
        "setup.py": setup_body,
    }
    with tarfile.open(path, "w:gz") as archive:
        for member, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{name}-{version}/{member}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return path

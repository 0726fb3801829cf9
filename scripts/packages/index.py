"""The package index: which one the user configured, and what it lists for a project.

The index URL is never written in this project: it comes from an explicit
``--index-url``, else from the user's uv or pip configuration, else from pip's own
default. The listing is read through the Simple API (PEP 691 JSON where the index
offers it, PEP 503 HTML otherwise), from ``http(s)://`` or ``file://`` URLs.
"""

from __future__ import annotations

import contextlib
import functools
import html.parser
import logging
import os
import re
import subprocess
import sys
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    canonicalize_name,
    parse_sdist_filename,
    parse_wheel_filename,
)
from packaging.version import InvalidVersion, Version

from scripts.common.clock import parse_stamp
from scripts.common.failures import redact

__all__ = [
    "HANDED_DOWN",
    "IndexFile",
    "IndexUnavailable",
    "configured_index_url",
    "file_version",
    "hand_down_configured_index",
    "project_files",
]

PEP691_JSON = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{PEP691_JSON}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.1"
TIMEOUT_SECONDS = 30.0
# requests' connection pool logs every request at DEBUG, which nox shows; the index is not news.
logging.getLogger("urllib3").setLevel(logging.WARNING)
_EGG = re.compile(r"^(?P<name>[^-]+)-(?P<version>[^-]+)(-py\d.*)?\.egg$")


class IndexUnavailable(RuntimeError):
    """The index could not be read; the message says which URL (credentials hidden) and why."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))


@dataclass(frozen=True)
class IndexFile:
    """One distribution file as the index lists it."""

    filename: str
    url: str
    requires_python: str | None = None
    upload_time: datetime | None = None
    yanked: bool = False


@functools.cache
def _pip_configured_index() -> str | None:
    """index-url from pip's configuration files, as ``pip config list`` reports it.

    Asked once per process: it costs a pip start, and nox runs many sessions in one process.
    """
    try:
        out = subprocess.run(
            [sys.executable, "-m", "pip", "config", "list"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    found: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        section, _, option = key.rpartition(".")
        if option == "index-url":
            found[section] = value.strip().strip("'\"")
    # pip lets the environment override the install section, which overrides global.
    for section in (":env:", "install", "global"):
        if section in found:
            return found[section]
    return None


def _uv_configured_index() -> str | None:
    """The default index from uv's user or system ``uv.toml``, if one sets it."""
    import tomllib

    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    for path in (config_home / "uv" / "uv.toml", Path("/etc/uv/uv.toml")):
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, tomllib.TOMLDecodeError):
            continue
        for index in data.get("index", []):
            if index.get("default") and index.get("url"):
                return str(index["url"])
        if data.get("index-url"):
            return str(data["index-url"])
    return None


def _pip_default_index() -> str:
    try:
        from pip._internal.models.index import PyPI
    except ImportError as exc:  # pragma: no cover - pip ships with every CPython
        raise IndexUnavailable(
            "No index is configured and pip is not importable to supply its default; "
            "pass --index-url URL or set UV_DEFAULT_INDEX / PIP_INDEX_URL."
        ) from exc
    return str(PyPI.simple_url)


def configured_index_url(explicit: str | None = None) -> str:
    """The Simple API base URL to use, from the most specific setting available."""
    candidates = (
        explicit,
        os.environ.get("UV_DEFAULT_INDEX"),
        os.environ.get("UV_INDEX_URL"),
        os.environ.get("PIP_INDEX_URL"),
    )
    for url in candidates:
        if url:
            return url.rstrip("/") + "/"
    return _from_configuration()


#: What the configuration files name, as a nox process that runs its sessions in child processes
#: (``nox -j``) found it before starting them. Asking pip costs a pip start, half a second, and each
#: release's session is a process of its own; the children inherit the answer instead. Internal: the
#: settings above it (an explicit URL, the UV_ and PIP_ variables) still win, as they do without it.
HANDED_DOWN = "FLASK_AUDIT_CONFIGURED_INDEX"


def _from_configuration() -> str:
    """uv's configuration, then pip's, then pip's own default."""
    url = os.environ.get(HANDED_DOWN) or _uv_configured_index() or _pip_configured_index() or _pip_default_index()
    return url.rstrip("/") + "/"


def hand_down_configured_index() -> None:
    """Put what the configuration files name into this process's environment, for its child processes.

    Nothing is handed down when it cannot be found: each child then asks, and fails, on its own.
    """
    if os.environ.get(HANDED_DOWN):
        return
    with contextlib.suppress(IndexUnavailable):
        os.environ[HANDED_DOWN] = _from_configuration()


class _AnchorParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._open: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self._open, self._text = dict(attrs), []

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._open is not None:
            self.anchors.append((self._open, "".join(self._text).strip()))
            self._open = None


def parse_html(page: str, page_url: str) -> list[IndexFile]:
    """Files listed by a PEP 503 project page."""
    parser = _AnchorParser()
    parser.feed(page)
    files = []
    for attrs, text in parser.anchors:
        href = attrs.get("href") or ""
        url = urllib.parse.urljoin(page_url, href)
        filename = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
        requires_python = attrs.get("data-requires-python")
        files.append(
            IndexFile(
                filename=filename or text,
                url=url,
                requires_python=html.unescape(requires_python) if requires_python else None,
                yanked="data-yanked" in attrs,
            )
        )
    return files


def parse_json(data: dict[str, Any], page_url: str) -> list[IndexFile]:
    """Files listed by a PEP 691 project response."""
    files = []
    for entry in data.get("files", []):
        uploaded = entry.get("upload-time")
        files.append(
            IndexFile(
                filename=entry["filename"],
                url=urllib.parse.urljoin(page_url, entry["url"]),
                requires_python=entry.get("requires-python") or None,
                upload_time=parse_stamp(uploaded) if uploaded else None,
                yanked=bool(entry.get("yanked")),
            )
        )
    return files


def file_version(filename: str) -> Version | None:
    """The version a distribution file's name carries (wheel, sdist or egg), or None."""
    try:
        if filename.endswith(".whl"):
            return parse_wheel_filename(filename)[1]
        if filename.endswith((".tar.gz", ".zip")):
            return parse_sdist_filename(filename)[1]
        match = _EGG.match(filename)
        if match:
            return Version(match["version"])
        for suffix in (".tar.bz2", ".tgz"):
            if filename.endswith(suffix):
                return Version(filename[: -len(suffix)].rsplit("-", 1)[1])
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, IndexError):
        return None
    return None


def _read_file_url(url: str) -> str:
    path = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
    if path.is_dir():
        path = path / "index.html"
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise IndexUnavailable(f"cannot read the index page {url}: {exc.strerror or exc}") from exc


_ERRNO = re.compile(r"\[Errno -?\d+\] (?P<text>[^'\")\]]+)")


def _reason(exc: Exception) -> str:
    """The operating system's words for a failed request ("Connection refused"), not urllib3's wrapping."""
    found = _ERRNO.search(str(exc))
    return found["text"].strip() if found else f"{type(exc).__name__}: {exc}"


def project_files(project: str, index_url: str, timeout: float = TIMEOUT_SECONDS) -> list[IndexFile]:
    """Every file the index lists for ``project``.

    Raises IndexUnavailable, naming the URL, when the index cannot be read.
    """
    page_url = urllib.parse.urljoin(index_url.rstrip("/") + "/", canonicalize_name(project) + "/")
    if page_url.startswith("file:"):
        return parse_html(_read_file_url(page_url), page_url)
    # Imported here: the noxfile imports this module at every nox start-up, where the index is not read.
    import requests

    try:
        response = requests.get(page_url, headers={"Accept": ACCEPT}, timeout=timeout)
    except requests.Timeout as exc:
        raise IndexUnavailable(f"the index at {page_url} did not answer within {timeout:g}s") from exc
    except (requests.RequestException, ValueError) as exc:  # ValueError: urllib3 refuses the URL itself
        raise IndexUnavailable(f"cannot reach the index at {page_url}: {_reason(exc)}") from exc
    if response.status_code == 404:
        raise IndexUnavailable(f"the index at {index_url} has no project {project!r} (404 for {page_url})")
    if not response.ok:
        raise IndexUnavailable(f"the index answered {response.status_code} for {page_url}")
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    if content_type == PEP691_JSON:
        try:
            return parse_json(response.json(), response.url)
        except (ValueError, KeyError) as exc:
            raise IndexUnavailable(f"the index sent malformed JSON for {page_url}: {exc}") from exc
    return parse_html(response.text, response.url)

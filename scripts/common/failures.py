"""Failure text: the one line of a tool's or traceback's output that says what went wrong.

Records are committed and printed, so every line taken from a failure is scrubbed first: host
names and credentials in URLs, and machine paths, never reach a record or a log.
"""

from __future__ import annotations

import re

__all__ = ["exception_lines", "first_error_line", "redact", "scrub"]

# A Python exception line: "ValueError: ...", "jinja2.exceptions.X: ...", "ImportError: cannot ...", and the
# lower-case classes of the standard library, which always come with their module ("re.error: ...").
_EXCEPTION = re.compile(
    r"^(?:(?:[A-Za-z_][\w.]*\.)?[A-Z]\w*(?:Error|Exception|Exit|Interrupt|Warning)|[a-z_][\w.]*\.error)\b.*"
)
_TRACEBACK = "Traceback (most recent call last)"
# Which distribution's build failed: uv names it; pip only says which one it was collecting.
_UV_BUILD = re.compile(r"Failed to build `(?P<dist>[^`]+)`")
_PIP_BUILD = ("subprocess-exited-with-error", "Failed building wheel for")
_PIP_COLLECTING = re.compile(r"^\s*Collecting (?P<dist>[^\s;]+)")
# Installer errors: uv ("error:", "  × ", "  ├─▶ ", "  ╰─▶ ", "Caused by:", "  cause:") and pip ("ERROR:").
_INSTALLER = re.compile(r"^\s*(?:error:|ERROR:|×|├─▶|╰─▶|Caused by:|caused by:|cause:)\s*(?P<text>.+)")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s/'\"]+", re.IGNORECASE)
# The user-info part of a URL, up to the last "@" before the host (a password may hold "@" too):
# "<scheme>://user:t@ken@<host>/" -> "<scheme>://***@<host>/". Schemes in any case count as URLs.
_USERINFO = re.compile(r"\b(?P<scheme>[a-z][a-z0-9+.-]*://)[^\s/'\"]+@", re.IGNORECASE)
# An interpreter's install location says nothing about the failure and differs per machine.
_INTERPRETER_PATH = re.compile(r"/[^\s'\"()]*?/lib/python\d\.\d+/(?:site-packages/)?")


def redact(text: str) -> str:
    """``text`` with the credentials of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\g<scheme>***@", text)


def scrub(text: str) -> str:
    """Hide host names (and credentials) in URLs and machine paths: records must name neither."""
    text = _URL.sub(lambda m: m.group(0).split("://", 1)[0] + "://<host>", text)
    return _INTERPRETER_PATH.sub("", text)


def first_error_line(output: str) -> str | None:
    """The most useful single line of a failure's output, or None if there is none.

    For a traceback this is its final exception line (the last one, when Python chains
    tracebacks), at any indentation, after the distribution whose build raised it; for
    installer output the first error line; otherwise the last non-blank line.
    """
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    if not lines:
        return None
    # Installers indent a build backend's traceback (uv by 9 columns, pip by 6): look at every indentation.
    if any(line.startswith(_TRACEBACK) for line in lines):
        exceptions = [line for line in lines if _EXCEPTION.match(line)]
        if exceptions:
            return scrub(_building(lines) + exceptions[-1])
    installer = [m["text"].strip() for line in lines if (m := _INSTALLER.match(line))]
    if installer:
        # uv nests its reasons: the innermost ("caused by") names the real problem best.
        return scrub(installer[-1] if len(installer) > 1 and installer[0].endswith(":") else " / ".join(installer[:3]))
    exceptions = [line for line in lines if _EXCEPTION.match(line)]
    return scrub((exceptions[-1] if exceptions else lines[-1]).strip())


def exception_lines(output: str) -> list[str]:
    """Every exception line of the tracebacks in ``output``, at any indentation, in order (chained ones too)."""
    return [line.strip() for line in output.splitlines() if _EXCEPTION.match(line.strip())]


def _building(lines: list[str]) -> str:
    """``Failed to build `dist`: `` when the traceback is a build backend's, as the installer names it; else ``""``."""
    for line in lines:
        found = _UV_BUILD.search(line)
        if found:
            return f"Failed to build `{found['dist']}`: "
    if any(marker in line for line in lines for marker in _PIP_BUILD):
        collecting = [m["dist"] for line in lines if (m := _PIP_COLLECTING.match(line))]
        if collecting:
            return f"Failed to build `{collecting[-1]}`: "
    return ""

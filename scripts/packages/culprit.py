"""Whose failure it is: the distribution a traceback points at, the release itself, or the interpreter.

Read from what the failure says, never from version numbers: the module an ``ImportError`` or
``AttributeError`` names, else the innermost frame that lies in an installed distribution. A module
of the standard library (``collections``, ``imp``, Python 2's ``urlparse``) makes it the
interpreter's: no dependency bound can fix that, an older interpreter may. A module that neither
an installed distribution nor the standard library provides is ``unknown`` (a missing dependency).
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from typing import Literal

from packaging.utils import canonicalize_name

from scripts.common.failures import exception_lines, first_error_line, scrub

__all__ = ["STDLIB", "Culprit", "CulpritKind", "find"]

#: A distribution a bound can hold back; the release under test; the interpreter; or nothing to go on.
CulpritKind = Literal["distribution", "release", "interpreter", "unknown"]

# What the exception line names: "cannot import name 'X' from 'mod'", "module 'mod' has no attribute",
# "No module named 'mod'" (Python 3 quotes it, Python 2 does not).
_NAMED = (
    re.compile(r"cannot import name '?[\w.]+'? from '(?P<module>[\w.]+)'"),
    re.compile(r"module '(?P<module>[\w.]+)' has no attribute"),
    re.compile(r"No module named '?(?P<module>[\w.]+)'?"),
)
# Python 2's standard library modules that Python 3 renamed or dropped: still the interpreter's.
_PYTHON2_STDLIB = frozenset(
    [
        "__builtin__",
        "anydbm",
        "BaseHTTPServer",
        "CGIHTTPServer",
        "ConfigParser",
        "Cookie",
        "cookielib",
        "copy_reg",
        "cPickle",
        "cStringIO",
        "commands",
        "dbhash",
        "dummy_thread",
        "exceptions",
        "htmlentitydefs",
        "HTMLParser",
        "httplib",
        "md5",
        "new",
        "Queue",
        "repr",
        "robotparser",
        "sets",
        "sha",
        "SimpleHTTPServer",
        "SocketServer",
        "StringIO",
        "thread",
        "Tkinter",
        "urllib2",
        "urlparse",
        "UserDict",
        "UserList",
        "UserString",
        "whichdb",
        "xmlrpclib",
    ]
)
#: Every module name the standard library has or had: the interpreter's, not a distribution's.
STDLIB = frozenset(sys.stdlib_module_names) | _PYTHON2_STDLIB | {"distutils", "imp", "asynchat", "asyncore", "smtpd"}
# A frame of a traceback: File "/…/site-packages/jinja2/utils.py", line 3, in <module>
_FRAME = re.compile(r'^\s*File "(?P<path>[^"]+)", line \d+')
_SITE = re.compile(r"[/\\](?:site|dist)-packages[/\\](?P<top>[\w.]+?)(?:\.py[co]?)?(?:[/\\]|$)")
# An import statement shown under a frame: "from werkzeug.contrib.securecookie import X", "import a.b".
_IMPORT = re.compile(r"^\s*(?:from (?P<from>[\w.]+) import |import (?P<plain>[\w.]+))")


@dataclass(frozen=True)
class Culprit:
    """Where a failure comes from, and the line that says so."""

    kind: CulpritKind
    #: The distribution (canonical name) for ``distribution`` and ``release``; the module for ``interpreter``.
    name: str | None
    evidence: str


def _named_module(evidence: str, lines: list[str]) -> str | None:
    for pattern in _NAMED:
        found = pattern.search(evidence)
        if found:
            return found["module"]
    if "cannot import name" in evidence:
        # Python 2 does not say where from: the innermost frame's own import statement does.
        imports = [m["from"] for line in lines if (m := _IMPORT.match(line)) and m["from"]]
        return imports[-1] if imports else None
    return None


def _full_name(module: str, lines: list[str]) -> str:
    """Python 2 names a missing submodule relative to its package ("No module named contrib.securecookie"):
    the innermost import statement that ends with it gives the whole name."""
    for line in reversed(lines):
        found = _IMPORT.match(line)
        statement = (found["from"] or found["plain"]) if found else None
        if statement and statement != module and statement.endswith("." + module):
            return statement
    return module


def _innermost_distribution(lines: list[str], installed: set[str]) -> str | None:
    """The installed distribution of the innermost frame that lies in one (frames of other code skipped)."""
    for line in reversed(lines):
        frame = _FRAME.match(line)
        site = _SITE.search(frame["path"]) if frame else None
        if site and canonicalize_name(site["top"]) in installed:
            return canonicalize_name(site["top"])
    return None


def find(output: str, installed: dict[str, str], release: str = "flask") -> Culprit:
    """The culprit of a failure's ``output``, given the environment's distributions (canonical names).

    :param release: the distribution under test: a failure in it is the release's own.
    """
    evidence = first_error_line(output) or ""
    lines = output.splitlines()
    names = set(installed)
    module = _named_module(evidence, lines)
    if module is not None:
        module = _full_name(module, lines)
        top = canonicalize_name(module.split(".")[0])
        if top == release:
            return Culprit("release", release, evidence)
        if top in names:
            return Culprit("distribution", top, evidence)
        # A fallback that failed in its turn ("try: from werkzeug.urls import url_quote / except
        # ImportError: from urlparse import quote"): the chained exception before it names the culprit,
        # and says what the culprit did.
        for earlier in reversed(exception_lines(output)[:-1]):
            named = _named_module(earlier, [])
            if named is not None and canonicalize_name(named.split(".")[0]) in names - {release}:
                return Culprit("distribution", canonicalize_name(named.split(".")[0]), scrub(earlier))
        if module.split(".")[0] in STDLIB:
            return Culprit("interpreter", module, evidence)
        return Culprit("unknown", module, evidence)
    owner = _innermost_distribution(lines, names)
    if owner is None:
        return Culprit("unknown", None, evidence)
    return Culprit("release" if owner == release else "distribution", owner, evidence)

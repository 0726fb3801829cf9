"""The local targets a generated Markdown page links to: what the site must carry for the page's links to resolve."""

from __future__ import annotations

import re

__all__ = ["raw_html", "targets"]

#: ``[text](target)`` and ``![alt](target "title")``; link text may hold code spans but no nested brackets.
_INLINE = re.compile(r"!?\[[^\]\n]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"\n]*\")?\s*\)")
#: ``[label]: target`` reference definitions.
_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:\s*<?([^\s>]+)>?", re.MULTILINE)
#: A URL with a scheme (``https:``, ``mailto:``): not a file of the site.
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
#: Links and pictures in raw HTML, which Sphinx neither checks nor copies.
_RAW = re.compile(r"<(?:a|img|object|embed|iframe|source)\b[^>]*\b(?:href|src|data)\s*=\s*[\"']?([^\"'\s>]+)", re.I)


def targets(text: str) -> list[str]:
    """The local paths ``text`` links to, without ``#fragment``, in order of appearance, each once.

    A same-page ``#anchor`` is not a file; MyST checks it against the page's headings.
    """
    found = [m.group(1) for pattern in (_INLINE, _DEFINITION) for m in pattern.finditer(text)]
    paths = [target.split("#", 1)[0] for target in found if not _SCHEME.match(target)]
    return list(dict.fromkeys(path for path in paths if path))


def raw_html(text: str) -> list[str]:
    """The local targets of links and pictures written as raw HTML, which the site could not check."""
    return [m.group(1) for m in _RAW.finditer(text) if not _SCHEME.match(m.group(1)) and not m.group(1).startswith("#")]

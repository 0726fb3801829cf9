"""What the site adds to Sphinx so that generated pages build strictly and read as a site.

The pages are written for GitHub and carry no Sphinx markup. The extension adds:

- a navigation: a hidden toctree in the answer page (the file is not changed) lists every page that no folder
  page lists; a folder page such as ``docs/releases/index`` lists its own pages, newest version first;
- links to folders: a link to ``../reports/results/``, which GitHub shows as the folder's files, goes to the
  page the build made for that folder (a folder without one stays unresolved, and the build fails);
- files at their repository paths: a linked requirements file or record is served at
  ``reports/constraints/flask-1.0.txt``, as on GitHub, not under ``_downloads/<hash>/``;
- pictures inside the page, at their own size, with every cell's title reachable by hover, keyboard and tap;
- tables coloured by their words, wide ones with filters by release and by column (static/*.js);
- a search in which versions are words: ``0.12.4`` finds the page of Flask 0.12.4, ``0.12`` those of its line.
"""

from __future__ import annotations

import posixpath
import re
import shutil
from pathlib import Path
from typing import Any

from docutils import nodes
from packaging.version import InvalidVersion, Version
from sphinx import addnodes
from sphinx.application import Sphinx
from sphinx.search.en import SearchEnglish

from scripts.layout import REPO
from scripts.site.build import GUIDE

__all__ = ["setup"]

#: The page the build writes for a linked folder (scripts/site/build.py's FOLDER_PAGE, without its suffix).
FOLDER_DOC = "index"
#: Where the folders of records are: their pages (made by the build) are listed apart, under "The records".
RECORDS = REPO.reports.relative_to(REPO.root).as_posix() + "/"
#: Pages about the project itself (how it works, how it measures itself), not about Flask: listed apart.
PROJECT_PAGES = frozenset(
    page.relative_to(REPO.root).with_suffix("").as_posix()
    for page in (REPO.bench_page, REPO.mutation_page, GUIDE / f"{FOLDER_DOC}.md")
)


def _order(docname: str) -> tuple[int, int, str]:
    """docs/ first, then reports/, then the rest; shallow before deep (a folder's page after the pages), by name."""
    top = docname.split("/", 1)[0]
    return ({"docs": 0, "reports": 1}.get(top, 2), docname.count("/"), docname)


def _owner(docname: str, found: set[str]) -> str | None:
    """The index page of the folder a page sits in, when that folder has one (the page is listed there)."""
    folder = posixpath.dirname(docname)
    index = f"{folder}/{FOLDER_DOC}" if folder else FOLDER_DOC
    return index if folder and index in found and docname != index else None


def _version(docname: str) -> Version | None:
    """The version a page is named by (``docs/releases/1.0``), or None."""
    try:
        return Version(posixpath.basename(docname))
    except InvalidVersion:
        return None


def _linked_at(text: str, docname: str) -> tuple[int, str]:
    """Where a folder's page first links one of its pages (pages it does not link come last, by name)."""
    at = text.find(f"({posixpath.basename(docname)}.md")
    return (at if at >= 0 else len(text), docname)


def _navigation(app: Sphinx, docname: str, source: list[str]) -> None:
    """The answer page lists every page that no folder page lists; a folder page (``docs/releases/index``)
    lists its own (releases newest first), so that 62 release pages do not fill the sidebar."""
    found, root = set(app.env.found_docs), app.config.root_doc
    if docname == root:
        listed = sorted((name for name in found if name != root and _owner(name, found) in (None, root)), key=_order)
        # Readers' pages first; the folders of records, then the pages about the project itself, apart.
        records = [name for name in listed if name.startswith(RECORDS) and posixpath.basename(name) == FOLDER_DOC]
        project = [name for name in listed if name in PROJECT_PAGES]
        readers = [name for name in listed if name not in records and name not in project]
        groups = [(None, readers), ("The records", records), ("The project", project)]
    else:
        owned = [name for name in found if _owner(name, found) == docname]
        versions = [name for name in owned if _version(name) is not None]
        # Releases newest first; other pages in the order the folder's page links them (its reading order).
        listed = sorted(versions, key=lambda name: _version(name) or Version("0"), reverse=True)
        listed += sorted((name for name in owned if name not in versions), key=lambda name: _linked_at(source[0], name))
        groups = [(None, listed)]
    for caption, names in groups:
        if names:
            entries = "".join(f"/{name}\n" for name in names)
            options = ":hidden:\n" + (f":caption: {caption}\n" if caption else "")
            source[0] += f"\n\n```{{toctree}}\n{options}\n{entries}```\n"


def _folder_links(app: Sphinx, doctree: nodes.document) -> None:
    for node in doctree.findall(addnodes.pending_xref):
        if node.get("reftype") != "myst" or node.get("refdomain") is not None:
            continue
        path, _, anchor = str(node["reftarget"]).partition("#")
        if not path:
            continue
        _, absolute = app.env.relfn2path(path, node.get("refdoc", app.env.docname))
        folder = Path(absolute)
        if not folder.is_dir():
            continue
        page = app.env.path2doc(str(folder / f"{FOLDER_DOC}.md"))
        if page is not None:
            node["refdomain"], node["reftarget"], node["reftargetid"] = "doc", page, anchor or None


def _downloads_in_place(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """A linked file (a requirements file, a record) keeps its repository path on the site, as on GitHub:
    ``reports/constraints/flask-1.0.txt``, an address a reader can guess and that stays, not ``_downloads/<hash>/``."""
    for node in doctree.findall(addnodes.download_reference):
        if "filename" in node and "refuri" not in node:
            node["refuri"] = str(node["reftarget"])


def _copy_downloads(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    for source in app.env.dlfiles:
        target = Path(app.outdir) / source
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(app.srcdir) / source, target)


class _SearchVersions(SearchEnglish):
    """English search in which a version is one word: ``0.12.4`` is found as itself, and as ``0.12``.

    Sphinx's own splits at the dots and drops numbers, so a search for a release found nothing.
    """

    _word_re = re.compile(r"\w+(?:\.\w+)*")
    js_splitter_code = r"""
function splitQuery(query) {
  return query
    .split(/[^\p{Letter}\p{Number}_.\p{Emoji_Presentation}]+/gu)
    .map((term) => term.replace(/^\.+|\.+$/g, ""))
    .filter((term) => term);
}
"""

    def split(self, input: str) -> list[str]:
        words = []
        for word in self._word_re.findall(input):
            parts = word.split(".")
            # Every dotted prefix of two parts or more: the page of 0.12.4 answers a search for its line, 0.12.
            words += [".".join(parts[:end]) for end in range(len(parts), 1, -1)] if len(parts) > 2 else [word]
        return words


#: An SVG element that holds a per-cell title: it is made focusable, so a keyboard or a tap reaches the title.
_TITLED = re.compile(r"(<(?:rect|circle|path|g)\b[^>]*?)(/?)>(?=<title>)")


def _inline_pictures(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """An SVG picture goes into the page itself, not an ``<img>``: its cells' titles then show on hover, and on
    focus or tap (static/charts.js writes the focused cell's title under the chart). It is drawn at its own size,
    in a box that scrolls sideways where the screen is narrower, so its text is never scaled below 11 px."""
    if app.builder.format != "html":
        return
    for image in list(doctree.findall(nodes.image)):
        source = Path(app.srcdir) / str(image["uri"])
        if source.suffix != ".svg" or not source.is_file():
            continue
        drawing = _TITLED.sub(r'\1 tabindex="0">', source.read_text(encoding="utf-8"))
        html = (
            f'<figure class="chart">\n<div class="chart-picture">{drawing}</div>\n'
            '<figcaption class="chart-focus" aria-live="polite">Hover, tap or tab to a cell for what it shows.'
            "</figcaption>\n</figure>\n"
        )
        image.replace_self(nodes.raw("", html, format="html"))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("source-read", _navigation)
    app.connect("doctree-read", _folder_links)
    app.connect("doctree-resolved", _downloads_in_place)
    app.connect("doctree-resolved", _inline_pictures)
    app.connect("build-finished", _copy_downloads)
    app.add_search_language(_SearchVersions)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

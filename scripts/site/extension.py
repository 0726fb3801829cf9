"""What the site adds to Sphinx so that generated pages build strictly: a navigation, and links to folders.

The pages are written for GitHub and carry no Sphinx markup. A toctree, hidden, goes into the answer page
as Sphinx reads it (the file is not changed), listing every other page so that each has a place; a link to a
folder (``../reports/results/``), which GitHub shows as the folder's files, goes to the page the build made
for that folder. A folder without such a page stays unresolved, and MyST's warning fails the build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx import addnodes
from sphinx.application import Sphinx

__all__ = ["setup"]

#: The page the build writes for a linked folder (scripts/site/build.py's FOLDER_PAGE, without its suffix).
FOLDER_DOC = "index"


def _order(docname: str) -> tuple[int, int, str]:
    """docs/ first, then reports/, then the rest; shallow before deep (a folder's page after the pages), by name."""
    top = docname.split("/", 1)[0]
    return ({"docs": 0, "reports": 1}.get(top, 2), docname.count("/"), docname)


def _navigation(app: Sphinx, docname: str, source: list[str]) -> None:
    root = app.config.root_doc
    if docname != root:
        return
    others = sorted((name for name in app.env.found_docs if name != root), key=_order)
    entries = "".join(f"/{name}\n" for name in others)
    source[0] += f"\n\n```{{toctree}}\n:hidden:\n\n{entries}```\n"


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


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("source-read", _navigation)
    app.connect("doctree-read", _folder_links)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

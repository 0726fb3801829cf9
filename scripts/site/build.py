"""Build the static site from the generated pages: a source tree in a build folder, then Sphinx, strictly.

The pages stay where the renderers write them (``docs/``, ``reports/``, never edited here). The site copies
them, and every local file they link to, into a source tree that keeps the repository's paths, so a relative
link means on the site what it means on GitHub: another page is a page, a record or requirements file is a
download, a folder is a page listing its files. A link to a file that does not exist is left as written, and
Sphinx, run with warnings as errors, fails the build on it.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from scripts.common.processes import run
from scripts.layout import ROOT, Layout
from scripts.site import links

__all__ = ["CONF", "FOLDER_PAGE", "GUIDE", "SITE", "Site", "SiteBroken", "assemble", "build"]

#: Where ``nox -s docs`` builds (git-ignored): ``source/``, ``html/`` (the site), ``doctrees/``.
SITE = ROOT / "build" / "site"
#: The folder holding Sphinx's ``conf.py``.
CONF = Path(__file__).resolve().parent
#: The hand-written guide (how each part works), from the repository whatever the pages' layout.
GUIDE = ROOT / "guide"
#: The page a linked folder gets on the site (on GitHub a folder link shows the folder's files).
FOLDER_PAGE = "index.md"
#: A strict build of the pages takes seconds; the bound is for a hung interpreter, not a slow build.
TIMEOUT = 600.0

Log = Callable[[str], None]


class SiteBroken(Exception):
    """The site cannot be built from the pages as they are; the message says where and what to do."""


@dataclass(frozen=True)
class Site:
    """The folders of one build."""

    root: Path = SITE

    @property
    def source(self) -> Path:
        return self.root / "source"

    @property
    def html(self) -> Path:
        return self.root / "html"

    @property
    def doctrees(self) -> Path:
        return self.root / "doctrees"

    @property
    def home(self) -> Path:
        """What a browser opens first: it forwards to the answer page."""
        return self.html / "index.html"


def _page_folders(pages: Layout) -> tuple[Path, ...]:
    return (pages.docs, pages.reports)


def _origin(pages: Layout, relative: str) -> Path:
    """Where a path of the tree comes from: the pages and their records from ``pages``, code from the repository."""
    first = relative.split("/", 1)[0]
    generated = {folder.relative_to(pages.root).as_posix() for folder in _page_folders(pages)}
    return (pages.root if first in generated else ROOT) / relative


def _folder_page(relative: str, folder: Path) -> tuple[str, list[str]]:
    """A page listing a linked folder's files, and the entries it links to (subfolders end with ``/``)."""
    entries = sorted(
        entry.name + ("/" if entry.is_dir() else "") for entry in folder.iterdir() if not entry.name.startswith(".")
    )
    lines = [
        f"# `{relative}/`",
        "",
        "The files in this folder of the repository when the site was built.",
        "",
        *(f"- [`{entry}`](<{entry}>)" for entry in entries),
        "",
    ]
    return "\n".join(lines), entries


def assemble(pages: Layout, source: Path) -> list[str]:
    """Lay out the site's source tree at ``source``: the pages, what they link to, and a page per linked folder.

    Returns the tree's paths, relative to it.
    """
    shutil.rmtree(source, ignore_errors=True)
    queue = [
        page.relative_to(pages.root).as_posix()
        for folder in _page_folders(pages)
        for page in sorted(folder.glob("*.md"))
    ]
    queue += [page.relative_to(ROOT).as_posix() for page in sorted(GUIDE.glob("*.md"))]
    if pages.answer_page.relative_to(pages.root).as_posix() not in queue:
        raise SiteBroken(f"no answer page at {pages.answer_page}: run nox -s render")
    laid: list[str] = []
    while queue:
        relative = queue.pop(0)
        if relative in laid:
            continue
        origin, target = _origin(pages, relative.rstrip("/")), source / relative.rstrip("/")
        if relative.endswith("/") or origin.is_dir():
            # A folder link: its page, and its files (a folder that has its own index page is only copied).
            if (origin / FOLDER_PAGE).exists():
                queue.append(f"{relative.rstrip('/')}/{FOLDER_PAGE}")
            elif origin.is_dir():
                text, entries = _folder_page(relative.rstrip("/"), origin)
                target.mkdir(parents=True, exist_ok=True)
                (target / FOLDER_PAGE).write_text(text, encoding="utf-8")
                queue.extend(f"{relative.rstrip('/')}/{entry}" for entry in entries)
            laid.append(relative)
            continue
        if not origin.is_file():
            # Left out on purpose: Sphinx then reports the link that names it, with its page and line.
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(origin, target)
        laid.append(relative)
        if origin.suffix == ".md":
            text = origin.read_text(encoding="utf-8")
            raw = links.raw_html(text)
            if raw:
                raise SiteBroken(
                    f"{relative} links to {', '.join(raw)} in raw HTML, which the site cannot check: "
                    "write it as a Markdown link or picture in the renderer under scripts/report/, then nox -s render"
                )
            here = posixpath.dirname(relative)
            for link in links.targets(text):
                joined = posixpath.normpath(posixpath.join(here, link))
                if not joined.startswith("../") and joined != "..":
                    queue.append(joined + ("/" if link.endswith("/") else ""))
    return laid


def _redirect(pages: Layout) -> str:
    """The site's ``index.html``: Sphinx writes the answer page under its repository path, the reader lands on it."""
    answer = pages.answer_page.relative_to(pages.root).with_suffix(".html").as_posix()
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="refresh" content="0; url={answer}">\n<link rel="canonical" href="{answer}">\n'
        "<title>Does Flask's app.run() serve requests concurrently?</title>\n</head>\n"
        f'<body><p><a href="{answer}">The answer page</a></p></body>\n</html>\n'
    )


def build(pages: Layout, site: Site, python: Path | str = sys.executable, log: Log | None = None) -> Path:
    """Build the site from ``pages`` into ``site`` with the Sphinx of ``python``; return its home page.

    Strict: any warning (a broken link, a picture that is not there, a page Sphinx cannot place) fails it.
    """
    assemble(pages, site.source)
    # Nothing kept from an earlier build: a page read before would not be read, nor warned about, again.
    shutil.rmtree(site.html, ignore_errors=True)
    shutil.rmtree(site.doctrees, ignore_errors=True)
    argv = [python, "-m", "sphinx", "-W", "--keep-going", "-n", "-E", "-q", "-b", "html"]
    argv += ["-c", CONF, "-d", site.doctrees, site.source, site.html]
    done = run(argv, TIMEOUT, log)
    if done.timed_out:
        raise SiteBroken(f"sphinx-build did not finish in {TIMEOUT:g}s: {' '.join(done.argv)}")
    if "No module named sphinx" in done.output:
        raise SiteBroken(f"Sphinx is not installed for {python}: nox -s docs installs the docs dependency group")
    if not done.ok:
        # Name the page as the repository has it: the source tree keeps the repository's paths.
        said = done.output.replace(f"{site.source}{os.sep}", "")
        problems = [line for line in said.splitlines() if "WARNING" in line or "ERROR" in line]
        raise SiteBroken(
            "the site does not build strictly:\n"
            + "\n".join(problems or said.strip().splitlines()[-20:])
            + "\nThe pages are generated: fix the renderer under scripts/report/ and run nox -s render "
            "(docs/ and reports/ are never edited by hand)."
        )
    site.home.write_text(_redirect(pages), encoding="utf-8")
    return site.home

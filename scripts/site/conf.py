"""Sphinx's configuration for the site of the generated pages (``nox -s docs``; scripts/site/build.py runs it).

Why Sphinx with MyST-Parser: the Pallets projects build their documentation with Sphinx (pallets/flask,
docs/conf.py) and it is maintained, while MkDocs 1.x is no longer maintained (no release since August 2024;
github.com/mkdocs/mkdocs/discussions/4010) and Material for MkDocs is in maintenance mode
(github.com/squidfunk/mkdocs-material/issues/8523, November 2025).
Why Furo: a maintained, general-purpose theme whose sidebar lists every page of a small site and whose layout
suits wide tables, with nothing to configure (Pallets' own theme is made for their projects' documentation).
External links are not checked (no ``linkcheck``): the machines that build the site reach only the package index.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Sphinx runs this file with its own folder as the working directory: the repository makes scripts importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

__all__ = [
    "extensions",
    "html_copy_source",
    "html_css_files",
    "html_js_files",
    "html_show_copyright",
    "html_show_sourcelink",
    "html_static_path",
    "html_theme",
    "html_theme_options",
    "html_title",
    "language",
    "myst_heading_anchors",
    "nitpicky",
    "project",
    "root_doc",
    "source_suffix",
]

project = "Flask concurrency audit"
html_title = "Does Flask's app.run() serve requests concurrently?"
language = "en"
# The source tree keeps the repository's paths, so the pages' relative links resolve as they do on GitHub;
# the answer page is the home page, and the site's index.html forwards to it.
root_doc = "docs/index"
source_suffix = {".md": "markdown"}
extensions = [
    "myst_parser",
    # .nojekyll, for a copy published from a branch, where Jekyll would drop _static/, _images/, _downloads/
    # (pages.yml deploys with the Pages actions, which run no Jekyll).
    "sphinx.ext.githubpages",
    "scripts.site.extension",
]
# Heading slugs as GitHub makes them, so links to #claims and the like work on both and are checked here.
myst_heading_anchors = 3
# Every reference must resolve (sphinx-build -n says the same).
nitpicky = True
html_theme = "furo"
# The pages are generated Markdown; the site shows them, it does not offer their source as a second copy.
html_copy_source = False
html_show_sourcelink = False
# Colour for the tables' cells, from the words in them, sticky table headers, filters for wide tables, and charts
# whose cells' titles a keyboard or a tap reaches (static/cells.js, filters.js, charts.js, cells.css).
html_static_path = ["static"]
html_css_files = ["cells.css"]
html_js_files = ["cells.js", "charts.js", "filters.js"]
# No copyright line: the footer said "Copyright ©" and nothing more.
html_show_copyright = False
# The repository, where the site is built by GitHub Actions (which sets these in every job); none elsewhere.
_server, _repository = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
html_theme_options: dict[str, object] = {}
if _server and _repository:
    _url = f"{_server}/{_repository}"
    html_theme_options["footer_icons"] = [{"name": "Repository", "url": _url, "html": "The repository", "class": ""}]

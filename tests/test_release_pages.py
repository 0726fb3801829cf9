"""A page per release (``docs/releases/``): one for every release, each saying what its records say."""

from __future__ import annotations

import re
import shutil

from packaging.version import Version

from scripts.audit.records import load_all
from scripts.layout import REPO, Layout
from scripts.packages import catalogue
from scripts.report import pages

RELEASES = catalogue.audited(catalogue.load(REPO.releases))
ORDERED = sorted((r.version for r in RELEASES), key=Version)


def _page(version: str) -> str:
    return (REPO.release_pages / f"{version}.md").read_text(encoding="utf-8")


def test_every_release_has_a_page_and_the_index_links_each_one():
    assert sorted(p.name for p in REPO.release_pages.glob("*.md")) == sorted(
        ["index.md", *(f"{v}.md" for v in ORDERED)]
    )
    index = (REPO.release_pages / "index.md").read_text(encoding="utf-8")
    assert re.findall(r"\]\(([^)]+)\.md\)", index) == ORDERED[::-1], "newest first, each once"


def test_each_page_says_first_what_plain_app_run_was_seen_to_do():
    for record in load_all(REPO.results):
        default = record.modes["default"]
        expected = "one at a time" if default.max_in_flight == 1 else "concurrent: a thread per request"
        assert default.workers in (
            ("main thread only", "single thread") if default.max_in_flight == 1 else ("threads",)
        )
        headline = _page(record.flask).split("\n")[2]
        assert headline == f"Plain `app.run()`: **{expected}**.", record.flask


def test_each_page_links_the_releases_before_and_after_it_in_version_order():
    for at, version in enumerate(ORDERED):
        steps = re.findall(r"\[(?:← )?Flask ([^\]]+?)(?: →)?\]\(([^)]+)\)", _page(version).split("\n")[4])
        neighbours = [
            v for v in (ORDERED[at - 1] if at else None, ORDERED[at + 1] if at + 1 < len(ORDERED) else None) if v
        ]
        assert [v for v, _ in steps] == neighbours, version
        assert all((REPO.release_pages / target).exists() for _, target in steps)


def test_the_requirements_shown_are_the_file_a_reader_downloads():
    for version in ORDERED:
        text = (REPO.constraints / f"flask-{version}.txt").read_text(encoding="utf-8")
        page = _page(version)
        if text.startswith("# verified"):
            assert f"```\n{text}```" in page, version
        assert f"](../../reports/constraints/flask-{version}.txt)" in page, version


def test_a_page_of_a_release_no_longer_catalogued_is_removed(tmp_path):
    layout = Layout(tmp_path)
    shutil.copytree(REPO.reports, layout.reports, ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(REPO.docs, layout.docs, ignore=shutil.ignore_patterns(".*"))
    stale = layout.release_pages / "9.9.md"
    stale.write_text("# Flask 9.9\n", encoding="utf-8")
    pages.write_report(layout)
    assert not stale.exists()
    assert (layout.release_pages / "1.0.md").read_text(encoding="utf-8") == _page("1.0"), (
        "the same records, the same page"
    )

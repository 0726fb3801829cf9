"""The static site (``nox -s docs``): built strictly from the committed pages, and read in a real headless Chromium.

Playwright drives the system's Chromium (``executable_path``): it downloads no browser, and the machines that
run the tests reach only the package index. A build takes several seconds, hence ``slow``; the README's test
command runs the slow tests too, and .ci/run installs Chromium first.
"""

from __future__ import annotations

import os
import shutil
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from scripts.layout import REPO, Layout
from scripts.report import grid_chart, matrix_chart, servers, timeline
from scripts.site import links
from scripts.site.build import Site, SiteBroken, assemble, build
from tests import colour_vision

#: Where the system's Chromium may be, newest name first; CHROMIUM=/path/to/binary picks another.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: How long the browser may take to start, or to load or find anything (milliseconds).
BROWSER_MS = 60_000
RELEASES = 62


def chromium() -> str:
    """The system's Chromium; on CI its absence fails the test (.ci/run installs it), elsewhere it skips."""
    found = os.environ.get("CHROMIUM") or next(filter(None, map(shutil.which, CHROMIUM_NAMES)), None)
    if found:
        return found
    message = "no Chromium on PATH: apt-get install chromium (Debian, Ubuntu), or set CHROMIUM=/path/to/chromium"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def copy_of_the_pages(root: Path) -> Layout:
    """The committed pages and their records under ``root``: a test may break the copy, never the pages."""
    pages = Layout(root)
    shutil.copytree(REPO.docs, pages.docs, ignore=shutil.ignore_patterns(".*"))
    shutil.copytree(REPO.reports, pages.reports, ignore=shutil.ignore_patterns(".*"))
    return pages


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Site:
    """The site built from a copy of the committed pages (the control for the broken copies below)."""
    built = Site(tmp_path_factory.mktemp("site"))
    build(copy_of_the_pages(tmp_path_factory.mktemp("pages")), built)
    return built


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The system's Chromium, one per module (Playwright's sync API allows one at a time)."""
    with sync_playwright() as playwright:
        started = playwright.chromium.launch(executable_path=chromium(), timeout=BROWSER_MS)
        try:
            yield started
        finally:
            started.close()


@pytest.fixture(scope="module")
def home(site: Site, browser: Browser) -> Page:
    """The site's home page as Chromium shows it, after the forward from index.html to the answer page."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(BROWSER_MS)
    page.goto(site.home.as_uri())
    page.wait_for_url("**/docs/index.html")
    page.wait_for_load_state("load")
    return page


@pytest.mark.slow
def test_the_home_page_is_the_answer_page(home):
    assert home.locator("h1").first.inner_text().startswith("Does Flask")
    assert home.title().startswith("Does Flask")


@pytest.mark.slow
def test_the_matrix_shows_a_row_per_release(home):
    rows = home.locator("section#the-matrix table").first.locator("tbody tr")
    assert rows.count() >= RELEASES
    assert rows.first.is_visible()


@pytest.mark.slow
def test_the_timeline_picture_is_in_the_page_and_shown(home):
    picture = home.locator('figure.chart svg[aria-label^="Flask releases: does plain app.run()"]')
    assert picture.count() == 1
    picture.scroll_into_view_if_needed()
    assert picture.is_visible()
    box = picture.bounding_box()
    assert box and box["width"] > 300 and box["height"] > 50
    assert picture.locator("circle").count() >= RELEASES, "a dot per release"


@pytest.mark.slow
def test_every_picture_of_the_answer_page_loads(home):
    broken = home.evaluate(
        "() => [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)"
    )
    assert broken == []


@pytest.mark.slow
def test_the_claims_section_gives_verdicts(home):
    claims = home.locator("section#claims")
    assert claims.locator("h2").first.inner_text().startswith("Claims")
    text = claims.inner_text()
    assert text.count("Verdict:") >= 7
    verdicts = claims.locator("li strong").all_inner_texts()
    assert any(v.startswith(("holds", "does not hold")) for v in verdicts), verdicts


@pytest.mark.slow
def test_a_link_to_a_folder_opens_a_page_listing_its_records(site: Site):
    listing = site.html / "reports" / "results" / "index.html"
    records = sorted(p.name for p in REPO.results.glob("flask-*.json"))
    assert len(records) >= RELEASES
    text = listing.read_text(encoding="utf-8")
    assert all(name in text for name in records)
    assert 'href="../reports/results/index.html"' in (site.html / "docs" / "index.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def browser_page(browser: Browser) -> Page:
    """A phone-sized tab, for pages other than the home page."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(BROWSER_MS)
    return page


@pytest.mark.slow
@pytest.mark.parametrize("version", ["0.12.4", "2.3.3", "1.1.4"])
def test_a_search_for_a_version_finds_that_release_s_page_first(site: Site, browser_page: Page, version: str):
    browser_page.goto(f"{(site.html / 'search.html').as_uri()}?q={version}")
    browser_page.locator(".search-summary", has_text="found").wait_for()
    first = browser_page.locator("ul.search li a").first.get_attribute("href") or ""
    assert first.split("?")[0].endswith(f"docs/releases/{version}.html"), first


@pytest.mark.slow
def test_a_search_for_a_minor_line_finds_its_releases(site: Site, browser_page: Page):
    browser_page.goto(f"{(site.html / 'search.html').as_uri()}?q=0.12")
    browser_page.locator(".search-summary", has_text="found").wait_for()
    found = {(a.get_attribute("href") or "").split("?")[0] for a in browser_page.locator("ul.search li a").all()}
    assert {f"docs/releases/0.12.{n}.html" for n in range(1, 6)} <= {f.split("html/")[-1] for f in found}


@pytest.mark.slow
def test_a_release_page_offers_its_requirements_file_at_the_repository_s_path(site: Site, browser_page: Page):
    browser_page.goto((site.html / "docs" / "releases" / "1.0.html").as_uri())
    assert browser_page.locator("h1").first.inner_text().startswith("Flask 1.0")
    link = browser_page.locator("a", has_text="flask-1.0.txt").first
    assert link.get_attribute("href") == "../../reports/constraints/flask-1.0.txt"
    served = site.html / "reports" / "constraints" / "flask-1.0.txt"
    assert served.read_bytes() == (REPO.constraints / "flask-1.0.txt").read_bytes()
    wide = browser_page.evaluate("() => document.documentElement.scrollWidth")
    assert wide <= 390, f"the page scrolls sideways on a phone ({wide} px)"


@pytest.mark.slow
def test_each_matrix_row_links_its_release_page(home):
    link = home.locator("section#the-matrix table tbody tr").first.locator("a").first
    assert (link.get_attribute("href") or "").endswith("releases/0.1.html")


@pytest.mark.slow
def test_table_cells_are_coloured_by_what_they_say_and_keep_their_words(site: Site, browser_page: Page):
    browser_page.goto((site.html / "docs" / "releases" / "1.0.html").as_uri())
    cells = browser_page.evaluate(
        """() => [...document.querySelectorAll("article table td")].map(td => ({
            text: td.textContent.trim(), background: getComputedStyle(td).backgroundColor}))"""
    )
    by_kind: dict[str, set[str]] = {}
    for cell in cells:
        kind = "served" if cell["text"].startswith("✓") else "failed" if cell["text"].startswith("✗") else None
        if kind:
            by_kind.setdefault(kind, set()).add(cell["background"])
    assert set(by_kind) == {"served", "failed"}, "1.0 serves on some Pythons and fails on others"
    assert all(len(colours) == 1 for colours in by_kind.values()), by_kind
    assert by_kind["served"] != by_kind["failed"]
    assert "rgba(0, 0, 0, 0)" not in by_kind["served"] | by_kind["failed"], "no colour at all"
    header = browser_page.locator("article table thead th").first
    assert header.evaluate("th => getComputedStyle(th).position") == "sticky"


@pytest.mark.slow
def test_the_guide_is_on_the_site_in_its_own_reading_order(site: Site, browser_page: Page):
    browser_page.goto((site.html / "guide" / "index.html").as_uri())
    assert browser_page.locator("h1").first.inner_text().startswith("How the audit works")
    listed = browser_page.locator(".sidebar-tree li.current > ul a").all_inner_texts()
    linked = browser_page.locator("article ul a").all_inner_texts()
    assert listed == linked and len(listed) >= 7, (listed, linked)


#: Each chart's colours, by the kind each stands for.
CHART_PALETTES = {
    "timeline.svg": {name: colour for name, (colour, _) in timeline.KINDS.items()},
    "matrix.svg": {name: kind.colour for name, kind in matrix_chart.KINDS.items()},
    "grid.svg": {name: kind.colour for name, kind in grid_chart.STATUSES.items()},
    "servers.svg": {f"server {n}": colour for n, colour in enumerate(servers.COLOURS)},
}


@pytest.mark.slow
@pytest.mark.parametrize("chart", sorted(CHART_PALETTES))
def test_a_chart_s_colours_stay_apart_for_every_colour_vision(browser: Browser, chart: str):
    page = browser.new_page(viewport={"width": 1600, "height": 1200})
    page.goto((REPO.docs / chart).as_uri())
    pixels = Counter(colour_vision.png_pixels(page.locator("svg").screenshot()))
    page.close()
    palette = {kind: colour_vision.parse(colour) for kind, colour in CHART_PALETTES[chart].items()}
    # The kinds the picture shows, read from its rendered pixels (an area of a cell at least).
    shown = {kind: rgb for kind, rgb in palette.items() if pixels[tuple(round(c * 255) for c in rgb)] >= 40}
    assert len(shown) >= 3, f"{chart} shows {sorted(shown)}"
    for deficiency in (None, *colour_vision.SIMULATIONS):
        gap, one, other = colour_vision.closest_pair(shown, deficiency)
        seen = deficiency or "typical colour vision"
        assert gap >= colour_vision.DISTINCT, f"{chart}: {one} and {other} are ΔE {gap:.1f} apart under {seen}"


@pytest.mark.slow
def test_charts_are_drawn_at_their_own_size_and_a_tap_or_tab_shows_a_cell_s_title(site: Site, browser_page: Page):
    browser_page.goto((site.html / "docs" / "index.html").as_uri())
    smallest = browser_page.evaluate(
        """() => Math.min(...[...document.querySelectorAll("figure.chart svg")].flatMap(svg => {
            const scale = svg.getBoundingClientRect().width / svg.width.baseVal.value;
            return [...svg.querySelectorAll("text")].map(t => parseFloat(getComputedStyle(t).fontSize) * scale);
        }))"""
    )
    assert smallest >= 11, f"chart text drawn at {smallest:.1f} px on a 390 px screen"
    cell = browser_page.locator("figure.chart [tabindex]").nth(3)
    title = cell.locator("title").text_content()
    cell.focus()
    caption = cell.locator("xpath=ancestor::figure[1]").locator(".chart-focus")
    assert title and caption.inner_text() == title
    assert browser_page.evaluate("() => document.documentElement.scrollWidth") <= 390, "the page itself stays put"


#: Where the screenshots of every page go when set (the docs workflow keeps them as an artifact).
SCREENSHOTS = os.environ.get("SITE_SCREENSHOTS")


def _screenshot(tab: Page, path: Path) -> None:
    """A screenshot, tried once more where a loaded machine's Chromium could not capture one in time."""
    try:
        tab.screenshot(path=path)
    except PlaywrightError:
        tab.screenshot(path=path)


@pytest.mark.slow
def test_every_page_fits_a_phone_and_is_kept_as_a_screenshot_at_both_widths(
    site: Site, browser: Browser, tmp_path: Path
):
    folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
    skipped = ("genindex.html", "search.html")
    pages = [
        page
        for page in sorted(site.html.rglob("*.html"))
        # The home page only forwards to the answer page (a meta refresh): it is checked as the answer page.
        if not page.relative_to(site.html).parts[0].startswith("_") and page.name not in skipped and page != site.home
    ]
    assert len(pages) >= RELEASES + 10
    too_wide = []
    for width, height in ((390, 844), (1280, 900)):
        tab = browser.new_page(viewport={"width": width, "height": height})
        for page in pages:
            tab.goto(page.as_uri(), wait_until="load")
            name = page.relative_to(site.html).as_posix().replace("/", "_").removesuffix(".html")
            if SCREENSHOTS:
                _screenshot(tab, folder / f"{name}-{width}.png")
            wide = tab.evaluate("() => document.documentElement.scrollWidth")
            if wide > width:
                too_wide.append(f"{page.relative_to(site.html)} at {width} px: {wide} px")
        tab.close()
    assert too_wide == [], "a page scrolls sideways (a table or chart should scroll in its own box)"


@pytest.mark.slow
def test_a_release_page_of_each_era_opens_from_the_answer_page(site: Site, browser: Browser):
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    for version in ("0.12.4", "1.0", "3.1.3"):
        tab.goto((site.html / "docs" / "index.html").as_uri())
        tab.locator(f'section#the-matrix a[href$="releases/{version}.html"]').first.click()
        tab.wait_for_url(f"**/docs/releases/{version}.html")
        assert tab.locator("h1").first.inner_text().startswith(f"Flask {version}")
    tab.close()


@pytest.mark.slow
def test_a_wide_table_filters_by_release_and_by_column(site: Site, browser_page: Page):
    browser_page.goto((site.html / "docs" / "grid.html").as_uri())
    panel = browser_page.locator(".table-filters").first
    table = browser_page.locator("article table").first
    panel.locator("input[type=search]").fill("1.1")
    shown = table.locator("tbody tr:not([hidden]) td:first-child").all_inner_texts()
    assert shown and all("1.1" in text for text in shown), shown
    assert table.locator("tbody tr").count() > len(shown), "the other releases are hidden, not gone"
    panel.get_by_label("Python 2.7").uncheck()
    assert not table.locator("thead th", has_text="Python 2.7").is_visible()
    assert table.locator("thead th", has_text="Python 3.13").is_visible()


@pytest.mark.slow
def test_the_site_is_marked_for_github_pages(site: Site):
    assert (site.html / ".nojekyll").exists(), "GitHub Pages would drop _static/ and _images/ without it"


# -- strictness --------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_a_missing_page_record_picture_or_heading_fails_the_build_and_is_named(tmp_path):
    pages = copy_of_the_pages(tmp_path / "pages")
    grid = pages.grid_page
    grid.write_text(
        grid.read_text(encoding="utf-8")
        + "\n[a page](../reports/no-such-page.md), [a record](../reports/results/flask-9.9.9.json), "
        + "[a heading](index.md#no-such-heading)\n\n![a picture](no-such-picture.svg)\n",
        encoding="utf-8",
    )
    with pytest.raises(SiteBroken) as failed:
        build(pages, Site(tmp_path / "site"))
    said = str(failed.value)
    for missing in ("no-such-page.md", "flask-9.9.9.json", "no-such-heading", "no-such-picture.svg"):
        assert missing in said
    assert "docs/grid.md" in said, "the failure names the page as the repository has it"
    assert "scripts/report/" in said, "and says where to fix it"


def test_a_raw_html_link_is_refused_before_sphinx_runs(tmp_path):
    pages = copy_of_the_pages(tmp_path / "pages")
    answer = pages.answer_page
    answer.write_text(answer.read_text(encoding="utf-8") + '\n<img src="timeline.svg">\n', encoding="utf-8")
    with pytest.raises(SiteBroken, match="raw HTML"):
        assemble(pages, tmp_path / "source")


def test_links_are_found_as_markdown_writes_them():
    text = (
        '[a](grid.md) ![b](timeline.svg "title") [c](../reports/results/) [d](https://example.org/x.md) '
        "[e](#claims) [g](matrix.md#the-matrix)\n[ref]: ../probes/load_app.py\n"
    )
    assert links.targets(text) == [
        "grid.md",
        "timeline.svg",
        "../reports/results/",
        "matrix.md",
        "../probes/load_app.py",
    ]

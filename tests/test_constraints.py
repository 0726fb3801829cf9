"""Run it today: culprits read from tracebacks, bisection, and the search against real installs and servers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from packaging.version import Version

from scripts.audit.plan import plan
from scripts.common.failures import first_error_line
from scripts.constraints import records
from scripts.constraints import run as search
from scripts.constraints.records import Attempt
from scripts.layout import REPO
from scripts.packages import catalogue, culprit, index, interpreters
from scripts.packages.bisection import first_bad
from scripts.packages.interpreters import Interpreter
from scripts.report import constraints as rendering
from tests import local_index
from tests.conftest import release

SITE = "/x/lib/python3.13/site-packages"
INSTALLED = {"flask": "1.1.2", "jinja2": "3.1.6", "itsdangerous": "2.2.0", "werkzeug": "3.1.3", "markupsafe": "3.0.2"}


def traceback(*frames: str, last: str) -> str:
    lines = ["Traceback (most recent call last):"]
    for frame in frames:
        path, code = frame.split(" | ")
        lines += [f'  File "{path}", line 1, in <module>', f"    {code}"]
    return "\n".join([*lines, last]) + "\n"


@pytest.mark.parametrize(
    ("output", "kind", "name"),
    [
        (  # Python 3 names the module it could not import from
            traceback(
                f"{SITE}/flask/__init__.py | from jinja2 import escape",
                last=f"ImportError: cannot import name 'escape' from 'jinja2' ({SITE}/jinja2/__init__.py)",
            ),
            "distribution",
            "jinja2",
        ),
        (  # Python 2 does not: the import statement of the innermost frame does
            traceback(
                "/x/lib/python2.7/site-packages/flask/__init__.py | from jinja2 import Markup, escape",
                last="ImportError: cannot import name Markup",
            ),
            "distribution",
            "jinja2",
        ),
        (
            traceback(
                f"{SITE}/flask/json/__init__.py | _json = itsdangerous.json",
                last="AttributeError: module 'itsdangerous' has no attribute 'json'",
            ),
            "distribution",
            "itsdangerous",
        ),
        (  # the standard library moved on: no bound helps, an older interpreter may
            traceback(
                f"{SITE}/flask/sessions.py | from collections import MutableMapping",
                last="ImportError: cannot import name 'MutableMapping' from 'collections' (/py/__init__.py)",
            ),
            "interpreter",
            "collections",
        ),
        (  # no module named in the message: the innermost frame inside an installed distribution
            traceback(
                f"{SITE}/flask/app.py | self.url_map = self.url_map_class()",
                f"{SITE}/werkzeug/routing.py | code = compile(module, '<werkzeug routing>', 'exec')",
                last="TypeError: code() takes at least 14 arguments (13 given)",
            ),
            "distribution",
            "werkzeug",
        ),
        (  # the release's own code does not run on this interpreter
            traceback("/x/lib/python3.13/site-packages/flask.py | print 'x'", last="SyntaxError: invalid syntax"),
            "release",
            "flask",
        ),
        (  # a fallback import that fails in turn: the chained exception before it names the culprit
            traceback(
                f"{SITE}/flask/_compat.py | from werkzeug.urls import url_quote",
                last="ImportError: cannot import name 'url_quote' from 'werkzeug.urls' (x)",
            )
            + "\nDuring handling of the above exception, another exception occurred:\n\n"
            + traceback(
                f"{SITE}/flask/_compat.py | from urlparse import quote",
                last="ModuleNotFoundError: No module named 'urlparse'",
            ),
            "distribution",
            "werkzeug",
        ),
        (  # a module nobody installed: a missing dependency, not the interpreter's
            traceback(
                f"{SITE}/flask/json.py | import simplejson", last="ModuleNotFoundError: No module named 'simplejson'"
            ),
            "unknown",
            "simplejson",
        ),
        (  # Python 2's standard library, gone in Python 3
            traceback(
                f"{SITE}/flask/helpers.py | from urlparse import quote", last="ImportError: No module named urlparse"
            ),
            "interpreter",
            "urlparse",
        ),
        (  # Python 2 names a missing submodule relative to its package
            traceback(
                "/x/lib/python2.7/site-packages/flask/sessions.py | from werkzeug.contrib.securecookie import Cookie",
                last="ImportError: No module named contrib.securecookie",
            ),
            "distribution",
            "werkzeug",
        ),
        (  # the release named as the module it cannot import from
            traceback(
                f"{SITE}/app.py | from flask.helpers import x",
                last="ImportError: cannot import name 'x' from 'flask.helpers' (x)",
            ),
            "release",
            "flask",
        ),
        (  # a dotted module of the standard library
            traceback(
                f"{SITE}/flask/x.py | import distutils.util",
                last="ModuleNotFoundError: No module named 'distutils.util'",
            ),
            "interpreter",
            "distutils.util",
        ),
        (  # Python 2, no "from" statement to read: the innermost frame decides
            traceback(
                "/x/lib/python2.7/site-packages/flask/x.py | import jinja2",
                last="ImportError: cannot import name Markup",
            ),
            "release",
            "flask",
        ),
        ("something happened", "unknown", None),
    ],
    ids=[
        "py3-import",
        "py2-import",
        "attribute",
        "stdlib",
        "frame",
        "release",
        "fallback",
        "missing",
        "py2-stdlib",
        "py2-submodule",
        "release-module",
        "dotted-stdlib",
        "py2-no-from",
        "nothing",
    ],
)
def test_the_culprit_is_read_from_what_the_failure_says(output, kind, name):
    found = culprit.find(output, INSTALLED)
    assert (found.kind, found.name) == (kind, name)
    if kind != "distribution" or "During handling" not in output:
        assert found.evidence == first_error_line(output), "the evidence is the failure's own line"


def test_nothing_to_go_on_gives_no_evidence():
    assert culprit.find("", {}) == culprit.Culprit("unknown", None, "")


def test_a_chained_exception_blames_only_a_distribution_that_is_installed():
    chained = (
        traceback(
            f"{SITE}/flask/x.py | from simplejson import x",
            last="ImportError: cannot import name 'x' from 'simplejson' (y)",
        )
        + "\nDuring handling of the above exception, another exception occurred:\n\n"
        + traceback(
            f"{SITE}/flask/x.py | from urlparse import quote", last="ModuleNotFoundError: No module named 'urlparse'"
        )
    )
    assert culprit.find(chained, INSTALLED) == culprit.Culprit(
        "interpreter", "urlparse", "ModuleNotFoundError: No module named 'urlparse'"
    )


def test_a_failed_fallback_is_evidenced_by_what_the_culprit_did_not_by_the_fallback():
    chained = (
        traceback(
            f"{SITE}/flask/helpers.py | from werkzeug.urls import url_quote",
            last="ImportError: cannot import name 'url_quote' from 'werkzeug.urls' (x)",
        )
        + "\nDuring handling of the above exception, another exception occurred:\n\n"
        + traceback(
            f"{SITE}/flask/helpers.py | from urlparse import quote",
            last="ModuleNotFoundError: No module named 'urlparse'",
        )
    )
    assert (
        culprit.find(chained, INSTALLED).evidence
        == "ImportError: cannot import name 'url_quote' from 'werkzeug.urls' (x)"
    )


def test_bisection_finds_the_first_bad_release_and_skips_those_without_an_answer():
    versions = [Version(f"1.{minor}") for minor in range(10)]
    tried = []

    def trial(version: Version) -> bool | None:
        tried.append(version)
        if version == Version("1.3"):
            return None  # would not install
        return version >= Version("1.6")

    found = first_bad(versions, Version("1.9"), trial)
    assert (found.first_bad, found.last_good) == (Version("1.6"), Version("1.5"))
    assert (found.unanswered, found.exact) == ([], True), (
        "a version without an answer below the last good one is no doubt"
    )
    assert found.trials[0] == (tried[0], trial(tried[0])), "each trial is kept with its answer"
    assert len(tried) <= 5, "a bisection, not a scan"
    assert first_bad(versions, Version("1.0"), trial).last_good is None, "nothing older to compare with"
    unanswerable_first_bad = first_bad(versions, Version("1.9"), lambda v: None if v == Version("1.6") else trial(v))
    assert unanswerable_first_bad.first_bad == Version("1.7") and unanswerable_first_bad.unanswered == [Version("1.6")]
    assert (unanswerable_first_bad.bound, unanswerable_first_bad.exact) == (Version("1.6"), False), (
        "1.6 gave no answer: the bound must keep it out, and the introduction is not known to one release"
    )
    above = first_bad(versions, Version("1.9"), lambda v: None if v == Version("1.8") else trial(v))
    assert (above.first_bad, above.unanswered) == (Version("1.6"), []), "no doubt from a version above the first bad"
    only_the_known_bad = first_bad(versions, Version("1.9"), lambda v: None if v == Version("1.4") else False)
    assert (only_the_known_bad.first_bad, only_the_known_bad.last_good) == (Version("1.9"), Version("1.8"))
    second = first_bad(versions, Version("1.9"), lambda v: v >= Version("1.1"))
    assert (second.first_bad, second.last_good) == (Version("1.1"), Version("1.0"))
    # The first trial (1.4) gives no answer and lies below the last good one: it leaves no doubt.
    skipped_low = first_bad(versions, Version("1.9"), lambda v: None if v == Version("1.4") else v >= Version("1.6"))
    assert (skipped_low.first_bad, skipped_low.last_good, skipped_low.unanswered) == (
        Version("1.6"),
        Version("1.5"),
        [],
    )
    # The first trial (1.4) gives no answer and lies above the first bad one: no doubt either.
    skipped_high = first_bad(versions, Version("1.9"), lambda v: None if v == Version("1.4") else v >= Version("1.2"))
    assert (skipped_high.first_bad, skipped_high.unanswered, skipped_high.exact) == (Version("1.2"), [], True)
    asked: list[Version] = []
    first_bad(versions, Version("1.9"), lambda v: asked.append(v) or v >= Version("1.6"), known_good=Version("1.2"))
    assert asked and all(v > Version("1.2") for v in asked), "the known good version is not tried again"
    floor = first_bad(versions, Version("1.9"), lambda v: v >= Version("1.3"), known_good=Version("1.2"))
    assert floor.last_good == Version("1.2") and Version("1.2") not in [v for v, _ in floor.trials]
    everything_bad = first_bad(versions, Version("1.9"), lambda v: True)
    assert (everything_bad.first_bad, everything_bad.last_good, everything_bad.exact) == (Version("1.0"), None, False)


def test_without_an_interpreter_the_metadata_allows_the_record_says_why():
    record = search.find(release("3.1.3", ">=3.9"), [Interpreter((3, 7, 16), "/py37")], trials=None)  # type: ignore[arg-type]
    assert not record.verified and record.reason == "no interpreter here that its metadata allows (>=3.9)"
    assert rendering.render_file(record).startswith("# not verified: no interpreter here that its metadata allows")


class ScriptedTrials:
    """Stands in for real installs: the search's decisions are what is tested; each Python answers from a script."""

    def __init__(self, outcomes: dict[str, Attempt], pinned: tuple[str, ...] = ()) -> None:
        self.outcomes = outcomes
        self.pinned = pinned
        self.pinned_projects = frozenset(p.split("=")[0] for p in pinned)
        self.tried: list[str] = []
        self.bisected: list[str | None] = []

    def attempt(self, interpreter: Interpreter, constraints: list[str]) -> Attempt:
        self.tried.append(interpreter.version_text)
        return replace(self.outcomes[interpreter.version_text], python=interpreter.version_text)

    def bisect(self, interpreter: Interpreter, failing: Attempt) -> None:
        self.bisected.append(failing.culprit)

    def minimise(self, interpreter: Interpreter, bounds: list[records.Bound]) -> tuple[list[records.Bound], list]:
        return bounds, []


PYTHONS = [Interpreter((3, m, 0), f"/py3{m}") for m in (13, 12, 11, 10, 9)] + [Interpreter((2, 7, 18), "/py27")]


def failing(error: str, kind: str, name: str) -> Attempt:
    return Attempt("", [], "import-failed", error, kind, name, error)  # type: ignore[arg-type]


SERVED = Attempt("", [], "served")


def test_a_failure_that_reads_the_same_on_two_minors_skips_to_the_next_major_version():
    syntax = failing("SyntaxError: invalid syntax", "release", "flask")
    trials = ScriptedTrials({**{i.version_text: syntax for i in PYTHONS[:5]}, "2.7.18": SERVED})
    record = search.find(release("0.1"), PYTHONS, trials)  # type: ignore[arg-type]
    assert record.verified and record.python == "2.7"
    assert trials.tried == ["3.13.0", "3.12.0", "2.7.18"], "3.11 to 3.9 would fail the same way: not tried"


def test_the_interpreters_own_failure_is_followed_minor_by_minor():
    removed = failing("ImportError: cannot import name 'Container' from 'collections'", "interpreter", "collections")
    script = {"3.13.0": removed, "3.12.0": removed, "3.11.0": removed, "3.10.0": removed, "3.9.0": SERVED}
    trials = ScriptedTrials(script)
    record = search.find(release("0.12.5"), PYTHONS, trials)  # type: ignore[arg-type]
    assert record.python == "3.9" and trials.tried == ["3.13.0", "3.12.0", "3.11.0", "3.10.0", "3.9.0"]


def test_a_failure_that_changes_with_the_minor_keeps_the_search_on_that_major_version():
    script = {
        "3.13.0": failing("TypeError: code() takes at least 14 arguments", "release", "flask"),
        "3.12.0": failing("TypeError: something else", "release", "flask"),
        "3.11.0": SERVED,
    }
    trials = ScriptedTrials(script)
    assert search.find(release("1.0"), PYTHONS, trials).python == "3.11"  # type: ignore[arg-type]


def test_the_pinned_werkzeug_line_is_never_bisected_or_bounded_its_failure_sends_the_search_down():
    iteritems = failing("AttributeError: 'dict' object has no attribute 'iteritems'", "distribution", "werkzeug")
    script = {**{i.version_text: iteritems for i in PYTHONS[:5]}, "2.7.18": SERVED}
    trials = ScriptedTrials(script, pinned=("werkzeug==0.7.*",))
    start = [
        records.Bound("werkzeug", "1.0.0", "0.16.1", True, "x", "y", 3),
        records.Bound("jinja2", "3.1.0", "3.0.3", True, "x", "y", 3),
    ]
    record = search.find(release("0.10.1"), PYTHONS, trials, start)  # type: ignore[arg-type]
    assert trials.bisected == [] and trials.tried == ["3.13.0", "3.12.0", "2.7.18"]
    assert [b.project for b in record.bounds] == ["jinja2"], "a bound on the pinned project is never kept"
    # The same failure without the pin is a dependency's: bisected.
    unpinned = ScriptedTrials(script)
    search.find(release("0.10.1"), PYTHONS, unpinned)  # type: ignore[arg-type]
    assert unpinned.bisected[0] == "werkzeug"


# -- real installs, real servers --------------------------------------------------------------------

BROKEN_FROM = Version("2.2.6")
REMOVED = "from .url_safe import URLSafeTimedSerializer as URLSafeTimedSerializer\n"


@pytest.fixture(scope="module")
def broken_itsdangerous_index(wheels: list[Path], tmp_path_factory: pytest.TempPathFactory) -> str:
    """Flask's newest release and its real dependencies, plus itsdangerous renumbered 2.2.1 to 2.2.9, where
    2.2.6 and later no longer export ``URLSafeTimedSerializer`` (Flask's sessions import it)."""
    root = tmp_path_factory.mktemp("broken-index")
    real = next(w for w in wheels if w.name.startswith("itsdangerous-"))
    renumbered = [
        local_index.rebuild(
            real,
            "itsdangerous",
            f"2.2.{patch}",
            root,
            {"itsdangerous/__init__.py": (REMOVED, "")} if Version(f"2.2.{patch}") >= BROKEN_FROM else {},
        )
        for patch in range(1, 10)
    ]
    return local_index.write_index([*wheels, *renumbered], root / "index")


@pytest.mark.slow
def test_the_search_bisects_a_broken_dependency_to_its_first_bad_release_and_bounds_it(
    wheels, broken_itsdangerous_index, tmp_path
):
    flask_wheel = next(w for w in wheels if w.name.lower().startswith("flask-"))
    version = flask_wheel.name.split("-")[1]
    # The interpreter the wheels were downloaded for (conftest's ``wheels``).
    python = plan(release("9.9.9", ">=3.9", uploaded=None), interpreters.discover()).interpreter
    assert python is not None
    chosen = next(r for r in catalogue.load(REPO.releases) if r.version == version)
    trials = search.Trials(chosen, broken_itsdangerous_index, tmp_path / "cache", log=lambda line: None)
    record = search.find(chosen, [python], trials)
    assert record.verified, record.reason
    (bound,) = record.bounds
    assert (bound.project, bound.first_bad, bound.last_good) == ("itsdangerous", "2.2.6", "2.2.5")
    assert "cannot import name 'URLSafeTimedSerializer' from 'itsdangerous'" in bound.evidence
    assert bound.trials <= 5, "bisected, not scanned"
    assert record.packages["itsdangerous"] == "2.2.5", "the newest release the bound allows"
    assert [a.outcome for a in record.attempts] == ["import-failed", "served", "import-failed"], (
        "plain install fails, the bound serves, and without it it fails again (the bound is needed)"
    )
    text = rendering.render_file(record)
    assert text.splitlines()[0] == f"# verified on Python {python.minor[0]}.{python.minor[1]} ({record.verified_on})"
    assert text.splitlines()[1:3] == [f"flask=={version}", "itsdangerous<2.2.6  # 2.2.6 raises: " + bound.evidence]
    saved = records.save(record, tmp_path)
    assert records.load(saved) == record


@pytest.mark.slow
def test_flask_1_1_2_runs_today_on_the_newest_python_with_three_bounds(tmp_path):
    """The chain of a real release: Jinja2's escape, then itsdangerous's json, then Werkzeug's BaseResponse."""
    found = interpreters.discover()
    chosen = next(r for r in catalogue.load(REPO.releases) if r.version == "1.1.2")
    newest = max(search._allowed(chosen, found), default=None)
    if newest is None or newest.minor < (3, 10):
        pytest.skip("needs a Python 3.10 or newer, where Flask 1.1.2's chain shows")
    trials = search.Trials(chosen, index.configured_index_url(), tmp_path / "cache", log=lambda line: None)
    record = search.find(chosen, found, trials)
    assert record.verified and record.python == f"{newest.minor[0]}.{newest.minor[1]}"
    assert [(b.project, b.first_bad, b.last_good) for b in record.bounds] == [
        ("jinja2", "3.1.0", "3.0.3"),
        ("itsdangerous", "2.1.0", "2.0.1"),
        ("werkzeug", "2.1.0", "2.0.3"),
    ]


class CountedTrials(search.Trials):
    """The real bisection and its memo on disk; the installs answer from a rule (MarkupSafe 2.1 removed
    ``soft_unicode``), counted so that a memo hit shows as no install at all."""

    def __init__(self, cache: Path, pinned: tuple[str, ...] = ()) -> None:
        super().__init__(release("1.1.4"), "http://127.0.0.1:9/simple/", cache, log=lambda line: None, pinned=pinned)
        self.installs: list[list[str]] = []

    def versions(self, project: str) -> list[Version]:
        return [Version(v) for v in ("1.1.1", "2.0.0", "2.0.1", "2.1.0", "2.1.1", "3.0.2")]

    def attempt(self, interpreter: Interpreter, constraints: list[str]) -> Attempt:
        self.installs.append(constraints)
        version = Version(constraints[-1].split("==")[1])
        if any(c == "werkzeug==3.0.6" for c in constraints) and version < Version("2.1.1"):
            needs = "werkzeug 3.0.6 needs markupsafe>=2.1.1"
            return Attempt(interpreter.version_text, constraints, "install-failed", needs)
        if version >= Version("2.1.0"):
            return failing(SOFT_UNICODE, "distribution", "markupsafe")
        return replace(SERVED, python=interpreter.version_text, constraints=constraints)


SOFT_UNICODE = "ImportError: cannot import name 'soft_unicode' from 'markupsafe'"


def test_a_bisection_is_reused_only_where_every_trial_would_install_the_same(tmp_path):
    python = Interpreter((3, 13, 0), "/py313")

    def failure(werkzeug: str) -> Attempt:
        packages = {"flask": "1.1.4", "jinja2": "2.11.3", "markupsafe": "3.0.2", "werkzeug": werkzeug}
        return replace(failing(SOFT_UNICODE, "distribution", "markupsafe"), packages=packages)

    own = CountedTrials(tmp_path)
    bound = own.bisect(python, failure("3.1.3"))
    assert bound is not None and bound.requirement == "markupsafe<2.1.0" and own.installs
    again = CountedTrials(tmp_path)
    assert again.bisect(python, failure("3.1.3")) == bound and again.installs == [], "the same trials: the memo"
    # The grid's cell with Werkzeug 3.0 held: no older MarkupSafe installs beside it, so no bound helps. The
    # search's bisection (Werkzeug 3.1 held) must not answer for it.
    pinned = CountedTrials(tmp_path, pinned=("werkzeug==3.0.*",))
    assert pinned.bisect(python, failure("3.0.6")) is None and pinned.installs


def test_the_page_answers_first_and_explains_each_bound_once():
    found = records.load_all(REPO.constraints)
    page = rendering.render_page(found)
    assert page.split("\n")[2].startswith(f"{sum(r.verified for r in found)} of {len(found)} releases serve")
    notes = page.split("## Why each bound\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert len(notes) == len(set(notes)) and len(notes) < sum(len(r.bounds) for r in found), "each reason once"
    for record in (r for r in found if r.verified):
        assert f"[flask-{record.flask}.txt](constraints/flask-{record.flask}.txt)" in page
        for bound in record.bounds:
            said = f"`{bound.requirement}`: `{bound.evidence}`"
            assert any(note.split(". ", 1)[1].startswith(said) for note in notes)

"""Introductions: the Werkzeug release that first showed a text, by bisection of releases observed alone."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from packaging.version import Version

from scripts.audit.plan import plan
from scripts.audit.records import ModeObservation, Observation
from scripts.common.jsonio import DataError, read_json
from scripts.common.processes import Finished
from scripts.introductions import records
from scripts.introductions import run as introductions
from scripts.introductions.records import Introduction, IntroductionsRecord, Sample
from scripts.packages import interpreters
from scripts.packages.catalogue import Line
from scripts.packages.environments import SetupFailed, Unavailable
from scripts.packages.interpreters import Interpreter
from scripts.report import claims, forkless
from tests import local_index
from tests.conftest import release

PY27 = Interpreter((2, 7, 18), "/py27")
PY39 = Interpreter((3, 9, 18), "/py39")
REFUSED = "ValueError: Your platform does not support forking."
VERSIONS = [Version(v) for v in ("0.9", "0.10", "0.11", "0.11.10", "0.11.12", "0.11.15", "0.12", "0.12.1")]


class ScriptedSamples:
    """Stands in for real installs: which release shows what is scripted; the decisions are what is tested."""

    def __init__(self, shows: dict[str, str | None]) -> None:
        self.shows = shows
        self.asked: list[str] = []

    def sample(self, version: str, interpreter: Interpreter) -> Sample:
        self.asked.append(version)
        outcome = self.shows.get(version, "requests-failed")
        if outcome is None:
            return Sample(version, interpreter.version_text, detail="import-failed: SyntaxError")
        outcomes = {"default": "served", "processes3_nofork": outcome}
        return Sample(version, interpreter.version_text, outcomes)


def test_a_text_is_bisected_to_the_first_release_that_shows_it_from_a_floor_the_audit_suggests():
    shows = {v: REFUSED for v in ("0.11.12", "0.11.15", "0.12", "0.12.1")}
    samples = ScriptedSamples(shows)
    found = introductions.ask(
        samples, PY39, VERSIONS[:-1], "outcome", "processes3_nofork", REFUSED, Version("0.12.1"), Version("0.11.10")
    )  # type: ignore[arg-type]
    assert (found.first, found.last_before, found.exact, found.oldest) == ("0.11.12", "0.11.10", True, None)
    assert found.describe() == "first in Werkzeug 0.11.12, not in 0.11.10 (bisected on Python 3.9)"
    assert samples.asked[:2] == ["0.12.1", "0.11.10"], "the start and the floor are observed, not assumed"
    assert "0.9" not in samples.asked, "nothing below the floor is tried"


def test_a_text_in_every_release_back_to_the_first_says_so_and_is_no_introduction():
    samples = ScriptedSamples({str(v): REFUSED for v in VERSIONS})
    found = introductions.ask(samples, PY27, VERSIONS[:-1], "outcome", "processes3_nofork", REFUSED, Version("0.12.1"))  # type: ignore[arg-type]
    assert (found.first, found.last_before, found.oldest) == ("0.9", None, "0.9")
    assert found.describe() == "already in Werkzeug 0.9, the first release on the index (seen on Python 2.7)"


def test_releases_that_do_not_run_on_the_python_leave_an_observed_from_not_a_since():
    shows = {"0.12.1": REFUSED, **{str(v): None for v in VERSIONS[:-1]}}
    samples = ScriptedSamples(shows)
    found = introductions.ask(samples, PY39, VERSIONS[:-1], "outcome", "processes3_nofork", REFUSED, Version("0.12.1"))  # type: ignore[arg-type]
    assert (found.first, found.exact) == ("0.12.1", False)
    assert len(samples.asked) == 1 + introductions.MAX_UNANSWERED, "a run of releases without an answer is cut short"
    assert (found.trials, found.no_answer) == (5, 4)
    assert found.describe() == (
        "observed from Werkzeug 0.12.1; the 4 older releases tried would not install or run on Python 3.9"
    ), "the untried ones are not counted as tried"


def test_a_start_that_does_not_show_it_alone_is_not_bisected():
    samples = ScriptedSamples({"0.12.1": "served"})
    found = introductions.ask(samples, PY39, VERSIONS[:-1], "outcome", "processes3_nofork", REFUSED, Version("0.12.1"))  # type: ignore[arg-type]
    assert found.first is None and found.describe() == "" and samples.asked == ["0.12.1"]


def _observation(flask: str, werkzeug: str, python: str, nofork: ModeObservation) -> Observation:
    return Observation(flask, None, "ok", python, {"werkzeug": werkzeug}, modes={"processes3_nofork": nofork})


def test_questions_start_from_the_oldest_werkzeug_the_audit_saw_and_its_python():
    refused = ModeObservation("x", "error", REFUSED)
    dropped = ModeObservation("x", "requests-failed", "closed")
    seen = [
        _observation("1.0", "0.14.1", "3.9.18", refused),
        _observation("0.12.4", "0.12.1", "3.9.18", refused),
        _observation("0.9", "0.8.3", "2.7.18", dropped),
    ]
    assert introductions.questions(seen) == [
        ("processes3_nofork", REFUSED, "0.12.1", "3.9.18"),
        ("processes3_nofork", "requests-failed", "0.8.3", "2.7.18"),
    ]
    assert introductions._floor(seen, "processes3_nofork", REFUSED, Version("0.12.1")) == Version("0.8.3")


def _record() -> IntroductionsRecord:
    return IntroductionsRecord(
        introductions=[
            Introduction("outcome", "processes3_nofork", REFUSED, "3.9.18", "0.12.1", "0.11.12", "0.11.10", True),
            Introduction("docstring", None, introductions.DOCSTRING, "2.7.18", "1.0.1", "0.10", "0.9.6", True),
            Introduction("server", None, introductions.SERVER, "2.7.18", "1.0.1", "0.5", "0.4.1", True),
        ],
        samples=[
            Sample(
                "0.9.6", "2.7.18", {"default": "served"}, "This wraps `wsgiref` to fix the wrong default reporting."
            ),
            Sample(
                "0.11.15",
                "2.7.18",
                {"default": "served", "default_nofork": "served", "processes3_nofork": "requests-failed"},
            ),
            Sample("0.11.15", "3.13.0", {"default": "error"}),
            Sample(
                "0.11.15",
                "3.9.18",
                {
                    "default": "served",
                    "default_nofork": "ImportError: ForkingMixIn",
                    "processes3_nofork": "ImportError: ForkingMixIn",
                },
            ),
            Sample("0.6.2", "3.13.0", None, detail="import-failed: SyntaxError: invalid syntax"),
            Sample("0.6.2", "2.7.18", {"default": "served", "default_nofork": "served", "processes3_nofork": "x"}),
            Sample("0.5", "2.7.18", {"default": "served"}),  # met by a bisection only: no row
            Sample("3.0.6", "3.13.0", {"default": "served", "default_nofork": "served", "processes3_nofork": "y"}),
        ],
    )


def test_the_pages_say_first_in_where_bisected_and_where_the_myth_comes_from():
    found = _record()
    refused = ModeObservation("app.run(threaded=False, processes=3)", "error", REFUSED)
    seen = [
        _observation("0.12.4", "0.12.1", "3.9.18", refused),
        Observation(
            "0.10",
            None,
            "ok",
            "3.9.18",
            {"werkzeug": "0.9.4"},
            modes={"default": ModeObservation("x", "served", server_classes=["werkzeug.serving.BaseWSGIServer"])},
        ),
    ]
    (point_c,) = [v for v in claims.evaluate(seen, None, found) if v.key == "C"]
    assert (
        "with Werkzeug 0.12.1, 1 release; first in Werkzeug 0.11.12, not in 0.11.10 (bisected on Python 3.9)"
        in point_c.evidence
    )
    (six,) = [v for v in claims.evaluate(seen, None, found) if v.key == "6"]
    assert (
        "(“This wraps `wsgiref` to fix the wrong default reporting.”)".replace("“", '"').replace("”", '"')
        in six.evidence
    )
    assert (
        "up to Werkzeug 0.9.6, not from 0.10 (bisected on Python 2.7): the Werkzeug of Flask 0.10 (1 release)"
        in six.evidence
    )
    assert "built on `wsgiref.simple_server` up to Werkzeug 0.4.1, not from 0.5" in six.evidence
    assert "bisected" not in claims.evaluate(seen, None, None)[5].evidence, (
        "without the record, no introduction is claimed"
    )


def test_the_forkless_table_shows_python_2_and_the_newest_python_3_that_serves():
    lines = [
        Line("0.5", "0.5", None, None),
        Line("0.6", "0.6.2", None, None),
        Line("0.11", "0.11.15", None, None),
        Line("3.0", "3.0.6", None, ">=3.8"),
    ]
    table = forkless.forkless_table(_record(), lines)
    fails = "fails: `ImportError: ForkingMixIn`"
    assert f"| 0.11.15 | serves | starts, then drops every request | 3.9 | {fails} | {fails} |" in table
    assert "| 0.6.2 | serves | fails: `x` | does not run on 3.13 |  |  |" in table
    assert "| 3.0.6 | requires Python >=3.8 |  | 3.13 | serves | fails: `y` |" in table
    assert "| 0.5 |" not in table, "a release only a bisection met is not a row"


def test_the_schema_and_a_real_record_agree(tmp_path: Path):
    schema = read_json(records.SCHEMA_PATH)
    jsonschema.Draft202012Validator.check_schema(schema)
    saved = _record().write(tmp_path / "introductions.json")
    jsonschema.Draft202012Validator(schema).validate(read_json(saved))
    assert IntroductionsRecord.read(saved) == _record()


# -- real installs, real servers --------------------------------------------------------------------

CHANGED = "a text that Werkzeug never had"


@pytest.mark.slow
def test_bisection_on_a_local_index_finds_the_release_that_introduced_a_text(wheels, tmp_path):
    """Real Werkzeug renumbered 3.1.101 to 3.1.109, its refusal text changed from 3.1.105 on: real installs,
    real servers, and the bisection names 3.1.105 exactly."""
    real = next(w for w in wheels if w.name.lower().startswith("werkzeug-"))
    original = "Cannot have a multi-thread and multi-process server."
    built = [
        local_index.rebuild(
            real,
            "werkzeug",
            f"3.1.{patch}",
            tmp_path,
            {"werkzeug/serving.py": (original, CHANGED)} if patch >= 105 else {},
        )
        for patch in range(101, 110)
    ]
    markupsafe = [w for w in wheels if w.name.lower().startswith("markupsafe-")]
    url = local_index.write_index([*built, *markupsafe], tmp_path / "index")
    python = plan(release("9.9.9", ">=3.9", uploaded=None), interpreters.discover()).interpreter
    assert python is not None
    samples = introductions.Samples(url, tmp_path / "cache", log=lambda line: None)
    versions = [Version(f"3.1.{patch}") for patch in range(101, 109)]
    found = introductions.ask(
        samples, python, versions, "outcome", "threaded_processes3", f"ValueError: {CHANGED}", Version("3.1.109")
    )
    assert (found.first, found.last_before, found.exact) == ("3.1.105", "3.1.104", True), found
    assert found.trials <= 4, "bisected, not scanned"
    assert samples.sample("3.1.101", python).outcomes == {
        "default": "served",
        "threaded_processes3": f"ValueError: {original}",
        "processes3_nofork": "ValueError: Your platform does not support forking.",
        "default_nofork": "served",
    }
    # run_simple alone does not thread: Flask 1.0 on passes threaded=True itself.
    assert samples.sample("3.1.101", python).server_classes[0] == "werkzeug.serving.BaseWSGIServer"


# -- faults: none of them becomes a sample or a record -------------------------------------------------


def _no_environment(monkeypatch: pytest.MonkeyPatch, install_fails_with: str | None = None) -> None:
    """Environments that are made instantly, and an install that fails with pip's ``install_fails_with``."""
    monkeypatch.setattr(introductions.environments, "create_virtualenv", lambda *args, **kw: None)
    monkeypatch.setattr(introductions.environments, "create_uv_venv", lambda *args, **kw: None)

    def install(python, request, *args, **kw):
        if install_fails_with is not None:
            raise SetupFailed("install-failed", "pip install failed", install_fails_with)
        return []

    monkeypatch.setattr(introductions.environments, "pip_install", install)
    monkeypatch.setattr(introductions.environments, "uv_install", install)


@pytest.mark.parametrize(
    "output",
    [
        "ERROR: HTTP error 404 while getting http://127.0.0.1:1/w/Werkzeug-0.9.tar.gz",
        "Could not install packages due to an EnvironmentError: HTTPConnectionPool: Max retries exceeded",
    ],
)
def test_an_index_that_fails_under_pip_is_not_a_release_that_does_not_install(monkeypatch, tmp_path, output):
    _no_environment(monkeypatch, install_fails_with=output)
    samples = introductions.Samples("file:///i/", tmp_path, log=lambda line: None)
    with pytest.raises(Unavailable, match=r"the package index failed .*nothing was recorded"):
        samples.sample("0.9", PY27)
    assert list(tmp_path.iterdir()) == [], "nothing cached"


def test_a_release_that_does_not_build_is_no_answer_and_is_kept(monkeypatch, tmp_path):
    _no_environment(monkeypatch, install_fails_with="SyntaxError: invalid syntax")
    samples = introductions.Samples("file:///i/", tmp_path, log=lambda line: None)
    assert samples.sample("0.6", PY39).outcomes is None
    assert len(list(tmp_path.iterdir())) == 1


def test_a_probe_that_runs_out_of_time_fails_the_run_instead_of_answering(monkeypatch, tmp_path):
    _no_environment(monkeypatch)
    done = Finished(["python", "--doc"], 0, "Start a WSGI app.", "", 60.0)
    monkeypatch.setattr(introductions, "run_command", lambda *args, **kw: done)
    monkeypatch.setattr(
        introductions.harness, "observe_mode", lambda *args, **kw: ModeObservation("x", "timeout", "no answer in 30s")
    )
    samples = introductions.Samples("file:///i/", tmp_path, log=lambda line: None)
    with pytest.raises(Unavailable, match=r"ran out of time .*quieter machine"):
        samples.sample("2.0.2", PY39)
    assert list(tmp_path.iterdir()) == []


def test_a_damaged_sample_is_taken_again(monkeypatch, tmp_path):
    _no_environment(monkeypatch, install_fails_with="SyntaxError: invalid syntax")
    samples = introductions.Samples("file:///i/", tmp_path, log=lambda line: None)
    samples.sample("0.6", PY39)
    (kept,) = tmp_path.iterdir()
    for damage in ("[]", '{"werkzeug": "0.6"}', '{"werk'):
        kept.write_text(damage)
        again = introductions.Samples("file:///i/", tmp_path, log=lambda line: None).sample("0.6", PY39)
        assert again.outcomes is None and again.detail, damage


def test_a_question_is_never_dropped_for_want_of_its_python():
    assert introductions._same_minor("3.9.18", [PY27, Interpreter((3, 9, 19), "/py39")]).version == (3, 9, 19)
    with pytest.raises(Unavailable, match=r"no Python 3\.9 on this machine.*nothing was recorded"):
        introductions._same_minor("3.9.18", [PY27])


def test_a_catalogue_without_a_werkzeug_line_for_python_2_is_refused(monkeypatch, tmp_path):
    monkeypatch.setattr(introductions.index, "project_files", lambda project, url: [])
    samples = introductions.Samples("file:///i/", tmp_path, log=lambda line: None)
    with pytest.raises(DataError, match=r"lists no Werkzeug line for Python 2\.7"):
        introductions.find([], [PY27, PY39], [Line("3.1", "3.1.9", None, ">=3.9")], samples)

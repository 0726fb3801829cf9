"""Choosing interpreters and cut-offs, keying the cache, classifying outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scripts.audit import cache, records
from scripts.audit import run as audit
from scripts.audit.plan import plan
from scripts.audit.records import ModeObservation
from scripts.layout import Layout, release_file
from scripts.packages import era
from tests.conftest import MACHINE, release


def test_python2_only_releases_get_python27_and_pip():
    chosen = plan(release("0.9"), MACHINE)
    assert chosen.interpreter is not None and chosen.interpreter.path == "/py27"
    assert chosen.installer == "pip"


def test_ceiling_picks_the_newest_interpreter_at_or_below_it():
    assert plan(release("1.0"), MACHINE).interpreter.path == "/py39"
    assert plan(release("1.1.1"), MACHINE).interpreter.path == "/py37"
    assert plan(release("3.1.3", ">=3.9"), MACHINE).interpreter.path == "/py313"


def test_requires_python_is_respected():
    assert plan(release("9.0", ">=3.14"), MACHINE).interpreter is None
    assert era.admits(">=3.9", "3.13.0") and not era.admits(">=3.9", "3.7.16")
    assert era.admits("not a specifier", "3.7.16"), "an unparsable declaration rules nothing out"


def test_missing_interpreter_is_a_record_not_a_gap():
    chosen = plan(release("0.9"), [i for i in MACHINE if i.version[0] == 3])
    observation = audit.not_runnable(chosen)
    assert observation is not None and observation.status == "no-interpreter"
    assert observation.detail == "not run: needs Python 2.7, not found"


def test_release_without_files_is_no_distribution():
    observation = audit.not_runnable(plan(release("1.0", installable=False), MACHINE))
    assert observation is not None and observation.status == "no-distribution"


def test_cutoff_allows_companion_releases_uploaded_the_next_day():
    assert era.cutoff(release("1.0")) == datetime(2018, 4, 27, 20, 13, 58, tzinfo=UTC)
    assert era.cutoff(release("1.0", uploaded=None)) is None, "an index without dates has no era"


def test_cache_key_changes_with_interpreter_and_release():
    chosen = plan(release("1.0"), MACHINE)
    older = plan(release("1.0"), MACHINE[:2])
    assert cache.cache_key(chosen) != cache.cache_key(older)
    assert cache.cache_key(chosen) != cache.cache_key(plan(release("1.0.1"), MACHINE))


def test_cached_observation_is_used_only_under_the_same_key(tmp_path: Path):
    chosen, location = plan(release("1.0"), MACHINE), tmp_path / "env"
    assert audit.cached(chosen, tmp_path, location) is None
    stored = audit.not_runnable(plan(release("1.0", installable=False), MACHINE))
    assert stored is not None
    records.save(stored, tmp_path)
    assert audit.cached(plan(release("1.0", installable=False), MACHINE), tmp_path, location) is None, "not here"
    audit.confirm(location, stored)
    assert audit.cached(plan(release("1.0", installable=False), MACHINE), tmp_path, location) is not None
    assert audit.cached(plan(release("1.0"), MACHINE[:2]), tmp_path, location) is None


def test_release_status_follows_plain_app_run():
    served = ModeObservation(call="app.run()", outcome="served")
    assert records.status_from_default(served) == ("ok", None)
    crashed = ModeObservation(call="app.run()", outcome="error", error="TypeError: x", failed_in="server")
    assert records.status_from_default(crashed) == ("server-failed", "TypeError: x")
    in_the_app = ModeObservation(call="app.run()", outcome="error", error="TypeError: y", failed_in="app")
    assert records.status_from_default(in_the_app) == ("app-failed", "TypeError: y")
    hung = ModeObservation(call="app.run()", outcome="timeout", error="no answer")
    assert records.status_from_default(hung) == ("timeout", "no answer")


def test_a_machine_without_the_interpreter_keeps_an_earlier_real_observation(tmp_path: Path):
    layout = Layout(tmp_path)
    served = records.Observation(flask="0.9", released="2012-07-01", status="ok", python="2.7.18")
    records.save(served, layout.results)
    missing = plan(release("0.9"), [i for i in MACHINE if i.version[0] == 3])
    kept = audit.run(missing, tmp_path / "env", audit.Options(output=layout), log=lambda line: None)
    assert kept.status == "ok" and records.load(release_file(layout.results, "0.9")).python == "2.7.18"
    fresh = plan(release("0.8"), [i for i in MACHINE if i.version[0] == 3])
    assert audit.run(fresh, tmp_path / "env", audit.Options(output=layout), log=lambda line: None).status == (
        "no-interpreter"
    ), "with nothing observed before, the missing interpreter is the record"

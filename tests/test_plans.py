"""Choosing interpreters and cut-offs, keying the cache, classifying outcomes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from scripts.audit import records
from scripts.audit import run as audit
from scripts.audit.records import ModeObservation
from scripts.packages import era as pins
from scripts.packages.catalogue import Release
from scripts.packages.interpreters import Interpreter

MACHINE = [Interpreter((2, 7, 18), "/py27"), Interpreter((3, 7, 16), "/py37"), Interpreter((3, 9, 18), "/py39"),
           Interpreter((3, 13, 0), "/py313")]  # fmt: skip


def release(version: str, requires_python: str | None = None, installable: bool = True) -> Release:
    return Release(version, "2018-04-26T20:13:58Z", requires_python, False, installable, False)


def test_python2_only_releases_get_python27_and_pip():
    plan = pins.plan(release("0.9"), MACHINE)
    assert plan.interpreter is not None and plan.interpreter.path == "/py27"
    assert plan.installer == "pip"


def test_ceiling_picks_the_newest_interpreter_at_or_below_it():
    assert pins.plan(release("1.0"), MACHINE).interpreter.path == "/py39"
    assert pins.plan(release("1.1.1"), MACHINE).interpreter.path == "/py37"
    assert pins.plan(release("3.1.3", ">=3.9"), MACHINE).interpreter.path == "/py313"


def test_requires_python_is_respected():
    assert pins.plan(release("9.0", ">=3.14"), MACHINE).interpreter is None


def test_missing_interpreter_is_a_record_not_a_gap():
    plan = pins.plan(release("0.9"), [i for i in MACHINE if i.version[0] == 3])
    observation = audit.not_runnable(plan)
    assert observation is not None and observation.status == "no-interpreter"
    assert observation.detail == "not run: needs Python 2.7, not found"


def test_release_without_files_is_no_distribution():
    observation = audit.not_runnable(pins.plan(release("1.0", installable=False), MACHINE))
    assert observation is not None and observation.status == "no-distribution"


def test_cutoff_allows_companion_releases_uploaded_the_next_day():
    cutoff = pins.cutoff(release("1.0"))
    assert cutoff == datetime(2018, 4, 27, 20, 13, 58, tzinfo=UTC)


def test_cache_key_changes_with_interpreter_and_release(tmp_path):
    plan = pins.plan(release("1.0"), MACHINE)
    older = pins.plan(release("1.0"), MACHINE[:2])
    assert audit.cache_key(plan) != audit.cache_key(older)
    assert audit.cache_key(plan) != audit.cache_key(pins.plan(release("1.0.1"), MACHINE))


def test_cached_observation_is_used_only_under_the_same_key(tmp_path: Path):
    plan = pins.plan(release("1.0"), MACHINE)
    assert audit.cached(plan, tmp_path) is None
    stored = audit.not_runnable(pins.plan(release("1.0", installable=False), MACHINE))
    assert stored is not None
    records.save(stored, tmp_path)
    assert audit.cached(pins.plan(release("1.0", installable=False), MACHINE), tmp_path) is not None
    assert audit.cached(pins.plan(release("1.0"), MACHINE[:2]), tmp_path) is None


def test_release_status_follows_plain_app_run():
    served = ModeObservation(call="app.run()", outcome="served")
    assert audit.status_from_default(served) == ("ok", None)
    crashed = ModeObservation(call="app.run()", outcome="error", error="TypeError: x")
    assert audit.status_from_default(crashed) == ("server-failed", "TypeError: x")
    hung = ModeObservation(call="app.run()", outcome="timeout", error="no answer")
    assert audit.status_from_default(hung) == ("timeout", "no answer")


def test_a_machine_without_the_interpreter_keeps_an_earlier_real_observation(tmp_path: Path):
    served = records.Observation(flask="0.9", released="2012-07-01", status="ok", python="2.7.18")
    records.save(served, audit.results_dir(tmp_path))
    missing = pins.plan(release("0.9"), [i for i in MACHINE if i.version[0] == 3])
    kept = audit.run(missing, tmp_path / "env", audit.Options(output=tmp_path), log=lambda line: None)
    assert (
        kept.status == "ok" and records.load(records.record_path(audit.results_dir(tmp_path), "0.9")).python == "2.7.18"
    )
    fresh = pins.plan(release("0.8"), [i for i in MACHINE if i.version[0] == 3])
    assert audit.run(fresh, tmp_path / "env", audit.Options(output=tmp_path), log=lambda line: None).status == (
        "no-interpreter"
    ), "with nothing observed before, the missing interpreter is the record"

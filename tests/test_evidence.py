"""A record changes only when its evidence does; the keys it was observed under stay on this machine."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta

from scripts.common import evidence
from scripts.common.evidence import Confirmations


def _record(status: str, at: str, cells: list[tuple[str, str]]) -> dict[str, object]:
    return {
        "flask": "1.0",
        "status": status,
        "observed_at": at,
        "cells": [{"python": python, "status": s, "observed_at": at} for python, s in cells],
    }


def test_the_same_evidence_at_another_time_writes_nothing(tmp_path):
    path = tmp_path / "flask-1.0.json"
    assert evidence.save(path, _record("ok", "2026-12-01T00:00:00Z", [("3.9", "ok")]))
    before, stat = path.read_bytes(), path.stat()
    assert not evidence.save(path, _record("ok", "2026-12-02T00:00:00Z", [("3.9", "ok")]))
    assert path.read_bytes() == before
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns, "not even written again with the same bytes"


def test_what_changed_is_new_and_what_did_not_keeps_its_first_stamp(tmp_path):
    path = tmp_path / "flask-1.0.json"
    evidence.save(path, _record("ok", "2026-12-01T00:00:00Z", [("3.9", "ok"), ("3.13", "ok")]))
    changed = _record("ok", "2026-12-02T00:00:00Z", [("3.8", "ok"), ("3.9", "ok"), ("3.13", "timeout")])
    assert evidence.save(path, changed)
    stored = json.loads(path.read_text())
    assert stored["observed_at"] == "2026-12-02T00:00:00Z", "the record as a whole says something new"
    assert [(c["python"], c["status"], c["observed_at"][:10]) for c in stored["cells"]] == [
        ("3.8", "ok", "2026-12-02"),
        ("3.9", "ok", "2026-12-01"),  # moved down by the new cell, matched by what it says
        ("3.13", "timeout", "2026-12-02"),
    ]


def test_an_unreadable_stored_record_is_replaced(tmp_path):
    path = tmp_path / "flask-1.0.json"
    path.write_text("{ not json")
    assert evidence.save(path, _record("ok", "2026-12-01T00:00:00Z", []))
    assert json.loads(path.read_text())["status"] == "ok"


def test_a_key_vouches_only_for_what_the_record_said_when_it_was_confirmed(tmp_path):
    record, other = tmp_path / "a" / "flask-1.0.json", tmp_path / "b" / "flask-1.0.json"
    for path in (record, other):
        evidence.save(path, _record("ok", "2026-12-01T00:00:00Z", []))
    here = Confirmations(tmp_path / "keys")
    assert here.key(record) is None, "never confirmed on this machine (a fresh clone)"
    here.confirm(record, "k1", json.loads(record.read_text()))
    assert (here.key(record), here.key(other)) == ("k1", None), "records of another --output are told apart"
    evidence.save(record, _record("ok", "2026-12-05T00:00:00Z", []))  # the same evidence: the key still holds
    assert here.key(record) == "k1"
    record.write_text(record.read_text().replace('"ok"', '"timeout"'))  # a hand edit, or a checkout of another
    assert here.key(record) is None
    assert Confirmations(tmp_path / "elsewhere").key(other) is None


def test_per_part_keys_need_one_per_part(tmp_path):
    record = tmp_path / "flask-1.0.json"
    evidence.save(record, _record("ok", "2026-12-01T00:00:00Z", [("3.9", "ok")]))
    here = Confirmations(tmp_path / "keys")
    here.confirm(record, ["k1", None], json.loads(record.read_text()))
    assert list(here.keys(record, 2)) == ["k1", None]
    assert list(here.keys(record, 3)) == [None, None, None], "cells added since: none of the keys is trusted"


def test_a_run_it_today_search_found_again_the_same_changes_no_file(tmp_path, monkeypatch):
    from scripts.constraints import records, run
    from scripts.layout import Layout, release_file
    from scripts.packages import index
    from tests.conftest import release

    chosen, clock = release("1.0"), {"at": datetime(2026, 12, 1, 10, tzinfo=UTC)}
    monkeypatch.setattr(index, "configured_index_url", lambda explicit=None: "file:///i/")
    monkeypatch.setattr(run, "now", lambda: clock["at"])
    found = {"python": "3.9"}
    monkeypatch.setattr(run, "find", lambda r, i, t: records.ConstraintsRecord(r.version, None, None, True, **found))
    options, here = run.Options(output=Layout(tmp_path)), Confirmations(tmp_path / "keys")
    path = release_file(options.output.constraints, "1.0")
    assert run.cached(chosen, [], options, here) is None
    run.run("1.0", [chosen], [], options, tmp_path / "cache", here)
    assert run.cached(chosen, [], options, here) is not None, "found today under the same key"
    first = path.read_bytes()
    clock["at"] += timedelta(hours=1)
    run.run("1.0", [chosen], [], options, tmp_path / "cache", Confirmations(tmp_path / "another machine"))
    assert path.read_bytes() == first, "found again the same on another machine: the file is as it was"
    found["python"], clock["at"] = "3.8", clock["at"] + timedelta(hours=1)
    run.run("1.0", [chosen], [], options, tmp_path / "cache", here)
    assert records.load(path).observed_at == "2026-12-01T12:00:00Z"
    assert run.cached(chosen, [], options, Confirmations(tmp_path / "another machine")) is None


def test_introductions_asked_again_the_same_change_no_file(tmp_path, monkeypatch):
    from scripts.introductions import run
    from scripts.introductions.records import IntroductionsRecord
    from scripts.layout import Layout
    from scripts.packages import index

    monkeypatch.setattr(index, "configured_index_url", lambda explicit=None: "file:///i/")
    asked = []

    def find(observations, interpreters, lines, samples):
        asked.append(1)
        return IntroductionsRecord(observed_at=f"2026-12-0{len(asked)}T00:00:00Z")

    monkeypatch.setattr(run, "find", find)
    options = run.Options(output=Layout(tmp_path))
    here = Confirmations(tmp_path / "keys")
    assert run.run([], [], [], options, tmp_path / "cache", here) is not None
    first = options.output.introductions.read_bytes()
    assert run.run([], [], [], options, tmp_path / "cache", here) is None, "the same key: not asked again"
    assert run.run([], [], [], options, tmp_path / "cache", Confirmations(tmp_path / "fresh clone")) is not None
    assert (len(asked), options.output.introductions.read_bytes()) == (2, first)


def test_a_key_never_vouches_for_what_another_run_wrote_in_between(tmp_path):
    record = tmp_path / "flask-1.0.json"
    ours = _record("ok", "2026-12-01T00:00:00Z", [])
    evidence.save(record, ours)
    evidence.save(record, _record("timeout", "2026-12-01T00:00:01Z", []))  # another run, between save and confirm
    here = Confirmations(tmp_path / "keys")
    here.confirm(record, "k1", ours)
    assert here.key(record) is None, "the file holds the other run's evidence, which k1 never saw"


def test_a_machine_that_cannot_run_a_release_keeps_the_record_of_one_that_did(tmp_path, monkeypatch):
    from scripts.constraints import records, run
    from scripts.layout import Layout, release_file
    from scripts.packages import index
    from tests.conftest import release

    chosen = release("0.1")
    monkeypatch.setattr(index, "configured_index_url", lambda explicit=None: "file:///i/")
    found = {"verified": True, "python": "2.7", "reason": None}
    monkeypatch.setattr(run, "find", lambda r, i, t: records.ConstraintsRecord(r.version, None, None, **found))
    options, here = run.Options(output=Layout(tmp_path)), Confirmations(tmp_path / "keys")
    run.run("0.1", [chosen], [], options, tmp_path / "cache", here, log=lambda line: None)
    path = release_file(options.output.constraints, "0.1")
    first = path.read_bytes()
    found.update(verified=False, python=None, reason="no Python 2.7 here")
    said: list[str] = []
    assert run.run("0.1", [chosen], [], options, tmp_path / "cache", here, log=said.append).verified
    assert path.read_bytes() == first and "is kept" in said[0]
    forced = run.Options(output=Layout(tmp_path), force=True)
    assert not run.run("0.1", [chosen], [], forced, tmp_path / "cache", here, log=said.append).verified
    assert not records.load(path).verified, "--force replaces it"

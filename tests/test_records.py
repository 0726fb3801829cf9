"""Observation records: the committed ones validate, the schema rejects what it must, records round-trip."""

from __future__ import annotations

import json

import jsonschema
import pytest

from scripts.audit import records
from scripts.audit.records import ModeObservation, Observation
from scripts.common import jsonio
from scripts.common.jsonio import DataError, read_json
from scripts.layout import REPO, release_file

COMMITTED = sorted(REPO.results.glob("flask-*.json"))


def validator() -> jsonschema.Draft202012Validator:
    schema = read_json(records.SCHEMA_PATH)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def sample() -> Observation:
    """A record as the observer saves it: its digest set."""
    observation = Observation(
        flask="1.0",
        released="2018-04-26",
        status="ok",
        python="3.7.16",
        packages={"flask": "1.0", "werkzeug": "0.14.1"},
        modes={
            "default": ModeObservation(call="app.run()", outcome="served", sent=5, concurrent=True, max_in_flight=5)
        },
    )
    observation.evidence_digest = observation.digest()
    return observation


def test_every_committed_record_is_valid_named_for_its_release_and_round_trips():
    assert COMMITTED, "reports/results/ holds the committed observations"
    check = validator()
    problems = []
    for path in COMMITTED:
        data = json.loads(path.read_text())
        errors = [e.message for e in check.iter_errors(data)]
        if errors or path.name != f"flask-{data.get('flask')}.json" or records.load(path).to_json() != data:
            problems.append(f"{path.name}: {errors or 'name or round trip'}")
    assert problems == []


def test_schema_rejects_what_it_must():
    check = validator()
    good = sample().to_json()
    check.validate(good)
    for broken in (
        {**good, "status": "fine"},
        {**good, "modes": {"sometimes": good["modes"]["default"]}},
        {**good, "modes": {"default": {**good["modes"]["default"], "outcome": "maybe"}}},
        {**good, "modes": {"default": {**good["modes"]["default"], "seconds": 0.5}}},
        {**good, "released": "26/04/2018"},
        {**good, "schema_version": 1},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check.validate(broken)


def test_a_record_that_cannot_be_read_names_its_file(tmp_path):
    path = records.save(sample(), tmp_path)
    path.write_text(path.read_text()[:200])
    with pytest.raises(DataError, match=r"flask-1\.0\.json: is not valid JSON") as caught:
        records.load(path)
    assert "--force" in str(caught.value), "the message says what to do"
    path.write_text(json.dumps({**sample().to_json(), "modes": {"sometimes": {}}}))
    with pytest.raises(DataError, match=r"unknown modes \['sometimes'\]"):
        records.load(path)
    # Fields the dataclass would take as they are: a wrong type or value is a damaged record, never evidence.
    for field, value, where in (("status", "weird", "status"), ("packages", {"werkzeug": 319}, "packages/werkzeug")):
        path.write_text(json.dumps({**sample().to_json(), field: value}))
        with pytest.raises(DataError, match=rf"breaks observation\.schema\.json at {where}: "):
            records.load(path)
    path.write_text(json.dumps({**sample().to_json(), "flask": "x"}))
    with pytest.raises(DataError, match=r"breaks observation\.schema\.json at flask: "):
        records.load(path)
    with pytest.raises(DataError, match="missing"):
        records.load(release_file(tmp_path, "9.9"))


def test_records_keep_no_timings():
    fields = json.dumps(read_json(records.SCHEMA_PATH))
    assert "seconds" not in fields and "duration" not in fields


def test_a_write_interrupted_after_the_temporary_file_exists_leaves_the_old_file(tmp_path, monkeypatch):
    path = records.save(sample(), tmp_path)
    before = path.read_bytes()
    written: list[int] = []

    def interrupted(fd: int) -> None:
        written.append(fd)
        raise KeyboardInterrupt  # as if Ctrl-C came while the new text was being flushed

    monkeypatch.setattr(jsonio.os, "fsync", interrupted)
    changed = sample()
    changed.status = "timeout"
    with pytest.raises(KeyboardInterrupt):
        records.save(changed, tmp_path)
    assert written, "the temporary file was written before the interruption"
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file is left behind"


def test_what_a_damaged_record_says_names_the_file_the_fault_and_the_remedy(tmp_path):
    good = sample().to_json()
    cases = {
        "list.json": ([], "is not an observation record"),
        "unknown-mode.json": (
            {**good, "modes": {"sometimes": good["modes"]["default"]}},
            "unknown modes ['sometimes']",
        ),
        "future.json": ({**good, "schema_version": 5}, "schema_version 5, this code reads 4"),
    }
    for name, (data, says) in cases.items():
        path = tmp_path / name
        path.write_text(json.dumps(data))
        with pytest.raises(DataError) as caught:
            records.load(path)
        assert caught.value.path == path and says in str(caught.value)
        assert str(caught.value).endswith("observe the release again with --force"), "the remedy is given"
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({**good, "schema_version": 1}))
    with pytest.raises(records.EarlierSchema) as caught:
        records.load(earlier)
    assert caught.value.path == earlier and "has schema version 1, not 4" in str(caught.value)
    assert str(caught.value).endswith("observe the release again with --force")


def test_a_record_without_modes_has_none(tmp_path):
    data = sample().to_json()
    del data["modes"]
    assert records.Observation.from_json(data).modes == {}


def test_load_each_returns_what_it_could_read_and_why_it_could_not_read_the_rest(tmp_path):
    records.save(sample(), tmp_path)
    (tmp_path / "flask-2.0.json").write_text("{")
    found, unreadable = records.load_each(tmp_path)
    assert [o.flask for o in found] == ["1.0"]
    assert [e.path.name for e in unreadable] == ["flask-2.0.json"] and "is not valid JSON" in str(unreadable[0])


def test_behaviour_names_the_reloaders_child_after_what_it_did():
    seen = records.ModeObservation(
        call="app.run(debug=True)",
        outcome="served",
        concurrent=True,
        workers="threads",
        max_in_flight=5,
        server_process="reloader child",
    )
    assert records.behaviour(seen) == "concurrent, threads, 5 in flight, in the reloader's child"


def observed_record(version: str = "1.0") -> records.Observation:
    return records.Observation(
        version, "2018-04-26", "ok", python="3.9.18", modes={"default": records.ModeObservation("app.run()", "served")},
        observed_at="2026-12-01T00:00:00Z", platform="linux",
    )  # fmt: skip


def test_observing_the_same_evidence_again_leaves_the_file_as_it_was(tmp_path):
    path = records.save(observed_record(), tmp_path)
    before = path.read_bytes()
    later = observed_record()
    later.observed_at, later.cache_key = "2026-12-04T00:00:00Z", "another-key"
    assert records.save(later, tmp_path) == path and path.read_bytes() == before, (
        "observed_at is when it was first seen"
    )
    changed = observed_record()
    changed.python, changed.observed_at = "3.9.19", "2026-12-05T00:00:00Z"
    records.save(changed, tmp_path)
    assert records.load(path).python == "3.9.19" and records.load(path).observed_at == "2026-12-05T00:00:00Z"
    assert "cache_key" not in json.loads(path.read_text()), "this machine's key is kept under .nox/, not here"


def test_a_record_edited_after_it_was_saved_is_refused_naming_it_and_the_remedy(tmp_path):
    path = records.save(observed_record(), tmp_path)
    data = json.loads(path.read_text())
    data["modes"]["default"]["concurrent"] = True  # schema-valid, and a different answer
    path.write_text(json.dumps(data))
    with pytest.raises(DataError) as raised:
        records.load(path)
    assert str(raised.value).startswith(f"{path}: its evidence does not match its evidence_digest")
    assert 'observe it again (nox -s "observe(1.0)" -- --force)' in str(raised.value)
    assert records.restore_hint(REPO.results / "flask-1.0.json") == (
        "restore it from git (git checkout -- reports/results/flask-1.0.json, from the repository root)"
    )
    # Saving the same evidence over a damaged file writes it again: a damaged record is never left standing.
    records.save(observed_record(), tmp_path)
    assert records.load(path).vouched

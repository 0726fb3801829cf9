"""Observation records: the committed ones validate, the schema rejects what it must, records round-trip."""

from __future__ import annotations

import json

import jsonschema
import pytest

from scripts.audit import records
from scripts.audit.records import ModeObservation, Observation
from scripts.common.jsonio import DataError, read_json
from scripts.layout import REPO, release_file

COMMITTED = sorted(REPO.results.glob("flask-*.json"))


def validator() -> jsonschema.Draft202012Validator:
    schema = read_json(records.SCHEMA_PATH)
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def sample() -> Observation:
    return Observation(
        flask="1.0",
        released="2018-04-26",
        status="ok",
        python="3.7.16",
        packages={"flask": "1.0", "werkzeug": "0.14.1"},
        modes={
            "default": ModeObservation(call="app.run()", outcome="served", sent=5, concurrent=True, max_in_flight=5)
        },
    )


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
    with pytest.raises(DataError, match="is not an observation record"):
        records.load(path)
    with pytest.raises(DataError, match="missing"):
        records.load(release_file(tmp_path, "9.9"))


def test_records_keep_no_timings():
    fields = json.dumps(read_json(records.SCHEMA_PATH))
    assert "seconds" not in fields and "duration" not in fields

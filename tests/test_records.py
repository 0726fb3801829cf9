"""Every committed observation record validates against the shipped schema and round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from scripts.audit import records
from scripts.audit.records import ModeObservation, Observation

RESULTS = Path(__file__).resolve().parent.parent / "reports" / "results"
COMMITTED = sorted(RESULTS.glob("flask-*.json"))


def validator() -> jsonschema.Draft202012Validator:
    schema = records.schema()
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


@pytest.mark.parametrize("path", COMMITTED, ids=[p.stem for p in COMMITTED])
def test_committed_record_is_valid(path):
    data = json.loads(path.read_text())
    validator().validate(data)
    assert path.name == f"flask-{data['flask']}.json"
    assert records.load(path).to_json() == data, "records round-trip through the dataclasses"


def test_the_report_covers_records():
    assert COMMITTED, "reports/results/ holds the committed observations"


def test_schema_rejects_what_it_must():
    check = validator()
    good = sample().to_json()
    check.validate(good)
    for broken in (
        {**good, "status": "fine"},
        {**good, "modes": {"sometimes": good["modes"]["default"]}},
        {**good, "modes": {"default": {**good["modes"]["default"], "outcome": "maybe"}}},
        {**good, "released": "26/04/2018"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            check.validate(broken)


def test_atomic_write_leaves_the_old_file_when_serialising_fails(tmp_path):
    path = records.save(sample(), tmp_path)
    before = path.read_bytes()
    with pytest.raises(TypeError):
        records.write_json_atomic(path, {"not json": object()})
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no temporary file is left behind"

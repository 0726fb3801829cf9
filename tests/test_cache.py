"""The observation cache key, the reuse of filled environments, remembered interpreter versions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scripts.audit import records
from scripts.audit import run as audit
from scripts.packages import environments as environment
from scripts.packages import era as pins
from scripts.packages import interpreters
from scripts.packages.environments import Build, Inventory
from tests.test_plans import MACHINE, release

PLAN = pins.plan(release("1.0"), MACHINE)


def test_key_changes_with_the_installed_package_set_and_the_exact_python():
    held = Inventory("3.9.18", {"flask": "1.0", "werkzeug": "0.14.1", "pip": "23.0"})
    key = audit.cache_key(PLAN, held)
    assert key == audit.cache_key(PLAN, Inventory("3.9.18", dict(held.distributions)))
    assert key != audit.cache_key(PLAN, Inventory("3.9.18", {**held.distributions, "werkzeug": "0.14"}))
    assert key != audit.cache_key(PLAN, Inventory("3.9.18", {**held.distributions, "pip": "24.0"}))
    assert key != audit.cache_key(PLAN, Inventory("3.9.17", dict(held.distributions)))
    assert key.split("-")[0] == audit.plan_key(PLAN)


def test_key_changes_with_any_probe_or_observing_source(tmp_path, monkeypatch):
    probes = tmp_path / "probes"
    probes.mkdir()
    (probes / "app.py").write_text("# probe\n")
    monkeypatch.setattr(audit, "PROBES", probes)
    before = audit.plan_key(PLAN)
    (probes / "servers.py").write_text("# a second probe\n")
    with_second = audit.plan_key(PLAN)
    (probes / "app.py").write_text("# probe, changed\n")
    assert len({before, with_second, audit.plan_key(PLAN)}) == 3


def make_environment(location: Path) -> Path:
    uv_venv = [sys.executable, "-m", "uv", "venv", "--quiet", "--python", sys.executable, str(location)]
    subprocess.run(uv_venv, check=True)
    return environment.venv_python(location)


def site_packages(python: Path) -> Path:
    return Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    )  # fmt: skip


def test_a_cached_observation_is_reused_only_while_the_environment_holds_the_same_packages(tmp_path):
    location, results = tmp_path / "env", tmp_path / "results"
    python = make_environment(location)
    held = environment.inventory(python)
    assert held.python == ".".join(map(str, sys.version_info[:3]))
    observation = audit._observation(PLAN, "ok", held=held)
    records.save(observation, results)

    assert audit.cached(PLAN, results, location) is not None
    assert audit.cached(PLAN, results) is not None, "without an environment the plan part decides"
    (site_packages(python) / "extra_dist-1.0.dist-info").mkdir()
    assert environment.inventory(python).distributions["extra-dist"] == "1.0"
    assert audit.cached(PLAN, results, location) is None, "one more installed distribution is a miss"
    assert audit.cached(PLAN, results, tmp_path / "missing") is None, "no environment, no hit"


def test_build_stamp_round_trips_and_matches_on_the_request_only(tmp_path):
    build = Build("uv", "/py39", "flask==1.0", "2018-04-27T20:13:58Z", "https://index.example/simple/", ["note"])
    assert environment.recorded_build(tmp_path) is None
    environment.record_build(tmp_path, build)
    stored = environment.recorded_build(tmp_path)
    assert stored == build
    assert stored.same_request(Build("uv", "/py39", "flask==1.0", "2018-04-27T20:13:58Z"))
    assert not stored.same_request(Build("uv", "/py39", "flask==1.0.1", "2018-04-27T20:13:58Z"))
    assert not stored.same_request(Build("pip", "/py39", "flask==1.0", "2018-04-27T20:13:58Z"))
    environment.forget_build(tmp_path)
    assert environment.recorded_build(tmp_path) is None
    (tmp_path / environment.BUILD_STAMP).write_text("{not json")
    assert environment.recorded_build(tmp_path) is None


def test_interpreter_versions_are_remembered_by_binary_identity(tmp_path):
    cache = tmp_path / "interpreters.json"
    found = interpreters.discover(cache)
    assert found == interpreters.discover(None)
    remembered = json.loads(cache.read_text())
    assert remembered and all("|" in identity for identity in remembered)
    # A remembered answer is used as is: the binaries were not asked again.
    cache.write_text(json.dumps({identity: [9, 9, 9] for identity in remembered}))
    assert {i.version for i in interpreters.discover(cache)} == {(9, 9, 9)}
    # A binary whose identity differs from the remembered one is asked again.
    cache.write_text(json.dumps({identity + "0": [9, 9, 9] for identity in remembered}))
    assert interpreters.discover(cache) == found

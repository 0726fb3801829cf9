"""The observation cache key, the reuse of filled environments, remembered interpreter versions."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from scripts.audit import cache, records
from scripts.audit import run as audit
from scripts.audit.harness import Settings
from scripts.audit.plan import plan
from scripts.packages import environments, interpreters
from scripts.packages.environments import Build, Inventory
from scripts.packages.interpreters import Interpreter
from tests.conftest import MACHINE, release, site_packages

PLAN = plan(release("1.0"), MACHINE)


def test_key_changes_with_the_installed_package_set_its_files_and_the_exact_python():
    held = Inventory("3.9.18", {"flask": "1.0", "werkzeug": "0.14.1", "pip": "23.0"}, {"flask": "a", "werkzeug": "b"})
    key = cache.cache_key(PLAN, held)
    assert key == cache.cache_key(PLAN, Inventory("3.9.18", dict(held.distributions), dict(held.digests)))
    assert key != cache.cache_key(PLAN, Inventory("3.9.18", {**held.distributions, "werkzeug": "0.14"}, held.digests))
    assert key != cache.cache_key(PLAN, Inventory("3.9.18", {**held.distributions, "pip": "24.0"}, held.digests))
    assert key != cache.cache_key(PLAN, Inventory("3.9.17", dict(held.distributions), held.digests))
    assert key != cache.cache_key(PLAN, Inventory("3.9.18", dict(held.distributions), {**held.digests, "flask": "c"}))
    assert key.split("-")[0] == cache.plan_key(PLAN)


def test_key_changes_with_the_settings_that_decide_an_observation():
    assert cache.plan_key(PLAN, Settings(negative_window=0.25)) != cache.plan_key(PLAN)
    assert cache.plan_key(PLAN, Settings(concurrent_requests=4)) != cache.plan_key(PLAN)
    assert cache.cache_key(PLAN, settings=Settings(negative_window=0.25)) != cache.cache_key(PLAN)
    assert cache.cache_key(PLAN).split("-")[0] == cache.plan_key(PLAN)
    assert re.fullmatch(r"[0-9a-f]{16}-[0-9a-f]{16}", cache.cache_key(PLAN)), "two 16-digit halves, as stored"


def test_key_changes_with_any_module_in_any_observing_folder(tmp_path):
    folders = []
    for name in ("probes", "audit", "packages"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "one.py").write_text("# one\n")
        folders.append(tmp_path / name)
    seen = {cache.plan_key(PLAN, folders=tuple(folders))}
    for folder in folders:
        (folder / "one.py").write_text(f"# changed in {folder.name}\n")
        seen.add(cache.plan_key(PLAN, folders=tuple(folders)))
        (folder / "added.py").write_text("# a new module\n")
        seen.add(cache.plan_key(PLAN, folders=tuple(folders)))
    assert len(seen) == 1 + 2 * len(folders)


def test_the_observing_folders_are_the_ones_the_audit_runs():
    names = {folder.relative_to(cache.ROOT).as_posix() for folder in cache.OBSERVING}
    assert names == {"probes", "scripts/audit", "scripts/packages", "scripts/common"}
    assert not {"scripts/report", "scripts/ci"} & names, "rendering and CI code do not decide an observation"


def make_environment(location: Path) -> Path:
    uv_venv = [sys.executable, "-m", "uv", "venv", "--quiet", "--python", sys.executable, str(location)]
    subprocess.run(uv_venv, check=True)
    return environments.venv_python(location)


EVERY_MODE = {mode: records.ModeObservation(call=mode, outcome="served") for mode in records.MODES}


def observed_here(location: Path, results: Path, held: Inventory) -> records.Observation:
    """A record saved as audit.run saves one, with this machine's key kept beside the environment."""
    observation = audit._observation(PLAN, "ok", held=held, modes=EVERY_MODE)
    records.save(observation, results)
    audit.confirm(location, observation)
    return observation


def test_a_cached_observation_is_reused_only_while_the_environment_holds_the_same_files(tmp_path):
    location, results = tmp_path / "env", tmp_path / "results"
    python = make_environment(location)
    held = environments.inventory(python)
    assert held.python == ".".join(map(str, sys.version_info[:3]))
    observed_here(location, results, held)

    assert audit.cached(PLAN, results, location) is not None
    assert audit.cached(PLAN, results, tmp_path / "elsewhere" / "env") is None, "a record this machine never observed"
    dist = site_packages(python) / "extra_dist-1.0.dist-info"
    dist.mkdir()
    (dist / "RECORD").write_text("extra_dist/__init__.py,sha256=one,0\n")
    assert environments.inventory(python).distributions["extra-dist"] == "1.0"
    assert audit.cached(PLAN, results, location) is None, "one more installed distribution is a miss"
    observed_here(location, results, environments.inventory(python))
    assert audit.cached(PLAN, results, location) is not None
    (dist / "RECORD").write_text("extra_dist/__init__.py,sha256=two,0\n")
    assert audit.cached(PLAN, results, location) is None, "the same version with other files is a miss"
    assert audit.cached(PLAN, results, tmp_path / "missing") is None, "no environment, no hit"


def test_what_an_environment_holds_is_read_again_whenever_its_files_may_have_changed(tmp_path, monkeypatch):
    location = tmp_path / "env"
    python = make_environment(location)
    asked: list[Path] = []
    real = environments.inventory
    monkeypatch.setattr(environments, "inventory", lambda p: asked.append(p) or real(p))
    packages = site_packages(python)
    dist = packages / "extra_dist-1.0.dist-info"
    dist.mkdir()
    (dist / "RECORD").write_text("extra_dist/__init__.py,sha256=one,0\n")

    fresh = environments.held(python)
    assert len(asked) == 1 and fresh.distributions["extra-dist"] == "1.0"
    assert not (location / environments.INVENTORY_STAMP).exists(), "files this recent are not vouched for"
    monkeypatch.setattr(environments, "RACY_SECONDS", -1.0)  # from here on, every file counts as old enough
    assert environments.held(python) == fresh and len(asked) == 2
    assert environments.held(python) == fresh and len(asked) == 2, "unchanged files: no interpreter started"

    changes = [
        lambda: (dist / "RECORD").write_text("extra_dist/__init__.py,sha256=two,0\n"),  # same size, new files
        lambda: (packages / "extra.pth").write_text("# a path file\n"),
        lambda: (packages / "extra.pth").write_text("# a path file, edited\n"),
        lambda: (packages / "sitecustomize.py").write_text("x = 1\n"),
        lambda: shutil.rmtree(dist),
        lambda: (location / "pyvenv.cfg").write_text((location / "pyvenv.cfg").read_text() + "\n"),
    ]
    for number, change in enumerate(changes, start=3):
        change()
        environments.held(python)
        assert len(asked) == number, f"change {number - 3} went unnoticed"
        environments.held(python)
        assert len(asked) == number, f"read again after change {number - 3} though nothing changed"
    assert "extra-dist" not in environments.held(python).distributions

    (location / environments.INVENTORY_STAMP).write_text("{damaged")
    assert environments.held(python).python == fresh.python and len(asked) == 9, "a damaged stamp is not trusted"
    stamp = json.loads((location / environments.INVENTORY_STAMP).read_text())
    (location / environments.INVENTORY_STAMP).write_text(json.dumps({**stamp, "mark": "0" * 64}))
    assert environments.held(python).python == fresh.python and len(asked) == 10, "a stamp of other files"
    (location / environments.INVENTORY_STAMP).write_text(json.dumps({**stamp, "python": 3}))
    assert environments.held(python).python == fresh.python and len(asked) == 11, "a stamp of another shape"


def test_an_environment_that_reads_folders_it_was_not_marked_for_is_never_stamped(tmp_path, monkeypatch):
    """A path file can add a site-packages folder elsewhere: what is read there is not what the mark covers."""
    monkeypatch.setattr(environments, "RACY_SECONDS", -1.0)
    python = make_environment(tmp_path / "env")
    stamp = tmp_path / "env" / environments.INVENTORY_STAMP
    environments.held(python)
    assert stamp.exists(), "an environment reading only its own site-packages is stamped"
    elsewhere = tmp_path / "other" / "site-packages"
    elsewhere.mkdir(parents=True)
    (site_packages(python) / "other.pth").write_text(f"{elsewhere}\n")
    assert str(elsewhere.resolve()) in environments.inventory(python).scanned
    environments.held(python)
    assert not stamp.exists()


def test_a_folder_a_path_file_names_is_read_once_it_exists(tmp_path, monkeypatch):
    """``site`` leaves out a named folder that does not exist yet; created later, it joins sys.path."""
    monkeypatch.setattr(environments, "RACY_SECONDS", -1.0)
    python = make_environment(tmp_path / "env")
    later = tmp_path / "later" / "site-packages"  # outside the environment: nothing in it changes when made
    (site_packages(python) / "later.pth").write_text(f"{later}\n")
    assert environments.held(python).scanned == environments.held(python).scanned
    assert (tmp_path / "env" / environments.INVENTORY_STAMP).exists()
    dist = later / "late_dist-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "RECORD").write_text("late_dist/__init__.py,sha256=x,0\n")
    found = environments.held(python)
    assert found.distributions.get("late-dist") == "1.0", "the new folder's distribution is read, not the stamp"


def test_build_stamp_round_trips_and_matches_on_the_request_only(tmp_path):
    index = environments.index_identity("https://someone:secret@index.example/simple/")
    build = Build("uv", "/py39", "flask==1.0", "2018-04-27T20:13:58Z", index, "files", ["note"])
    assert environments.recorded_build(tmp_path) is None
    environments.record_build(tmp_path, build)
    stored = environments.recorded_build(tmp_path)
    assert stored == build
    assert "secret" not in (tmp_path / environments.BUILD_STAMP).read_text(), "the stamp never holds the URL"
    assert stored.same_request(Build("uv", "/py39", "flask==1.0", "2018-04-27T20:13:58Z", index))
    assert not stored.same_request(replace(build, requirement="flask==1.0.1"))
    assert not stored.same_request(replace(build, installer="pip"))
    assert not stored.same_request(replace(build, index=environments.index_identity("file:///other/simple/")))
    environments.forget_build(tmp_path)
    assert environments.recorded_build(tmp_path) is None
    (tmp_path / environments.BUILD_STAMP).write_text("{not json")
    assert environments.recorded_build(tmp_path) is None


def test_interpreter_versions_are_remembered_by_binary_identity(tmp_path):
    remembered_at = tmp_path / "interpreters.json"
    found = interpreters.discover(remembered_at)
    assert found == interpreters.discover(None)
    remembered = json.loads(remembered_at.read_text())
    assert remembered and all("|" in identity for identity in remembered)
    # A remembered answer is used as is: the binaries were not asked again.
    remembered_at.write_text(json.dumps({identity: [3, 9, 99] for identity in remembered}))
    assert {i.version for i in interpreters.discover(remembered_at)} == {(3, 9, 99)}
    # A binary whose identity differs from the remembered one is asked again.
    remembered_at.write_text(json.dumps({identity + "0": [9, 9, 9] for identity in remembered}))
    assert interpreters.discover(remembered_at) == found
    remembered_at.write_text("{damaged")
    assert interpreters.discover(remembered_at) == found, "a damaged memory is asked again, not trusted"


@pytest.mark.parametrize(
    "changed",
    [
        lambda p: replace(p, release=replace(p.release, version="1.0.1")),
        lambda p: replace(p, interpreter=MACHINE[1]),
        lambda p: replace(p, release=replace(p.release, uploaded="2019-01-01T00:00:00Z")),  # another era
        lambda p: replace(p, interpreter=Interpreter((2, 7, 18), "/py27")),  # another installer too
    ],
    ids=["release", "interpreter", "era cut-off", "installer"],
)
def test_the_plan_key_changes_with_each_of_its_parts(changed):
    assert cache.plan_key(changed(PLAN)) != cache.plan_key(PLAN)


def test_the_plan_key_does_not_change_with_what_does_not_decide_an_observation():
    assert cache.plan_key(replace(PLAN, rule="reworded")) == cache.plan_key(PLAN)
    assert cache.plan_key(replace(PLAN, interpreter=Interpreter((3, 9, 18), "/elsewhere/py39"))) == cache.plan_key(PLAN)


def test_an_environment_is_reused_only_while_every_file_holds_the_bytes_it_was_filled_with(tmp_path):
    """The contents stamp: bytecode the interpreter writes is not a change; a byte changed, a file removed or
    added is, and the reason names it. Without a stamp (older code filled it) nothing is taken on trust."""
    location = tmp_path / "env"
    python = make_environment(location)
    site = site_packages(python)
    (site / "served.py").write_text("threaded = True\n")
    held = environments.inventory(python)
    wanted = Build("uv", "/py", "flask==1.0", None, "i", environments.files_identity(held))
    assert environments.stale(location, wanted, wanted, held) == "it holds no digest of the files it was filled with"
    environments.record_build(location, wanted)
    assert environments.recorded_build(location) == wanted
    assert environments.stale(location, wanted, wanted, held) is None
    subprocess.run([str(python), "-m", "py_compile", str(site / "served.py")], check=True)  # as an import writes it
    assert list((site / "__pycache__").glob("served.*.pyc"))
    assert environments.stale(location, wanted, wanted, held) is None, "bytecode is derived, not filled"
    relative = site.relative_to(location).as_posix()
    (site / "served.py").write_text("threaded = Frue\n")  # the same size
    assert environments.stale(location, wanted, wanted, held) == (
        f"its files differ from those it was filled with: changed {relative}/served.py"
    )
    (site / "served.py").unlink()
    for name in ("a", "b", "c", "d"):
        (site / f"{name}.pth").write_text("\n")
    assert environments.stale(location, wanted, wanted, held) == (
        f"its files differ from those it was filled with: removed {relative}/served.py; added {relative}/a.pth, "
        f"{relative}/b.pth, {relative}/c.pth and 1 more"
    )
    environments.forget_build(location)
    assert not (location / environments.CONTENTS_STAMP).exists()

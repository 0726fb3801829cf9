"""Old sdists against today's build tools: the retry with an older setuptools, and what each outcome says.

A local index holds real setuptools wheels (one older than 46, one current), and two small sdists
of the old kind whose setup.py imports ``setuptools.Feature`` (removed in setuptools 46), as
MarkupSafe 0.18-1.0 and Jinja2 2.4-2.5 do: one builds once setuptools<46 is used, one fails anyway.
"""

from __future__ import annotations

import functools
import shutil
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.common.processes import run
from scripts.grid.cells import CellSpec
from scripts.packages import environments
from scripts.packages.environments import InstallRequest, SetupFailed
from tests import local_index
from tests.conftest import MACHINE, QuietFiles, release, serving

pytestmark = pytest.mark.slow

NEEDS_FEATURE = "from setuptools import setup, Feature\n"


@pytest.fixture(scope="module", autouse=True)
def own_uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A uv cache of this module's own: what a build does must not depend on what the machine built before."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("UV_CACHE_DIR", str(tmp_path_factory.mktemp("uv-cache")))
        yield


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("builds")
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    wheels = [
        *local_index.download("setuptools==45.3.0", python, root / "old"),
        *local_index.download("setuptools", python, root / "new"),
        *local_index.download("wheel", python, root / "wheel"),
    ]
    fresh = f"# {root}\n"
    sdists = [
        local_index.legacy_sdist(
            "brittle", "1.0", fresh + NEEDS_FEATURE + "setup(name='brittle', version='1.0')\n", root
        ),
        local_index.legacy_sdist(
            "brittle", "2.0", fresh + NEEDS_FEATURE + "raise RuntimeError('brittle 2.0 cannot be built here')\n", root
        ),
    ]
    local_index.write_index([*wheels, *sdists], root / "index")
    return (root / "index" / "simple").as_uri() + "/"


def install(requirement: str, index_url: str, location: Path) -> list[str]:
    python = environments.create_uv_venv(sys.executable, location)
    return environments.uv_install(python, InstallRequest(requirement, index_url, None, datetime.now(UTC)))


def test_a_build_that_needs_old_setuptools_says_what_failed_and_how_it_was_built(index_url, tmp_path):
    changes = install("brittle==1.0", index_url, tmp_path / "env")
    assert changes == [
        "Failed to build `brittle==1.0`: ImportError: cannot import name 'Feature' from 'setuptools' "
        "(setuptools/__init__.py); built with setuptools<46 instead"
    ]


def test_an_install_that_needed_old_setuptools_says_so_every_time_though_uv_keeps_wheels(index_url, tmp_path):
    # The retry's wheel is kept apart from uv's own cache: the next install fails the same way first.
    first = install("brittle==1.0", index_url, tmp_path / "one")
    again = install("brittle==1.0", index_url, tmp_path / "two")
    assert first == again and again[0].endswith("; built with setuptools<46 instead")
    version = sys.version_info[:3]
    assert environments.build_cache(version, legacy=True).name.endswith("-setuptools-lt-46")
    assert environments.build_cache(version).parent == environments.build_cache(version, legacy=True).parent


def test_a_build_that_fails_with_old_setuptools_too_reports_the_retrys_own_error(index_url, tmp_path):
    with pytest.raises(SetupFailed) as failed:
        install("brittle==2.0", index_url, tmp_path / "env")
    assert failed.value.status == "install-failed"
    assert failed.value.detail == (
        "Failed to build `brittle==2.0`: RuntimeError: brittle 2.0 cannot be built here (with setuptools<46; "
        "without: Failed to build `brittle==2.0`: ImportError: cannot import name 'Feature' from 'setuptools' "
        "(setuptools/__init__.py))"
    )


class NoCachingHeaders(QuietFiles):
    """Serves files as the index this project meets does: with no ETag, Last-Modified or Cache-Control."""

    def send_header(self, keyword: str, value: str) -> None:
        if keyword.lower() not in ("etag", "last-modified", "cache-control"):
            super().send_header(keyword, value)


def builds(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if line.strip().startswith("Built ")]


def test_an_sdist_is_built_once_per_machine_from_an_index_that_sends_no_caching_headers(
    index_url, tmp_path, monkeypatch
):
    root = Path(index_url.removeprefix("file://")).parent
    sdist = local_index.legacy_sdist(
        "onceonly",
        "1.0",
        f"# {tmp_path}\nfrom setuptools import setup\nsetup(name='onceonly', version='1.0')\n",
        tmp_path / "sdist",
    )
    shutil.copy(sdist, root / "files")
    (root / "simple" / "onceonly").mkdir()
    (root / "simple" / "onceonly" / "index.html").write_text(f'<a href="../../files/{sdist.name}">{sdist.name}</a>\n')
    monkeypatch.setenv("UV_CACHE_DIR", str(tmp_path / "uv-cache"))  # empty: the first install must build
    with serving(functools.partial(NoCachingHeaders, directory=str(root))) as base:
        url = base + "simple/"
        # The cause, reproduced: named by --index-url, the index's files are revalidated and rebuilt each time.
        plain = []
        for attempt in ("plain-1", "plain-2"):
            python = environments.create_uv_venv(sys.executable, tmp_path / attempt)
            done = run(
                [*environments.uv_command(), "pip", "install", "--python", python, "--index-url", url, "onceonly==1.0"],
                300,
            )
            assert done.ok, done.output
            plain.append(builds(done.output))
        assert plain == [["Built onceonly==1.0"], ["Built onceonly==1.0"]]
        # The audit's installs: built the first time only, reused from then on (in a new environment).
        outputs: list[str] = []
        for attempt in ("audit-1", "audit-2", "audit-3"):
            python = environments.create_uv_venv(sys.executable, tmp_path / attempt)
            before = len(outputs)
            environments.uv_install(
                python, InstallRequest("onceonly==1.0", url, None, datetime.now(UTC)), outputs=outputs
            )
            assert len(outputs) == before + 1
    assert [builds(output) for output in outputs] == [["Built onceonly==1.0"], [], []]


def test_the_index_given_in_uv_variables_does_not_displace_the_configured_one(index_url, tmp_path, monkeypatch):
    # UV_DEFAULT_INDEX would win over the configuration file, and with it the rule that files never change.
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:9/simple/")
    monkeypatch.setenv("UV_INDEX_URL", "http://127.0.0.1:9/simple/")
    install("brittle==1.0", index_url, tmp_path / "env")  # the index in either variable would raise Unavailable


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:1/simple/", 'http://u:p"w\\d@127.0.0.1:1/s/', "http://127.0.0.1:1/\u00e9\U0001f600\x7f/"]
)
def test_the_index_configuration_names_any_url_exactly(url):
    import tomllib

    with environments.uv_index_config(url) as config:
        assert config.stat().st_mode & 0o077 == 0 or config.parent.stat().st_mode & 0o077 == 0
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    assert data["index"] == [{"url": url, "default": True, "cache-control": {"files": environments.IMMUTABLE_FILES}}]
    assert not config.parent.exists(), "the URL may hold credentials: the file is gone after the install"


def test_environments_thrown_away_after_one_start_are_installed_without_compiling(tmp_path):
    kept = InstallRequest("flask==3.1.3", "http://127.0.0.1:9/simple/", None, datetime.now(UTC))
    python, config, cache = tmp_path / "env" / "bin" / "python", tmp_path / "uv.toml", tmp_path / "cache"
    (tmp_path / "env").mkdir()
    assert "--compile-bytecode" in environments.uv_install_command(python, kept, config, cache, (3, 13, 0))
    assert "--compile-bytecode" not in environments.uv_install_command(python, kept, config, cache, (3, 6, 15))
    thrown = replace(kept, compiled=False)
    assert "--compile-bytecode" not in environments.uv_install_command(python, thrown, config, cache, (3, 13, 0))
    cell = CellSpec("era", release("3.1.3"), MACHINE[0], "3.13")
    assert cell.request("http://127.0.0.1:9/simple/", datetime.now(UTC)).compiled is False, "a grid cell is thrown away"


def test_the_import_check_is_steered_by_nothing_from_the_shell_or_the_working_folder(tmp_path, monkeypatch):
    """A ``flask`` on PYTHONPATH or in the working folder must not pass for the environment's Flask."""
    python = environments.create_uv_venv(sys.executable, tmp_path / "env")  # nothing installed in it
    impostor = tmp_path / "elsewhere"
    impostor.mkdir()
    (impostor / "flask.py").write_text("")
    monkeypatch.setenv("PYTHONPATH", str(impostor))
    monkeypatch.chdir(impostor)
    with pytest.raises(SetupFailed, match="No module named 'flask'"):
        environments.check_import(python)


def test_an_import_check_that_runs_out_of_time_is_the_machines_never_the_releases(tmp_path, monkeypatch):
    python = tmp_path / "env" / "bin" / "python"
    python.parent.mkdir(parents=True)
    python.symlink_to(sys.executable)
    (tmp_path / "env" / "flask.py").write_text("import time\ntime.sleep(30)\n")  # found first: the working folder
    monkeypatch.setattr(environments, "IMPORT_TIMEOUT", 0.5)
    with pytest.raises(environments.Unavailable, match=r"did not finish within 0\.5s"):
        environments.check_import(python)

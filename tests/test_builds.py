"""Old sdists against today's build tools: the retry with an older setuptools, and what each outcome says.

A local index holds real setuptools wheels (one older than 46, one current), and two small sdists
of the old kind whose setup.py imports ``setuptools.Feature`` (removed in setuptools 46), as
MarkupSafe 0.18-1.0 and Jinja2 2.4-2.5 do: one builds once setuptools<46 is used, one fails anyway.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from scripts.packages import environments
from scripts.packages.environments import InstallRequest, SetupFailed
from tests import local_index

pytestmark = pytest.mark.slow

NEEDS_FEATURE = "from setuptools import setup, Feature\n"


@pytest.fixture(scope="module")
def index_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("builds")
    python = f"{sys.version_info[0]}.{sys.version_info[1]}"
    wheels = [
        *local_index.download("setuptools==45.3.0", python, root / "old"),
        *local_index.download("setuptools", python, root / "new"),
        *local_index.download("wheel", python, root / "wheel"),
    ]
    # A comment naming this folder makes each sdist new to uv's cache: a wheel built by an earlier run
    # would otherwise be reused, and the first attempt would never fail.
    fresh = f"# {root}\n"
    sdists = [
        local_index.legacy_sdist(
            "brittle", "1.0", fresh + NEEDS_FEATURE + "setup(name='brittle', version='1.0')\n", root
        ),
        local_index.legacy_sdist(
            "brittle", "2.0", fresh + NEEDS_FEATURE + "raise RuntimeError('brittle 2.0 cannot be built here')\n", root
        ),
    ]
    return local_index.write_index([*wheels, *sdists], root / "index")


def install(requirement: str, index_url: str, location: Path) -> list[str]:
    python = environments.create_uv_venv(sys.executable, location)
    return environments.uv_install(python, InstallRequest(requirement, index_url, None, datetime.now(UTC)))


def test_a_build_that_needs_old_setuptools_says_what_failed_and_how_it_was_built(index_url, tmp_path):
    changes = install("brittle==1.0", index_url, tmp_path / "env")
    assert changes == [
        "Failed to build `brittle==1.0`: ImportError: cannot import name 'Feature' from 'setuptools'; "
        "built with setuptools<46 instead"
    ]


def test_a_build_that_fails_with_old_setuptools_too_reports_the_retrys_own_error(index_url, tmp_path):
    with pytest.raises(SetupFailed) as failed:
        install("brittle==2.0", index_url, tmp_path / "env")
    assert failed.value.status == "install-failed"
    assert failed.value.detail == (
        "Failed to build `brittle==2.0`: RuntimeError: brittle 2.0 cannot be built here (with setuptools<46; "
        "without: Failed to build `brittle==2.0`: ImportError: cannot import name 'Feature' from 'setuptools')"
    )

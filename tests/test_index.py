"""Index reading: configuration precedence, PEP 691 and PEP 503 pages, file:// and loopback indexes."""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.layout import ROOT
from scripts.packages import catalogue, index
from tests.conftest import noxfile_prints, serving

PEP503_PAGE = """<!DOCTYPE html><html><body>
<a href="../../files/Flask-0.1.tar.gz#sha256=00">Flask-0.1.tar.gz</a>
<a href="../../files/Flask-1.0-py2.py3-none-any.whl" data-requires-python="&gt;=2.7, !=3.0.*">wheel</a>
<a href="../../files/Flask-1.0.tar.gz" data-requires-python="&gt;=2.7, !=3.0.*">Flask-1.0.tar.gz</a>
<a href="../../files/Flask-2.0.0rc1-py3-none-any.whl">Flask-2.0.0rc1-py3-none-any.whl</a>
<a href="../../files/Flask-0.5-py2.6.egg">Flask-0.5-py2.6.egg</a>
<a href="../../files/Flask-0.6.tar.gz" data-yanked="">Flask-0.6.tar.gz</a>
</body></html>"""


def make_local_index(root: Path) -> str:
    (root / "simple" / "flask").mkdir(parents=True)
    (root / "simple" / "flask" / "index.html").write_text(PEP503_PAGE)
    return (root / "simple").as_uri() + "/"


def test_explicit_index_wins_over_environment(monkeypatch):
    monkeypatch.setenv("UV_DEFAULT_INDEX", "http://127.0.0.1:1/uv/")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:1/pip/")
    assert index.configured_index_url("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x/"
    assert index.configured_index_url() == "http://127.0.0.1:1/uv/"
    monkeypatch.delenv("UV_DEFAULT_INDEX")
    assert index.configured_index_url() == "http://127.0.0.1:1/pip/"


def test_without_configuration_the_tools_default_is_used(monkeypatch, tmp_path):
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.setattr(index, "_pip_configured_index", lambda: None)
    monkeypatch.setattr(index, "_uv_configured_index", lambda: None)
    from pip._internal.models.index import PyPI

    assert index.configured_index_url() == PyPI.simple_url + "/"


def test_uv_toml_default_index_is_read(monkeypatch, tmp_path):
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "uv").mkdir()
    (tmp_path / "uv" / "uv.toml").write_text('[[index]]\nurl = "http://127.0.0.1:7/simple"\ndefault = true\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert index.configured_index_url() == "http://127.0.0.1:7/simple/"


def test_pep503_file_index_is_parsed_into_releases(tmp_path):
    url = make_local_index(tmp_path)
    releases = {r.version: r for r in catalogue.fetch(url)}
    assert list(releases) == ["0.1", "0.5", "0.6", "1.0", "2.0.0rc1"]
    assert releases["1.0"].requires_python == ">=2.7, !=3.0.*"
    assert releases["1.0"].uploaded is None, "a PEP 503 page has no upload dates"
    assert releases["0.5"].installable is False, "an egg is not installable by pip or uv"
    assert releases["0.6"].yanked and not releases["0.6"].installable
    assert releases["2.0.0rc1"].prerelease
    assert [r.version for r in catalogue.audited(list(releases.values()))] == ["0.1", "0.5", "0.6", "1.0"]


def test_missing_file_index_names_the_url(tmp_path):
    with pytest.raises(index.IndexUnavailable, match="cannot read the index page"):
        index.project_files("flask", (tmp_path / "nothing").as_uri())


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/simple/flask/":
            self.send_error(404)
            return
        if "json" in self.headers.get("Accept", ""):
            body = json.dumps(
                {
                    "meta": {"api-version": "1.1"},
                    "name": "flask",
                    "files": [
                        {
                            "filename": "Flask-1.0.tar.gz",
                            "url": "../../files/Flask-1.0.tar.gz",
                            "hashes": {},
                            "requires-python": ">=3.6",
                            "upload-time": "2018-04-26T20:13:58.123Z",
                            "yanked": False,
                        }
                    ],
                }
            ).encode()
            content_type = index.PEP691_JSON
        else:
            body, content_type = PEP503_PAGE.encode(), "text/html"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def loopback_index():
    with serving(_Handler) as url:
        yield url + "simple/"


def test_pep691_json_gives_upload_times_and_absolute_urls(loopback_index):
    (file,) = index.project_files("Flask", loopback_index)
    assert file.upload_time is not None and file.upload_time.isoformat().startswith("2018-04-26T20:13:58")
    assert file.url == loopback_index.replace("simple/", "files/Flask-1.0.tar.gz")
    (release,) = catalogue.fetch(loopback_index)
    assert release.released == "2018-04-26"


def test_unknown_project_is_a_clear_error(loopback_index):
    with pytest.raises(index.IndexUnavailable, match="has no project 'nope'"):
        index.project_files("nope", loopback_index)


def test_unreachable_index_is_a_clear_error():
    with pytest.raises(index.IndexUnavailable, match="cannot reach the index"):
        index.project_files("flask", "http://127.0.0.1:9/simple/", timeout=2)


def test_the_configured_index_is_handed_down_to_child_processes_once(monkeypatch):
    for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL", "PIP_INDEX_URL", index.HANDED_DOWN):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(index, "_uv_configured_index", lambda: "http://127.0.0.1:7/configured")
    index.hand_down_configured_index()
    assert os.environ[index.HANDED_DOWN] == "http://127.0.0.1:7/configured/"

    def asked() -> str:
        raise AssertionError("a child asked the configuration files again")

    # What a child process sees: the answer, without asking uv's or pip's configuration.
    monkeypatch.setattr(index, "_uv_configured_index", asked)
    monkeypatch.setattr(index, "_pip_configured_index", asked)
    child = subprocess.run(
        [sys.executable, "-c", "from scripts.packages import index; print(index.configured_index_url())"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull, "XDG_CONFIG_HOME": "/nonexistent"},
        timeout=60,
        check=True,
    )
    assert child.stdout.strip() == "http://127.0.0.1:7/configured/"
    assert index.configured_index_url() == "http://127.0.0.1:7/configured/"
    # The settings that always won still win over what was handed down.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:8/pip")
    assert index.configured_index_url() == "http://127.0.0.1:8/pip/"
    assert index.configured_index_url("http://127.0.0.1:9/x") == "http://127.0.0.1:9/x/"


def test_nothing_is_handed_down_when_no_index_can_be_found(monkeypatch):
    monkeypatch.delenv(index.HANDED_DOWN, raising=False)

    def unavailable() -> str:
        raise index.IndexUnavailable("no index configured and no pip")

    monkeypatch.setattr(index, "_from_configuration", unavailable)
    index.hand_down_configured_index()
    assert index.HANDED_DOWN not in os.environ


@pytest.mark.parametrize(
    ("argv", "children"),
    [
        (["nox", "-s", "audit"], False),
        (["nox", "-j", "2", "-s", "audit"], True),
        (["nox", "-j2", "-s", "audit"], True),
        (["nox", "--parallel=auto", "-s", "audit"], True),
        (["nox", "--parallel", "1", "-s", "audit"], False),
        (["nox", "-s", "observe(1.0)", "--parallel-worker", "--parallel", "1"], False),
    ],
)
def test_the_noxfile_hands_the_index_down_only_when_it_starts_child_sessions(argv, children):
    program = f"print(noxfile._runs_sessions_in_children({argv!r}))"
    assert noxfile_prints(program, ("NOX_PARALLEL",)) == str(children)

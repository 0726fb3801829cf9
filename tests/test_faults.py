"""Faults of the index, the machine and the options never become a release's record.

Each test injects one fault the way it happens to a user (a dead, hanging or partial index, two
indexes holding the same version, a bad option, credentials in a URL, a missing or corrupt file,
a signal during an install, a damaged environment) and checks that the run fails with one line
naming the cause, that every record stays byte for byte as it was, and that no process is left.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from filelock import FileLock

from scripts.audit import records
from scripts.audit import run as audit
from scripts.audit.plan import plan
from scripts.audit.records import ModeObservation, Observation
from scripts.ci import regression, verdict
from scripts.common.failures import redact
from scripts.common.jsonio import DataError, WriteFailed, write_text_atomic
from scripts.layout import REPO, ROOT, Layout, release_file
from scripts.packages import catalogue, environments, index, interpreters
from scripts.packages.environments import Unavailable
from scripts.report import pages
from tests import local_index
from tests.conftest import MACHINE, processes_running, release, serving
from tests.test_options import BAD_AUDIT_OPTIONS
from tests.test_render import observed

NEWEST = "3.1.3"
#: pip's words for an index that holds no release at all of a project the release needs.
PIP_NONE = (
    "ERROR: Could not find a version that satisfies the requirement Werkzeug>=0.7 (from versions: none)\n"
    "ERROR: No matching distribution found for Werkzeug>=0.7"
)
PY2 = "0.9"
DEAD = "http://127.0.0.1:9/simple/"


def nox(*args: str, cwd: Path = ROOT, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "nox", *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
    )


def copy_records(output: Path) -> dict[str, bytes]:
    """The committed records copied under ``output``; returns every file's bytes, to compare after."""
    shutil.copytree(REPO.results, Layout(output).results)
    return snapshot(output)


def snapshot(output: Path) -> dict[str, bytes]:
    """Every file under ``output`` (the render lock, an empty file that is never data, left out)."""
    found = sorted(p for p in output.rglob("*") if p.is_file() and p.name != ".render.lock")
    return {str(p.relative_to(output)): p.read_bytes() for p in found}


def aborted_line(done: subprocess.CompletedProcess[str], session: str) -> str:
    lines = [line for line in done.stderr.splitlines() if f"Session {session} aborted:" in line]
    assert lines, done.stderr[-3000:]
    return lines[0]


# -- the index ------------------------------------------------------------------------------------------


def test_a_dead_index_fails_the_session_and_leaves_every_record_as_it_was(tmp_path):
    before = copy_records(tmp_path / "out")
    done = nox(
        "--envdir", str(tmp_path / "envs"), "-s", f"observe({NEWEST})", f"observe({PY2})",
        "--", "--index-url", DEAD, "--output", str(tmp_path / "out"),
    )  # fmt: skip
    assert done.returncode != 0
    for session in (f"observe({NEWEST})", f"observe({PY2})"):
        line = aborted_line(done, session)
        assert "cannot reach the index at http://127.0.0.1:9/simple/flask/: Connection refused" in line
        assert "nothing was recorded" in line
    assert snapshot(tmp_path / "out") == before


def hanging(let_go: threading.Event) -> type[http.server.BaseHTTPRequestHandler]:
    """A handler that accepts every connection and never answers, until ``let_go`` is set."""

    class Hanging(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            let_go.wait(60)

        def log_message(self, *args: object) -> None:
            pass

    return Hanging


def test_a_hanging_index_fails_within_its_bound(tmp_path):
    before = copy_records(tmp_path / "out")
    let_go = threading.Event()
    with serving(hanging(let_go)) as url:
        started = time.monotonic()
        done = nox(
            "--envdir", str(tmp_path / "envs"), "-s", f"observe({NEWEST})",
            "--", "--index-url", url + "simple/", "--output", str(tmp_path / "out"),
        )  # fmt: skip
        took = time.monotonic() - started
        let_go.set()
    assert done.returncode != 0
    assert f"did not answer within {audit.PREFLIGHT_SECONDS:g}s" in aborted_line(done, f"observe({NEWEST})")
    assert took < audit.PREFLIGHT_SECONDS + 30
    assert snapshot(tmp_path / "out") == before


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        ("error: Request failed after 3 retries\n  cause: Failed to fetch: `x`\n", "could not be reached"),
        (
            "error: No solution found when resolving dependencies\n  cause: Because flask was not found in the "
            "package registry and you require flask==3.1.3, we can conclude that your requirements are unsatisfiable.",
            "does not hold flask",
        ),
        (
            "WARNING: Retrying (Retry(total=0)) after connection broken by 'NewConnectionError(...)': /simple/flask/\n"
            "ERROR: No matching distribution found for flask==3.1.3",
            "could not be reached",
        ),
        (
            "error: No solution found when resolving dependencies\n  cause: Because werkzeug was not found in the "
            "package registry and flask==3.1.3 depends on werkzeug>=3.1, we can conclude that flask==3.1.3 cannot be "
            "used.",
            "does not hold werkzeug",
        ),
        (PIP_NONE, "does not hold Werkzeug>=0.7"),
        # pip 20 on Python 2.7: a file the index listed failed to download; its last line blames nobody.
        (
            "Collecting Werkzeug>=0.7\n  ERROR: HTTP error 503 while getting http://127.0.0.1:1/files/Werkzeug-0.9.tar.gz"
            "\nERROR: Could not install requirement Werkzeug>=0.7 because of HTTP error 503 Server Error",
            "the package index failed the installer: ERROR: HTTP error 503 while getting",
        ),
        (
            "ERROR: Could not install packages due to an EnvironmentError: HTTPConnectionPool(host='127.0.0.1', "
            "port=1): Max retries exceeded with url: /files/Jinja2-2.4.tar.gz",
            "due to an EnvironmentError",
        ),
    ],
)
def test_installer_output_that_blames_the_index_is_not_the_release(output, reason):
    request = environments.InstallRequest("flask==3.1.3", DEAD, None, audit.now())
    done = environments.Finished(["uv"], 2, output, "", 900)
    failure = environments._install_failed(done, request, "x")
    assert isinstance(failure, Unavailable) and reason in str(failure)


#: What uv 0.13 and Python 2.7's pip 20.3 said here of files cut short or altered after the index listed them.
DAMAGED_DOWNLOADS = {
    "uv, a wheel cut short": (
        "error: No solution found when resolving dependencies\n  cause: Because werkzeug==3.1.9 has an invalid "
        "package format and all versions of flask depend on werkzeug==3.1.9, we can conclude that all versions of "
        "flask cannot be used.\n\nhint: The structure of `werkzeug` (v3.1.9) was invalid:\n  Failed to read from "
        "zip file"
    ),
    "uv, a wheel altered inside": (
        "error: Failed to download `werkzeug==3.1.9`\n  cause: Failed to extract archive: "
        "werkzeug-3.1.9-py3-none-any.whl\n  cause: I/O operation failed during extraction\n  cause: deflate "
        "decompression error: repeated call with bad state"
    ),
    "uv, an sdist cut short": (
        "  cause: Failed to extract archive: tinypkg==1.0\n  cause: Invalid tar file\n  cause: at byte 262: failed "
        "to read tar data\n  cause: unexpected end of file"
    ),
    "pip 20, a hash that does not match": (
        "ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE. If you have updated the package "
        "versions, please update the hashes.\n    tinypkg==1.0 from file:///i/files/tinypkg-1.0-py2-none-any.whl"
        "#sha256=5cff:\n        Expected sha256 5cff\n             Got        f91b"
    ),
    "pip 20, a wheel cut short": (
        '  File "/py27/lib/python2.7/zipfile.py", line 834, in _RealGetContents\n    raise BadZipfile, "File is not '
        'a zip file"\nBadZipfile: File is not a zip file'
    ),
    "pip 20, an sdist cut short": (
        '  File "/py27/lib/python2.7/tarfile.py", line 1751, in gzopen\n    raise ReadError("not a gzip file")\n'
        "ReadError: not a gzip file"
    ),
}


@pytest.mark.parametrize("output", DAMAGED_DOWNLOADS.values(), ids=DAMAGED_DOWNLOADS.keys())
def test_a_damaged_download_is_the_indexs_fault_never_the_releases(output):
    request = environments.InstallRequest(
        "flask==3.1.3", "http://user:secret@mirror.invalid/simple/", None, audit.now()
    )
    failure = environments._install_failed(environments.Finished(["uv"], 1, output, "", 900), request, "x")
    assert isinstance(failure, Unavailable), failure
    assert "a file downloaded from the index at http://***@mirror.invalid/simple/ is damaged (" in str(failure)
    assert "secret" not in str(failure) and "nothing was recorded" in str(failure)


def test_a_wheel_whose_own_structure_is_wrong_is_still_the_releases():
    """uv's "invalid package format" names the release when the archive reads but what it holds is wrong."""
    output = DAMAGED_DOWNLOADS["uv, a wheel cut short"].replace(
        "Failed to read from zip file", "The .dist-info directory werkzeug-3.1.9 does not start with the normalized"
    )
    request = environments.InstallRequest("flask==3.1.3", DEAD, None, audit.now())
    failure = environments._install_failed(environments.Finished(["uv"], 1, output, "", 900), request, "x")
    assert isinstance(failure, environments.SetupFailed) and failure.status == "install-failed"


@pytest.mark.slow
@pytest.mark.parametrize("cut", ["in half", "in half, hash listed", "altered, hash listed"])
def test_an_index_serving_damaged_files_fails_the_install_and_names_the_index(wheels, tmp_path, cut):
    """A local index whose Werkzeug wheel is cut short or altered (its hash in the listing, or none): uv's install
    is the index's failure, never the release's record."""
    url = local_index.write_index(wheels, tmp_path / "index")
    wheel = next((tmp_path / "index" / "files").glob("werkzeug-*.whl"))
    good = wheel.read_bytes()
    if "hash" in cut:
        page = tmp_path / "index" / "simple" / "werkzeug" / "index.html"
        listed = f"../../files/{wheel.name}"
        page.write_text(page.read_text().replace(listed, f"{listed}#sha256={hashlib.sha256(good).hexdigest()}"))
    third = len(good) // 3
    damaged = (
        good[: len(good) // 2]
        if "half" in cut
        else good[:third] + bytes(b ^ 0xFF for b in good[third : third + 200]) + good[third + 200 :]
    )
    wheel.write_bytes(damaged)
    interpreter = plan(release("9.9.9", ">=3.9", uploaded=None), interpreters.discover()).interpreter
    assert interpreter is not None
    request = environments.InstallRequest("flask", url, None, audit.now())
    with pytest.raises(Unavailable, match=r"a file downloaded from the index at file://.* is damaged \(") as raised:
        environments.fill(interpreter, tmp_path / "env", request)
    assert "nothing was recorded" in str(raised.value)


@pytest.mark.parametrize(
    "output",
    [
        "  × Failed to build `markupsafe==1.0`\n  ╰─▶ The build backend returned an error\n",
        "error: No solution found when resolving dependencies\n  cause: Because there is no version of "
        "werkzeug>=3.0 and flask==3.1.3 depends on werkzeug>=3.0, we can conclude that flask==3.1.3 cannot be used.",
        "ERROR: Command errored out with exit status 1: python setup.py egg_info Check the logs for full output.",
    ],
)
def test_a_resolution_or_build_failure_is_the_releases_own(output):
    request = environments.InstallRequest("flask==3.1.3", DEAD, None, audit.now())
    failure = environments._install_failed(environments.Finished(["uv"], 1, output, "", 900), request, "x")
    assert isinstance(failure, environments.SetupFailed) and failure.status == "install-failed"


def test_an_installer_that_runs_out_of_time_is_not_the_release():
    request = environments.InstallRequest("flask==3.1.3", DEAD, None, audit.now())
    failure = environments._install_failed(environments.Finished(["uv"], None, "", "", 900), request, "x")
    assert isinstance(failure, Unavailable) and "did not finish within 900s" in str(failure)


@pytest.mark.slow
@pytest.mark.parametrize("order", ["unchanged first", "flipped first"])
def test_two_indexes_holding_the_same_version_each_get_their_own_environment(wheels, tmp_path, order):
    same = local_index.fake_index(wheels, tmp_path / "same", "9.9.9", flip=False)
    flipped = local_index.fake_index(wheels, tmp_path / "flipped", "9.9.9", flip=True)
    output = tmp_path / "project"
    copy_records(output)
    shutil.copy(REPO.releases, Layout(output).releases)
    runs = [(same, 0), (flipped, 1)] if order == "unchanged first" else [(flipped, 1), (same, 0)]
    for url, expected in runs:
        done = subprocess.run(
            [sys.executable, "-m", "scripts.ci.regression", "--index-url", url, "--output", str(output),
             "--envs", str(tmp_path / "envs")],
            cwd=ROOT, capture_output=True, text=True, timeout=900, check=False,
        )  # fmt: skip
        assert done.returncode == expected, (url, done.stdout[-3000:])
        flip_seen = "Flask 9.9.9, `app.run()`: concurrent, threads" in done.stdout
        assert flip_seen == (expected == 1)
    assert processes_running(str(tmp_path)) == []


# -- options and credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "says"), BAD_AUDIT_OPTIONS)
def test_a_bad_option_fails_before_anything_starts(tmp_path, option, says):
    before = copy_records(tmp_path / "out")
    done = nox("-s", f"observe({NEWEST})", "--", "--force", *option, "--output", str(tmp_path / "out"))
    assert done.returncode != 0 and says in aborted_line(done, f"observe({NEWEST})")
    assert snapshot(tmp_path / "out") == before


def test_credentials_in_an_index_url_are_never_printed_or_written(tmp_path):
    before = copy_records(tmp_path / "out")
    secret = "http://someone:s3cr3t-token@127.0.0.1:9/simple/"
    done = nox("--envdir", str(tmp_path / "envs"), "-s", f"observe({PY2})", "--", "--index-url", secret,
               "--output", str(tmp_path / "out"))  # fmt: skip
    assert done.returncode != 0
    assert "s3cr3t" not in done.stdout + done.stderr and "http://***@127.0.0.1:9/" in done.stderr
    assert snapshot(tmp_path / "out") == before
    assert not any(b"s3cr3t" in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    assert (
        redact("uv pip install --index-url https://u:p@host/simple/ x")
        == "uv pip install --index-url https://***@host/simple/ x"
    )


# -- the catalogue and the records -----------------------------------------------------------------------


@pytest.fixture
def project(tmp_path) -> Path:
    """A copy of the project's code, catalogue and records, to damage freely."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("noxfile.py", "pyproject.toml", "scripts", "probes", "requirements", "reports"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy)(source, root / name)
    return root


@pytest.mark.parametrize("damage", ["missing", "corrupt", "not a catalogue"])
def test_a_missing_or_corrupt_catalogue_says_to_run_the_catalogue_session(project, damage):
    releases = Layout(project).releases
    if damage == "missing":
        releases.unlink()
    else:
        releases.write_text('{"releases": [' if damage == "corrupt" else '{"versions": []}')
    before = snapshot(project / "reports")
    listed = nox("-l", cwd=project)
    assert listed.returncode == 0, "listing the sessions still works"
    assert f"nox > {releases}" in listed.stderr and "run `nox -s catalogue`" in listed.stderr, "and says what is wrong"
    done = nox("-s", "audit", cwd=project)
    assert done.returncode != 0
    line = aborted_line(done, "observe")
    assert str(releases) in line and "run `nox -s catalogue`" in line
    assert snapshot(project / "reports") == before


def one_release_index(root: Path) -> str:
    """A file:// index listing one Flask release and one Werkzeug release (names only)."""
    for project, filename in (
        ("flask", "flask-3.1.3-py3-none-any.whl"),
        ("werkzeug", "werkzeug-3.1.3-py3-none-any.whl"),
    ):
        (root / "simple" / project).mkdir(parents=True)
        (root / "simple" / project / "index.html").write_text(f'<a href="{filename}">{filename}</a>')
    return (root / "simple").as_uri() + "/"


def test_a_refresh_that_would_drop_known_releases_is_refused_unless_asked(tmp_path):
    layout = Layout(tmp_path)
    shutil.copytree(REPO.reports, layout.reports, ignore=shutil.ignore_patterns("results", "grid"))
    before = layout.releases.read_bytes()
    url = one_release_index(tmp_path / "index")
    with pytest.raises(catalogue.CatalogueShrinks, match=r"lacks \d+ the catalogue has"):
        catalogue.refresh(catalogue.RefreshOptions(url, allow_shrink=False), layout)
    assert layout.releases.read_bytes() == before
    assert catalogue.refresh(catalogue.RefreshOptions(url, allow_shrink=True), layout) == (1, 1)
    layout.releases.write_text("{damaged")
    assert catalogue.refresh(catalogue.RefreshOptions(url, allow_shrink=False), layout) == (1, 1), (
        "a corrupt catalogue is what a refresh repairs"
    )


def test_rendering_refuses_a_report_that_would_drop_records(tmp_path):
    layout = Layout(tmp_path)
    shutil.copytree(REPO.results, layout.results)
    catalogue.save(catalogue.load(REPO.releases)[:10], layout.releases)
    with pytest.raises(pages.RenderRefused, match="lists no release for"):
        pages.write_report(layout, layout.releases)
    assert not layout.matrix_page.exists() and not layout.answer_page.exists()


def test_a_corrupt_record_fails_its_own_session_and_rendering_names_it(tmp_path):
    out = tmp_path / "out"
    copy_records(out)
    damaged = release_file(Layout(out).results, NEWEST)
    damaged.write_text(damaged.read_text()[:300])
    before = damaged.read_bytes()
    done = nox("--envdir", str(tmp_path / "envs"), "-s", f"observe({NEWEST})", f"observe({PY2})", "render",
               "--", "--output", str(out))  # fmt: skip
    assert done.returncode != 0
    assert f"{damaged}: is not valid JSON" in aborted_line(done, f"observe({NEWEST})")
    assert "Session observe(0.9) was successful" in done.stderr, "the other releases are not held up"
    render = aborted_line(done, "render")
    assert "1 record(s) cannot be read" in render and str(damaged) in render and "left as they were" in render
    assert damaged.read_bytes() == before
    assert not Layout(out).matrix_page.exists() and not Layout(out).answer_page.exists()


def test_the_alarm_exits_2_not_1_on_a_corrupt_baseline(tmp_path, monkeypatch):
    layout = Layout(tmp_path)
    shutil.copytree(REPO.results, layout.results)
    (layout.results / "flask-1.0.json").write_text("{")
    monkeypatch.setattr(catalogue, "fetch", lambda url: [release("1.0"), release("9.9.9")])
    outcome = regression.check(regression.Options(index_url=DEAD, output=layout))
    assert outcome.code == verdict.UNAVAILABLE
    assert "flask-1.0.json: is not valid JSON" in outcome.last_line


def test_a_record_of_an_earlier_schema_is_observed_again_not_an_error(tmp_path):
    path = records.save(observed("1.0", True, "2018-04-26"), tmp_path)
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 1}))
    assert audit.cached(plan(release("1.0"), MACHINE), tmp_path, tmp_path / "env") is None
    with pytest.raises(records.EarlierSchema):
        records.load(path)


# -- modes ---------------------------------------------------------------------------------------------


def served(concurrent: bool) -> ModeObservation:
    return ModeObservation(call="x", outcome="served", concurrent=concurrent, max_in_flight=5 if concurrent else 1)


def test_a_run_of_some_modes_merges_into_the_record_made_under_the_same_key(tmp_path):
    full = Observation(
        "1.0", "2018-04-26", "ok", cache_key="k", modes={"default": served(True), "threaded": served(True)}
    )
    some = Observation("1.0", "2018-04-26", "ok", cache_key="k", modes={"threaded": served(False)})
    merged = audit._merged(some, full, "k")
    assert set(merged.modes) == {"default", "threaded"} and merged.modes["threaded"].concurrent is False
    other = Observation("1.0", "2018-04-26", "ok", cache_key="other", modes={"threaded": served(False)})
    with pytest.raises(audit.NotRecorded, match="observed under another key"):
        audit._merged(other, full, "k")
    with pytest.raises(audit.NotRecorded, match="or on another machine"):
        audit._merged(some, full, None)  # a record this machine never observed (a fresh clone's)


def test_a_record_with_fewer_modes_than_asked_for_is_not_a_cache_hit(tmp_path):
    chosen = plan(release("1.0"), MACHINE)
    stored = audit._observation(chosen, "ok", modes={"default": served(True)})
    records.save(stored, tmp_path)
    location = tmp_path / "env"  # never made: nothing installed, as the stored key says
    audit.confirm(location, stored)
    assert audit.cached(chosen, tmp_path, location, options=audit.Options(modes=("default",))) is not None
    assert audit.cached(chosen, tmp_path, location) is None


# -- the machine ---------------------------------------------------------------------------------------


def test_files_are_written_with_the_umask_mode(tmp_path):
    previous = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "page.md", "x")
        assert stat.S_IMODE((tmp_path / "page.md").stat().st_mode) == 0o644
        os.umask(0o077)
        write_text_atomic(tmp_path / "private.md", "x")
        assert stat.S_IMODE((tmp_path / "private.md").stat().st_mode) == 0o600
    finally:
        os.umask(previous)


def test_an_older_python_stops_at_once_saying_so():
    older = next((i for i in interpreters.discover() if i.version[:2] == (3, 10)), None)
    if older is None:
        pytest.skip("no Python 3.10 here")
    done = subprocess.run([older.path, "-m", "scripts.ci.regression"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().startswith("This project's tooling needs Python 3.11 or newer; this is Python 3.10.")


def hanging_files(let_go: threading.Event) -> type[http.server.BaseHTTPRequestHandler]:
    """A handler that lists one Flask wheel (PEP 691, with its upload time), then never sends it: the
    installer is caught mid-download."""
    name = f"flask-{NEWEST}-py3-none-any.whl"
    uploaded = next(r.uploaded for r in catalogue.load(REPO.releases) if r.version == NEWEST)
    listing = {
        "meta": {"api-version": "1.1"},
        "name": "flask",
        "files": [{"filename": name, "url": f"/files/{name}", "hashes": {}, "upload-time": uploaded}],
    }

    class HangingFiles(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/simple/"):
                body = json.dumps(listing).encode()
                self.send_response(200)
                self.send_header("Content-Type", index.PEP691_JSON)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                let_go.wait(120)

        def log_message(self, *args: object) -> None:
            pass

    return HangingFiles


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_stopping_nox_during_an_install_leaves_no_installer_behind(tmp_path, sig):
    envdir = tmp_path / "envs"
    let_go = threading.Event()
    with serving(hanging_files(let_go)) as url:
        nox_process = subprocess.Popen(
            [sys.executable, "-m", "nox", "--envdir", str(envdir), "-s", f"observe({NEWEST})",
             "--", "--index-url", url + "simple/", "--output", str(tmp_path / "out")],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 120
            while not any("pip install" in line for line in processes_running(str(envdir))):
                assert time.monotonic() < deadline and nox_process.poll() is None, "uv never started"
                time.sleep(0.1)  # polling for the installer to start; not a verdict
            nox_process.send_signal(sig)
            nox_process.wait(timeout=60)
            deadline = time.monotonic() + 10
            while processes_running(str(envdir)) and time.monotonic() < deadline:
                time.sleep(0.1)  # the kernel delivers the parent-death signal asynchronously
            assert processes_running(str(envdir)) == []
        finally:
            let_go.set()
            if nox_process.poll() is None:
                nox_process.kill()
    assert not release_file(Layout(tmp_path / "out").results, NEWEST).exists()


@pytest.mark.slow
def test_a_damaged_environment_is_made_again_not_recorded_as_the_releases_failure(tmp_path):
    chosen = plan(next(r for r in catalogue.load(REPO.releases) if r.version == NEWEST), interpreters.discover())
    if chosen.interpreter is None:
        pytest.skip(f"no interpreter for Flask {NEWEST} here")
    options = audit.Options(output=Layout(tmp_path), modes=("default",))
    location = tmp_path / "env"
    assert audit.run(chosen, location, options, log=lambda line: None).status == "ok"
    site = next(location.glob("lib/python*/site-packages"))
    shutil.rmtree(site / "flask")
    lines: list[str] = []
    observation = audit.run(chosen, location, options, log=lines.append)
    assert observation.status == "ok", observation.detail
    assert any(line.startswith(f"rebuilding {location}: its files differ from those it was filled with: removed ")
               for line in lines), lines  # fmt: skip


def _delete_serving(site: Path) -> str:
    (site / "werkzeug" / "serving.py").unlink()
    return "removed "


def _serve_one_at_a_time(site: Path) -> str:
    """The issue's edit: run_simple made to ignore threaded, one line, the size and the lists unchanged."""
    serving_py = site / "werkzeug" / "serving.py"
    text = serving_py.read_text()
    head, signature, rest = text.partition("def run_simple(")
    body_start = rest.index('"""', rest.index('"""') + 3) + 3
    serving_py.write_text(head + signature + rest[:body_start] + "\n    threaded = False" + rest[body_start:])
    return "changed "


def _add_a_module(site: Path) -> str:
    (site / "werkzeug" / "_extra.py").write_text("x = 1\n")
    return "added "


@pytest.mark.slow
@pytest.mark.parametrize("damage", [_delete_serving, _serve_one_at_a_time, _add_a_module], ids=lambda f: f.__name__)
def test_an_environment_whose_files_differ_from_its_fill_is_made_again_before_it_is_observed(tmp_path, damage):
    """A file deleted, changed or added inside a kept environment: --force observes a fresh one, and says why."""
    chosen = plan(next(r for r in catalogue.load(REPO.releases) if r.version == NEWEST), interpreters.discover())
    if chosen.interpreter is None:
        pytest.skip(f"no interpreter for Flask {NEWEST} here")
    options = audit.Options(output=Layout(tmp_path), modes=("default",), force=True)
    location = tmp_path / "env"
    first = audit.run(chosen, location, options, log=lambda line: None)
    assert first.status == "ok" and first.modes["default"].concurrent is True
    site = next(location.glob("lib/python*/site-packages"))
    said = damage(site)
    lines: list[str] = []
    again = audit.run(chosen, location, options, log=lines.append)
    assert again.status == "ok" and again.modes["default"].concurrent is True, again.modes
    rebuilt = [line for line in lines if line.startswith(f"rebuilding {location}: its files differ")]
    assert rebuilt and f"{said}{site.relative_to(location).as_posix()}/werkzeug/" in rebuilt[0], lines


def test_the_readme_is_a_front_door_title_first_then_the_two_commands():
    readme = (ROOT / "README.md").read_text()
    lines = readme.splitlines()
    assert lines[0].startswith("# Does Flask"), "the title comes first"
    assert lines.index("```") < 20, "the two commands are on the first screen"
    assert len(lines) <= 60, "what it answers, the commands, where to look; the rest is in guide/"
    linked = re.findall(r"\]\((guide/[^)#]+)\)", readme)
    assert linked and all((ROOT / target).exists() for target in linked)
    assert {p.name for p in (ROOT / "guide").glob("*.md")} <= {Path(t).name for t in linked}, "every guide page"


def test_the_readme_commands_make_their_own_environment_and_ci_runs_the_second_verbatim():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("```\n", 2)[1]
    audit_line, tests_line = block.strip().splitlines()
    for line in (audit_line, tests_line):
        assert line.startswith("python3 -m venv .venv && .venv/bin/python -m pip install -r requirements/audit.txt")
    assert audit_line.endswith("nox -s audit -j auto") and tests_line.endswith("nox -s tests")
    assert tests_line in (ROOT / ".ci" / "run").read_text().splitlines()


def test_damage_is_named_with_the_file_and_what_to_do(tmp_path):
    with pytest.raises(DataError) as caught:
        catalogue.load(tmp_path / "releases.json")
    assert str(caught.value) == f"{tmp_path / 'releases.json'}: missing; {catalogue.REFRESH}"


#: A parent that starts a bounded command and waits; the child's marker comes from the environment, so
#: that only the child's command line carries it.
PARENT = """
import os, sys
sys.path.insert(0, {root!r})
from scripts.common.processes import run, stop_on_sigterm
if {sigterm!r}:
    stop_on_sigterm()
child = "import signal, time; signal.signal(signal.SIGPIPE, signal.SIG_IGN); time.sleep(120)"
try:
    # run() says the command once it started it, inside the block that stops it: "started" is that moment.
    said = lambda line: print("started", flush=True)
    run([sys.executable, "-c", child + " # " + os.environ["CHILD_MARKER"]], 300, said)
except KeyboardInterrupt:
    from tests.conftest import processes_running
    print("left after unwinding:", len(processes_running(os.environ["CHILD_MARKER"])), flush=True)
    raise
"""


@pytest.mark.parametrize(("sig", "unwinds"), [(signal.SIGTERM, True), (signal.SIGKILL, False)], ids=["TERM", "KILL"])
def test_a_bounded_command_dies_with_the_process_that_started_it(tmp_path, sig, unwinds):
    marker = f"child-of-{uuid.uuid4().hex}"
    program = PARENT.format(root=str(ROOT), sigterm=unwinds)
    parent = subprocess.Popen(
        [sys.executable, "-c", program],
        env={**os.environ, "CHILD_MARKER": marker},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "started\n"
        assert processes_running(marker), "run() says a command once it has started it"
        parent.send_signal(sig)
        out, err = parent.communicate(timeout=30)
        if unwinds:
            assert "KeyboardInterrupt: terminated by signal 15" in err, "SIGTERM unwinds through run()'s cleanup"
            assert "left after unwinding: 0" in out, "the command was stopped before the parent went on"
        deadline = time.monotonic() + 10
        while processes_running(marker) and time.monotonic() < deadline:
            time.sleep(0.05)  # the kernel delivers the parent-death signal asynchronously
        assert processes_running(marker) == []
    finally:
        parent.kill()
        parent.wait()


# -- found by trying to break it ----------------------------------------------------------------------


def test_versions_that_exist_but_none_of_the_era_are_the_releases_own_failure():
    request = environments.InstallRequest("flask==0.9", DEAD, None, audit.now())
    within_era = PIP_NONE.replace("(from versions: none)", "(from versions: 0.1, 0.2)")
    own = environments._install_failed(environments.Finished(["pip"], 1, within_era, "", 900), request, "x")
    assert isinstance(own, environments.SetupFailed) and own.status == "install-failed"


def test_a_second_session_for_the_same_release_waits_for_the_first(tmp_path, monkeypatch):
    location = tmp_path / "envs" / "observe-3-1-3"
    location.parent.mkdir(parents=True)
    entered: list[float] = []
    monkeypatch.setattr(audit, "_observe_in", lambda *args: entered.append(time.monotonic()))
    chosen = plan(release(NEWEST, ">=3.9"), MACHINE)
    with FileLock(location.parent / f".{location.name}.lock"):
        second = threading.Thread(target=audit.observe, args=(chosen, location, audit.Options(), print))
        second.start()
        second.join(1.0)
        assert second.is_alive() and entered == [], "it waits while the environment is in use"
        let_go = time.monotonic()
    second.join(10)
    assert len(entered) == 1 and entered[0] >= let_go


def test_a_record_file_named_for_another_release_is_refused_and_stops_rendering(tmp_path):
    layout = Layout(tmp_path)
    shutil.copytree(REPO.results, layout.results)
    stray = layout.results / f"flask-{NEWEST}.orig.json"
    shutil.copy(release_file(layout.results, NEWEST), stray)
    with pytest.raises(DataError, match=r"holds Flask 3\.1\.3, but is named for another file; rename or remove it"):
        records.load(stray)
    with pytest.raises(pages.RenderRefused, match=r"flask-3\.1\.3\.orig\.json"):
        pages.write_report(layout)
    assert not layout.matrix_page.exists()


def test_rendering_writes_no_page_when_any_record_cannot_be_read(tmp_path):
    layout = Layout(tmp_path)
    for source, target in ((REPO.results, layout.results), (REPO.grid, layout.grid)):
        shutil.copytree(source, target)
    (layout.grid / "flask-0.1.json").write_text("{")
    with pytest.raises(DataError, match=r"flask-0\.1\.json: is not valid JSON"):
        pages.write_all(layout)
    assert not layout.matrix_page.exists() and not layout.grid_page.exists()


def test_a_stamp_this_code_did_not_write_is_not_trusted(tmp_path):
    environments.record_build(tmp_path, environments.Build("uv", "/py", "flask==1.0", None, "i", "f", ["note"]))
    assert environments.recorded_build(tmp_path) is not None
    stamp_file = tmp_path / environments.BUILD_STAMP
    for damage in ({"changes": "FORGED"}, {"installer": "conda"}, {"cutoff": 5}, {"files": None}):
        stamp_file.write_text(json.dumps({**json.loads(stamp_file.read_text()), **damage}))
        assert environments.recorded_build(tmp_path) is None, damage
        environments.record_build(tmp_path, environments.Build("uv", "/py", "flask==1.0", None, "i", "f", []))


@pytest.mark.parametrize(
    "entry",
    [{"version": 5}, {"uploaded": 5}, {"yanked": "no"}, {"version": "not a version"}, {"uploaded": "yesterday"}],
)
def test_a_catalogue_entry_of_the_wrong_type_is_named_at_once(tmp_path, entry):
    good = {"version": "1.0", "uploaded": None, "requires_python": None, "yanked": False, "installable": True}
    path = tmp_path / "releases.json"
    path.write_text(json.dumps({"releases": [{**good, "prerelease": False, **entry}]}))
    with pytest.raises(DataError, match="is not a catalogue"):
        catalogue.load(path)


def test_credentials_in_any_spelling_of_a_url_are_hidden():
    assert redact("HTTP://alice:S3CRET@host/simple/") == "HTTP://***@host/simple/"
    assert redact("http://alice:S3C@RET@host:1/simple/") == "http://***@host:1/simple/"


def test_an_index_url_the_http_library_refuses_is_a_clear_error():
    with pytest.raises(index.IndexUnavailable, match="cannot reach the index at"):
        index.project_files("flask", "http://" + "a" * 300 + ".example/simple/", timeout=2)


# -- the machine's own errors: one line, nothing written, before any probe runs -------------------------


@contextmanager
def mounted(folder: Path, *options: str) -> Iterator[Path]:
    """A small tmpfs at ``folder`` (root only): ``ro`` makes it read-only, ``size=64k`` makes it fill at once."""
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(folder)],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip()}): needs root")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], capture_output=True, timeout=30, check=False)


def one_line_failure(done: subprocess.CompletedProcess[str]) -> str:
    """The session's failure line; the run must not have probed any mode nor printed a traceback."""
    assert done.returncode == 1, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "app.run()" not in done.stderr, done.stderr[-3000:]
    (line,) = [x for x in done.stderr.splitlines() if x.startswith(f"nox > Session observe({NEWEST}) aborted") or
               x.startswith(f"nox > Session observe({NEWEST}) failed:")]  # fmt: skip
    return line


@pytest.mark.parametrize("damage", ["read-only", "full"])
def test_a_read_only_or_full_output_folder_fails_in_one_line_before_any_probe(tmp_path, damage):
    output = tmp_path / "out"
    (output / "reports").mkdir(parents=True)
    options = ("ro", "size=64k") if damage == "read-only" else ("size=64k",)
    with mounted(output / "reports", *options) as reports:
        if damage == "full":
            (reports / "filler").write_bytes(b"\0" * 60_000)
        before = sorted(str(p) for p in reports.rglob("*"))
        done = nox("-s", f"observe({NEWEST})", "--", "--output", str(output), "--force")
        after = sorted(str(p) for p in reports.rglob("*"))
    line = one_line_failure(done)
    why = "Read-only file system" if damage == "read-only" else "No space left on device"
    assert f"cannot be written ({why}); nothing was changed there: free space, make it writable" in line, line
    assert after == before


def test_an_output_name_too_long_is_refused_in_one_line(tmp_path):
    done = nox("-s", f"observe({NEWEST})", "--", "--output", str(tmp_path / ("x" * 300)))
    line = one_line_failure(done)
    assert "cannot be made (File name too long): give a folder you can write" in line and len(line) < 300


def test_a_pyenv_root_that_cannot_be_read_is_one_line_naming_it(tmp_path, monkeypatch):
    versions = tmp_path / "pyenv" / "versions"
    versions.mkdir(parents=True)
    monkeypatch.setenv("PYENV_ROOT", str(tmp_path / "pyenv"))
    monkeypatch.delenv(interpreters.ALLOW_LIST, raising=False)
    # Root reads any folder: the refusal a user without the right gets is given by os.access here.
    real_access = os.access
    monkeypatch.setattr(
        interpreters.os, "access", lambda path, mode: Path(path) != versions and real_access(path, mode)
    )
    with pytest.raises(interpreters.InterpreterMissing) as raised:
        interpreters.discover()
    assert str(raised.value) == (
        f"{versions}: cannot be read (Permission denied); make it readable, or name the interpreters to use in "
        f"FLASK_AUDIT_PYTHONS (separated by ':')"
    )


def test_a_write_the_machine_refuses_leaves_the_file_as_it_was(tmp_path, monkeypatch):
    target = tmp_path / "record.json"
    target.write_text("old")

    def refuse(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", refuse)
    with pytest.raises(WriteFailed, match=r"record\.json: cannot be written \(No space left on device\)"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["record.json"]


# -- a changed verdict is news: confirmed in a fresh environment before it is written --------------------------


def seen_default(concurrent: bool) -> Observation:
    mode = ModeObservation("app.run()", "served", sent=5, concurrent=concurrent, max_in_flight=5 if concurrent else 1)
    return Observation("1.0", "2018-04-26", "ok", python="3.9.18", modes={"default": mode}, platform="linux")


@pytest.mark.parametrize("fresh", [False, True], ids=["the fresh one agrees", "the fresh one does not"])
def test_a_changed_verdict_is_observed_again_in_a_fresh_environment_before_it_is_written(tmp_path, monkeypatch, fresh):
    chosen = plan(release("1.0"), MACHINE)
    output, location = Layout(tmp_path / "out"), tmp_path / "envs" / "observe-1-0"
    path = records.save(seen_default(True), output.results)
    before = path.read_bytes()
    location.mkdir(parents=True)
    (location / "damaged").write_text("x")
    answers = iter([seen_default(False), seen_default(fresh)])
    monkeypatch.setattr(audit, "observe", lambda *args: next(answers))
    lines: list[str] = []
    options = audit.Options(output=output, modes=("default",), force=True)
    if fresh:
        with pytest.raises(audit.Unconfirmed, match=r"the verdict changed .* a freshly made environment answered"):
            audit.run(chosen, location, options, lines.append)
        assert path.read_bytes() == before, "nothing written"
    else:
        audit.run(chosen, location, options, lines.append)
        assert records.load(path).modes["default"].concurrent is False
        assert "CHANGED, confirmed in a fresh environment: Flask 1.0, `app.run()`: concurrent" in "\n".join(lines)
        assert output.news.read_text().startswith("Flask 1.0, `app.run()`: concurrent"), "kept for the run's end"
    assert not location.exists(), "the environment was made afresh (here: removed, observe() is a stand-in)"
    assert next(answers, None) is None, "observed exactly twice"


def test_the_same_verdict_is_not_observed_again(tmp_path, monkeypatch):
    output, location = Layout(tmp_path / "out"), tmp_path / "envs" / "observe-1-0"
    records.save(seen_default(True), output.results)
    answers = iter([seen_default(True)])
    monkeypatch.setattr(audit, "observe", lambda *args: next(answers))
    audit.run(plan(release("1.0"), MACHINE), location, audit.Options(output=output, force=True), lambda line: None)
    assert next(answers, None) is None


def test_a_hand_edited_record_stops_the_pages_and_the_merge_naming_it(tmp_path):
    """The issue's edit: flask-1.0.json made to say plain app.run() serves one at a time, schema-valid."""
    output = Layout(tmp_path / "out")
    copy_records(output.root)
    shutil.copy(REPO.releases, output.releases)
    edited = release_file(output.results, "1.0")
    data = json.loads(edited.read_text())
    data["modes"]["default"].update(concurrent=False, max_in_flight=1, workers="main thread only")
    edited.write_text(json.dumps(data, indent=2))
    with pytest.raises(pages.RenderRefused, match=r"flask-1\.0\.json: its evidence does not match its evidence_digest"):
        pages.write_report(output)
    assert not output.matrix_page.exists(), "no page written"
    from scripts.ci import fanout

    with pytest.raises(fanout.MergeError, match=r"flask-1\.0\.json: its evidence does not match"):
        fanout.collect([output.results])

"""Options: each is parsed into what it says, and a bad one is refused by its type with what to give instead."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from scripts.audit import harness
from scripts.audit import run as audit
from scripts.audit.records import MODES
from scripts.bench import run as bench
from scripts.ci import fanout, regression
from scripts.common import cli
from scripts.grid import run as grid
from scripts.layout import REPO, Layout
from scripts.packages import catalogue


def test_audit_defaults_observe_every_mode_with_the_default_settings():
    options = audit.parse_options([])
    assert options == audit.Options()
    assert options.modes == MODES and options.settings == harness.Settings() and options.output == REPO


def test_audit_options_reach_what_they_set(tmp_path):
    options = audit.parse_options(
        ["--force", "--index-url", "file:///srv/simple", "--output", str(tmp_path), "--modes", "threaded", "default",
         "--negative-window", "2.5", "--mode-jobs", "2"]
    )  # fmt: skip
    assert options.force and options.index_url == "file:///srv/simple/"
    assert options.output == Layout(tmp_path.resolve())
    assert options.modes == ("default", "threaded"), "modes come in report order, whatever order they were given"
    assert options.settings.negative_window == 2.5 and options.mode_jobs == 2


#: Options the audit refuses, and the words its refusal uses (test_faults runs them through nox too).
BAD_AUDIT_OPTIONS = [
    (["--negative-window", "0"], "'0' is not from 0.2 up to 10"),
    (["--negative-window", "1e-9"], "'1e-9' is not from 0.2 up to 10 (a shorter wait takes a threaded server"),
    (["--negative-window", "-1"], "'-1' is not from 0.2 up to 10"),
    (["--negative-window", "35"], "'35' is not from 0.2 up to 10"),
    (["--negative-window", "ten"], "'ten' is not from 0.2 up to 10"),
    (["--mode-jobs", "0"], "'0' is not a whole number of 1 or more"),
    (["--mode-jobs", "two"], "'two' is not a whole number of 1 or more"),
    (["--index-url", "not-a-url"], "'not-a-url' is not a package index URL"),
    (["--index-url", "https://"], "is not a package index URL"),
    (["--index-url", "ftp://host/simple/"], "is not a package index URL"),
    (["--modes", "sometimes"], "invalid choice: 'sometimes'"),
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
]


@pytest.mark.parametrize(("args", "says"), BAD_AUDIT_OPTIONS)
def test_a_bad_audit_option_is_refused_with_what_to_give(args, says):
    with pytest.raises(cli.OptionError, match=re.escape(says)):
        audit.parse_options(args)


def test_index_urls_of_every_kind_the_tools_read_are_taken():
    for url in ("https://index.example/simple", "http://127.0.0.1:8080/simple/", "file:///srv/simple/"):
        assert cli.index_url(url) == url.rstrip("/") + "/"


def test_grid_catalogue_and_alarm_options(tmp_path):
    assert grid.parse_options(["--force", "--output", str(tmp_path)]) == grid.Options(True, None, Layout(tmp_path))
    assert catalogue.parse_options(["--allow-shrink"]) == catalogue.RefreshOptions(None, True)
    alarm = regression.parse_options(["--accept", "--envs", str(tmp_path / "e"), "--output", str(tmp_path)])
    assert alarm.accept and not alarm.accept_changes and alarm.environments == (tmp_path / "e").resolve()
    assert regression.parse_options([]).environments == REPO.state / "regression"
    with pytest.raises(cli.OptionError, match="unrecognized arguments: --modes default"):
        grid.parse_options(["--modes", "default"])


def test_bench_and_fanout_options(tmp_path):
    options, layout = bench.parse(["--releases", "1.0,2.0.3", "--rounds", "2", "--jobs", "1"])
    assert (options.releases, options.rounds, options.jobs, layout) == (("1.0", "2.0.3"), 2, 1, REPO)
    with pytest.raises(cli.OptionError, match="not a whole number"):
        bench.parse(["--rounds", "0"])
    assert fanout.parse(["shards", "--count", "3"]).count == 3
    merge = fanout.parse(["merge", "a", "b", "--output", str(tmp_path)])
    assert merge.folders == [Path("a"), Path("b")] and merge.output == tmp_path.resolve()
    assert fanout.main(["shards", "--count", "zero"]) == 2


def test_modes_given_twice_both_count_and_output_must_be_a_folder_one_can_write(tmp_path):
    options = audit.parse_options(["--modes", "threaded", "--modes", "default"])
    assert options.modes == ("default", "threaded")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(cli.OptionError, match="is a file: give a folder"):
        audit.parse_options(["--output", str(tmp_path / "a-file")])
    with pytest.raises(cli.OptionError, match="cannot be made"):
        audit.parse_options(["--output", str(tmp_path / "a-file" / "below")])
    made = audit.parse_options(["--output", str(tmp_path / "new" / "folder")]).output
    assert made.root.is_dir()

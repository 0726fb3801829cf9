"""Introductions: which Werkzeug release first showed each text and outcome the report attributes to
Werkzeug, found by bisection of Werkzeug's releases observed alone, all else fixed.

The audit sees each text only with the Werkzeug its releases came with, so "from Werkzeug 0.6.1" is a
bound, not an introduction. Here every trial installs one Werkzeug release by itself in a throw-away
environment on one Python and starts ``werkzeug_probe.py`` (a plain WSGI app, ``run_simple`` called as
Flask's ``app.run`` calls it) in each mode with the audit's harness. The same samples answer where the
"``run_simple`` wraps ``wsgiref``" myth comes from (its docstring, its server's class chain), and give
the fork-less table of Werkzeug lines on Python 2.7 and 3.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from packaging.version import Version

from scripts.audit import harness
from scripts.audit.cache import OBSERVING
from scripts.audit.records import Mode, Observation
from scripts.common import cli
from scripts.common.clock import now, stamp
from scripts.common.evidence import Confirmations
from scripts.common.failures import first_error_line
from scripts.common.fingerprint import sources_digest
from scripts.common.jsonio import DataError, read_json, write_json_atomic
from scripts.common.processes import run as run_command
from scripts.introductions.records import Introduction, IntroductionsRecord, Question, Sample, signature
from scripts.layout import REPO, ROOT, Layout
from scripts.packages import environments, era, index
from scripts.packages.bisection import first_bad
from scripts.packages.catalogue import REFRESH, Line
from scripts.packages.environments import InstallRequest, SetupFailed, Unavailable
from scripts.packages.interpreters import Interpreter

__all__ = [
    "ASKED",
    "MODES",
    "PROBE",
    "Options",
    "Samples",
    "ask",
    "find",
    "parse_options",
    "platform_pythons",
    "questions",
    "run",
]

Log = Callable[[str], None]
PROBE = Path(__file__).with_name("werkzeug_probe.py")
#: Modes each sample is observed in: plain, the refused combination, and both without ``os.fork``.
MODES = ("default", "threaded_processes3", "processes3_nofork", "default_nofork")
#: The audit's modes whose failures the report attributes to Werkzeug, and so asks about.
ASKED: tuple[Mode, ...] = ("threaded_processes3", "processes3_nofork")
#: The code that decides a sample: the audit's observing folders (its harness) and this one.
DECIDING = (*OBSERVING, ROOT / "scripts" / "introductions")
#: Trials that may give no answer (the release does not run on that Python) before the rest are not run.
MAX_UNANSWERED = 4
#: Python 3 minors tried for one Werkzeug line of the fork-less table, newest first, until plain run_simple serves.
MAX_PYTHON3_TRIED = 6
DOCSTRING = "run_simple's docstring names wsgiref"
SERVER = "its server is built on wsgiref"


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _wsgiref_sentence(doc: str) -> str | None:
    """The docstring's sentence that names ``wsgiref``, on one line."""
    text = " ".join(doc.split())
    for sentence in re.split(r"(?<=[.!?])\s+", text):
        if "wsgiref" in sentence:
            return sentence
    return None


#: pip's words for an index that failed while installing (Python 2.7 environments): never the release's own.
_PIP_NETWORK = re.compile(
    r"HTTP error \d+ while getting|because of HTTP error|due to an EnvironmentError|Max retries exceeded"
)
_LOADED = (
    "Werkzeug {} on Python {}: the probe ran out of time ({}), which says more about the machine's load than "
    "about Werkzeug; nothing was recorded: run again on a quieter machine"
)
DOC_TIMEOUT = 60.0


def _cached(path: Path) -> Sample | None:
    """A sample kept before, or None when there is none or it cannot be read (it is taken again)."""
    if not path.exists():
        return None
    try:
        return Sample(**read_json(path))
    except (DataError, TypeError):
        return None


class Samples:
    """Werkzeug releases observed alone, each cached on disk by everything that decides it."""

    def __init__(self, index_url: str, cache: Path, log: Log = print) -> None:
        self.index_url = index_url
        self.cache = cache
        self.log = log
        self.settings = harness.Settings()
        self._code = sources_digest(DECIDING)
        self._index = environments.index_identity(index_url)
        self.taken: dict[tuple[str, str], Sample] = {}

    def sample(self, version: str, interpreter: Interpreter) -> Sample:
        """Werkzeug ``version`` alone on ``interpreter``: every mode, the docstring, the server."""
        if (version, interpreter.version_text) in self.taken:
            return self.taken[version, interpreter.version_text]
        path = self.cache / f"{_digest(version, interpreter.version_text, self._index, self._code)}.json"
        made = _cached(path)
        if made is None:
            made = self._sample(version, interpreter)
            write_json_atomic(path, asdict(made))
            seen = made.outcomes or made.detail
            self.log(f"Werkzeug {version} on Python {interpreter.version_text}: {seen}")
        self.taken[version, interpreter.version_text] = made
        return made

    def _sample(self, version: str, interpreter: Interpreter) -> Sample:
        made = Sample(version, interpreter.version_text)
        request = InstallRequest(f"werkzeug=={version}", self.index_url, None, now())
        with tempfile.TemporaryDirectory(prefix="flask-introductions-") as workdir:
            location = Path(workdir) / "env"
            python = environments.venv_python(location)
            try:
                environments.fill(interpreter, location, request)
            except SetupFailed as exc:
                if _PIP_NETWORK.search(exc.output):
                    # pip on Python 2.7 says an index failure in words the installers' check does not know yet.
                    raise Unavailable(
                        f"Werkzeug {version} on Python {interpreter.version_text}: the package index failed "
                        f"({first_error_line(exc.output)}); nothing was recorded: check --index-url and retry"
                    ) from exc
                made.detail = f"{exc.status}: {exc.detail}"
                return made
            doc = run_command([python, PROBE, "--doc"], DOC_TIMEOUT, cwd=Path(workdir))
            if doc.timed_out:
                raise Unavailable(_LOADED.format(version, interpreter.version_text, "reading its docstring"))
            if not doc.ok:
                made.detail = f"import-failed: {first_error_line(doc.output)}"
                return made
            made.doc_wsgiref = _wsgiref_sentence(doc.output)
            outcomes = {}
            for mode in MODES:
                seen = harness.observe_mode(python, mode, self.settings, app=PROBE)
                if seen.outcome == "timeout":
                    raise Unavailable(_LOADED.format(version, interpreter.version_text, f"mode {mode}"))
                outcomes[mode] = signature(seen) or "served"
                if mode == "default":
                    made.server_classes = seen.server_classes
            made.outcomes = outcomes
        return made


def questions(observations: Iterable[Observation]) -> list[tuple[Mode, str, str, str]]:
    """What the audit attributes to Werkzeug: (mode, what it showed, the oldest Werkzeug seen showing it, the
    Python it was seen on), one per distinct failure of an asked mode."""
    oldest: dict[tuple[Mode, str], tuple[Version, str]] = {}
    for observation in observations:
        werkzeug = observation.packages.get("werkzeug")
        if observation.status != "ok" or werkzeug is None or observation.python is None:
            continue
        for mode in ASKED:
            seen = observation.modes.get(mode)
            shows = signature(seen) if seen else None
            if shows is None:
                continue
            key = (mode, shows)
            if key not in oldest or Version(werkzeug) < oldest[key][0]:
                oldest[key] = (Version(werkzeug), observation.python)
    return [(mode, shows, str(version), python) for (mode, shows), (version, python) in sorted(oldest.items())]


def _floor(observations: Iterable[Observation], mode: Mode, shows: str, below: Version) -> Version | None:
    """The newest Werkzeug below ``below`` the audit saw in ``mode`` without ``shows``: a bisection's floor to try."""
    other = [
        Version(o.packages["werkzeug"])
        for o in observations
        if o.status == "ok"
        and "werkzeug" in o.packages
        and mode in o.modes
        and signature(o.modes[mode]) != shows
        and Version(o.packages["werkzeug"]) < below
    ]
    return max(other, default=None)


def ask(
    samples: Samples,
    interpreter: Interpreter,
    releases: list[Version],
    question: Question,
    mode: str | None,
    shows: str,
    known: Version,
    floor: Version | None = None,
) -> Introduction:
    """Bisect ``releases`` on ``interpreter`` for the first that shows ``shows`` (``outcome``), or the first
    that no longer does (``docstring``, ``server``); ``known`` was seen doing so, ``floor`` maybe not."""
    observed: list[Version] = []
    unanswered = 0

    def answer(version: Version) -> bool | None:
        nonlocal unanswered
        if unanswered >= MAX_UNANSWERED:
            return None  # a run of releases that do not run on this Python: the rest are left untried
        seen = samples.sample(str(version), interpreter)
        observed.append(version)
        if seen.outcomes is None or (question != "outcome" and seen.outcomes.get("default") != "served"):
            unanswered += 1
            return None
        if question == "docstring":
            return seen.doc_wsgiref is None
        if question == "server":
            return not any(cls.startswith("wsgiref.") for cls in seen.server_classes)
        return seen.outcomes.get(mode or "") == shows

    found = Introduction(question, mode, shows, interpreter.version_text, str(known))
    if answer(known) is not True:
        return found  # not shown by itself on this Python: nothing to bisect
    good = floor if floor is not None and answer(floor) is False else None
    result = first_bad(releases, known, answer, good)
    found.first = str(result.first_bad)
    found.last_before = str(result.last_good) if result.last_good else None
    found.exact = result.exact
    found.unanswered = [str(v) for v in result.unanswered]
    found.trials, found.no_answer = len(set(observed)), unanswered
    oldest = min(releases, default=None)
    if result.last_good is None and oldest is not None and result.first_bad == oldest:
        found.oldest = str(oldest)
    return found


def _same_minor(python: str, interpreters: list[Interpreter]) -> Interpreter:
    """This machine's interpreter of ``python``'s minor version: a question is never dropped for want of one.

    :raises Unavailable: there is none; nothing is recorded.
    """
    minor = tuple(int(part) for part in python.split(".")[:2])
    found = [i for i in interpreters if i.minor == minor]
    if not found:
        raise Unavailable(
            f"no Python {'.'.join(map(str, minor))} on this machine, which a question needs (the audit saw it "
            "there); nothing was recorded: install it (pyenv install) and run again"
        )
    return max(found)


def platform_pythons(line: Line, interpreters: list[Interpreter]) -> tuple[Interpreter | None, list[Interpreter]]:
    """Python 2.7 if the line allows it, and the Python 3 minors it allows, newest first."""
    allowed = [i for i in interpreters if era.admits(line.requires_python, i.version_text)]
    two = next((i for i in allowed if i.version[0] == 2), None)
    three = sorted((i for i in allowed if i.version >= (3, 6)), reverse=True)
    return two, three


def find(
    observations: list[Observation],
    interpreters: list[Interpreter],
    lines: list[Line],
    samples: Samples,
) -> IntroductionsRecord:
    """Every question the report needs answered, and the fork-less samples of each Werkzeug line."""
    record = IntroductionsRecord()
    releases = sorted(
        {v for f in index.project_files("werkzeug", samples.index_url) if (v := index.file_version(f.filename))}
    )
    releases = [v for v in releases if not v.is_prerelease]
    for mode, shows, known, python in questions(observations):
        interpreter = _same_minor(python, interpreters)
        floor = _floor(observations, mode, shows, Version(known))
        candidates = [v for v in releases if v < Version(known)]
        record.introductions.append(
            ask(samples, interpreter, candidates, "outcome", mode, shows, Version(known), floor)
        )
    two = _same_minor("2.7", interpreters)
    # The newest Werkzeug that still runs on Python 2: the other end of both myth questions.
    on_two = [Version(line.version) for line in lines if era.admits(line.requires_python, two.version_text)]
    if not on_two:
        raise DataError(REPO.werkzeug_lines, "lists no Werkzeug line for Python 2.7", REFRESH)
    newest = max(on_two)
    candidates = [v for v in releases if v < newest]
    for question, shows in (("docstring", DOCSTRING), ("server", SERVER)):
        record.introductions.append(ask(samples, two, candidates, question, None, shows, newest))  # type: ignore[arg-type]
    for line in lines:
        two_here, threes = platform_pythons(line, interpreters)
        if two_here is not None:
            samples.sample(line.version, two_here)
        for interpreter in threes[:MAX_PYTHON3_TRIED]:  # down to the newest Python 3 it serves on
            outcomes = samples.sample(line.version, interpreter).outcomes
            if outcomes and outcomes.get("default") == "served":
                break
    record.samples = sorted(samples.taken.values(), key=lambda s: (Version(s.werkzeug), Version(s.python)))
    record.observed_at = stamp(now())
    return record


@dataclass(frozen=True)
class Options:
    """The options of ``nox -s introductions`` (after ``--``)."""

    force: bool = False
    index_url: str | None = None
    #: Where reports/ is read and written.
    output: Layout = REPO


def parse_options(args: list[str]) -> Options:
    """The options from what follows ``--``; raises cli.OptionError naming a bad one."""
    parser = cli.parser(
        "nox -s introductions --",
        "Options of nox -s introductions.",
        [cli.add_index_url, lambda p: cli.add_output(p, REPO.root), lambda p: cli.add_force(p, "questions")],
    )
    parsed = parser.parse_args(args)
    return Options(parsed.force, parsed.index_url, Layout(parsed.output))


def record_key(observations: list[Observation], interpreters: list[Interpreter], lines: list[Line], url: str) -> str:
    """What decides the record: the audit's records (the questions), the interpreters, the lines, index, code."""
    return _digest(
        sorted((o.flask, o.evidence_digest) for o in observations),
        sorted(i.version_text for i in interpreters),
        [(line.line, line.version) for line in lines],
        environments.index_identity(url),
        sources_digest(DECIDING),
    )


def run(
    observations: list[Observation],
    interpreters: list[Interpreter],
    lines: list[Line],
    options: Options,
    cache: Path,
    confirmations: Confirmations,
    log: Log = print,
) -> IntroductionsRecord | None:
    """Answer every question and save the record; None when the stored one was made with the same key.

    :param observations: the audit's records, which say what to ask.
    :param interpreters: this machine's interpreters.
    :param lines: the Werkzeug lines, for the fork-less table.
    :param cache: where samples are kept between runs.
    :param confirmations: where this machine keeps the key the record was found under.
    """
    url = index.configured_index_url(options.index_url)
    key = record_key(observations, interpreters, lines, url)
    path = options.output.introductions
    if not options.force and path.exists():
        IntroductionsRecord.read(path)  # a damaged record fails here, naming the file
        if confirmations.key(path) == key:
            return None
    record = find(observations, interpreters, lines, Samples(url, cache, log))
    record.cache_key = key
    confirmations.confirm(record.write(path), key, record.to_json())
    return record

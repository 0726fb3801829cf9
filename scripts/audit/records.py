"""Observation records: what one audit of one release saw, as data.

One record type flows from the harness to the renderer. A record is a JSON file,
``reports/results/flask-<version>.json``, valid against ``observation.schema.json`` beside this
module (its prose companion is ``observation.schema.md``); a test proves the dataclasses and the
schema agree field by field. Records hold what was observed, never how long it took.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

import jsonschema

from scripts.common.jsonio import NOT_STORED, DataError, JsonRecord, parse_record, read_json, write_json_atomic
from scripts.layout import ROOT, release_file

__all__ = [
    "CLI_MODES",
    "MODES",
    "MODE_CALLS",
    "SCHEMA_PATH",
    "Build",
    "ChangedRecord",
    "EarlierSchema",
    "FailedIn",
    "Mode",
    "ModeObservation",
    "Observation",
    "Outcome",
    "RunStatus",
    "ServerProcess",
    "Status",
    "WorkerKind",
    "behaviour",
    "differences",
    "load",
    "load_all",
    "load_each",
    "save",
    "status_from_default",
    "verdict",
]

SCHEMA_PATH = Path(__file__).with_name("observation.schema.json")
SCHEMA_VERSION = 4

#: The ways the probe is started, in report order.
Mode = Literal[
    "default",
    "threaded",
    "processes3",
    "threaded_processes3",
    "processes3_plain",
    "flask_run",
    "debug",
    "flask_run_debug",
    "processes3_nofork",
]
MODES: tuple[Mode, ...] = get_args(Mode)
#: The call each mode makes, as a user would write it.
MODE_CALLS: dict[str, str] = {
    "default": "app.run()",
    "threaded": "app.run(threaded=True)",
    "processes3": "app.run(threaded=False, processes=3)",
    "threaded_processes3": "app.run(threaded=True, processes=3)",
    "processes3_plain": "app.run(processes=3)",
    "flask_run": "flask run",
    "debug": "app.run(debug=True)",
    "flask_run_debug": "FLASK_DEBUG=1 flask run",
    "processes3_nofork": "app.run(threaded=False, processes=3) without os.fork",
}
#: The modes that need the release's ``flask`` command; releases before 0.11 have none.
CLI_MODES: tuple[Mode, ...] = ("flask_run", "flask_run_debug")

#: Release-level outcomes. Everything but "ok" names the step that failed, or why it was not run.
Status = Literal[
    "ok",
    "install-failed",
    "import-failed",
    "app-failed",
    "server-failed",
    "timeout",
    "no-interpreter",
    "no-distribution",
]
STATUSES: tuple[Status, ...] = get_args(Status)
#: Statuses that say the release was never started where the record was made: nothing was observed.
NOT_OBSERVED: tuple[Status, ...] = ("no-interpreter", "no-distribution")
#: What a CI runner's record must not be to count as an observation there: never started, or an install that
#: failed (on a runner, that may be its index's doing, so it says nothing of the release).
NOT_RUN_ON_A_RUNNER: tuple[Status, ...] = (*NOT_OBSERVED, "install-failed")

#: Mode-level outcomes: the server answered, exited with an error, listened but dropped every
#: request unanswered, or never answered in time.
Outcome = Literal["served", "error", "requests-failed", "timeout"]

#: How a served mode handled requests, as observed from inside the handler: a thread per request,
#: a forked process per request or worker, or every request on one thread (the main one, or the
#: thread an older Werkzeug reloader starts the server on).
WorkerKind = Literal["threads", "forked processes", "main thread only", "single thread"]
#: Where a start that exited failed: creating the app (``Flask(__name__)``), or starting the server.
FailedIn = Literal["app", "server"]
#: Which process runs the server: the one that was started, or the child Werkzeug's reloader starts.
ServerProcess = Literal["started process", "reloader child"]


@dataclass
class ModeObservation:
    """What one mode (one way of starting the server) was seen to do."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/properties/modes/additionalProperties"

    call: str
    outcome: Outcome
    error: str | None = None
    #: Where an ``error`` happened: creating the app, or starting the server.
    failed_in: FailedIn | None = None
    #: The exception the server itself logged, when it dropped requests (``requests-failed``).
    server_log: str | None = None
    #: Concurrency phase: ``sent`` requests held open at once; how many entered the handler together.
    sent: int = 0
    concurrent: bool | None = None
    max_in_flight: int | None = None
    completed: int | None = None
    #: Sequential phase: ``sequential`` requests one after another.
    sequential: int = 0
    distinct_pids: int | None = None
    distinct_threads: int | None = None
    #: Whether the process the harness started served a request itself (never, under a reloader).
    served_by_server_process: bool | None = None
    server_process: ServerProcess | None = None
    workers: WorkerKind | None = None
    multithread: bool | None = None
    multiprocess: bool | None = None
    server_classes: list[str] = field(default_factory=list)


def behaviour(seen: ModeObservation | None) -> str:
    """A mode's behaviour in words: what the log prints and what the regression alarm compares."""
    if seen is None:
        return "not available"
    if seen.outcome != "served":
        return f"{seen.outcome}: {seen.error}"
    words = f"{'concurrent' if seen.concurrent else 'one at a time'}, {seen.workers}, {seen.max_in_flight} in flight"
    if seen.workers == "forked processes":
        words += f", {seen.distinct_pids} pids for {seen.sequential} requests"
    if seen.server_process == "reloader child":
        words += ", in the reloader's child"
    if seen.server_classes:
        words += f", served by {seen.server_classes[0]}"
    return words


def verdict(mode: ModeObservation) -> str:
    """What a mode did, in the words a reader asks about: threads, one at a time, a process per request, refused."""
    if mode.outcome == "error":
        return "refused at start" if mode.failed_in == "server" else "failed before serving"
    if mode.outcome != "served":
        return {"timeout": "no answer in time", "requests-failed": "dropped requests"}[mode.outcome]
    if mode.workers == "forked processes":
        if mode.distinct_pids == mode.sequential:
            return "concurrent: a process per request" if mode.concurrent else "a process per request, one at a time"
        return f"{'concurrent' if mode.concurrent else 'one at a time'}: {mode.distinct_pids} worker processes"
    if mode.concurrent:
        return "concurrent: a thread per request" if mode.workers == "threads" else f"concurrent ({mode.workers})"
    return "one at a time"


def differences(reference: Observation, candidate: Observation) -> list[tuple[str, str, str]]:
    """Where ``candidate`` answers otherwise than ``reference``: ``(aspect, before, after)``, the status alone when
    that differs, else each mode both observed (``aspect`` is the mode's call) whose :func:`behaviour` differs.

    A mode only one of them holds is no difference: it was added to the audit since, or asked for alone
    (``--modes``), or it is a ``flask run`` mode of a release that had no ``flask`` command.
    """
    if reference.status != candidate.status:
        before = reference.status + (f" ({reference.detail})" if reference.detail else "")
        return [("status", before, candidate.status + (f" ({candidate.detail})" if candidate.detail else ""))]
    if candidate.status != "ok":
        return []
    found = []
    for mode in (*MODES, *sorted((set(reference.modes) | set(candidate.modes)) - set(MODES))):
        if mode not in reference.modes and not (mode in CLI_MODES and reference.cli is False):
            continue
        before, after = behaviour(reference.modes.get(mode)), behaviour(candidate.modes.get(mode))
        if before != after:
            found.append((f"`{MODE_CALLS.get(mode, mode)}`", before, after))
    return found


#: The statuses a run of the probe can end in (the others are decided before it starts).
RunStatus = Literal["ok", "app-failed", "server-failed", "timeout"]


def status_from_default(default: ModeObservation | None) -> tuple[RunStatus, str | None]:
    """A release's status follows plain ``app.run()``, the mode every user gets: its outcome, and where it failed."""
    if default is None or default.outcome == "served":
        return "ok", None
    if default.outcome == "timeout":
        return "timeout", default.error
    return ("app-failed" if default.failed_in == "app" else "server-failed"), default.error


@dataclass
class Build:
    """How the release's environment was built."""

    #: Where this record type stands in the schema (a JSON pointer).
    schema_node: ClassVar[str] = "/properties/environment"

    installer: Literal["uv", "pip"]
    #: Dependencies are the newest uploaded before this UTC time; None where the index has no upload dates.
    cutoff: str | None
    requirements: list[str]
    #: Deviations from the era's set that were needed to install it, and why.
    changes: list[str]
    #: Why this interpreter was chosen.
    interpreter_rule: str


@dataclass
class Observation(JsonRecord):
    """One audited release: its environment, its status and what every mode did."""

    flask: str
    released: str | None
    status: Status
    python: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    detail: str | None = None
    environment: Build | None = None
    #: Whether the release installed the ``flask`` command (None: it was not installed).
    cli: bool | None = None
    modes: dict[Mode, ModeObservation] = field(default_factory=dict)
    #: When this evidence was first observed: saving the same evidence again leaves the file as it is.
    observed_at: str | None = None
    #: The key it was observed under (``cache.cache_key``): this machine's, kept under ``.nox/`` beside the
    #: release's environment and never in the record, where it would change with each machine and each commit.
    cache_key: str | None = field(default=None, compare=False, repr=False, metadata=NOT_STORED)
    #: ``sys.platform`` of the machine that observed it: CI runners add win32 and darwin cells.
    platform: str | None = None
    #: :meth:`digest` as it was when the record was saved: a record edited since does not match it.
    evidence_digest: str | None = None
    schema_version: int = SCHEMA_VERSION

    def digest(self) -> str:
        """SHA-256 of the evidence: every field of the record but ``observed_at`` and the digest, as sorted JSON."""
        evidence = {k: v for k, v in self.to_json().items() if k not in ("observed_at", "evidence_digest")}
        return hashlib.sha256(json.dumps(evidence, sort_keys=True, ensure_ascii=False).encode()).hexdigest()

    @property
    def vouched(self) -> bool:
        """Whether the record holds what it held when it was saved."""
        return self.evidence_digest == self.digest()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Observation:
        """The record from its JSON form (raises KeyError, TypeError or ValueError when it is not one)."""
        data = dict(data)
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {data.get('schema_version')!r}, this code reads {SCHEMA_VERSION}")
        unknown = set(data.get("modes", {})) - set(MODES)
        if unknown:
            raise ValueError(f"unknown modes {sorted(unknown)}")
        data["modes"] = {name: ModeObservation(**mode) for name, mode in data.get("modes", {}).items()}
        data["environment"] = Build(**data["environment"]) if data.get("environment") else None
        return cls(**data)


class EarlierSchema(DataError):
    """A record written under an earlier schema: not damaged, made by older code; observing again replaces it."""


class ChangedRecord(DataError):
    """A record whose evidence no longer matches its digest: changed after it was observed (by hand, or damaged).
    Nothing reads it as evidence; observing the release again (``--force``) replaces it."""


def save(observation: Observation, folder: Path) -> Path:
    """Write the record atomically into ``folder``, its digest set; return its path.

    A record there that holds the same evidence, and still matches its digest, is left as it is (its
    ``observed_at`` too): observing again what is already recorded changes no file.
    """
    path = release_file(folder, observation.flask)
    observation.evidence_digest = observation.digest()
    if _stored_digest(path) == observation.evidence_digest:
        return path
    write_json_atomic(path, observation.to_json())
    return path


def _stored_digest(path: Path) -> str | None:
    """The digest of the record at ``path`` if it is one of this schema that matches it, else None."""
    try:
        return load(path).evidence_digest if path.exists() else None
    except DataError:
        return None


def restore_hint(path: Path) -> str:
    """How to get a record back, as a command that works from the repository root where the file is in it."""
    try:
        shown = path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return f"restore {path} from where it came"
    return f"restore it from git (git checkout -- {shown}, from the repository root)"


@functools.cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(read_json(SCHEMA_PATH))


@functools.lru_cache(maxsize=1024)
def _schema_problem(text: str) -> tuple[str, str] | None:
    """Where and how the record, as canonical JSON text, breaks the schema (None: it does not).

    Kept per text: a run reads each record up to three times (the cache check, the report, the summary),
    and validating is most of the cost of reading one.
    """
    problem = next(iter(_validator().iter_errors(json.loads(text))), None)
    if problem is None:
        return None
    return "/".join(map(str, problem.absolute_path)) or "the record", problem.message


def load(path: Path) -> Observation:
    """The record at ``path``.

    :raises DataError: it is missing, not JSON, or not an observation record; the message names the file.
    """
    remedy = f"{restore_hint(path)}, or observe the release again with --force"
    data = read_json(path, remedy)
    version = data.get("schema_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version < SCHEMA_VERSION:
        raise EarlierSchema(path, f"has schema version {version}, not {SCHEMA_VERSION}", remedy)
    observation = parse_record(path, data, Observation.from_json, "an observation record", remedy)
    problem = _schema_problem(json.dumps(data, sort_keys=True))
    if problem is not None:
        # What the dataclass takes as it is, a damaged field would become a "change" in the alarm or a row on
        # the pages: the schema says what a record may hold.
        where, message = problem
        raise DataError(path, f"breaks {SCHEMA_PATH.name} at {where}: {message}", remedy)
    if not observation.vouched:
        raise ChangedRecord(
            path,
            "its evidence does not match its evidence_digest: it was changed after it was observed",
            f'observe it again (nox -s "observe({observation.flask})" -- --force), or {restore_hint(path)}',
        )
    if path.name != release_file(path.parent, observation.flask).name:
        # A copy left beside the records (flask-3.1.3.orig.json) would otherwise stand for the release.
        raise DataError(path, f"holds Flask {observation.flask}, but is named for another file", "rename or remove it")
    return observation


def load_each(folder: Path) -> tuple[list[Observation], list[DataError]]:
    """Every record in ``folder`` that can be read, and what is wrong with each one that cannot."""
    found, unreadable = [], []
    for path in sorted(folder.glob("flask-*.json")):
        try:
            found.append(load(path))
        except DataError as exc:
            unreadable.append(exc)
    return found, unreadable


def load_all(folder: Path) -> list[Observation]:
    """Every record in ``folder`` (unordered; callers sort by version).

    :raises DataError: for the first record that cannot be read.
    """
    return [load(path) for path in sorted(folder.glob("flask-*.json"))]

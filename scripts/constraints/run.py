"""Run it today: the fewest upper bounds that make one Flask release serve with today's packages.

Start from a plain install (``flask==X``, no cut-off) on the newest Python the release's metadata
allows. While plain ``app.run()`` does not serve, find whose failure it is (``packages.culprit``):
a distribution is bisected to its first bad release (``packages.bisection``) with everything else
held, and bounded below it; the release itself or the interpreter sends the search to the next
older Python, keeping the bounds found so far. Once it serves, each bound is dropped in turn and
kept only if the release fails without it. Every attempt is a real install and a real server
answering, in a throw-away environment, cached on disk by everything that decides it.
"""

from __future__ import annotations

import hashlib
import json
import re
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from scripts.audit import harness
from scripts.audit.cache import OBSERVING
from scripts.audit.records import status_from_default
from scripts.common import cli
from scripts.common.clock import now, stamp
from scripts.common.evidence import Confirmations
from scripts.common.failures import first_error_line
from scripts.common.fingerprint import sources_digest
from scripts.common.jsonio import read_json, write_json_atomic
from scripts.common.processes import STEERING, clean_environment
from scripts.common.processes import run as run_command
from scripts.constraints.records import Attempt, Bound, ConstraintsRecord, load, save
from scripts.layout import PROBES, REPO, ROOT, Layout, release_file
from scripts.packages import culprit, environments, era, index
from scripts.packages.bisection import first_bad
from scripts.packages.catalogue import Release
from scripts.packages.environments import InstallRequest, SetupFailed
from scripts.packages.interpreters import Interpreter

__all__ = ["MAX_ATTEMPTS_PER_PYTHON", "Options", "Trials", "cached", "find", "parse_options", "run"]

Log = Callable[[str], None]
#: Bounds tried on one Python before the search moves on to an older one.
MAX_ATTEMPTS_PER_PYTHON = 8
#: The code that decides an attempt: the audit's observing folders and this one.
DECIDING = (*OBSERVING, ROOT / "scripts" / "constraints")
#: Creates the app the way the probe does, saying on stderr once the import is done.
CREATE_APP = PROBES / "create_app.py"
_BUILD = re.compile(r"Failed to build `(?P<name>[^`=<>!~ ]+)")


@dataclass(frozen=True)
class Options:
    """The options of a session that observes per release (after ``--``): the search's and the grid's."""

    force: bool = False
    index_url: str | None = None
    #: Where reports/ and docs/ are written.
    output: Layout = REPO


def parse_options(args: list[str], session: str = "constraints", what: str = "constraints") -> Options:
    """The options of a session that observes per release (``--force``, ``--index-url``, ``--output``).

    :raises cli.OptionError: naming a bad one.
    """
    parser = cli.parser(
        f"nox -s {session} --",
        f"Options of nox -s {session}.",
        [cli.add_index_url, lambda p: cli.add_output(p, REPO.root), lambda p: cli.add_force(p, what)],
    )
    parsed = parser.parse_args(args)
    return Options(parsed.force, parsed.index_url, Layout(parsed.output))


def _digest(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:20]


class Trials:
    """Installs and probes of one release, each cached on disk by everything that decides it."""

    def __init__(
        self, release: Release, index_url: str, cache: Path, log: Log = print, pinned: tuple[str, ...] = ()
    ) -> None:
        self.release = release
        #: Requirements every attempt installs over what the release declares (``werkzeug==2.2.*``): never
        #: bounded, never bisected; a failure they cause is the pair's own.
        self.pinned = pinned
        self.pinned_projects = frozenset(canonicalize_name(Requirement(p).name) for p in pinned)
        self.index_url = index_url
        self.cache = cache
        self.log = log
        self.settings = harness.Settings()
        # The observing code and this folder's (how an attempt is made and classified) decide an attempt.
        self._code = sources_digest(DECIDING)
        self._index = environments.index_identity(index_url)
        self._versions: dict[str, list[Version]] = {}
        self.day = stamp(now())[:10]

    # -- one attempt ---------------------------------------------------------------------------

    def attempt(self, interpreter: Interpreter, constraints: list[str]) -> Attempt:
        """Install ``flask==X`` under ``constraints`` on ``interpreter`` and probe plain ``app.run()``."""
        key = _digest(
            self.release.version, interpreter.version_text, sorted(constraints), self._index, self._code, self.pinned
        )
        # Kept for the day only: "today's packages" are what the index offers today.
        path = self.cache / "attempts" / self.day / f"{key}.json"
        if path.exists():
            return Attempt(**read_json(path))
        found = self._attempt(interpreter, constraints)
        if found.outcome != "timeout":  # a bound that ran out may be the machine's load: never kept
            write_json_atomic(path, asdict(found))
        outcome = found.outcome + (f" ({found.culprit_kind} {found.culprit}: {found.error})" if found.error else "")
        over = f" over {', '.join(self.pinned)}" if self.pinned else ""
        self.log(f"Flask {self.release.version}{over} on Python {interpreter.version_text} {constraints}: {outcome}")
        return found

    def _attempt(self, interpreter: Interpreter, constraints: list[str]) -> Attempt:
        made = Attempt(interpreter.version_text, list(constraints), "served")
        request = InstallRequest(
            f"flask=={self.release.version}",
            self.index_url,
            None,
            now(),
            self.pinned,
            constraints=tuple(constraints),
            compiled=False,  # thrown away after one probe
        )
        with tempfile.TemporaryDirectory(prefix="flask-constraints-") as workdir:
            location = Path(workdir) / "env"
            python = environments.venv_python(location)
            try:
                environments.fill(interpreter, location, request)
            except SetupFailed as exc:
                made.outcome, made.error = "install-failed", exc.detail
                built = _BUILD.search(exc.detail) or _BUILD.search(exc.output)
                name = canonicalize_name(built["name"]) if built else None
                made.culprit_kind = "unknown" if name is None else ("release" if name == "flask" else "distribution")
                made.culprit = name
                return made
            made.packages = environments.inventory(python).packages
            made.declared = environments.declared_requirements(python)
            seen = harness.observe_mode(python, "default", self.settings)
            if seen.outcome == "error" and seen.failed_in == "app":
                # The probe exited before its app existed: the app is created alone, to tell a failure at
                # ``import flask`` from one in ``Flask(__name__)`` and to read the traceback's culprit. (A probe
                # that got as far as its app imported Flask, so this costs a start only where it failed.)
                # Nothing from the user's shell may steer Flask here either (FLASK_APP, PYTHONPATH, ...).
                quiet = clean_environment(STEERING, {"PYTHONDONTWRITEBYTECODE": "1"})
                done = run_command([python, CREATE_APP], 60.0, cwd=Path(workdir), env=quiet)
                if done.timed_out:
                    # The machine's, not the release's: an outcome that is never kept.
                    made.outcome, made.error = "timeout", "creating the app did not finish within 60s"
                    return made
                if not done.ok:
                    made.outcome = "app-failed" if "flask imported" in done.output else "import-failed"
                    made.error = first_error_line(done.output)
                    self._blame(made, done.output)
                    return made
        status, made.error = status_from_default(seen)
        if status != "ok":
            made.outcome = status
            self._blame(made, made.error or "")
        return made

    def _blame(self, made: Attempt, output: str) -> None:
        found = culprit.find(output, made.packages)
        made.culprit_kind, made.culprit, made.evidence = found.kind, found.name, found.evidence

    # -- bisection -----------------------------------------------------------------------------

    def versions(self, project: str) -> list[Version]:
        """The final releases of ``project`` the index offers."""
        if project not in self._versions:
            found = {index.file_version(f.filename) for f in index.project_files(project, self.index_url)}
            self._versions[project] = sorted(v for v in found if v is not None and not v.is_prerelease)
        return self._versions[project]

    def bisect(self, interpreter: Interpreter, failing: Attempt) -> Bound | None:
        """The bound for the distribution ``failing`` blames: below its first bad release, all else held.

        A bisection is kept for the day and reused only where every trial would install the same: the same
        Flask release, Python, pinned line and held packages, the same failure of the same project. Shared
        more widely (by failure alone), the grid's cells read bisections the run-it-today search made with
        another Werkzeug held, and a cell's record depended on which session ran first.
        """
        project = failing.culprit or ""
        try:
            bad = Version(failing.packages[project])
        except (KeyError, InvalidVersion):
            return None
        allowed = [r.specifier for r in _requirements(failing.declared) if canonicalize_name(r.name) == project]
        held = [f"{name}=={version}" for name, version in failing.packages.items() if name not in (project, "flask")]
        key = _digest(
            self.release.version, self.pinned, sorted(held), project, failing.error, str(bad),
            [str(a) for a in allowed], interpreter.version_text, self._index,
        )  # fmt: skip
        memo = self.cache / "bisections" / self.day / f"{key}-{self._code}.json"
        if memo.exists():
            return Bound(**read_json(memo))
        evidence: dict[Version, str | None] = {}

        def trial(version: Version) -> bool | None:
            seen = self.attempt(interpreter, [*held, f"{project}=={version}"])
            if seen.outcome == "install-failed":
                return None  # it does not install with everything else held: no answer
            evidence[version] = seen.evidence
            # The same failure, not any failure of the project: older releases may fail another way
            # (Werkzeug 0.15.0-0.15.2 on Python 3.8+), which is the next link of the chain, not this one.
            return seen.outcome != "served" and seen.error == failing.error

        candidates = [v for v in self.versions(project) if all(v in spec for spec in allowed)]
        found = first_bad(candidates, bad, trial)
        if found.last_good is None:
            return None  # every release tried fails the same way: no bound can help here
        bound = Bound(
            project=project,
            first_bad=str(found.bound),
            last_good=str(found.last_good),
            exact=found.exact,
            evidence=evidence.get(found.first_bad) or failing.evidence or failing.error or "",
            bisected_with=(
                f"Flask {self.release.version} on Python {interpreter.version_text}, "
                f"with {', '.join(held) or 'nothing else'} held"
            ),
            trials=len(found.trials),
        )
        write_json_atomic(memo, asdict(bound))
        return bound

    def minimise(self, interpreter: Interpreter, bounds: list[Bound]) -> tuple[list[Bound], list[Attempt]]:
        """The bounds it still fails without, and the attempts that showed it: the fewest that make it serve."""
        needed = list(bounds)
        tried = []
        for bound in list(bounds):
            seen = self.attempt(interpreter, [b.requirement for b in needed if b is not bound])
            tried.append(seen)
            if seen.outcome == "served":
                needed.remove(bound)
        return needed, tried


def _requirements(lines: list[str]) -> list[Requirement]:
    found = []
    for line in lines:
        try:
            found.append(Requirement(line))
        except InvalidRequirement:
            continue  # very old metadata: not a requirement this code can read, so no limit from it
    return found


def _allowed(release: Release, interpreters: list[Interpreter]) -> list[Interpreter]:
    """The interpreters the release's metadata allows, newest first (Python 2.7 and 3.6+)."""
    usable = [i for i in interpreters if i.version[0] == 2 or i.version >= (3, 6)]
    return sorted((i for i in usable if era.admits(release.requires_python, i.version_text)), reverse=True)


def _bisected_here(
    trials: Trials, interpreter: Interpreter, needed: list[Bound], tried: list[Attempt], record: ConstraintsRecord
) -> list[Bound]:
    """The bounds as bisected on the interpreter it served on: one carried from a newer Python is bisected
    again where the failure it prevents reads differently here, and kept as it was unless the new set serves."""
    without = {a.culprit: a for a in tried if a.outcome != "served" and a.culprit_kind == "distribution"}
    redone = []
    for bound in needed:
        failing = without.get(bound.project)
        if failing is None or failing.evidence == bound.evidence:
            redone.append(bound)
            continue
        again = trials.bisect(interpreter, failing)
        redone.append(again if again is not None else bound)
    if redone == needed:
        return needed
    verified = trials.attempt(interpreter, [b.requirement for b in redone])
    record.attempts.append(verified)
    return redone if verified.outcome == "served" else needed


def _next_python(pythons: list[Interpreter], at: int, seen: Attempt, previous: Attempt | None) -> int:
    """Where the search goes after ``pythons[at]`` failed in a way no bound fixes.

    The next older Python; but a failure of the release's (or the pinned line's) own code that reads the same on
    two Pythons of one major version does not depend on the minor: the search goes on with the next major down
    (Flask 0.1's Python 2 syntax, Werkzeug 0.7's ``iteritems``). The interpreter's own changes (a module or
    name removed in one minor) are followed minor by minor.
    """
    here = pythons[at]
    repeated = (
        previous is not None
        and seen.culprit_kind != "interpreter"
        and (previous.python.split(".")[0], previous.error) == (seen.python.split(".")[0], seen.error)
    )
    if not repeated:
        return at + 1
    return next((i for i in range(at + 1, len(pythons)) if pythons[i].version[0] != here.version[0]), len(pythons))


def find(
    release: Release, interpreters: list[Interpreter], trials: Trials, start: Sequence[Bound] = ()
) -> ConstraintsRecord:
    """Search for the fewest bounds that make ``release`` serve; the record says what was found and how.

    :param interpreters: where it may run; tried newest first, from the newest its metadata allows.
    :param start: bounds to begin with (found for the release before): kept only where still needed.
    """
    record = ConstraintsRecord(release.version, release.released, release.requires_python, verified=False)
    pythons = _allowed(release, interpreters)
    if not pythons:
        record.reason = f"no interpreter here that its metadata allows ({release.requires_python})"
        return record
    bounds: dict[str, Bound] = {b.project: b for b in start if b.project not in trials.pinned_projects}
    last: dict[str, str] = {}
    at, previous = 0, None
    while at < len(pythons):
        interpreter = pythons[at]
        for _ in range(MAX_ATTEMPTS_PER_PYTHON):
            seen = trials.attempt(interpreter, [b.requirement for b in bounds.values()])
            record.attempts.append(seen)
            if seen.outcome == "served":
                needed, tried = trials.minimise(interpreter, list(bounds.values()))
                record.attempts.extend(tried)
                needed = _bisected_here(trials, interpreter, needed, tried, record)
                # The attempt with exactly the bounds still needed served (a cache hit when some were dropped).
                final = (
                    seen if len(needed) == len(bounds) else trials.attempt(interpreter, [b.requirement for b in needed])
                )
                record.verified, record.python = True, f"{interpreter.minor[0]}.{interpreter.minor[1]}"
                record.verified_on, record.bounds, record.packages = stamp(now())[:10], needed, final.packages
                return record
            last[interpreter.version_text] = f"{seen.outcome}: {seen.error}"
            if seen.culprit_kind != "distribution" or seen.culprit in trials.pinned_projects:
                break  # the release's own code, the interpreter, or the pinned line: an older Python may run it
            bound = trials.bisect(interpreter, seen)
            held = bounds.get(bound.project) if bound else None
            if bound is None or (held is not None and Version(bound.first_bad) >= Version(held.first_bad)):
                break
            bounds[bound.project] = bound
        at, previous = _next_python(pythons, at, seen, previous), seen
    record.reason = "no interpreter here ran it: " + "; ".join(f"Python {v}: {why}" for v, why in last.items())
    return record


def record_key(release: Release, interpreters: list[Interpreter], index_url: str) -> str:
    """What decides a record: the release, the machine's interpreters, the index, the code, and the day."""
    versions = sorted(i.version_text for i in interpreters)
    identity = environments.index_identity(index_url)
    return _digest(release.version, versions, identity, sources_digest(DECIDING), stamp(now())[:10])


def cached(
    release: Release, interpreters: list[Interpreter], options: Options, confirmations: Confirmations
) -> ConstraintsRecord | None:
    """The stored record when this machine found it today under the same key, else None."""
    path = release_file(options.output.constraints, release.version)
    if options.force or not path.exists():
        return None
    stored = load(path)
    url = index.configured_index_url(options.index_url)
    return stored if confirmations.key(path) == record_key(release, interpreters, url) else None


def run(
    version: str,
    releases: list[Release],
    found: list[Interpreter],
    options: Options,
    cache: Path,
    confirmations: Confirmations,
    log: Log = print,
) -> ConstraintsRecord:
    """Find and save the constraints of one release.

    :param version: the Flask release.
    :param releases: the catalogue.
    :param found: this machine's interpreters.
    :param options: the command line's options.
    :param cache: where attempts and bisections are kept between runs.
    :param confirmations: where this machine keeps the key each record was found under.
    """
    release = next(r for r in releases if r.version == version)
    url = index.configured_index_url(options.index_url)
    # The key of the day the search starts: one that ends after midnight is still that day's.
    key = record_key(release, found, url)
    record = find(release, found, Trials(release, url, cache, log))
    record.observed_at, record.cache_key = stamp(now()), key
    path = release_file(options.output.constraints, version)
    stored = load(path) if path.exists() else None
    if stored is not None and stored.verified and not record.verified and not options.force:
        # A machine that cannot run the release (no such Python here) never erases where one did: kept as it is.
        log(f"Flask {version}: not verified here ({record.reason}); the record verified on Python {stored.python} "
            "is kept (--force replaces it)")  # fmt: skip
        return stored
    save(record, options.output.constraints)
    confirmations.confirm(path, key, record.to_json())
    return record

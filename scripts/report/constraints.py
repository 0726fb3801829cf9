"""How to run each release today: the requirements files and ``reports/constraints.md``, from the records only."""

from __future__ import annotations

from scripts.constraints.records import Attempt, ConstraintsRecord
from scripts.report import markdown
from scripts.report.wording import plural, version_key

__all__ = ["render_file", "render_page"]


def render_file(record: ConstraintsRecord) -> str:
    """The requirements file (``pip install -r`` reads it): its first line says where and when it was verified."""
    if not record.verified:
        return f"# not verified: {record.reason}\n# no Python here ran Flask {record.flask}: nothing to install\n"
    lines = [f"# verified on Python {record.python} ({record.verified_on})", f"flask=={record.flask}"]
    for bound in record.bounds:
        said = f"{bound.first_bad} raises" if bound.exact else f"from {bound.first_bad} on (not every release tried)"
        lines.append(f"{bound.requirement}  # {said}: {bound.evidence}")
    return "\n".join(lines) + "\n"


def _step(attempt: Attempt) -> str:
    bounds = ", ".join(f"`{c}`" for c in attempt.constraints) or "no bounds"
    if attempt.outcome == "served":
        return f"Python {attempt.python}, {bounds}: served"
    blamed = f"{attempt.culprit_kind} {attempt.culprit}" if attempt.culprit else str(attempt.culprit_kind)
    return f"Python {attempt.python}, {bounds}: {attempt.outcome}, `{attempt.error}` ({blamed})"


def _how(record: ConstraintsRecord) -> str:
    """Each bound with the release that brought the failure, the one below it without it, and the evidence."""
    if not record.bounds:
        return "a plain install serves" if record.verified else ""
    parts = []
    for b in record.bounds:
        if b.exact:
            found = f"{b.project} {b.first_bad} is the first release that raises it, {b.last_good} does not"
        else:
            found = (
                f"{b.project} {b.last_good} does not raise it; from {b.first_bad} on each release tried raises it "
                "or would not install with the rest held, so the bound keeps them all out"
            )
        parts.append(f"`{b.requirement}`: `{b.evidence}` ({found})")
    return "; ".join(parts)


def render_page(records: list[ConstraintsRecord]) -> str:
    """One row per release: where it was verified, the bounds and how each was found; then every attempt."""
    ordered = sorted(records, key=lambda r: version_key(r.flask))
    rows = [
        [
            r.flask,
            f"Python {r.python} ({r.verified_on})" if r.verified else "not verified",
            "<br>".join(f"`{line}`" for line in (f"flask=={r.flask}", *(b.requirement for b in r.bounds)))
            if r.verified
            else "",
            _how(r) if r.verified else str(r.reason),
        ]
        for r in ordered
    ]
    verified = [r for r in ordered if r.verified]
    plain = [r for r in verified if not r.bounds]
    chains = "\n".join(
        f"- **Flask {r.flask}** ({plural(len(r.attempts), 'attempt')}): " + "; ".join(_step(a) for a in r.attempts)
        for r in ordered
        if r.attempts
    )
    return (
        "# How to run each Flask release today\n\n"
        "Generated from `reports/constraints/*.json` by `nox -s render`; do not edit. For each release, "
        "`reports/constraints/flask-<version>.txt` is a requirements file for `pip install -r`: `flask==<version>` "
        "and the fewest upper bounds that made a real server answer, on the Python its first line names.\n\n"
        f"{len(verified)} of {len(ordered)} releases serve with today's packages on a Python here; "
        f"{len(plain)} of them with a plain install. Each bound comes from bisecting the releases of the package "
        "the failure points at, within what Flask declares, everything else held at the failing install's "
        "versions (a bisection is reused for the same failure of the same package on the same Python; the "
        "records name the release it ran under). A failure in the release itself, in the interpreter or of "
        "unknown origin moved the search to the next older Python, keeping the bounds found; a bound that "
        "proved unnecessary once it served was dropped.\n\n"
        + markdown.table(("Flask", "Verified on", "Constraints", "How each bound was found"), rows)
        + "\n\n## Every attempt\n\n"
        + chains
        + "\n"
    )

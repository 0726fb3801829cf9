"""How to run each release today: the requirements files and ``reports/constraints.md``, from the records only."""

from __future__ import annotations

from scripts.constraints.records import Attempt, Bound, ConstraintsRecord
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


def _why(bound: Bound) -> str:
    """A bound with the error it keeps out and where the bisection found it."""
    if bound.exact:
        found = f"{bound.project} {bound.first_bad} is the first release that raises it, {bound.last_good} does not"
    else:
        found = (
            f"{bound.project} {bound.last_good} does not raise it; from {bound.first_bad} on each release tried raises "
            "it or would not install with the rest held, so the bound keeps them all out"
        )
    return f"`{bound.requirement}`: `{bound.evidence}` ({found})"


def render_page(records: list[ConstraintsRecord]) -> str:
    """The answer first, then one row per release (its file, its bounds by note number), each note once, and
    every attempt."""
    ordered = sorted(records, key=lambda r: version_key(r.flask))
    notes: dict[str, int] = {}
    rows = []
    for r in ordered:
        page = f"[{r.flask}](../docs/releases/{r.flask}.md)"
        if not r.verified:
            rows.append([page, "not verified", "", str(r.reason)])
            continue
        marked = [f"`{b.requirement}` [{notes.setdefault(_why(b), len(notes) + 1)}]" for b in r.bounds]
        file = f"[flask-{r.flask}.txt](constraints/flask-{r.flask}.txt)"
        rows.append([page, f"Python {r.python} ({r.verified_on})", file, ", ".join(marked) or "none"])
    verified = [r for r in ordered if r.verified]
    plain = [r for r in verified if not r.bounds]
    chains = "\n".join(
        f"- **Flask {r.flask}** ({plural(len(r.attempts), 'attempt')}): " + "; ".join(_step(a) for a in r.attempts)
        for r in ordered
        if r.attempts
    )
    return (
        "# How to run each Flask release today\n\n"
        f"{len(verified)} of {len(ordered)} releases serve with today's packages on a Python here. "
        f"{len(plain)} of them need nothing but `flask==X`.\n\n"
        "Download a release's requirements file and install it: `pip install -r flask-X.txt`. Its first line names "
        "the Python a real server answered on. It holds `flask==X` and the fewest upper bounds that made it serve. "
        "How the bounds were found: [the search](../guide/constraints.md).\n\n"
        + markdown.table(("Flask", "Verified on", "Requirements file", "Upper bounds"), rows)
        + "\n\n## Why each bound\n\n"
        + "\n".join(f"{n}. {why}" for why, n in notes.items())
        + "\n\n## Every attempt\n\n"
        + chains
        + "\n\nGenerated from `reports/constraints/*.json` by `nox -s render`; do not edit.\n"
    )

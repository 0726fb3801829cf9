"""The fork-less table: each Werkzeug line alone, with ``os.fork`` removed, on Python 2.7 and on Python 3.

Computed from the samples ``nox -s introductions`` took (``reports/introductions.json``): Werkzeug's
own answer without ``fork`` depends on the Python too, since Python 2's ``SocketServer`` defines
``ForkingMixIn`` even where ``fork`` is missing and Python 3's does not.
"""

from __future__ import annotations

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from scripts.introductions.records import IntroductionsRecord, Sample
from scripts.packages.catalogue import Line
from scripts.report import markdown
from scripts.report.grid import code

__all__ = ["forkless_section", "forkless_table"]


def _allows(line: Line, python: str) -> bool:
    """Whether the line's metadata admits that Python (an unreadable or missing requires_python does)."""
    try:
        return not line.requires_python or SpecifierSet(line.requires_python).contains(python)
    except InvalidSpecifier:
        return True


def _minor(sample: Sample) -> str:
    return ".".join(sample.python.split(".")[:2])


def _said(outcome: str | None) -> str:
    if outcome is None:
        return ""
    if outcome == "served":
        return "serves"
    if outcome == "requests-failed":
        return "starts, then drops every request"
    return f"fails: {code(outcome)}"


def _python3(samples: list[Sample]) -> tuple[Sample | None, list[Sample]]:
    """The newest Python 3 sample where plain ``run_simple`` (with fork) served, and the newer ones that did not."""
    threes = sorted(
        (s for s in samples if not s.python.startswith("2.")), key=lambda s: Version(s.python), reverse=True
    )
    for at, sample in enumerate(threes):
        if sample.outcomes and sample.outcomes.get("default") == "served":
            return sample, threes[:at]
    return None, threes


def forkless_table(found: IntroductionsRecord, lines: list[Line]) -> str:
    """One row per Werkzeug line: without ``fork``, plain ``run_simple`` and ``processes=3`` on 2.7 and 3."""
    header = [
        "Werkzeug",
        "Python 2.7: `app.run()`",
        "Python 2.7: `processes=3`",
        "Python 3",
        "`app.run()`",
        "`processes=3`",
    ]
    rows = []
    for line in sorted(lines, key=lambda line: Version(line.version)):
        samples = [s for s in found.samples if s.werkzeug == line.version]
        two = next((s for s in samples if s.python.startswith("2.")), None)
        three_tried = any(not s.python.startswith("2.") for s in samples)
        if not three_tried or (two is None and _allows(line, "2.7")):
            continue  # a release the bisections met, not one the table's run tried on both
        row = [line.version]
        if two is None:
            row += [f"requires Python {line.requires_python}", ""]
        elif two.outcomes is None:
            row += [f"does not run: {code(two.detail or 'no detail')}", ""]
        else:
            row += [_said(two.outcomes.get("default_nofork")), _said(two.outcomes.get("processes3_nofork"))]
        three, newer = _python3(samples)
        if three is not None:
            outcomes = three.outcomes or {}
            row += [_minor(three), _said(outcomes.get("default_nofork")), _said(outcomes.get("processes3_nofork"))]
        else:  # a Python 3 was tried (above), and plain run_simple served on none
            row += [f"does not run on {', '.join(_minor(s) for s in newer)}", "", ""]
        rows.append(row)
    return markdown.table(header, rows)


def forkless_section(found: IntroductionsRecord | None, lines: list[Line]) -> str:
    if found is None or not found.samples:
        return ""
    return f"""## Without `os.fork` (as on Windows)

Each Werkzeug line alone (a plain WSGI app started with `run_simple`, as `app.run` starts it), with
`os.fork` removed before anything imports `socketserver` or Werkzeug. Python 3 is the newest minor on
which plain `run_simple` serves with `fork` in place. From `reports/introductions.json` (`nox -s introductions`).

{forkless_table(found, lines)}

"""

"""Mutation testing of the core: what mutmut found, and ``reports/mutation.md``.

The core is the code that decides or states evidence: the harness, the cache key, the regression
alarm, the failure text, the observation records, the summary and the claims (``[tool.mutmut]``
``only_mutate`` in ``pyproject.toml``). ``nox -s mutants`` runs mutmut over it; this module reads
mutmut's results from ``mutants/`` and renders them. Every surviving mutant needs a reason in
``tests/mutation-survivors.toml`` (an equivalent mutant, or one named and out of scope); a survivor
without one, or a score under the target, fails the session.
"""

from __future__ import annotations

import ast
import difflib
import json
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts.common.jsonio import StoredDocument
from scripts.report import markdown

__all__ = ["TARGET", "MutationRun", "Survivor", "read", "reasons", "render"]

#: The share of mutants the tests must kill (timeouts count as killed: the mutant was noticed).
TARGET = 0.85
#: mutmut's exit codes per mutant (mutmut/stats.py).
KILLED, SURVIVED, NO_TESTS, SKIPPED = {1, 3}, {0}, {5, 33}, {34}
TIMEOUT = {36, -24, 24, 152, 255}


@dataclass
class Survivor:
    """A mutant the tests did not notice, with the change mutmut made and why that is acceptable."""

    name: str
    module: str
    removed: list[str]
    added: list[str]
    reason: str | None = None


@dataclass
class ModuleResult:
    module: str
    mutants: int
    killed: int
    timeouts: int
    survived: int
    no_tests: int
    skipped: int


@dataclass
class MutationRun(StoredDocument, what="a mutation run", remedy="run `nox -s mutants` again"):
    """One ``nox -s mutants``: per module, how many mutants the tests killed, and each survivor."""

    made_at: str
    mutmut: str
    seconds: float
    modules: list[ModuleResult]
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def totals(self) -> ModuleResult:
        return ModuleResult(
            "all",
            *(sum(getattr(m, name) for m in self.modules) for name in ("mutants", "killed", "timeouts", "survived")),
            *(sum(getattr(m, name) for m in self.modules) for name in ("no_tests", "skipped")),
        )

    @property
    def score(self) -> float:
        """Killed (or timed out) over the mutants that were tested."""
        total = self.totals
        tested = total.mutants - total.skipped
        return (total.killed + total.timeouts) / tested if tested else 0.0

    @property
    def unexplained(self) -> list[Survivor]:
        return [s for s in self.survivors if not s.reason]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MutationRun:
        data = dict(data)
        data["modules"] = [ModuleResult(**m) for m in data["modules"]]
        data["survivors"] = [Survivor(**s) for s in data.get("survivors", [])]
        return cls(**data)


def reasons(path: Path) -> dict[str, str]:
    """The reviewed survivors: mutant name -> why it is acceptable."""
    if not path.exists():
        return {}
    return {name: str(reason) for name, reason in tomllib.loads(path.read_text())["survivors"].items()}


def _functions(source: str) -> dict[str, str]:
    tree = ast.parse(source)
    return {
        node.name: ast.get_source_segment(source, node) or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def _change(functions: dict[str, str], name: str) -> tuple[list[str], list[str]]:
    """The lines a mutant removed and added, against the function it was made from."""
    short = name.rsplit(".", 1)[-1]
    original = functions.get(short.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", "")
    mutated = functions.get(short, "")
    diff = list(difflib.ndiff(original.splitlines()[1:], mutated.splitlines()[1:]))
    return [d[2:].strip() for d in diff if d.startswith("- ")], [d[2:].strip() for d in diff if d.startswith("+ ")]


def read(mutants: Path, explained: dict[str, str], made_at: str, mutmut: str, seconds: float) -> MutationRun:
    """mutmut's results under ``mutants/`` (one ``.meta`` file per mutated module)."""
    modules, survivors = [], []
    for meta in sorted(mutants.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        module = meta.relative_to(mutants).as_posix().removesuffix(".meta")
        count = Counter(codes.values())
        modules.append(
            ModuleResult(
                module,
                len(codes),
                sum(count[c] for c in KILLED),
                sum(count[c] for c in TIMEOUT),
                sum(count[c] for c in SURVIVED),
                sum(count[c] for c in NO_TESTS),
                sum(count[c] for c in SKIPPED),
            )
        )
        functions = _functions(meta.with_suffix("").read_text())
        for name, code in sorted(codes.items()):
            if code in SURVIVED or code in NO_TESTS:
                removed, added = _change(functions, name)
                survivors.append(Survivor(name, module, removed, added, explained.get(name)))
    return MutationRun(made_at, mutmut, round(seconds, 1), modules, survivors)


def render(run: MutationRun) -> str:
    """``reports/mutation.md``: the score against the target, per module, and every survivor with its reason."""
    total = run.totals
    rows = [
        [m.module, str(m.mutants), str(m.killed + m.timeouts), str(m.survived), str(m.no_tests), _share(m)]
        for m in [*run.modules, total]
    ]
    verdict = "met" if run.score >= TARGET else "not met"
    survivors = "\n".join(
        f"- `{s.name}` ({s.module}): `{' '.join(s.removed) or '…'}` → `{' '.join(s.added) or '…'}`. "
        f"{s.reason or '**Not explained.**'}"
        for s in run.survivors
    )
    return f"""# Mutation testing of the core

Generated from `reports/mutation.json` by `nox -s mutants`; do not edit. Made {run.made_at} with
mutmut {run.mutmut} in {run.seconds / 60:.0f} minutes: every mutant of the core (the modules below) was
run against the tests that cover it (`pytest -m "not slow"`).

**Score: {run.score:.1%} of {total.mutants - total.skipped} mutants killed** (target {TARGET:.0%}: {verdict});
{len(run.survivors)} survived or had no test, {len(run.unexplained)} of them without a reason.

{markdown.table(["module", "mutants", "killed", "survived", "no test", "killed share"], rows)}

## Survivors and why each is acceptable

Reasons are reviewed by hand in `tests/mutation-survivors.toml`: an *equivalent* mutant changes
nothing that can be observed; an *out of scope* one is named with what would test it.

{survivors or "None."}
"""


def _share(result: ModuleResult) -> str:
    tested = result.mutants - result.skipped
    return f"{(result.killed + result.timeouts) / tested:.1%}" if tested else "—"

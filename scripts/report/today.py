"""The today section: what a plain ``pip install flask==X`` gives now, from the today baseline's records."""

from __future__ import annotations

from collections.abc import Sequence

from scripts.audit.records import Observation
from scripts.report.cells import describe_concurrency
from scripts.report.wording import plural, version_key

__all__ = ["DEPENDENCIES", "today_section"]

#: Flask's own dependencies, in the order the table lists them (any other installed distribution follows).
DEPENDENCIES = ("werkzeug", "jinja2", "markupsafe", "itsdangerous", "click", "blinker")
NAMES = {"werkzeug": "Werkzeug", "jinja2": "Jinja2", "markupsafe": "MarkupSafe"}


def _installed(record: Observation) -> str:
    names = [n for n in DEPENDENCIES if n in record.packages]
    names += sorted(n for n in record.packages if n not in DEPENDENCIES and n != "flask")
    return ", ".join(f"{NAMES.get(n, n)} {record.packages[n]}" for n in names) or "nothing"


def _outcome(record: Observation) -> str:
    if record.status == "ok":
        return describe_concurrency(record.modes.get("default"))
    return f"✗ {record.status}: `{record.detail}`" if record.detail else f"✗ {record.status}"


def _listed(records: Sequence[Observation]) -> str:
    names = [r.flask for r in records]
    return "Flask " + (names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}")


def today_section(records: Sequence[Observation], constraints: str) -> str:
    """The section, or "" before the today baseline was made.

    :param records: the today baseline (``reports/today/``).
    :param constraints: the link, relative to the page, to the folder of per-release requirements files.
    """
    if not records:
        return ""
    ordered = sorted(records, key=lambda r: version_key(r.flask))
    serving = [r for r in ordered if r.status == "ok"]
    failing = [r for r in ordered if r.status != "ok"]
    days = sorted({r.observed_at[:10] for r in ordered if r.observed_at})
    when = "a day the records do not give" if not days else days[0] if len(days) == 1 else f"{days[0]} to {days[-1]}"
    rows = "\n".join(
        f"| {r.flask} | {r.python} | {_outcome(r)} | {_installed(r)} | "
        + ("—" if r.status == "ok" else f"[flask-{r.flask}.txt]({constraints}flask-{r.flask}.txt)")
        + " |"
        for r in ordered
    )
    # Named one by one: a span such as "0.10.1 to 2.1.3" would read as every release between them.
    parts = []
    if serving:
        parts.append(f"{_listed(serving)} {'serves' if len(serving) == 1 else 'serve'} with today's dependencies")
    if failing:
        parts.append(f"{_listed(failing)} {'fails' if len(failing) == 1 else 'fail'} before serving")
    said = f"Of {plural(len(ordered), 'watched release')}, " + "; ".join(parts)
    return f"""## What a plain install gives today

The matrix installs each release with the dependencies of its day; `pip install flask==X` today gets
the newest dependencies the index has instead. The newest release of each Flask line that runs on a
Python the newest Flask release supports was installed that way on {when}, with no other requirement,
and observed in every mode. {said}.

Each was installed on the Python its matrix row uses. The [grid](grid.md)'s plain install uses the newest
Python the release allows instead, so the two may name different Pythons.

| Flask | Python | plain `app.run()` today | installed | requirements that make it serve |
|---|---|---|---|---|
{rows}

The regression alarm (`nox -s regression`) installs these afresh each run and fails when one behaves
differently, naming the packages that moved. The records are in `reports/today/`.

"""

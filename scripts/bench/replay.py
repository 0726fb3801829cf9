"""One release's grid cells observed again, without nox: the second measurement of the cold grid's floor.

Run by ``scripts.bench.run.cells_alone``, one release per process, as
``python -m scripts.bench.replay VERSION ROOT SEARCHES INTERPRETERS``: the release's cells are observed the
way its ``cells`` session observes them (``grid.run.run``), on the index handed down in the environment
(``index.HANDED_DOWN``: a URL may hold credentials, which a command line would show to every user of the
machine), with records written under ROOT only, the search's attempts kept in SEARCHES, and the
interpreters the grid run found (its cache file INTERPRETERS). Its last line of output is how many cells
it observed rather than ruled out, and the CPU-seconds of the processes they started (environments,
installs, imports, probes, metadata read), apart from its own.
"""

from __future__ import annotations

import sys
from pathlib import Path

from scripts.bench.records import children_cpu
from scripts.grid import run as grid_run
from scripts.grid.records import NOT_RUN, GridRecord
from scripts.layout import REPO
from scripts.packages import catalogue
from scripts.packages.interpreters import discover

__all__ = ["main", "observed", "replay"]


def observed(record: GridRecord) -> int:
    """How many of the record's cells were observed (an environment made), not ruled out."""
    return sum(cell.status not in NOT_RUN for cell in record.cells)


def replay(version: str, root: Path, searches: Path, interpreters: Path) -> GridRecord:
    """Observe every cell of Flask ``version`` as a ``cells`` session does, writing its record under ``root``.

    :param root: a folder holding a ``reports/`` copy: the run-it-today records are read from it.
    :param searches: where the Werkzeug cells' search keeps its attempts (empty for a measurement).
    :param interpreters: the interpreters' cache file of the grid run being measured (the same interpreters).
    """
    options = grid_run.parse_options(["--output", str(root)])
    found = discover(interpreters)
    return grid_run.run(version, catalogue.load(REPO.releases), found, options, searches, log=lambda line: None)


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    version, root, searches, interpreters = argv
    before = children_cpu()
    record = replay(version, Path(root), Path(searches), Path(interpreters))
    print(observed(record), f"{children_cpu() - before:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

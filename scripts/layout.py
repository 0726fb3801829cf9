"""Where the project keeps what it writes: every ``reports/`` and ``docs/`` path, declared once.

A :class:`Layout` is rooted at the repository or at ``--output``: the same names under another
folder, so a test or a CI shard writes its own tree and never the committed one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["PROBES", "REPO", "ROOT", "Layout", "release_file"]

#: The repository: the folder holding ``noxfile.py``.
ROOT = Path(__file__).resolve().parent.parent
#: Programs that run inside audited interpreters (Python 2.7 to 3.13, standard library and Flask only).
PROBES = ROOT / "probes"


def release_file(folder: Path, version: str) -> Path:
    """The file of one Flask release in a folder of per-release records."""
    return folder / f"flask-{version}.json"


@dataclass(frozen=True)
class Layout:
    """Every generated file under one root."""

    root: Path = ROOT

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    # -- data ------------------------------------------------------------------------------------

    @property
    def releases(self) -> Path:
        """The Flask release catalogue (``nox -s catalogue``)."""
        return self.reports / "releases.json"

    @property
    def werkzeug_lines(self) -> Path:
        return self.reports / "werkzeug-lines.json"

    @property
    def results(self) -> Path:
        """One observation record per release: the baseline."""
        return self.reports / "results"

    @property
    def candidates(self) -> Path:
        """Records the regression alarm made and has not accepted."""
        return self.reports / "candidates"

    @property
    def today(self) -> Path:
        """One record per watched release as a plain install gives it now (newest dependencies): the today baseline."""
        return self.reports / "today"

    @property
    def today_candidates(self) -> Path:
        """Today records the regression alarm made and has not accepted."""
        return self.candidates / "today"

    @property
    def platforms(self) -> Path:
        """Records from CI runners of other systems, one folder per ``sys.platform``."""
        return self.reports / "platforms"

    @property
    def grid(self) -> Path:
        return self.reports / "grid"

    @property
    def constraints(self) -> Path:
        """One constraints record per release, and the requirements file rendered from it."""
        return self.reports / "constraints"

    @property
    def introductions(self) -> Path:
        """Which Werkzeug release introduced each text the report attributes to Werkzeug (``nox -s introductions``)."""
        return self.reports / "introductions.json"

    @property
    def servers_data(self) -> Path:
        return self.reports / "servers.json"

    @property
    def bench_data(self) -> Path:
        return self.reports / "bench.json"

    @property
    def mutation_data(self) -> Path:
        return self.reports / "mutation.json"

    # -- pages -----------------------------------------------------------------------------------

    @property
    def matrix_data(self) -> Path:
        """The whole matrix as JSON, for others to build on (``scripts/report/matrix.schema.json``)."""
        return self.reports / "matrix.json"

    @property
    def matrix_page(self) -> Path:
        return self.reports / "matrix.md"

    @property
    def constraints_page(self) -> Path:
        return self.reports / "constraints.md"

    @property
    def servers_page(self) -> Path:
        return self.reports / "servers.md"

    @property
    def bench_page(self) -> Path:
        return self.reports / "bench.md"

    @property
    def mutation_page(self) -> Path:
        return self.reports / "mutation.md"

    @property
    def answer_page(self) -> Path:
        """The readers' page: the answer, the claims, the matrix."""
        return self.docs / "index.md"

    @property
    def release_pages(self) -> Path:
        """A page per release (``<version>.md``) and ``index.md`` listing them: every file here is rendered."""
        return self.docs / "releases"

    @property
    def grid_page(self) -> Path:
        """Will Flask X run on Python Y, with which Werkzeug: the grid, for readers (one page, in docs/)."""
        return self.docs / "grid.md"

    @property
    def timeline(self) -> Path:
        return self.docs / "timeline.svg"

    @property
    def matrix_chart(self) -> Path:
        """The matrix as a picture: one coloured cell per release and mode."""
        return self.docs / "matrix.svg"

    @property
    def grid_chart(self) -> Path:
        """The grid's Flask x Python table as a picture: one coloured cell per combination."""
        return self.docs / "grid.svg"

    @property
    def servers_chart(self) -> Path:
        return self.docs / "servers.svg"

    @property
    def state(self) -> Path:
        """Local state that is never committed: environments, caches."""
        return self.root / ".nox"

    @property
    def news(self) -> Path:
        """Verdicts that changed in this run, confirmed, one line each: the audit prints them last and empties it."""
        return self.state / "changed-verdicts.txt"

    @property
    def render_lock(self) -> Path:
        """Held while pages are written: audit sessions may finish side by side."""
        return self.reports / ".render.lock"


#: The repository's own layout: the catalogue and the committed records live here.
REPO = Layout()

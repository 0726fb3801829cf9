"""The observation cache: a record is reused only when everything that decides it is unchanged.

The key has two parts. The plan part is known before installing: the release, the interpreter
version, the installer, the era cut-off, the harness settings, and the source of every module in
the observing folders. The environment part is what the environment holds: its exact Python and
every installed distribution with a digest of its files, read from the environment at each run.
"""

from __future__ import annotations

import hashlib
from dataclasses import astuple
from pathlib import Path

from scripts.audit.harness import DEFAULT_SETTINGS, Settings
from scripts.audit.plan import Plan
from scripts.common.fingerprint import sources_digest
from scripts.layout import PROBES, ROOT
from scripts.packages.environments import Inventory, files_identity
from scripts.packages.era import cutoff

__all__ = ["NOTHING_INSTALLED", "OBSERVING", "cache_key", "environment_key", "plan_key"]

#: The code that decides what an audit observes: a change anywhere in these folders re-observes.
OBSERVING = (PROBES, ROOT / "scripts" / "audit", ROOT / "scripts" / "packages", ROOT / "scripts" / "common")
NOTHING_INSTALLED = Inventory(None, {})


def plan_key(plan: Plan, settings: Settings = DEFAULT_SETTINGS, folders: tuple[Path, ...] = OBSERVING) -> str:
    """What is known before installing."""
    interpreter = plan.interpreter.version_text if plan.interpreter else "none"
    known = f"{plan.version}|{interpreter}|{plan.installer}|{cutoff(plan.release)}|{astuple(settings)}"
    return hashlib.sha256(f"{known}|{sources_digest(folders)}".encode()).hexdigest()[:16]


def environment_key(held: Inventory) -> str:
    """What the environment holds: its exact Python and every distribution (tooling included) with its files."""
    return files_identity(held)


def cache_key(plan: Plan, held: Inventory = NOTHING_INSTALLED, settings: Settings = DEFAULT_SETTINGS) -> str:
    """``<plan key>-<environment key>``: a record is reused only when both parts match."""
    return f"{plan_key(plan, settings)}-{environment_key(held)}"

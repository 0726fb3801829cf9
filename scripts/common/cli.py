"""Command-line options shared by every entry point: defined once, validated where they are parsed.

As in Flask's ``cli.py``, an option is declared once and reused, and a bad value is rejected by its
parameter type with a message that says what to give instead, before anything starts.
"""

from __future__ import annotations

import argparse
import os
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

__all__ = [
    "OptionError",
    "Parser",
    "add_force",
    "add_index_url",
    "add_output",
    "bounded_float",
    "file_path",
    "index_url",
    "output_folder",
    "positive_int",
]


class OptionError(ValueError):
    """An option that cannot be used; the message names it and says what to give instead."""


class Parser(argparse.ArgumentParser):
    """An argument parser that raises :class:`OptionError` instead of exiting.

    nox sessions turn it into a failed session with that one line; ``main`` functions into exit 2.
    """

    def error(self, message: str) -> NoReturn:
        raise OptionError(f"{self.prog}: {message}")


def index_url(text: str) -> str:
    """A package index (Simple API) base URL: http, https or file, ending in a slash."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme not in ("http", "https", "file") or (parts.scheme != "file" and not parts.netloc):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a package index URL: give http://…, https://… or file:///…/simple/"
        )
    return text.rstrip("/") + "/"


def file_path(text: str) -> Path:
    """A file to write (a job summary, a verdict): refused if it is a folder or its folder does not exist."""
    path = Path(text)
    if path.is_dir() or not path.parent.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is a folder, or in no folder: give a file path")
    return path


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def bounded_float(low: float, high: float, why: str) -> Callable[[str], float]:
    """A parameter type for a number of seconds from ``low`` up to (not including) ``high``, ``why`` saying why."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = float("nan")
        if not low <= value < high:
            raise argparse.ArgumentTypeError(f"{text!r} is not from {low:g} up to {high:g} ({why})")
        return value

    parse.__name__ = "seconds"
    return parse


def add_index_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--index-url",
        type=index_url,
        metavar="URL",
        help="package index (Simple API); default: UV_DEFAULT_INDEX, UV_INDEX_URL, PIP_INDEX_URL, uv.toml, "
        "pip's configuration, pip's default",
    )


def output_folder(text: str) -> Path:
    """A folder the pages and records can be written under: made if missing, refused if it cannot be."""
    path = Path(text).resolve()
    try:
        if path.exists() and not path.is_dir():
            raise argparse.ArgumentTypeError(f"{text!r} is a file: give a folder to write reports/ and docs/ under")
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a name too long, a parent that cannot be read or written
        raise argparse.ArgumentTypeError(
            f"{text[:80]!r}{'…' if len(text) > 80 else ''} cannot be made ({exc.strerror or exc}): give a folder you "
            "can write"
        ) from exc
    if not os.access(path, os.W_OK | os.X_OK):
        raise argparse.ArgumentTypeError(f"{text!r} cannot be written: give a folder you can write")
    return path


def add_output(parser: argparse.ArgumentParser, default: Path) -> None:
    parser.add_argument(
        "--output",
        type=output_folder,
        default=default,
        metavar="DIR",
        help="write reports/ and docs/ under this folder (default: the repository)",
    )


def add_force(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--force", action="store_true", help=f"re-observe {what} even where a cached one exists")


def parser(prog: str, description: str, adders: Sequence[Callable[[argparse.ArgumentParser], None]] = ()) -> Parser:
    """A :class:`Parser` with the shared options ``adders`` put on it."""
    made = Parser(prog=prog, description=description)
    for add in adders:
        add(made)
    return made

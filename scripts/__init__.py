"""The audit's tooling. It runs on Python 3.11 or newer; the releases it audits run on their own interpreters."""

import sys

if sys.version_info < (3, 11):  # noqa: UP036 - the guard is for interpreters older than the target
    raise SystemExit(
        f"This project's tooling needs Python 3.11 or newer; this is Python {sys.version.split()[0]} "
        f"({sys.executable}). Run it with a newer python3 (see the README's first two commands)."
    )

"""What the installed Flask declares it needs: its requirements, one per line, extras left out.

Runs inside the audited interpreter (Python 2.7-3.13, standard library only):

    python probes/declared.py

Reads the installed metadata (``METADATA`` of a wheel install, ``PKG-INFO`` and ``requires.txt``
of an egg install), so it works for every Flask release however it was built.
"""

import os
import sys


def _flask_folders():
    for entry in sys.path:
        if "site-packages" not in entry or not os.path.isdir(entry):
            continue
        for name in os.listdir(entry):
            if name.lower().startswith("flask-") and name.endswith((".dist-info", ".egg-info")):
                yield os.path.join(entry, name), name.endswith(".dist-info")


def declared():
    found = []
    for folder, wheel in _flask_folders():
        metadata = os.path.join(folder, "METADATA" if wheel else "PKG-INFO")
        if os.path.exists(metadata):
            with open(metadata) as handle:
                for line in handle:
                    if line.startswith("Requires-Dist:"):
                        found.append(line.split(":", 1)[1].strip())
        requires = os.path.join(folder, "requires.txt")
        if os.path.exists(requires):
            with open(requires) as handle:
                for line in handle:
                    if line.startswith("["):
                        break  # what follows belongs to extras
                    if line.strip():
                        found.append(line.strip())
    return [line for line in found if "extra ==" not in line]


if __name__ == "__main__":
    sys.stdout.write("\n".join(declared()))

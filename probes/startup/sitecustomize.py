"""Run by every interpreter the harness starts (its PYTHONPATH names this folder), before any program.

The first of them writes its own process id to PROBE_PID_FILE: the started process as seen from
inside. That is the interpreter itself even when a launcher started it as a child (a venv's
python.exe on Windows), so the harness never takes the launcher's pid for the server's. A reloader's
child (WERKZEUG_RUN_MAIN=true) and every later interpreter leave the file as it is; a forked worker
does not run this at all. Python 2.7 and 3: standard library only.
"""

import os


def _report_pid():
    path = os.environ.get("PROBE_PID_FILE")
    if not path or os.environ.get("WERKZEUG_RUN_MAIN") == "true" or os.path.exists(path):
        return
    partial = "%s.%d" % (path, os.getpid())
    with open(partial, "w") as handle:
        handle.write(str(os.getpid()))
    # Whole or absent for the reader: written aside, then renamed into place.
    os.rename(partial, path)


_report_pid()

"""The Werkzeug probe: the audit's probe without Flask, started with ``werkzeug.serving.run_simple``.

Flask's ``app.run`` hands its options to ``run_simple``; this probe calls ``run_simple`` itself, so
any Werkzeug release can be observed alone (Werkzeug 0.1 predates Flask). Runs unchanged on Python
2.7-3.13 with the standard library and Werkzeug only, and answers the routes the harness asks for,
with the same command line as ``probes/app.py``. It lives beside the code that runs it, not in
``probes/``: the audit never starts it, and the audit's cache keys cover that folder.

    python scripts/introductions/werkzeug_probe.py MODE PORT
    python scripts/introductions/werkzeug_probe.py --doc          # prints run_simple's docstring and exits
"""

__all__ = ["application"]

import os
import sys

# As in probes/app.py: removed before socketserver or Werkzeug is imported, since both decide at
# import time whether they can fork.
FORKLESS_MODES = ("processes3_nofork", "default_nofork")
if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] in FORKLESS_MODES:
    for _name in ("fork", "forkpty"):
        if hasattr(os, _name):
            delattr(os, _name)

import inspect
import json
import socket
import threading

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver

HOST = "127.0.0.1"
HOLD_SECONDS = float(os.environ.get("PROBE_HOLD_SECONDS", "30"))
APP_PID = os.getpid()

MODE_OPTIONS = {
    "default": {},
    "threaded": {"threaded": True},
    "processes3": {"threaded": False, "processes": 3},
    "threaded_processes3": {"threaded": True, "processes": 3},
    "processes3_nofork": {"threaded": False, "processes": 3},
    "default_nofork": {},
}


# The helpers below repeat probes/app.py's on purpose: that module imports Flask at its top, which these
# environments do not hold, and a probe must stay one standalone file for whatever interpreter runs it.


def _class_name(cls):
    return "%s.%s" % (cls.__module__, cls.__name__)


def _server_classes():
    """The class chain of the server handling this request, found on the call stack."""
    frame = sys._getframe()
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, socketserver.BaseRequestHandler):
            server = getattr(candidate, "server", None)
            if server is not None:
                return [_class_name(cls) for cls in inspect.getmro(server.__class__)]
        frame = frame.f_back
    return []


def _served_by(environ):
    return {
        "pid": os.getpid(),
        "app_pid": APP_PID,
        "reloader_child": os.environ.get("WERKZEUG_RUN_MAIN") == "true",
        "thread": threading.current_thread().name,
        "thread_id": threading.current_thread().ident,
        "multithread": bool(environ.get("wsgi.multithread")),
        "multiprocess": bool(environ.get("wsgi.multiprocess")),
        "server_classes": _server_classes(),
        # Which harness started this server: a reply naming another control port came from another probe
        # that took the same free port, and must never be observed as this one.
        "control_port": int(os.environ["PROBE_CONTROL_PORT"]) if os.environ.get("PROBE_CONTROL_PORT") else None,
    }


def application(environ, start_response):
    served_by = _served_by(environ)
    path = environ.get("PATH_INFO", "")
    if path == "/hold":
        control = socket.create_connection((HOST, int(os.environ["PROBE_CONTROL_PORT"])), HOLD_SECONDS)
        try:
            control.sendall((json.dumps(served_by) + "\n").encode("utf-8"))
            reply = control.makefile("rb").readline()
        finally:
            control.close()
        served_by["released"] = reply.strip() == b"release"
    elif path != "/info":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
    body = json.dumps(served_by).encode("utf-8")
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


if __name__ == "__main__":
    from werkzeug.serving import run_simple

    if sys.argv[1] == "--doc":
        sys.stdout.write(inspect.getdoc(run_simple) or "")
        sys.exit(0)
    # The harness reads this line as "the app exists": what fails after it is the server's start.
    sys.stderr.write("probe: the app was created\n")
    mode, port = sys.argv[1], int(sys.argv[2])
    run_simple(HOST, port, application, **MODE_OPTIONS[mode])

"""The probe: a minimal Flask app started exactly the way a user starts one.

Runs unchanged on Python 2.7-3.13 and Flask 0.1-3.x, with the standard library and
Flask only. Usage (the harness does this; a person can too):

    python probes/app.py MODE PORT        # MODE: a key of MODE_OPTIONS below
    FLASK_APP=probes/app.py flask run --host 127.0.0.1 --port PORT
    FLASK_DEBUG=1 FLASK_APP=probes/app.py flask run --host 127.0.0.1 --port PORT

Routes:
    /info   answers at once with who served it (pid, thread, wsgi flags, server classes,
            whether this process imported the app itself or inherited it from a fork, and the
            control port it reports to, which tells the harness the server is the one it started)
    /hold   reports "entered" to the harness's control port (PROBE_CONTROL_PORT), then
            blocks until the harness writes a line back; lets the harness see how many
            requests are inside the handler at the same time, without timing guesses.
"""

import os
import sys

# What each mode passes to app.run(); host and port are added to every call.
MODE_OPTIONS = {
    "default": {},
    "threaded": {"threaded": True},
    "processes3": {"threaded": False, "processes": 3},
    "threaded_processes3": {"threaded": True, "processes": 3},
    "processes3_nofork": {"threaded": False, "processes": 3},
    # The calls as people write them: `threaded` left at the release's default, and the tutorials' debug.
    "processes3_plain": {"processes": 3},
    "debug": {"debug": True},
}
# Said before Flask is imported, with exit status 64 (EX_USAGE): a mode the harness asks for and this table
# lacks is a fault of the project's, which the harness must never take for the release's behaviour.
UNKNOWN_MODE = "probe: no such mode in probes/app.py MODE_OPTIONS: "
if __name__ == "__main__" and (len(sys.argv) != 3 or sys.argv[1] not in MODE_OPTIONS):
    sys.stderr.write(UNKNOWN_MODE + repr(sys.argv[1:]) + "\n")
    sys.exit(64)

# Modes that run as on a platform without os.fork (Windows). The functions are removed before
# socketserver or Werkzeug is imported, because both decide at import time whether they can fork.
FORKLESS_MODES = ("processes3_nofork",)
if __name__ == "__main__" and len(sys.argv) > 1 and sys.argv[1] in FORKLESS_MODES:
    for _name in ("fork", "forkpty"):
        if hasattr(os, _name):
            delattr(os, _name)

import inspect
import json
import socket
import threading

from flask import Flask, request

try:
    import socketserver
except ImportError:  # Python 2
    import SocketServer as socketserver

# The loopback address is the only host the probe may bind; the port is chosen by the harness.
HOST = "127.0.0.1"
# Upper bound on how long /hold waits for the harness; a held request never outlives it.
HOLD_SECONDS = float(os.environ.get("PROBE_HOLD_SECONDS", "30"))

app = Flask(__name__)

# The process that imported this module. A forked worker inherits the value, so it differs from
# the worker's own pid; a reloader's child is a fresh interpreter and sets its own. Comparing
# against this, not the pid the harness started, keeps the answer true when the interpreter is
# started through a launcher (a venv's python.exe on Windows starts the real one as a child).
APP_PID = os.getpid()
# Told to the harness on stderr: a start that fails before this line failed creating the app
# (inside Flask(__name__)), not starting the server.
APP_CREATED = "probe: the app was created"
sys.stderr.write(APP_CREATED + "\n")


def _class_name(cls):
    return "%s.%s" % (cls.__module__, cls.__name__)


def _server_classes():
    """The class chain of the socketserver serving this request, found on the call stack."""
    frame = sys._getframe()
    while frame is not None:
        candidate = frame.f_locals.get("self")
        if isinstance(candidate, socketserver.BaseRequestHandler):
            server = getattr(candidate, "server", None)
            if server is not None:
                return [_class_name(cls) for cls in inspect.getmro(server.__class__)]
        frame = frame.f_back
    return []


def _served_by():
    environ = request.environ
    return {
        "pid": os.getpid(),
        "app_pid": APP_PID,
        # Werkzeug's reloader starts the serving child with this set; the process that starts it has not.
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


def _json(data):
    return app.response_class(json.dumps(data), mimetype="application/json")


@app.route("/info")
def info():
    return _json(_served_by())


@app.route("/hold")
def hold():
    served_by = _served_by()
    control = socket.create_connection((HOST, int(os.environ["PROBE_CONTROL_PORT"])), HOLD_SECONDS)
    try:
        control.sendall((json.dumps(served_by) + "\n").encode("utf-8"))
        reply = control.makefile("rb").readline()
    finally:
        control.close()
    served_by["released"] = reply.strip() == b"release"
    return _json(served_by)


if __name__ == "__main__":
    mode, port = sys.argv[1], int(sys.argv[2])
    app.run(host=HOST, port=port, **MODE_OPTIONS[mode])

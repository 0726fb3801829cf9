"""A stand-in probe on the standard library's wsgiref: real servers whose behaviour is known.

It speaks the probe's protocol (/info, /hold reporting to PROBE_CONTROL_PORT) so the harness
can be tested without Flask, plus misbehaving modes:

- crash: raises before listening, after the app was created; app_crash: raises while creating the app;
- silent: never listens;
- hang: ignores SIGTERM (set in the main thread, where Python allows it) and never lets a held
  request enter, so only SIGKILL stops it;
- late: threaded, but held requests enter one by one, LATE_SECONDS apart (the k-th waits (k-1) x LATE_SECONDS);
- processes3_nofork: a forking server on a platform without os.fork: it listens, every request dies;
- debug, debug_serial: what Werkzeug's reloader does: the started process only starts itself again
  with WERKZEUG_RUN_MAIN=true and waits; that child serves (threaded; or one request at a time on a
  thread that is not the main one, as older Werkzeug reloaders do);
- threadless: serves one at a time, its replies without the thread (a probe the harness disagrees with);
- launcher: what a venv's python.exe on Windows does: the started process runs the real interpreter
  as a child, which serves (one request at a time) without being anybody's reloader.
"""

import json
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

LATE_SECONDS = 1.0
_entered = []
_lock = threading.Lock()
APP_PID = os.getpid()
#: The serving class chain, as the real probe finds it on the stack; set once the mode is known.
SERVER_CLASSES = []


class Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


class ThreadedServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


class ForkingServer(socketserver.ForkingMixIn, WSGIServer):
    max_children = 3


def app(environ, start_response):
    served_by = {
        "pid": os.getpid(),
        "app_pid": APP_PID,
        "reloader_child": os.environ.get("WERKZEUG_RUN_MAIN") == "true",
        "thread": threading.current_thread().name,
        "thread_id": threading.get_ident(),
        "multithread": environ["wsgi.multithread"],
        "multiprocess": environ["wsgi.multiprocess"],
        "server_classes": SERVER_CLASSES,
        "control_port": int(os.environ["PROBE_CONTROL_PORT"]) if os.environ.get("PROBE_CONTROL_PORT") else None,
    }
    if MODE == "threadless":
        del served_by["thread"]  # a probe and a harness that disagree on what a reply holds
    if environ["PATH_INFO"] == "/hold":
        if MODE == "hang":
            time.sleep(3600)
        if MODE == "late":
            with _lock:
                _entered.append(1)
                place = len(_entered)
            time.sleep(LATE_SECONDS * (place - 1))
        with socket.create_connection(("127.0.0.1", int(os.environ["PROBE_CONTROL_PORT"])), 30) as control:
            control.sendall((json.dumps(served_by) + "\n").encode())
            control.makefile("rb").readline()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(served_by).encode()]


SERVERS = {
    "default": WSGIServer,
    "threaded": ThreadedServer,
    "processes3": ForkingServer,
    "processes3_nofork": ForkingServer,
    "hang": ThreadedServer,
    "late": ThreadedServer,
    "debug": ThreadedServer,
    "debug_serial": WSGIServer,
    "launcher": WSGIServer,
    "threadless": WSGIServer,
}
#: Modes whose started process only starts the serving one, and the variables it gives it.
PARENTS = {"debug": {"WERKZEUG_RUN_MAIN": "true"}, "debug_serial": {"WERKZEUG_RUN_MAIN": "true"}, "launcher": {}}

if __name__ == "__main__":
    MODE, port = sys.argv[1], int(sys.argv[2])
    if MODE == "app_crash":
        raise TypeError("code() takes at least 14 arguments (13 given)")
    sys.stderr.write("probe: the app was created\n")
    if MODE == "crash":
        raise RuntimeError("the probe crashed on purpose")
    if MODE == "silent":
        time.sleep(3600)
    if MODE == "hang":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if MODE == "processes3_nofork":
        # What Python 2's SocketServer does on Windows: ForkingMixIn exists, os.fork does not.
        del os.fork
    if MODE in PARENTS and not os.environ.get("STAND_IN_CHILD"):
        env = dict(os.environ, STAND_IN_CHILD="1", **PARENTS[MODE])
        sys.exit(subprocess.call([sys.executable, *sys.argv], env=env))
    SERVER_CLASSES.extend(f"{cls.__module__}.{cls.__name__}" for cls in SERVERS[MODE].__mro__)
    server = make_server("127.0.0.1", port, app, server_class=SERVERS[MODE], handler_class=Quiet)
    if MODE == "debug_serial":
        threading.Thread(target=server.serve_forever, name="Thread-1 (inner)", daemon=True).start()
        while True:
            time.sleep(1)
    server.serve_forever()

"""The app every server in the comparison (``nox -s servers``) serves: two routes, nothing else.

    /fast   answers at once
    /wait   waits 50 ms first, like a handler waiting on a database or another service

Served by Werkzeug's development server when run directly:

    python probes/load_app.py dev-threaded PORT   # app.run(): threaded by default since Flask 1.0
    python probes/load_app.py dev-serial PORT     # app.run(threaded=False), the default before 1.0

and by other servers as ``load_app:app``.
"""

import sys
import time

from flask import Flask

# The loopback address is the only host the app may bind; the port is chosen by the caller.
HOST = "127.0.0.1"
WAIT_SECONDS = 0.05

app = Flask(__name__)


@app.route("/fast")
def fast():
    return "ok\n"


@app.route("/wait")
def wait():
    time.sleep(WAIT_SECONDS)
    return "ok\n"


# What each development-server variant passes to app.run(); host and port are added to every call.
DEV_OPTIONS = {
    "dev-threaded": {},
    "dev-serial": {"threaded": False},
}


if __name__ == "__main__":
    variant, port = sys.argv[1], int(sys.argv[2])
    app.run(host=HOST, port=port, **DEV_OPTIONS[variant])

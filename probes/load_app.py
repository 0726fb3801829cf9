"""The app every server in the comparison (``nox -s servers``) serves: two routes, nothing else.

    /fast   answers at once
    /wait   waits 50 ms first, like a handler waiting on a database or another service
    /token  answers LOAD_APP_TOKEN, which tells the caller the server on the port is the one it started

Served by Werkzeug's development server when run directly:

    python probes/load_app.py dev-threaded PORT   # app.run(): threaded by default since Flask 1.0
    python probes/load_app.py dev-serial PORT     # app.run(threaded=False), the default before 1.0

and by other servers as ``load_app:app``.
"""

import os
import sys
import time

from flask import Flask, jsonify

# The loopback address is the only host the app may bind; the port is chosen by the caller.
HOST = "127.0.0.1"
WAIT_SECONDS = 0.05

app = Flask(__name__)

# Set by the comparison for each start and answered by /token: a free port is free only until someone
# binds it, and a server of another run that took it must never be measured as this one.
TOKEN = os.environ.get("LOAD_APP_TOKEN", "")


@app.route("/token")
def token():
    return jsonify(token=TOKEN)


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

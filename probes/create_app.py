"""Create the app exactly as the probe does, then exit: tells a failure at ``import flask`` from one in ``Flask(__name__)``.

Runs inside the audited interpreter (Python 2.7-3.13, standard library and Flask only):

    python probes/create_app.py
"""

import sys

from flask import Flask

# Read by the harness: a failure after this line is the app's, not the import's.
sys.stderr.write("flask imported\n")
app = Flask(__name__)

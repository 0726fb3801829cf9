"""Talking to servers on 127.0.0.1: free ports, and one GET per connection."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from typing import Any

__all__ = ["HOST", "Reply", "free_port", "get"]

#: The only address anything here binds or connects to: nothing is exposed while probing.
HOST = "127.0.0.1"


def free_port() -> int:
    """A port that was free a moment ago (another process may take it before ours binds it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass
class Reply:
    """What one GET got: a status and the JSON body, or the error."""

    status: int | None = None
    body: dict[str, Any] | None = None
    error: str | None = None
    #: The server accepted the connection and closed it without an HTTP response.
    dropped: bool = False
    #: Nothing listens on the port: the connection was refused.
    refused: bool = False


def get(port: int, path: str, timeout: float) -> Reply:
    """``GET http://127.0.0.1:port/path`` on a connection of its own, bounded by ``timeout``."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        # One request per connection: keep-alive would pin a single-threaded server to one client.
        connection.request("GET", path, headers={"Connection": "close"})
        response = connection.getresponse()
        raw = response.read()
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = None
        return Reply(response.status, body if isinstance(body, dict) else None)
    except (OSError, http.client.HTTPException) as exc:
        dropped = isinstance(exc, ConnectionResetError | http.client.BadStatusLine)
        refused = isinstance(exc, ConnectionRefusedError)
        return Reply(error=f"{type(exc).__name__}: {exc}", dropped=dropped, refused=refused)
    finally:
        connection.close()

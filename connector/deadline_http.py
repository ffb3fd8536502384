"""HTTP answers read against one deadline, with the standard library only.

A socket timeout restarts with every byte received, so a server trickling a byte at a time
can hold a reader far past it. Here each read is given only the time left until the deadline
for the whole answer: status line, headers and body. Used by the connector's JWKS fetch and
by the registry's call to a connector (`trustregistry.aas.outbound`).
"""

from __future__ import annotations

import http.client
import io
import socket
import ssl
import time
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit


class DeadlineReader(io.RawIOBase):
    """The socket as http.client reads an answer from it, each read given only the time left
    until the deadline (a `time.monotonic()` value)."""

    def __init__(self, sock: socket.socket, deadline: float):
        self._sock = sock
        # As http.client's own reader: a socket file keeps the socket open while the answer is
        # read, even after the connection is closed (an answer the server ends by closing).
        self._raw = sock.makefile("rb", buffering=0)
        self._deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the answer did not arrive in time")
        self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class DeadlineResponse(http.client.HTTPResponse):
    """An `http.client.HTTPResponse` that reads through a `DeadlineReader`; give it as the
    connection's `response_class` (with `deadline` bound)."""

    def __init__(self, sock: socket.socket, *args: Any, deadline: float, **kwargs: Any):
        super().__init__(sock, *args, **kwargs)
        plain = self.fp
        self.fp = io.BufferedReader(DeadlineReader(sock, deadline))
        plain.close()


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()  # CERT_REQUIRED, check_hostname, system CAs
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def get(url: str, *, timeout: float, max_bytes: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """GET `url` on a new connection: (status, at most `max_bytes` + 1 bytes of body), the
    whole answer within `timeout` seconds. No redirect is followed and no proxy or other
    setting is read from the environment. Raises OSError (TimeoutError, ssl.SSLError),
    http.client.HTTPException or ValueError (not an http(s) URL)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("not an http(s) URL")
    deadline = time.monotonic() + timeout
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=tls_context()
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)

    def respond(sock: socket.socket, *args: Any, **kwargs: Any) -> DeadlineResponse:
        return DeadlineResponse(sock, *args, deadline=deadline, **kwargs)

    connection.response_class = respond  # type: ignore[assignment]
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        try:
            return response.status, response.read(max_bytes + 1)
        finally:
            response.close()
    finally:
        connection.close()

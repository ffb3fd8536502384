"""Real HTTP servers on 127.0.0.1 for the handshake tests (bounded: daemon threads, shut
down when the test ends)."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import jwt

from connector import tokens


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002
        pass


@contextlib.contextmanager
def serve(app, tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """Serve a WSGI app on 127.0.0.1 at a free port; yields its base URL (https with `tls`,
    a server-side context)."""
    server = make_server(
        "127.0.0.1", 0, app, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
    )
    if tls is not None:
        # A client refusing the certificate fails accept() with an SSLError (an OSError),
        # which the server loop ignores.
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        scheme = "https" if tls is not None else "http"
        yield f"{scheme}://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    """A loopback URL nobody listens on."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}/authenticate"


def json_app(routes):
    """A WSGI app answering `routes[path]()` -> (status line, headers, body bytes)."""

    def app(environ, start_response):
        handler = routes.get(environ["PATH_INFO"])
        if handler is None:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        status, headers, payload = handler(body)
        start_response(status, headers)
        return [payload] if isinstance(payload, bytes) else payload

    return app


@contextlib.contextmanager
def serve_asgi(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Serve an ASGI app with uvicorn (httptools, the asyncio loop) on 127.0.0.1 at a free
    port, in a thread; yields its base URL."""
    import time

    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, loop="asyncio", http="httptools", log_level="warning",
        lifespan="on", access_log=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class KeepAliveConnector(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; answers every POST with a valid reply, or `big` bytes."""

    protocol_version = "HTTP/1.1"
    app_key = None
    big = 0
    close_silently = False
    drop: tuple[int, ...] = ()  # the n-th requests (from 1) are read and dropped unanswered
    requests = 0
    connections: list[int] = []

    def setup(self):
        super().setup()
        type(self).connections.append(self.client_address[1])

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).requests += 1
        if type(self).requests in type(self).drop or -1 in type(self).drop:
            self.close_connection = True
            return
        if type(self).big:
            payload = b" " * type(self).big
        else:
            claims = jwt.decode(
                json.loads(body)["SignedToken"], options={"verify_signature": False}
            )
            reply = tokens.sign_application_token(
                nonce=claims["nonce"], private_key=type(self).app_key, now=claims["iat"]
            )
            payload = json.dumps(
                {"Succeeded": True, "Reason": None, "SignedApplicationToken": reply}
            ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)
        if type(self).close_silently:  # as an idle keep-alive timeout would, unannounced
            self.close_connection = True

    def log_message(self, *args):
        pass


def _whole_request(data: bytes) -> bool:
    # All of it, body included: a socket closed with unread input sends a reset, not an end.
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return True


def _socket_server(connections: int, answer: Callable[[socket.socket], None]):  # type: ignore[no-untyped-def]
    """Up to `connections` connections on 127.0.0.1, one after another: each reads a whole
    request, then `answer(conn)` writes what it will (a client that gave up is fine)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve_one() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            received = b""
            while not _whole_request(received):
                chunk = conn.recv(65536)
                if not chunk:
                    return
                received += chunk
            try:
                answer(conn)
            except OSError:
                return

    def serve_all() -> None:
        for _ in range(connections):
            serve_one()

    thread = threading.Thread(target=serve_all, daemon=True)
    thread.start()
    return listener, thread


def trickling_server(drips: int, interval: float):  # type: ignore[no-untyped-def]
    """One connection: reads a request, then answers a header one byte every `interval`
    seconds (`drips` bytes, so bounded), then completes a valid answer."""

    def trickle(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Trickle: ")
        for _ in range(drips):
            time.sleep(interval)
            conn.sendall(b"a")
        conn.sendall(b"\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")

    return _socket_server(1, trickle)


def raw_server(answer: bytes, connections: int = 3):  # type: ignore[no-untyped-def]
    """Up to `connections` connections, one after another: each reads a request, then gets
    `answer` as it is and is closed."""
    return _socket_server(connections, lambda conn: conn.sendall(answer))

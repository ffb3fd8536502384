"""The connector as an ASGI app without Django: `POST /authenticate` (JSON) and
`POST /mirroring` (SOAP), the same answers as `connector.wsgi`, for an asyncio server:

    CONNECTOR_APPLICATION_URI=... CONNECTOR_PRIVATE_KEY_FILE=... CONNECTOR_TRUSTED_ISSUER=... \\
    CONNECTOR_AAS_JWKS_URL=... uvicorn --factory connector.asgi:from_environ --workers 1

Why a second server interface: a handshake is one short request whose own work is two RSA
operations; a WSGI server in a thread pool spends about as long again passing the request
between its threads (gunicorn's gthread: ≈ 0.4 ms a request on loopback, against ≈ 0.15 ms for
uvicorn with uvloop and httptools; bench/resolve.py measures both).

The handshake runs on the event loop, not in a thread: it is CPU work of about half a
millisecond with nothing to wait for, except fetching the AAS's JWKS (at most once a minute
per unknown `kid`, with its timeout), which then holds the loop for that fetch. Answered
nonces are remembered in process memory, so run one worker process, as with the WSGI app.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from connector import soap
from connector.service import Connector
from connector.wsgi import MAX_JSON_BYTES, authenticate_json, authenticate_soap, connector_from_env

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

_NOT_FOUND = b'{"error": "not_found", "message": "POST /authenticate or /mirroring."}'


async def _read_body(scope: Scope, receive: Receive, limit: int) -> bytes | None:
    """The request body, or None when it is (or announces itself) larger than `limit`."""
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                if int(value) > limit:
                    return None
            except ValueError:
                return None
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


async def _answer(send: Send, status: int, content_type: str, payload: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode("latin-1")),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def make_app(connector: Connector, prefix: str = "") -> Callable[..., Awaitable[None]]:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        if scope.get("method") != "POST" or path not in (
            f"{prefix}/authenticate",
            f"{prefix}/mirroring",
        ):
            await _answer(send, 404, "application/json", _NOT_FOUND)
            return
        if path.endswith("/authenticate"):
            body = await _read_body(scope, receive, MAX_JSON_BYTES)
            status, answer = authenticate_json(connector, body)
            await _answer(send, status, "application/json", json.dumps(answer).encode())
            return
        body = await _read_body(scope, receive, soap.MAX_SOAP_BYTES)
        status, content_type, xml = authenticate_soap(
            connector, body, _header(scope, b"soapaction"), _header(scope, b"content-type")
        )
        await _answer(send, status, content_type, xml)

    return app


def from_environ(environ: dict[str, str] | None = None) -> Callable[..., Awaitable[None]]:
    """The ASGI app for a connector configured by the environment variables that
    `connector.wsgi.from_environ` reads."""
    connector, prefix = connector_from_env(environ)
    return make_app(connector, prefix=prefix)

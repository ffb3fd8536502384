"""A minimal WSGI connector without Django: `POST /authenticate` (JSON) and `POST /mirroring`
(SOAP). For a connector built on another framework, this shows all the glue it needs; the
tests and the benchmark run it as a real second server.

    from wsgiref.simple_server import make_server
    make_server("127.0.0.1", 8080, make_app(connector)).serve_forever()
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from connector import soap
from connector.service import Connector

MAX_JSON_BYTES = 64 * 1024


def _read_body(environ: dict[str, Any], limit: int) -> bytes | None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return None
    if length < 0 or length > limit:
        return None
    return environ["wsgi.input"].read(length) if length else b""


def authenticate_json(connector: Connector, body: bytes | None) -> tuple[int, dict[str, Any]]:
    """(HTTP status, JSON answer) for a JSON `{"SignedToken": ...}` request body."""
    if body is None:
        return 413, {
            "Succeeded": False,
            "Reason": "The request is too large.",
            "SignedApplicationToken": None,
        }
    try:
        data = json.loads(body or b"null")
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" within the size limit
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("SignedToken"), str):
        reason = 'The request must be JSON {"SignedToken": "<JWT>"}.'
        return 400, {"Succeeded": False, "Reason": reason, "SignedApplicationToken": None}
    return 200, connector.authenticate(data["SignedToken"]).as_json()


def _soap_fault(status: int, message: str, envelope_ns: str) -> tuple[int, str, bytes]:
    return status, soap.content_type(envelope_ns), soap.fault(message, envelope_ns=envelope_ns)


def authenticate_soap(
    connector: Connector, body: bytes | None, soap_action: str | None, content_type: str | None
) -> tuple[int, str, bytes]:
    """(HTTP status, content type, XML) for a Database Mirroring `Authenticate` request.
    Faults answer in the request's SOAP version (its envelope's, else its Content-Type's)."""
    version = soap.envelope_ns_for(content_type)
    if body is None:
        return _soap_fault(413, "The SOAP request is too large.", version)
    if not soap.action_is_authenticate(soap_action, content_type):
        return _soap_fault(400, "Unsupported SOAPAction.", version)
    try:
        request = soap.parse_authenticate_request(body)
    except soap.SoapRequestError as exc:
        return _soap_fault(400, exc.message, exc.envelope_ns or version)
    result = connector.authenticate(request.signed_token)
    xml = soap.authenticate_response(
        result, envelope_ns=request.envelope_ns, client_state=request.client_state
    )
    return 200, soap.content_type(request.envelope_ns), xml


def make_app(connector: Connector, prefix: str = "") -> Callable[..., Iterable[bytes]]:
    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "POST" or path not in (
            f"{prefix}/authenticate",
            f"{prefix}/mirroring",
        ):
            start_response("404 Not Found", [("Content-Type", "application/json")])
            return [b'{"error": "not_found", "message": "POST /authenticate or /mirroring."}']
        if path.endswith("/authenticate"):
            status, answer = authenticate_json(connector, _read_body(environ, MAX_JSON_BYTES))
            payload, ctype = json.dumps(answer).encode(), "application/json"
        else:
            status, ctype, payload = authenticate_soap(
                connector,
                _read_body(environ, soap.MAX_SOAP_BYTES),
                environ.get("HTTP_SOAPACTION"),
                environ.get("CONTENT_TYPE"),
            )
        reason = {200: "OK", 400: "Bad Request", 413: "Content Too Large"}[status]
        start_response(
            f"{status} {reason}",
            [
                ("Content-Type", ctype),
                ("Content-Length", str(len(payload))),
                ("Cache-Control", "no-store"),
            ],
        )
        return [payload]

    return app


def from_environ(environ: dict[str, str] | None = None) -> Callable[..., Iterable[bytes]]:
    """The WSGI app for a connector configured by environment variables (see
    `connector_from_env`)."""
    connector, prefix = connector_from_env(environ)
    return make_app(connector, prefix=prefix)


def connector_from_env(environ: dict[str, str] | None = None) -> tuple[Connector, str]:
    """A connector and its path prefix from environment variables, for a WSGI server:

        CONNECTOR_APPLICATION_URI=mywebsite.com/myapp1 \\
        CONNECTOR_PRIVATE_KEY_FILE=private.pem CONNECTOR_TRUSTED_ISSUER=https://erp/id \\
        CONNECTOR_AAS_JWKS_URL=https://erp/id/.well-known/openid-configuration/jwks \\
        gunicorn --workers 1 --threads 4 --worker-class gthread 'connector.wsgi:from_environ()'
        uvicorn --factory connector.asgi:from_environ --workers 1      # or ASGI (connector.asgi)

    `CONNECTOR_AAS_CERTIFICATE_FILE` (pinned certificates) instead of the JWKS URL also works.
    Answered nonces are remembered in process memory (`MemoryReplayGuard`), so run ONE worker
    process (threads are fine), or set `CONNECTOR_REPLAY_DB` to a file every process of the
    host shares (`connector.replay.SqliteReplayGuard`)."""
    import os

    from connector.keys import load_private_key
    from connector.replay import SqliteReplayGuard
    from connector.trust import JwksKeys, PinnedCertificates, shown_url

    env = os.environ if environ is None else environ
    missing = [
        name
        for name in (
            "CONNECTOR_APPLICATION_URI",
            "CONNECTOR_PRIVATE_KEY_FILE",
            "CONNECTOR_TRUSTED_ISSUER",
        )
        if not env.get(name)
    ]
    if missing:
        raise ValueError(f"Missing setting: {', '.join(missing)}.")
    cert_file, jwks_url = (
        env.get("CONNECTOR_AAS_CERTIFICATE_FILE"),
        env.get("CONNECTOR_AAS_JWKS_URL"),
    )
    if not cert_file and not jwks_url:
        raise ValueError("Set CONNECTOR_AAS_CERTIFICATE_FILE or CONNECTOR_AAS_JWKS_URL.")
    key_file = env["CONNECTOR_PRIVATE_KEY_FILE"]
    with _naming("CONNECTOR_PRIVATE_KEY_FILE", key_file):
        with open(key_file, "rb") as handle:
            private_key = load_private_key(handle.read(64 * 1024))
    keys: PinnedCertificates | JwksKeys
    if cert_file:
        with _naming("CONNECTOR_AAS_CERTIFICATE_FILE", cert_file):
            keys = PinnedCertificates.from_file(cert_file)
    else:
        with _naming("CONNECTOR_AAS_JWKS_URL", shown_url(str(jwks_url))):
            keys = JwksKeys(str(jwks_url))
    replay_guard = None
    if replay_db := env.get("CONNECTOR_REPLAY_DB"):
        with _naming("CONNECTOR_REPLAY_DB", replay_db):
            replay_guard = SqliteReplayGuard(replay_db)
    with _naming("CONNECTOR_PRIVATE_KEY_FILE", key_file):
        connector = Connector(
            application_uri=env["CONNECTOR_APPLICATION_URI"],
            private_key=private_key,
            trusted_issuer=env["CONNECTOR_TRUSTED_ISSUER"],
            keys=keys,
            replay_guard=replay_guard,
        )
    return connector, env.get("CONNECTOR_PATH_PREFIX", "")


@contextlib.contextmanager
def _naming(setting: str, value: str) -> Iterator[None]:
    """A configuration error as ValueError naming the variable and its value (a file or a
    URL): the message a server prints when it refuses to start. A bare FileNotFoundError or
    "The certificate is neither PEM nor DER X.509." leaves the operator guessing which setting
    is wrong."""
    where = f"{setting} ({value})"
    try:
        yield
    except OSError as exc:
        raise ValueError(f"{where}: the file cannot be read ({exc.strerror or exc}).") from exc
    except ValueError as exc:  # KeyFormatError included
        raise ValueError(f"{where}: {exc}") from exc

"""A minimal WSGI connector without Django: `POST /authenticate` (JSON) and `POST /mirroring`
(SOAP). For a connector built on another framework, this shows all the glue it needs; the
tests and the benchmark run it as a real second server.

    from wsgiref.simple_server import make_server
    make_server("127.0.0.1", 8080, make_app(connector)).serve_forever()
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
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
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("SignedToken"), str):
        reason = 'The request must be JSON {"SignedToken": "<JWT>"}.'
        return 400, {"Succeeded": False, "Reason": reason, "SignedApplicationToken": None}
    return 200, connector.authenticate(data["SignedToken"]).as_json()


def authenticate_soap(
    connector: Connector, body: bytes | None, soap_action: str | None, content_type: str | None
) -> tuple[int, str, bytes]:
    """(HTTP status, content type, XML) for a Database Mirroring `Authenticate` request."""
    if body is None:
        return 413, soap.content_type(soap.SOAP11_NS), soap.fault("The SOAP request is too large.")
    if not soap.action_is_authenticate(soap_action, content_type):
        return 400, soap.content_type(soap.SOAP11_NS), soap.fault("Unsupported SOAPAction.")
    try:
        request = soap.parse_authenticate_request(body)
    except soap.SoapRequestError as exc:
        return 400, soap.content_type(soap.SOAP11_NS), soap.fault(exc.message)
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

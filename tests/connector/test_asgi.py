"""connector.asgi: the same answers as the WSGI app, on SuperOffice's real data (DevNet
certificate, issuer `SuperOffice AS`, application URI 123123123123123123, the clock frozen
inside the token's window), driven as an ASGI server drives it."""

from __future__ import annotations

import asyncio
import json

import pytest
import time_machine
from defusedxml import ElementTree

from connector import asgi, soap, tokens
from tests.connector.conftest import assert_soap_reply_verifies

NONCE = "9AB41493762B0C5B6E0F1AB35F032B95"
INSIDE = 1639640500


@pytest.fixture
def app(superoffice_env):  # type: ignore[no-untyped-def]
    return asgi.from_environ(superoffice_env)


def _call(app, method, path, body=b"", headers=(), chunks=None):  # type: ignore[no-untyped-def]
    """Run one request through the ASGI app; (status, headers dict, body)."""
    parts = chunks if chunks is not None else [body]
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(parts) - 1}
        for i, part in enumerate(parts)
    ]
    sent: list[dict] = []

    async def receive():  # type: ignore[no-untyped-def]
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers],
    }
    asyncio.run(app(scope, receive, send))
    start, body_message = sent
    return (
        start["status"],
        {k.decode(): v.decode() for k, v in start["headers"]},
        body_message["body"],
    )


def _json(app, payload):  # type: ignore[no-untyped-def]
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(body)))]
    return _call(app, "POST", "/authenticate", body, headers)


def test_json_authenticate_answers_superoffices_token_once(app, interop, public_key):
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    with time_machine.travel(INSIDE, tick=False):
        status, headers, body = _json(app, {"SignedToken": token})
        assert status == 200 and headers["content-type"] == "application/json"
        assert headers["cache-control"] == "no-store"
        answer = json.loads(body)
        assert answer["Succeeded"] is True
        tokens.verify_application_token(
            answer["SignedApplicationToken"],
            expected_nonce=NONCE,
            public_keys=[public_key],
            now=INSIDE,
        )
        replay = json.loads(_json(app, {"SignedToken": token})[2])
    assert replay["Succeeded"] is False and replay["Reason"].endswith("(replay).")


def test_verbatim_soap_request_is_answered(app, interop, public_key):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    headers = [
        ("Content-Type", "text/xml;charset=UTF-8"),
        ("SOAPAction", f'"{soap.AUTHENTICATE_ACTION}"'),
    ]
    with time_machine.travel(INSIDE, tick=False):
        # in three pieces, as a server may hand a body over
        status, answer_headers, xml = _call(
            app,
            "POST",
            "/mirroring",
            headers=headers,
            chunks=[body[:100], body[100:500], body[500:]],
        )
    assert status == 200 and answer_headers["content-type"].startswith("text/xml")
    assert_soap_reply_verifies(xml, public_key)


def test_bad_requests_get_their_answers(app, interop):
    assert _call(app, "GET", "/authenticate")[0] == 404
    assert _call(app, "POST", "/elsewhere")[0] == 404
    status, _, body = _json(app, b"not json")
    assert status == 400 and "SignedToken" in json.loads(body)["Reason"]
    big = b"x" * (asgi.MAX_JSON_BYTES + 1)
    assert _json(app, big)[0] == 413  # announced by Content-Length
    streamed = _call(app, "POST", "/authenticate", chunks=[big[:40000], big[40000:]])
    assert streamed[0] == 413  # no Content-Length: counted as it arrives
    soap_body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    status, _, fault = _call(
        app, "POST", "/mirroring", soap_body, [("SOAPAction", '"urn:elsewhere"')]
    )
    assert status == 400 and b"Unsupported SOAPAction" in fault
    bomb = b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa">]><l>&a;</l>'
    status, _, fault = _call(
        app,
        "POST",
        "/mirroring",
        bomb,
        [("SOAPAction", soap.AUTHENTICATE_ACTION), ("Content-Type", "text/xml")],
    )
    assert status == 400


def test_lifespan_is_acknowledged(app):
    sent: list[str] = []
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]

    async def receive():  # type: ignore[no-untyped-def]
        return incoming.pop(0)

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan"}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


SOAP12_TYPE = f'application/soap+xml; charset=utf-8; action="{soap.AUTHENTICATE_ACTION}"'


def _fault_of(xml: bytes) -> tuple[str, str, str]:
    """(envelope namespace, fault code, fault text) of a SOAP 1.1 or 1.2 fault."""
    root = ElementTree.fromstring(xml)
    ns = root.tag[1:].split("}")[0]
    fault = root.find(f"{{{ns}}}Body/{{{ns}}}Fault")
    if ns == soap.SOAP12_NS:
        return (
            ns,
            fault.find(f"{{{ns}}}Code/{{{ns}}}Value").text,
            fault.find(f"{{{ns}}}Reason/{{{ns}}}Text").text,
        )
    return ns, fault.find("faultcode").text, fault.find("faultstring").text


def test_a_soap_12_request_is_answered_in_soap_12(app, interop, public_key):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    body12 = body.replace(soap.SOAP11_NS.encode(), soap.SOAP12_NS.encode())
    assert body12 != body
    with time_machine.travel(INSIDE, tick=False):
        status, headers, xml = _call(
            app, "POST", "/mirroring", body12, [("Content-Type", SOAP12_TYPE)]
        )
    assert status == 200 and headers["content-type"].startswith("application/soap+xml")
    root = ElementTree.fromstring(xml)
    assert root.tag == f"{{{soap.SOAP12_NS}}}Envelope"
    assert root.find(f".//{{{soap.MIRRORING_NS}}}IsSuccessful").text == "true"


@pytest.mark.parametrize(
    "body, content_type, expected",
    [
        # no envelope to read: the Content-Type names the version
        (b"not xml", SOAP12_TYPE, (soap.SOAP12_NS, "s:Sender", "not well-formed")),
        (b"not xml", "text/xml", (soap.SOAP11_NS, "s:Client", "not well-formed")),
        # an envelope read: its own version
        (
            f'<e:Envelope xmlns:e="{soap.SOAP12_NS}"><e:Body/></e:Envelope>'.encode(),
            SOAP12_TYPE,
            (soap.SOAP12_NS, "s:Sender", "no SignedToken"),
        ),
        (
            f'<e:Envelope xmlns:e="{soap.SOAP11_NS}"><e:Body/></e:Envelope>'.encode(),
            "text/xml",
            (soap.SOAP11_NS, "s:Client", "no SignedToken"),
        ),
    ],
)
def test_a_refused_request_gets_a_fault_in_its_soap_version(app, body, content_type, expected):
    headers = [("Content-Type", content_type)]
    if not content_type.startswith("application/soap+xml"):
        headers.append(("SOAPAction", soap.AUTHENTICATE_ACTION))
    status, answer_headers, xml = _call(app, "POST", "/mirroring", body, headers)
    assert status == 400
    ns, code, text = _fault_of(xml)
    assert (ns, code) == expected[:2] and expected[2] in text
    assert answer_headers["content-type"] == soap.content_type(ns)


def test_an_unsupported_soap_12_action_is_a_soap_12_fault(app):
    content_type = 'application/soap+xml; action="urn:elsewhere"'
    status, _, xml = _call(app, "POST", "/mirroring", b"<x/>", [("Content-Type", content_type)])
    assert status == 400
    assert _fault_of(xml)[:2] == (soap.SOAP12_NS, "s:Sender")

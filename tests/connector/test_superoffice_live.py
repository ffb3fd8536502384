"""A SuperOffice-style Database Mirroring handshake against the connector app over real HTTP
(pytest-django's live server on 127.0.0.1), as SuperOffice's client sends it: the request file
byte for byte with its README's headers, then further tokens minted "as SuperOffice DevNet"
with its published private key, in the SOAP 1.1 and 1.2 forms and the variants a .NET client
produces. Answers are held to the shape of SuperOffice's own `AuthenticateResponse` and the
reply token must verify with the public half of SuperOffice's sample .NET RSA XML key."""

from __future__ import annotations

import datetime as dt
import secrets

import jwt
import pytest
import requests
import time_machine
from defusedxml import ElementTree

from connector import soap, tokens
from connector.django_app import config
from connector.keys import load_private_key

pytestmark = pytest.mark.django_db(transaction=True)

URI = "123123123123123123"
DEVNET_KID = "B0AD4C0BFD8913B8040F3E8AD16A91F585222C33"
DEVNET_X5T = "sK1MC_2JE7gEDz6K0WqR9YUiLDM"
FILE_NONCE = "9AB41493762B0C5B6E0F1AB35F032B95"
INSIDE = 1639640500  # inside the request file's token: nbf 1639640381, exp 1639640741
# The request file's headers (interop/README.md).
SOAP11 = {
    "Content-Type": "text/xml;charset=UTF-8",
    "SOAPAction": soap.AUTHENTICATE_ACTION,
}
# SOAP 1.2 carries the action in its content type.
SOAP12_TYPE = f'application/soap+xml; charset=utf-8; action="{soap.AUTHENTICATE_ACTION}"'


@pytest.fixture(autouse=True)
def _fresh_caches():  # type: ignore[no-untyped-def]
    config.reset_caches()
    yield
    config.reset_caches()


@pytest.fixture
def mirroring(live_server, settings, interop):  # type: ignore[no-untyped-def]
    """The connector configured as SuperOffice's sample is, answering on the live server."""
    settings.CONNECTOR_APPLICATION_URI = URI
    settings.CONNECTOR_PRIVATE_KEY_FILE = str(interop / "connector-samples_LocalhostPrivateKey.xml")
    settings.CONNECTOR_TRUSTED_ISSUER = "SuperOffice AS"
    settings.CONNECTOR_AAS_CERTIFICATE_FILE = str(interop / "devnet-auth_DevNet.crt")
    settings.CONNECTOR_AAS_JWKS_URL = ""
    return f"{live_server.url}/connector/mirroring"


@pytest.fixture
def connector_public_key(interop):  # type: ignore[no-untyped-def]
    xml = (interop / "connector-samples_LocalhostPrivateKey.xml").read_bytes()
    return load_private_key(xml).public_key()


def devnet_token(interop, *, nonce: str | None, now: float, **claims) -> str:  # type: ignore[no-untyped-def]
    """A SignedToken as SuperOffice DevNet signs one (the header and claims of the published
    token, a fresh nonce and window); a claim given as None is left out."""
    key = load_private_key((interop / "devnet-auth_DevNet_private.key").read_text())
    payload = {
        "sub": "Cust12020", "nonce": nonce,
        "http://schemes.superoffice.net/identity/ctx": "Cust12020",
        "nbf": int(now) - 60, "exp": int(now) + 300,
        "iss": "SuperOffice AS", "aud": f"spn:{URI}",
        **claims,
    }  # fmt: skip
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(
        payload, key, algorithm="RS256", headers={"kid": DEVNET_KID, "x5t": DEVNET_X5T}
    )


def request_with(interop, token: str) -> bytes:
    """SuperOffice's request file with another token in its SignedToken header."""
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    published = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    assert body.count(published.encode()) == 1
    return body.replace(published.encode(), token.encode())


def _children(element) -> list[str]:  # type: ignore[no-untyped-def]
    return [child.tag for child in element]


def assert_superoffice_shape(interop, xml: bytes, envelope_ns: str) -> ElementTree.Element:
    """`xml` is an envelope of the version asked, whose Body holds exactly one
    AuthenticateResponse in SuperOffice's namespace, with the elements of SuperOffice's own
    response in its order (none of another name); returns the AuthenticateResponse."""
    sample = ElementTree.fromstring(
        (interop / "soap_authenticate_response_devnet-auth.xml").read_bytes()
    )
    sample_response = sample.find(f"{{{soap.SOAP11_NS}}}Body")[0]
    root = ElementTree.fromstring(xml)
    assert root.tag == f"{{{envelope_ns}}}Envelope"
    assert _children(root) == [f"{{{envelope_ns}}}Body"]  # no header to understand
    (response,) = root.find(f"{{{envelope_ns}}}Body")
    assert response.tag == sample_response.tag == f"{{{soap.MIRRORING_NS}}}AuthenticateResponse"
    ours, theirs = _children(response), _children(sample_response)
    assert ours[:3] == theirs[:3]  # IsSuccessful, ErrorMessage, SignedApplicationToken
    assert ours == [name for name in theirs if name in ours]  # same order, no foreign names
    assert all(len(child) == 0 for child in response)  # simple values, as SuperOffice's
    return response


def _text(response, name: str) -> str | None:  # type: ignore[no-untyped-def]
    return response.find(f"{{{soap.MIRRORING_NS}}}{name}").text


def test_the_request_file_verbatim_over_http(mirroring, interop, connector_public_key):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    with time_machine.travel(INSIDE, tick=False):
        answer = requests.post(mirroring, data=body, headers=SOAP11, timeout=10)
        replay = requests.post(mirroring, data=body, headers=SOAP11, timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"  # SOAP 1.1, as WCF's
    assert "no-store" in answer.headers["Cache-Control"]
    response = assert_superoffice_shape(interop, answer.content, soap.SOAP11_NS)
    assert _text(response, "IsSuccessful") == "true" and _text(response, "ErrorMessage") is None
    reply = _text(response, "SignedApplicationToken")
    assert reply.startswith(f"{FILE_NONCE}.202112160741.")
    tokens.verify_application_token(
        reply, expected_nonce=FILE_NONCE, public_keys=[connector_public_key], now=INSIDE
    )
    again = assert_superoffice_shape(interop, replay.content, soap.SOAP11_NS)
    assert replay.status_code == 200 and _text(again, "IsSuccessful") == "false"
    assert "replay" in _text(again, "ErrorMessage")
    assert _text(again, "SignedApplicationToken") is None


def _variants(body: bytes) -> dict[str, tuple[bytes, dict[str, str], str]]:
    """What .NET clients put on the wire for the same request: (body, headers, SOAP version)."""
    quoted = {**SOAP11, "SOAPAction": f'"{soap.AUTHENTICATE_ACTION}"'}
    soap12_body = body.replace(soap.SOAP11_NS.encode(), soap.SOAP12_NS.encode())
    declaration = b'<?xml version="1.0" encoding="utf-8"?>\r\n'
    return {
        "file headers (bare SOAPAction)": (body, SOAP11, soap.SOAP11_NS),
        "WCF basicHttpBinding (quoted SOAPAction)": (
            body, {**quoted, "Content-Type": "text/xml; charset=utf-8"}, soap.SOAP11_NS
        ),
        "byte order mark and declaration": (
            b"\xef\xbb\xbf" + declaration + body, quoted, soap.SOAP11_NS
        ),
        "CRLF line ends": (body.replace(b"\n", b"\r\n"), quoted, soap.SOAP11_NS),
        "UTF-16 with its BOM": (
            ('<?xml version="1.0" encoding="utf-16"?>' + body.decode()).encode("utf-16"),
            {**quoted, "Content-Type": "text/xml; charset=utf-16"},
            soap.SOAP11_NS,
        ),
        "SOAP 1.2, action in the content type": (
            soap12_body,
            {"Content-Type": SOAP12_TYPE},
            soap.SOAP12_NS,
        ),
        "SOAP 1.2 with WS-Addressing headers": (
            soap12_body.replace(
                b"<s:Header>",
                b'<s:Header><a:Action s:mustUnderstand="1" '
                b'xmlns:a="http://www.w3.org/2005/08/addressing">'
                + soap.AUTHENTICATE_ACTION.encode()
                + b'</a:Action><a:MessageID xmlns:a="http://www.w3.org/2005/08/addressing">'
                b"urn:uuid:5f1c7d3e-0000-4000-8000-000000000001"
                b"</a:MessageID>",
            ),
            {"Content-Type": SOAP12_TYPE},
            soap.SOAP12_NS,
        ),
    }  # fmt: skip


@pytest.mark.parametrize("variant", list(_variants(b"")))
def test_fresh_devnet_tokens_in_every_wire_form(mirroring, interop, connector_public_key, variant):
    """A new token per request, signed now with DevNet's private key: no frozen clock."""
    nonce = secrets.token_hex(16).upper()
    now = dt.datetime.now(dt.UTC)
    body, headers, envelope_ns = _variants(
        request_with(interop, devnet_token(interop, nonce=nonce, now=now.timestamp()))
    )[variant]
    answer = requests.post(mirroring, data=body, headers=headers, timeout=10)
    assert answer.status_code == 200, answer.content[:500]
    assert answer.headers["Content-Type"] == soap.content_type(envelope_ns)
    response = assert_superoffice_shape(interop, answer.content, envelope_ns)
    assert _text(response, "IsSuccessful") == "true", _text(response, "ErrorMessage")
    reply = _text(response, "SignedApplicationToken")
    nonce_part, stamp, _ = reply.split(".")
    assert nonce_part == nonce
    assert stamp in {(now + dt.timedelta(minutes=m)).strftime("%Y%m%d%H%M") for m in (0, 1)}
    tokens.verify_application_token(
        reply, expected_nonce=nonce, public_keys=[connector_public_key], now=now.timestamp()
    )


def test_troubleshooting_page_form_over_http(mirroring, interop, connector_public_key):
    """SuperOffice's troubleshooting page writes the header with an `h:` prefix and elides the
    token: its elided token is refused in a normal answer (not a fault, not a 500); the same
    form carrying a real token is answered."""
    body = (interop / "soap_authenticate_request_docs-troubleshooting.xml").read_bytes()
    quoted = {**SOAP11, "SOAPAction": f'"{soap.AUTHENTICATE_ACTION}"'}
    refused = requests.post(mirroring, data=body, headers=quoted, timeout=10)
    assert refused.status_code == 200
    response = assert_superoffice_shape(interop, refused.content, soap.SOAP11_NS)
    assert _text(response, "IsSuccessful") == "false"
    assert _text(response, "ErrorMessage") == "The SignedToken is not a well-formed JWT."
    assert _text(response, "SignedApplicationToken") is None

    nonce = secrets.token_hex(16).upper()
    now = dt.datetime.now(dt.UTC).timestamp()
    real = body.replace(
        b"eyJhbGc...Q03yXZIsy", devnet_token(interop, nonce=nonce, now=now).encode()
    )
    answered = requests.post(mirroring, data=real, headers=quoted, timeout=10)
    response = assert_superoffice_shape(interop, answered.content, soap.SOAP11_NS)
    assert _text(response, "IsSuccessful") == "true", _text(response, "ErrorMessage")
    tokens.verify_application_token(
        _text(response, "SignedApplicationToken"), expected_nonce=nonce,
        public_keys=[connector_public_key], now=now,
    )  # fmt: skip


@pytest.mark.parametrize(
    "claims, reason",
    [
        ({"iss": "SuperOffice"}, "wrong issuer"),
        ({"aud": "spn:123123123123123124"}, "another application (aud)"),
        ({"exp": 1639640741, "nbf": 1639640381}, "expired"),
        ({"nonce": None}, "nonce"),
    ],
)
def test_devnet_tokens_the_connector_must_refuse(mirroring, interop, claims, reason):
    now = dt.datetime.now(dt.UTC).timestamp()
    token = devnet_token(interop, now=now, **{"nonce": secrets.token_hex(16).upper(), **claims})
    answer = requests.post(mirroring, data=request_with(interop, token), headers=SOAP11, timeout=10)
    assert answer.status_code == 200
    response = assert_superoffice_shape(interop, answer.content, soap.SOAP11_NS)
    assert _text(response, "IsSuccessful") == "false"
    assert reason in _text(response, "ErrorMessage")
    assert _text(response, "SignedApplicationToken") is None


def test_json_form_over_http(live_server, mirroring, interop, connector_public_key):
    """The same connector's JSON endpoint, as the registry's AAS calls it."""
    nonce = secrets.token_hex(16).upper()
    now = dt.datetime.now(dt.UTC).timestamp()
    token = devnet_token(interop, nonce=nonce, now=now)
    url = f"{live_server.url}/connector/authenticate"
    answer = requests.post(url, json={"SignedToken": token}, timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert list(body) == ["Succeeded", "Reason", "SignedApplicationToken"]
    assert body["Succeeded"] is True and body["Reason"] is None
    tokens.verify_application_token(
        body["SignedApplicationToken"], expected_nonce=nonce,
        public_keys=[connector_public_key], now=now,
    )  # fmt: skip
    # The nonce answered over JSON is spent for the SOAP form too (one store).
    again = requests.post(mirroring, data=request_with(interop, token), headers=SOAP11, timeout=10)
    response = assert_superoffice_shape(interop, again.content, soap.SOAP11_NS)
    assert "replay" in _text(response, "ErrorMessage")


@pytest.mark.parametrize(
    "body, headers, message",
    [
        (
            "file",
            {**SOAP11, "SOAPAction": f'"{soap.MIRRORING_NS}/IMirroringClientService/GetChanges"'},
            "Unsupported SOAPAction.",
        ),
        (b"<s:Envelope xmlns:s='http://schemas.xmlsoap.org/soap/envelope/'><s:Body/></s:Envelope>",
         SOAP11, "The SOAP header carries no SignedToken."),
        (b"<not-closed>", SOAP11, "The SOAP request is not well-formed XML."),
    ],
)  # fmt: skip
def test_refused_soap11_requests_get_a_soap11_fault(mirroring, interop, body, headers, message):
    """A request that is no handshake at all: a SOAP 1.1 fault in SOAP 1.1's content type, with
    the 400 the README's decisions give it (SOAP 1.1 section 6.2 and WS-I BP R1126 say 500,
    the only error status whose fault a WCF client reads; bad input never answers 500 here)."""
    if body == "file":
        body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    answer = requests.post(mirroring, data=body, headers=headers, timeout=10)
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(answer.content)
    assert root.tag == f"{{{soap.SOAP11_NS}}}Envelope"
    fault = root.find(f"{{{soap.SOAP11_NS}}}Body/{{{soap.SOAP11_NS}}}Fault")
    assert [child.tag for child in fault] == ["faultcode", "faultstring"]
    assert fault.find("faultcode").text == "s:Client"
    assert fault.find("faultstring").text == message


def test_refused_soap12_requests_get_a_sender_fault_with_400(mirroring):
    """SOAP 1.2's HTTP binding (part 2, 7.5.2): env:Sender is 400, in application/soap+xml."""
    answer = requests.post(
        mirroring,
        data=f"<s:Envelope xmlns:s='{soap.SOAP12_NS}'><s:Body/></s:Envelope>",
        headers={"Content-Type": SOAP12_TYPE},
        timeout=10,
    )  # fmt: skip
    assert answer.status_code == 400
    assert answer.headers["Content-Type"] == "application/soap+xml; charset=utf-8"
    root = ElementTree.fromstring(answer.content)
    code = root.find(f".//{{{soap.SOAP12_NS}}}Code/{{{soap.SOAP12_NS}}}Value")
    assert code.text == "s:Sender"

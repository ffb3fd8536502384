"""The Database Mirroring SOAP form: SuperOffice's own request files, safe parsing."""

import pytest
from defusedxml import ElementTree

from connector import soap
from connector.service import AuthenticateResult

BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>
<SignedToken xmlns="http://www.superoffice.com/online/mirroring/0.1">&lol9;</SignedToken>
</s:Header><s:Body/></s:Envelope>"""

XXE = b"""<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Header>
<SignedToken xmlns="http://www.superoffice.com/online/mirroring/0.1">&e;</SignedToken>
</s:Header><s:Body/></s:Envelope>"""


def test_parses_the_devnet_request(interop):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    request = soap.parse_authenticate_request(body)
    assert request.signed_token == token
    assert request.envelope_ns == soap.SOAP11_NS


def test_parses_the_prefixed_troubleshooting_request(interop):
    body = (interop / "soap_authenticate_request_docs-troubleshooting.xml").read_bytes()
    assert soap.parse_authenticate_request(body).signed_token == "eyJhbGc...Q03yXZIsy"


@pytest.mark.parametrize("body", [BOMB, XXE])
def test_entities_are_refused(body):
    with pytest.raises(soap.SoapRequestError, match="DTD or entities"):
        soap.parse_authenticate_request(body)


@pytest.mark.parametrize(
    "body, message",
    [
        (b"not xml", "well-formed"),
        (b"<Envelope/>", "not a SOAP envelope"),
        (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"/>', "no SignedToken"),
        (b"<x>" + b"a" * (soap.MAX_SOAP_BYTES + 1) + b"</x>", "too large"),
    ],
)
def test_malformed_requests(body, message):
    with pytest.raises(soap.SoapRequestError, match=message):
        soap.parse_authenticate_request(body)


@pytest.mark.parametrize(
    "action, expected",
    [
        (soap.AUTHENTICATE_ACTION, True),
        (f'"{soap.AUTHENTICATE_ACTION}"', True),
        (f' "{soap.AUTHENTICATE_ACTION}" ', True),
        (
            "http://www.superoffice.com/online/mirroring/0.1/IMirroringClientService/GetChanges",
            False,
        ),
        ("", False),
        (None, False),
    ],
)
def test_soap_action_bare_or_quoted(action, expected):
    assert soap.action_is_authenticate(action) is expected


def _children(xml: bytes) -> list[str]:
    root = ElementTree.fromstring(xml)
    body = root.find(f"{{{soap.SOAP11_NS}}}Body")
    response = body.find(f"{{{soap.MIRRORING_NS}}}AuthenticateResponse")
    return [child.tag.split("}")[1] for child in response]


def test_response_has_the_shape_of_superoffices(interop):
    sample = (interop / "soap_authenticate_response_devnet-auth.xml").read_bytes()
    ours = soap.authenticate_response(
        AuthenticateResult(succeeded=True, signed_application_token="N.202112160740.c2ln"),
        client_state="state",
    )
    expected = [name for name in _children(sample) if name in _children(ours)]
    assert _children(ours)[:3] == ["IsSuccessful", "ErrorMessage", "SignedApplicationToken"]
    assert _children(ours) == expected  # same names, same order as SuperOffice's
    root = ElementTree.fromstring(ours)
    ns = {"m": soap.MIRRORING_NS}
    assert root.find(".//m:IsSuccessful", ns).text == "true"
    assert root.find(".//m:SignedApplicationToken", ns).text == "N.202112160740.c2ln"
    assert root.find(".//m:ClientState", ns).text == "state"


def test_failure_response_and_fault_escape_text():
    failed = soap.authenticate_response(
        AuthenticateResult(succeeded=False, reason="<bad> & reason")
    )
    root = ElementTree.fromstring(failed)
    ns = {"m": soap.MIRRORING_NS}
    assert root.find(".//m:IsSuccessful", ns).text == "false"
    assert root.find(".//m:ErrorMessage", ns).text == "<bad> & reason"
    assert root.find(".//m:SignedApplicationToken", ns).text is None
    fault = ElementTree.fromstring(soap.fault("no <token>"))
    assert fault.find(".//faultstring").text == "no <token>"

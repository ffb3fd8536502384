"""The Database Mirroring `Authenticate` SOAP form (SPEC section 7), without Django.

Requests are parsed with defusedxml with DTDs forbidden: an entity bomb or an external entity
is refused before any expansion. Answers follow the shape of SuperOffice's
`AuthenticateResponse` (IsSuccessful, ErrorMessage, SignedApplicationToken, ...).

Refused *requests* (not SOAP, wrong action, no token) get a fault with HTTP 400 in the
request's SOAP version: 1.2 (`env:Sender`, `application/soap+xml`) for a SOAP 1.2 envelope or
content type, 1.1 (`s:Client`, `text/xml`) otherwise. A refused *token* is a normal
`AuthenticateResponse` with IsSuccessful false, which is what a mirroring client expects.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.etree import ElementTree as ET  # noqa: S405 - used only to *build* XML

from defusedxml import ElementTree as SafeET

from connector.service import AuthenticateResult

MIRRORING_NS = "http://www.superoffice.com/online/mirroring/0.1"
AUTHENTICATE_ACTION = f"{MIRRORING_NS}/IMirroringClientService/Authenticate"
SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope"
MAX_SOAP_BYTES = 64 * 1024


class SoapRequestError(Exception):
    """`envelope_ns`: the request's SOAP version where its envelope was read, else None."""

    def __init__(self, message: str, envelope_ns: str | None = None):
        super().__init__(message)
        self.message = message
        self.envelope_ns = envelope_ns


def envelope_ns_for(content_type: str | None) -> str:
    """The SOAP version a request's Content-Type names (SOAP 1.2's HTTP binding uses
    `application/soap+xml`, SOAP 1.1's `text/xml`): what a fault answers in before, or
    without, an envelope to read."""
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    return SOAP12_NS if media_type == "application/soap+xml" else SOAP11_NS


@dataclass(frozen=True)
class SoapAuthenticateRequest:
    signed_token: str
    envelope_ns: str
    client_state: str


def action_is_authenticate(soap_action: str | None, content_type: str | None = None) -> bool:
    """WCF sends SOAPAction quoted, other clients bare; SOAP 1.2 puts it in Content-Type."""
    if soap_action is not None:
        return soap_action.strip().strip('"') == AUTHENTICATE_ACTION
    if content_type and "action=" in content_type:
        action = content_type.split("action=", 1)[1].split(";", 1)[0]
        return action.strip().strip('"') == AUTHENTICATE_ACTION
    return False


def parse_authenticate_request(body: bytes) -> SoapAuthenticateRequest:
    if len(body) > MAX_SOAP_BYTES:
        raise SoapRequestError("The SOAP request is too large.")
    try:
        root = SafeET.fromstring(body, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except SafeET.ParseError as exc:
        raise SoapRequestError("The SOAP request is not well-formed XML.") from exc
    except Exception as exc:  # defusedxml's DTDForbidden, EntitiesForbidden, ...
        raise SoapRequestError("The SOAP request may not contain a DTD or entities.") from exc
    envelope_ns = None
    for ns in (SOAP11_NS, SOAP12_NS):
        if root.tag == f"{{{ns}}}Envelope":
            envelope_ns = ns
    if envelope_ns is None:
        raise SoapRequestError("The request is not a SOAP envelope.")
    header = root.find(f"{{{envelope_ns}}}Header")
    token_el = header.find(f"{{{MIRRORING_NS}}}SignedToken") if header is not None else None
    token = (token_el.text or "").strip() if token_el is not None else ""
    if not token:
        raise SoapRequestError("The SOAP header carries no SignedToken.", envelope_ns)
    body_el = root.find(f"{{{envelope_ns}}}Body")
    request_el = (
        body_el.find(f"{{{MIRRORING_NS}}}AuthenticateRequest") if body_el is not None else None
    )
    if request_el is None:
        raise SoapRequestError("The SOAP body is not an AuthenticateRequest.", envelope_ns)
    state_el = request_el.find(f"{{{MIRRORING_NS}}}ClientState")
    client_state = (state_el.text or "") if state_el is not None else ""
    return SoapAuthenticateRequest(
        signed_token=token, envelope_ns=envelope_ns, client_state=client_state[:4096]
    )


def _envelope(envelope_ns: str) -> tuple[ET.Element, ET.Element]:
    envelope = ET.Element("s:Envelope", {"xmlns:s": envelope_ns})
    body = ET.SubElement(envelope, "s:Body")
    return envelope, body


def authenticate_response(
    result: AuthenticateResult, *, envelope_ns: str = SOAP11_NS, client_state: str = ""
) -> bytes:
    envelope, body = _envelope(envelope_ns)
    response = ET.SubElement(body, "AuthenticateResponse", {"xmlns": MIRRORING_NS})
    ET.SubElement(response, "IsSuccessful").text = "true" if result.succeeded else "false"
    ET.SubElement(response, "ErrorMessage").text = result.reason or None
    ET.SubElement(response, "SignedApplicationToken").text = result.signed_application_token
    ET.SubElement(response, "ClientState").text = client_state or None
    ET.SubElement(response, "AdditionalInformationJson")
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def fault(message: str, *, envelope_ns: str = SOAP11_NS, sender: bool = True) -> bytes:
    """A SOAP fault: the request's fault (`sender`) or this side's (e.g. not configured)."""
    envelope, body = _envelope(envelope_ns)
    fault_el = ET.SubElement(body, "s:Fault")
    if envelope_ns == SOAP12_NS:
        code = ET.SubElement(fault_el, "s:Code")
        ET.SubElement(code, "s:Value").text = "s:Sender" if sender else "s:Receiver"
        reason = ET.SubElement(fault_el, "s:Reason")
        ET.SubElement(reason, "s:Text", {"xml:lang": "en"}).text = message
    else:
        ET.SubElement(fault_el, "faultcode").text = "s:Client" if sender else "s:Server"
        ET.SubElement(fault_el, "faultstring").text = message
    return ET.tostring(envelope, encoding="utf-8", xml_declaration=True)


def content_type(envelope_ns: str) -> str:
    return (
        "application/soap+xml; charset=utf-8"
        if envelope_ns == SOAP12_NS
        else "text/xml; charset=utf-8"
    )

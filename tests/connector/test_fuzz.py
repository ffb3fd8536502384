"""The connector's request handling under generated input (any bytes, JSON of any shape,
JWT-like strings, XML-like bodies, SOAPAction and Content-Type values): always an answer,
never an exception (which a server would turn into a 500). Bounded and derandomized."""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector import soap
from connector.keys import load_private_key
from connector.service import Connector
from connector.trust import PinnedCertificates
from connector.wsgi import authenticate_json, authenticate_soap

SETTINGS = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module")
def connector(interop):  # type: ignore[no-untyped-def]
    key = load_private_key((interop / "connector-samples_LocalhostPrivateKey.xml").read_bytes())
    return Connector(
        application_uri="123123123123123123",
        private_key=key,
        trusted_issuer="SuperOffice AS",
        keys=PinnedCertificates.from_file(str(interop / "devnet-auth_DevNet.crt")),
    )


@pytest.fixture(scope="module")
def interop():  # type: ignore[no-untyped-def]
    from tests.conftest import INTEROP

    return INTEROP


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)
JWT_LIKE = st.builds(
    lambda header, payload, signature: f"{_segment(header)}.{_segment(payload)}.{signature}",
    st.one_of(
        st.binary(max_size=60),
        st.builds(
            lambda d: json.dumps(d).encode(),
            st.dictionaries(
                st.sampled_from(["alg", "typ", "kid", "x5t", "crit"]), JSONISH, max_size=5
            ),
        ),
    ),
    st.one_of(
        st.binary(max_size=80),
        st.builds(
            lambda d: json.dumps(d).encode(),
            st.dictionaries(
                st.sampled_from(["iss", "aud", "exp", "nbf", "iat", "nonce", "ctx"]),
                JSONISH,
                max_size=7,
            ),
        ),
    ),
    st.text(alphabet="ABCabc019-_=.+/", max_size=40),
)


@given(
    body=st.one_of(
        st.binary(max_size=300),
        st.builds(lambda v: json.dumps({"SignedToken": v}).encode(), st.one_of(JWT_LIKE, JSONISH)),
    )
)
@SETTINGS
def test_json_requests_always_get_an_answer(connector, body):  # type: ignore[no-untyped-def]
    status, answer = authenticate_json(connector, body)
    assert status in (200, 400)
    assert set(answer) == {"Succeeded", "Reason", "SignedApplicationToken"}
    if status == 400 or answer["Succeeded"] is False:
        assert isinstance(answer["Reason"], str) and answer["Reason"]


def _envelope(token: str) -> bytes:
    return (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
        f'<s:Body><AuthenticationRequest xmlns="{soap.MIRRORING_NS}"><SignedToken>{token}'
        "</SignedToken></AuthenticationRequest></s:Body></s:Envelope>"
    ).encode()


@given(
    body=st.one_of(
        st.binary(max_size=300), st.builds(_envelope, st.one_of(JWT_LIKE, st.text(max_size=50)))
    ),
    action=st.one_of(st.none(), st.just(soap.AUTHENTICATE_ACTION), st.text(max_size=40)),
    content_type=st.one_of(
        st.none(),
        st.sampled_from(["text/xml", "application/soap+xml; action=x"]),
        st.text(max_size=30),
    ),
)
@SETTINGS
def test_soap_requests_always_get_an_answer(connector, body, action, content_type):  # type: ignore[no-untyped-def]
    status, answer_type, xml = authenticate_soap(connector, body, action, content_type)
    assert status in (200, 400)
    assert answer_type.startswith(("text/xml", "application/soap+xml")) and xml.startswith(b"<")

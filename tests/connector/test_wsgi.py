"""connector.wsgi, the connector without Django: SuperOffice's own data through the app a
WSGI server runs (`from_environ`, the clock frozen inside the token's window), and start-up
errors that name the setting at fault."""

from __future__ import annotations

import io
import json

import pytest
import time_machine

from connector import soap, tokens, wsgi
from tests.connector.conftest import assert_soap_reply_verifies

NONCE = "9AB41493762B0C5B6E0F1AB35F032B95"
INSIDE = 1639640500


@pytest.fixture
def env(superoffice_env):  # type: ignore[no-untyped-def]
    return superoffice_env


def _call(app, path, body, **extra):  # type: ignore[no-untyped-def]
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": path,
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        **extra,
    }
    started: list[tuple[str, list[tuple[str, str]]]] = []
    payload = b"".join(app(environ, lambda status, headers: started.append((status, headers))))
    status, headers = started[0]
    return status, dict(headers), payload


def test_superoffices_token_is_answered_once_over_json(env, interop, public_key):
    app = wsgi.from_environ(env)
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    body = json.dumps({"SignedToken": token}).encode()
    with time_machine.travel(INSIDE, tick=False):
        status, headers, payload = _call(app, "/authenticate", body)
        replay = json.loads(_call(app, "/authenticate", body)[2])
    assert status == "200 OK" and headers["Content-Type"] == "application/json"
    answer = json.loads(payload)
    assert answer["Succeeded"] is True and answer["Reason"] is None
    tokens.verify_application_token(
        answer["SignedApplicationToken"], expected_nonce=NONCE, public_keys=[public_key], now=INSIDE
    )
    assert replay["Succeeded"] is False and replay["Reason"].endswith("(replay).")


def test_the_standalone_connector_logs_its_refusals(env, interop, caplog):
    app = wsgi.from_environ(env)
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()
    body = json.dumps({"SignedToken": token}).encode()
    with caplog.at_level("INFO"), time_machine.travel(INSIDE + 3600, tick=False):
        answer = json.loads(_call(app, "/authenticate", body)[2])
    assert answer["Reason"] == "The SignedToken has expired."
    assert [r.getMessage() for r in caplog.records if r.name.startswith("connector")] == [
        "handshake refused: The SignedToken has expired."
    ]


def test_superoffices_soap_request_is_answered_verbatim(env, interop, public_key):
    app = wsgi.from_environ({**env, "CONNECTOR_PATH_PREFIX": "/connector"})
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    with time_machine.travel(INSIDE, tick=False):
        status, headers, xml = _call(
            app,
            "/connector/mirroring",
            body,
            CONTENT_TYPE="text/xml;charset=UTF-8",
            HTTP_SOAPACTION=soap.AUTHENTICATE_ACTION,
        )
    assert status == "200 OK" and headers["Content-Type"].startswith("text/xml")
    assert_soap_reply_verifies(xml, public_key)


@pytest.mark.parametrize(
    "setting, content, message",
    [
        ("CONNECTOR_PRIVATE_KEY_FILE", None, "cannot be read"),
        ("CONNECTOR_PRIVATE_KEY_FILE", b"not a key", "neither readable PEM"),
        ("CONNECTOR_AAS_CERTIFICATE_FILE", None, "cannot be read"),
        ("CONNECTOR_AAS_CERTIFICATE_FILE", b"not a certificate", "neither PEM nor DER"),
    ],
)
def test_a_file_that_is_missing_or_unreadable_is_named_at_start(
    env, tmp_path, setting, content, message
):
    """A server refuses to start with the variable and its file in the message, not a bare
    FileNotFoundError or "The certificate is neither PEM nor DER X.509." that names neither."""
    path = tmp_path / "configured-file"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as raised:
        wsgi.from_environ({**env, setting: str(path)})
    assert str(raised.value).startswith(f"{setting} ({path}): ")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://registry.example.com/id/jwks",
        "registry.example.com/id/.well-known/openid-configuration/jwks",
        "http:///id/jwks",
        "https://",
    ],
)
def test_a_jwks_url_that_can_never_be_fetched_is_refused_at_start(env, url):
    """Before, any text was taken: the server started, and every handshake was then refused
    with "could not fetch the AAS keys" while nothing on the connector's side said why."""
    settings = {k: v for k, v in env.items() if k != "CONNECTOR_AAS_CERTIFICATE_FILE"}
    with pytest.raises(ValueError, match=r"must be an absolute http\(s\) URL") as raised:
        wsgi.from_environ({**settings, "CONNECTOR_AAS_JWKS_URL": url})
    assert str(raised.value).startswith(f"CONNECTOR_AAS_JWKS_URL ({url}): ")

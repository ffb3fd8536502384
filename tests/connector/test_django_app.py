"""The connector's Django app on SuperOffice's real data: the DevNet certificate, issuer
`SuperOffice AS`, application URI 123123123123123123, the clock frozen inside the token's
window, and a reply signed with SuperOffice's .NET RSA XML sample key."""

import datetime as dt
import json

import pytest
import time_machine
from defusedxml import ElementTree

from connector import soap, tokens
from connector.django_app import config
from connector.django_app.models import AnsweredNonce
from connector.keys import load_private_key
from tests.connector.servers import json_app, serve

NONCE = "9AB41493762B0C5B6E0F1AB35F032B95"
INSIDE = 1639640500
EXP = 1639640741
ACTION = soap.AUTHENTICATE_ACTION


@pytest.fixture(autouse=True)
def _fresh_caches():
    config.reset_caches()
    yield
    config.reset_caches()


@pytest.fixture
def devnet_settings(settings, interop, tmp_path):
    key_file = tmp_path / "LocalhostPrivateKey.xml"
    key_file.write_bytes((interop / "connector-samples_LocalhostPrivateKey.xml").read_bytes())
    settings.CONNECTOR_APPLICATION_URI = "123123123123123123"
    settings.CONNECTOR_PRIVATE_KEY_FILE = str(key_file)
    settings.CONNECTOR_TRUSTED_ISSUER = "SuperOffice AS"
    settings.CONNECTOR_AAS_CERTIFICATE_FILE = str(interop / "devnet-auth_DevNet.crt")
    settings.CONNECTOR_AAS_JWKS_URL = ""
    return settings


@pytest.fixture
def token(interop):
    return (interop / "superoffice_signed_token_devnet-auth.jwt").read_text().strip()


@pytest.fixture
def xml_public_key(interop):
    return load_private_key(
        (interop / "connector-samples_LocalhostPrivateKey.xml").read_bytes()
    ).public_key()


def _post_json(client, body):
    return client.post("/connector/authenticate", data=body, content_type="application/json")


def _post_soap(client, body, action=f'"{ACTION}"'):
    headers = {"HTTP_SOAPACTION": action} if action is not None else {}
    return client.post(
        "/connector/mirroring", data=body, content_type="text/xml;charset=UTF-8", **headers
    )


@pytest.mark.django_db
def test_json_authenticate_answers_superoffice_token(
    client, devnet_settings, token, xml_public_key
):
    with time_machine.travel(INSIDE, tick=False):
        response = _post_json(client, json.dumps({"SignedToken": token}))
        assert response.status_code == 200
        answer = response.json()
        assert answer["Succeeded"] is True and answer["Reason"] is None
        reply = answer["SignedApplicationToken"]
        assert reply.startswith(f"{NONCE}.202112160741.")
        tokens.verify_application_token(
            reply, expected_nonce=NONCE, public_keys=[xml_public_key], now=INSIDE
        )
        assert AnsweredNonce.objects.filter(nonce=NONCE).count() == 1

        replay = _post_json(client, json.dumps({"SignedToken": token}))
        assert replay.status_code == 200
        assert replay.json() == {
            "Succeeded": False,
            "Reason": "The SignedToken has already been answered (replay).",
            "SignedApplicationToken": None,
        }


@pytest.mark.django_db
def test_verbatim_soap_request_is_answered(client, devnet_settings, interop, xml_public_key):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    with time_machine.travel(INSIDE, tick=False):
        response = _post_soap(client, body)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    root = ElementTree.fromstring(response.content)
    ns = {"m": soap.MIRRORING_NS}
    assert root.find(".//m:IsSuccessful", ns).text == "true"
    reply = root.find(".//m:SignedApplicationToken", ns).text
    tokens.verify_application_token(
        reply, expected_nonce=NONCE, public_keys=[xml_public_key], now=INSIDE
    )


@pytest.mark.django_db
def test_soap_action_may_be_bare(client, devnet_settings, interop):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    with time_machine.travel(INSIDE, tick=False):
        response = _post_soap(client, body, action=ACTION)
    assert b"<IsSuccessful>true</IsSuccessful>" in response.content


@pytest.mark.django_db
def test_a_minute_after_exp_plus_leeway_is_refused(client, devnet_settings, token, interop, caplog):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    with (
        time_machine.travel(EXP + tokens.LEEWAY_SECONDS + 60, tick=False),
        caplog.at_level("INFO"),
    ):
        json_answer = _post_json(client, json.dumps({"SignedToken": token})).json()
        soap_answer = _post_soap(client, body)
    # Each refusal logged once, for either form.
    assert [r.getMessage() for r in caplog.records if r.name.startswith("connector")] == [
        "handshake refused: The SignedToken has expired."
    ] * 2
    assert json_answer["Succeeded"] is False and "expired" in json_answer["Reason"]
    root = ElementTree.fromstring(soap_answer.content)
    ns = {"m": soap.MIRRORING_NS}
    assert root.find(".//m:IsSuccessful", ns).text == "false"
    assert "expired" in root.find(".//m:ErrorMessage", ns).text
    assert not AnsweredNonce.objects.exists()


@pytest.mark.django_db
def test_entity_bomb_is_refused_with_a_fault(client, devnet_settings):
    from tests.connector.test_soap import BOMB

    response = _post_soap(client, BOMB)
    assert response.status_code == 400
    assert b"faultstring" in response.content and b"DTD or entities" in response.content


@pytest.mark.django_db
def test_wrong_soap_action_is_a_fault(client, devnet_settings, interop):
    body = (interop / "soap_authenticate_request_devnet-auth.xml").read_bytes()
    for action in (None, "urn:other"):
        response = _post_soap(client, body, action=action)
        assert response.status_code == 400 and b"Unsupported SOAPAction" in response.content


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    ["", "[]", "{}", '{"SignedToken": 5}', "not json", "[" * 30_000 + "]" * 30_000],
)
def test_bad_json_bodies(client, devnet_settings, body):
    response = _post_json(client, body)
    assert response.status_code == 400
    assert response.json()["Succeeded"] is False and "SignedToken" in response.json()["Reason"]


@pytest.mark.django_db
def test_huge_bodies_are_refused(client, devnet_settings):
    response = _post_json(client, '{"SignedToken": "' + "a" * 100_000 + '"}')
    assert response.status_code == 413
    response = _post_soap(client, b"<x>" + b"a" * 100_000 + b"</x>")
    assert response.status_code == 413


@pytest.mark.django_db
def test_get_is_not_allowed(client, devnet_settings):
    assert client.get("/connector/authenticate").status_code == 405


@pytest.mark.django_db
@pytest.mark.parametrize(
    "setting",
    ["CONNECTOR_APPLICATION_URI", "CONNECTOR_PRIVATE_KEY_FILE", "CONNECTOR_TRUSTED_ISSUER"],
)
def test_unconfigured_connector_answers_503(client, devnet_settings, setting, token):
    setattr(devnet_settings, setting, "")
    response = _post_json(client, json.dumps({"SignedToken": token}))
    assert response.status_code == 503
    assert response.json()["error"] == "connector_not_configured"
    assert _post_soap(client, b"<x/>").status_code == 503
    soap12 = client.post(
        "/connector/mirroring", data=b"<x/>", content_type="application/soap+xml; charset=utf-8"
    )
    assert soap12.status_code == 503 and soap12["Content-Type"].startswith("application/soap+xml")
    root = ElementTree.fromstring(soap12.content)
    code = root.find(f".//{{{soap.SOAP12_NS}}}Code/{{{soap.SOAP12_NS}}}Value")
    assert code.text == "s:Receiver"


@pytest.mark.django_db
def test_no_trust_source_or_unreadable_files_answer_503(client, devnet_settings, token, tmp_path):
    devnet_settings.CONNECTOR_AAS_CERTIFICATE_FILE = ""
    assert _post_json(client, json.dumps({"SignedToken": token})).status_code == 503
    devnet_settings.CONNECTOR_AAS_CERTIFICATE_FILE = str(tmp_path / "missing.pem")
    assert _post_json(client, json.dumps({"SignedToken": token})).status_code == 503
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a key")
    devnet_settings.CONNECTOR_AAS_CERTIFICATE_FILE = str(garbage)
    assert _post_json(client, json.dumps({"SignedToken": token})).status_code == 503
    devnet_settings.CONNECTOR_PRIVATE_KEY_FILE = str(garbage)
    response = _post_json(client, json.dumps({"SignedToken": token}))
    assert response.status_code == 503 and str(tmp_path) not in response.content.decode()


@pytest.mark.django_db
def test_jwks_mode_fetches_the_aas_keys(client, devnet_settings, token, interop):
    from connector.keys import (
        b64url_encode,
        certificate_sha1_thumbprint,
        load_certificate,
        public_key_to_jwk,
    )

    cert = load_certificate((interop / "devnet-auth_DevNet.crt").read_bytes())
    jwk = {
        **public_key_to_jwk(cert.public_key()),
        "kid": "B0AD4C0BFD8913B8040F3E8AD16A91F585222C33",
        "x5t": b64url_encode(certificate_sha1_thumbprint(cert)),
    }
    hits = []

    def jwks(body):
        hits.append(1)
        return (
            "200 OK",
            [("Content-Type", "application/json")],
            json.dumps({"keys": [jwk]}).encode(),
        )

    with serve(json_app({"/jwks": jwks})) as url:
        devnet_settings.CONNECTOR_AAS_CERTIFICATE_FILE = ""
        devnet_settings.CONNECTOR_AAS_JWKS_URL = f"{url}/jwks"
        with time_machine.travel(INSIDE, tick=False):
            assert (
                _post_json(client, json.dumps({"SignedToken": token})).json()["Succeeded"] is True
            )
            again = _post_json(client, json.dumps({"SignedToken": token})).json()
    assert "replay" in again["Reason"]
    assert hits == [1]  # the second request used the cached JWKS


@pytest.mark.django_db
def test_expired_answered_nonces_are_purged(devnet_settings):
    import datetime as dt

    from django.utils import timezone

    past = timezone.now() - dt.timedelta(minutes=1)
    AnsweredNonce.objects.create(nonce="OLD", keep_until=past)
    AnsweredNonce.objects.create(nonce="LIVE", keep_until=past + dt.timedelta(hours=1))
    assert config.purge_answered_nonces() == 1
    assert list(AnsweredNonce.objects.values_list("nonce", flat=True)) == ["LIVE"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("exp", [10**20, 1e300])
def test_an_exp_far_in_the_future_is_remembered_to_the_last_storable_date(exp):
    # Only the AAS can sign such a token; the standalone connectors answer it, and so must
    # this one, not with a 500. Its nonce stays refused for as long as a column can say.
    from connector.django_app.config import database_replay_guard

    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    assert database_replay_guard("FAR", exp, now) is True
    assert AnsweredNonce.objects.get(nonce="FAR").keep_until.year == 9999
    assert database_replay_guard("FAR", exp, now + 10**9) is False


@pytest.mark.django_db(transaction=True)
def test_replay_guard_one_statement_keeps_the_orm_semantics():
    """Insert, refuse a live duplicate, replace an expired one; rows read back like ORM rows."""
    from connector.django_app.config import database_replay_guard

    base = dt.datetime(2026, 1, 1, tzinfo=dt.UTC).timestamp()
    assert database_replay_guard("R1", base + 100, base) is True
    assert database_replay_guard("R1", base + 200, base + 50) is False  # live: refused
    row = AnsweredNonce.objects.get(nonce="R1")
    assert row.keep_until == dt.datetime.fromtimestamp(base + 100, tz=dt.UTC)
    assert database_replay_guard("R1", base + 300, base + 100) is True  # expired: replaced
    row = AnsweredNonce.objects.get(nonce="R1")
    assert row.keep_until == dt.datetime.fromtimestamp(base + 300, tz=dt.UTC)
    assert (
        AnsweredNonce.objects.filter(
            keep_until__lte=dt.datetime.fromtimestamp(base + 299, tz=dt.UTC)
        ).count()
        == 0
    )
    assert AnsweredNonce.objects.count() == 1


@pytest.mark.django_db
def test_the_django_apps_refusals_are_counted_across_requests(
    client, devnet_settings, token, caplog, monkeypatch
):
    """The app builds its connector for each request; the log's limit holds across them."""
    from connector.django_app import config
    from connector.service import RefusalLog

    monkeypatch.setattr(config, "_REFUSAL_LOG", RefusalLog(limit=3))
    body = json.dumps({"SignedToken": token})
    with (
        time_machine.travel(EXP + tokens.LEEWAY_SECONDS + 60, tick=False),
        caplog.at_level("WARNING", logger="connector.service"),
    ):
        for _ in range(5):
            assert _post_json(client, body).json()["Succeeded"] is False
    assert len(caplog.records) == 3

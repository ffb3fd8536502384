"""ERP.net's published data through the registry's real endpoints over HTTP (a live server on
127.0.0.1): its three register-trusted-app bodies imported as ERP.net writes them (PascalCase),
then used as ERP.net's sample clients use them: the secret `DEMO` whose hash the bodies carry
(`secret_hash_vector.json`), and the PKCE example of RFC 7636 appendix B."""

from __future__ import annotations

import io

import jwt
import pytest
import requests
from django.core.management import call_command

from tests import factories
from tests.oauth.conftest import query
from tests.oauth.test_interop_live import _log_in_and_approve
from trustregistry.registry.models import TrustedApplication

pytestmark = pytest.mark.django_db(transaction=True)


def _import(interop, tmp_path, *names: str) -> tuple[str, str]:
    """`manage.py import_trusted_apps` on ERP.net's bodies, each file's bytes unchanged."""
    path = tmp_path / "erpnet.json"
    path.write_text(
        "[" + ",".join((interop / n).read_text(encoding="utf-8") for n in names) + "]",
        encoding="utf-8",
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_trusted_apps", str(path), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _claims(issuer: str, token: str) -> dict:
    jwks = jwt.PyJWKClient(f"{issuer}/.well-known/openid-configuration/jwks")
    return jwt.decode(
        token, jwks.get_signing_key_from_jwt(token).key, algorithms=["RS256"], issuer=issuer,
        options={"verify_aud": False},
    )  # fmt: skip


def test_service_body_and_the_demo_secret_get_client_credentials(
    live_issuer, interop, interop_json, tmp_path
):
    vector = interop_json("secret_hash_vector.json")
    body = interop_json("register_service_app.json")
    assert body["ApplicationSecretHash"] == vector["ApplicationSecretHash"]
    out, err = _import(interop, tmp_path, "register_service_app.json")
    assert "created MYSERVICEDEMOCLIENT" in out and "Systems_Security_Users(cc314327" in err
    app = TrustedApplication.objects.get(client_id="MYSERVICEDEMOCLIENT")
    assert app.client_type == "confidential" and app.localized_name("en") == "Service Demo Client"
    assert app.system_user_allowed and app.system_user.kind == "system"
    assert not app.impersonate_internal_allowed and not app.impersonate_community_allowed
    assert list(app.secrets.values_list("secret_hash", flat=True)) == [
        vector["ApplicationSecretHash"]
    ]

    token_url = f"{live_issuer}/connect/token"
    grant = {"grant_type": "client_credentials"}
    basic = requests.post(token_url, data=grant, auth=(app.client_id, vector["secret"]), timeout=10)
    post = requests.post(
        token_url, timeout=10,
        data={**grant, "client_id": app.client_id, "client_secret": vector["secret"]},
    )  # fmt: skip
    for response in (basic, post):
        assert response.status_code == 200, response.text
        assert response.headers["Cache-Control"] == "no-store"
        claims = _claims(live_issuer, response.json()["access_token"])
        assert claims["client_id"] == "MYSERVICEDEMOCLIENT" and claims["user_type"] == "system"
        assert claims["sub"] == str(app.system_user.pk)

    # The hash is the credential's only trace: a near miss is the plain invalid_client.
    wrong = requests.post(token_url, data=grant, auth=(app.client_id, "demo"), timeout=10)
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"
    assert wrong.headers["WWW-Authenticate"].startswith("Basic")
    # The body allows no interactive login: no authorization code for it.
    refused = requests.get(
        f"{live_issuer}/connect/authorize", allow_redirects=False, timeout=10,
        params={"response_type": "code", "client_id": app.client_id, "state": "s",
                "redirect_uri": "http://localhost:5080/myapp/signin-oidc"},
    )  # fmt: skip
    assert refused.status_code == 400 and "Location" not in refused.headers


@pytest.mark.parametrize(
    "name", ["register_confidential_interactive.json", "register_public_interactive.json"]
)
def test_interactive_bodies_run_the_code_flow_with_rfc7636_pkce(
    live_issuer, interop, interop_json, tmp_path, name
):
    """ERP.net's sample web app: login URL on localhost:5080, internal and community users,
    secret DEMO when confidential; PKCE with RFC 7636's own verifier and challenge."""
    body, pkce = interop_json(name), interop_json("rfc7636_appendix_B_vector.json")
    secret = interop_json("secret_hash_vector.json")["secret"]
    out, _ = _import(interop, tmp_path, name)
    assert "created MYDEMOCLIENT" in out
    app = TrustedApplication.objects.get(client_id="MYDEMOCLIENT")
    assert app.client_type == body["ClientType"].lower()
    assert app.localized_name("en") == body["Name"] == "MY DEMO CLIENT"
    assert app.login_urls == [body["ImpersonateLoginUrl"]]
    assert app.logout_urls == [body["ImpersonateLogoutUrl"]]
    assert app.impersonate_internal_allowed and app.impersonate_community_allowed
    assert not app.system_user_allowed
    confidential = app.client_type == "confidential"
    auth = (app.client_id, secret) if confidential else None

    for user in (
        factories.UserFactory(username="erpnet-internal"),
        factories.CommunityUserFactory(username="erpnet-community"),
    ):
        params = {
            "response_type": "code", "client_id": app.client_id, "state": "erp-state",
            "redirect_uri": body["ImpersonateLoginUrl"], "scope": "openid profile",
            "nonce": "erp-nonce", "code_challenge": pkce["code_challenge"],
            "code_challenge_method": pkce["code_challenge_method"],
        }  # fmt: skip
        url = requests.Request("GET", f"{live_issuer}/connect/authorize", params=params).prepare()
        location = _log_in_and_approve(url.url, user.username)
        assert location.startswith(body["ImpersonateLoginUrl"] + "?")
        answer = query(location)
        assert answer["state"] == "erp-state" and answer["iss"] == live_issuer
        exchange = {
            "grant_type": "authorization_code", "code": answer["code"],
            "redirect_uri": body["ImpersonateLoginUrl"], "code_verifier": pkce["code_verifier"],
        }  # fmt: skip
        if not confidential:
            exchange["client_id"] = app.client_id
        # The RFC's verifier with its last character changed is refused.
        bad = dict(exchange, code_verifier=pkce["code_verifier"][:-1] + "Y")
        wrong = requests.post(f"{live_issuer}/connect/token", data=bad, auth=auth, timeout=10)
        assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
        location = _log_in_and_approve(url.url, user.username, consent=False)
        exchange["code"] = query(location)["code"]
        response = requests.post(
            f"{live_issuer}/connect/token", data=exchange, auth=auth, timeout=10
        )
        assert response.status_code == 200, response.text
        tokens = response.json()
        claims = _claims(live_issuer, tokens["access_token"])
        assert claims["client_id"] == "MYDEMOCLIENT"
        assert claims["user_type"] == user.kind
        id_claims = jwt.decode(tokens["id_token"], options={"verify_signature": False})
        assert id_claims["aud"] == "MYDEMOCLIENT" and id_claims["nonce"] == "erp-nonce"

        # RP-initiated logout back to ERP.net's logout URL.
        bye = requests.get(
            f"{live_issuer}/connect/endsession", allow_redirects=False, timeout=10,
            params={"id_token_hint": tokens["id_token"],
                    "post_logout_redirect_uri": body["ImpersonateLogoutUrl"]},
        )  # fmt: skip
        assert bye.status_code == 302 and bye.headers["Location"] == body["ImpersonateLogoutUrl"]

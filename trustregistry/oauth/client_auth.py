"""Client authentication for django-oauth-toolkit's validator (SPEC section 3), against the
trusted-application record: `client_secret_basic` and `client_secret_post` (either live secret,
through `registry.services.secret_verify`), `private_key_jwt` (RS256/ES256 assertions checked
with the record's public keys, `jti` single-use) and `none` for public records. Exactly one
method per request (RFC 6749 section 2.3); an unknown client fails as a wrong secret does.
`RegistryValidator` (oauth/validators.py) takes these methods from `ClientAuthentication`.
"""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import unquote_plus

from django.conf import settings
from oauth2_provider.models import get_application_model

from trustregistry.common import clock
from trustregistry.oauth import client_assertion, policy, services
from trustregistry.registry import selectors as registry_selectors
from trustregistry.registry import services as registry_services

log = logging.getLogger(__name__)

Application = get_application_model()

AUTH_BASIC = "client_secret_basic"
AUTH_POST = "client_secret_post"
AUTH_JWT = "private_key_jwt"
AUTH_NONE = "none"


def basic_credentials(request: Any) -> tuple[str, str] | None:
    """client_id and secret from `Authorization: Basic` (RFC 6749 2.3.1: form-encoded)."""
    header = request.headers.get("Authorization") or request.headers.get("HTTP_AUTHORIZATION")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    client_id, sep, secret = decoded.partition(":")
    if not sep:
        return None
    return unquote_plus(client_id), unquote_plus(secret)


def request_param(request: Any, name: str) -> Any:
    return getattr(request, name, None)


class ClientAuthentication:
    """The validator's record loading and client authentication (a mixin of
    `RegistryValidator`, before django-oauth-toolkit's `OAuth2Validator`)."""

    # ------------------------------------------------------------------ loading the record

    def _load_application(self, client_id: Any, request: Any) -> Any:
        if not isinstance(client_id, str) or not client_id:
            return None
        client = request.client
        if isinstance(client, Application) and client.client_id == client_id:
            return client if client.is_usable(request) else None
        # select_related("system_user").filter(client_id=...).first() and the record's
        # secrets (for secret_verify), in one query whose SQL is compiled once.
        client = registry_selectors.application_for_client_auth(client_id=client_id)
        if client is None or not client.is_usable(request):
            return None
        request.client = client
        return client

    def validate_client_id(self, client_id: str, request: Any, *args: Any, **kwargs: Any) -> bool:
        return self._load_application(client_id, request) is not None

    def get_default_redirect_uri(self, client_id: str, request: Any, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        urls = request.client.login_urls if request.client else []
        # Only an unambiguous registration may be implied (RFC 6749 section 3.1.2.3).
        return urls[0] if len(urls) == 1 else None

    # ------------------------------------------------------------------ client authentication

    def client_authentication_required(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        if (
            basic_credentials(request)
            or request_param(request, "client_secret")
            or request_param(request, "client_assertion")
            or request_param(request, "client_assertion_type")
        ):
            return True
        client = self._load_application(request.client_id, request)
        # An unknown client must fail as an unauthenticated confidential one would.
        return client is None or policy.is_confidential(client)

    def authenticate_client(self, request: Any, *args: Any, **kwargs: Any) -> bool:
        request.tr_auth_method = None
        assertion = request_param(request, "client_assertion")
        assertion_type = request_param(request, "client_assertion_type")
        basic = basic_credentials(request)
        body_secret = request_param(request, "client_secret")
        used = [bool(assertion or assertion_type), bool(basic), bool(body_secret)]
        if sum(used) != 1:
            # RFC 6749 2.3: exactly one authentication method per request.
            return False
        if assertion or assertion_type:
            return self._authenticate_assertion(request, assertion, assertion_type)
        if basic:
            client_id, secret = basic
            if request.client_id and request.client_id != client_id:
                return False
            method = AUTH_BASIC
        else:
            client_id, secret = request.client_id, body_secret
            method = AUTH_POST
        client = self._load_application(client_id, request)
        if client is None or not policy.is_confidential(client) or not secret:
            return False
        if not registry_services.secret_verify(application=client, secret=secret):
            return False
        request.client_id = client_id
        request.tr_auth_method = method
        return True

    def _authenticate_assertion(self, request: Any, assertion: Any, assertion_type: Any) -> bool:
        if assertion_type != client_assertion.ASSERTION_TYPE or not isinstance(assertion, str):
            return False
        client_id = client_assertion.unverified_client_id(assertion)
        if client_id is None or (request.client_id and request.client_id != client_id):
            return False
        client = self._load_application(client_id, request)
        if client is None or not policy.is_confidential(client) or not client.public_keys:
            return False
        issuer = settings.TRUSTREGISTRY_ISSUER
        try:
            verified = client_assertion.verify_client_assertion(
                assertion,
                client_id=client_id,
                public_keys=client.public_keys,
                audiences=[
                    issuer,
                    f"{issuer}/connect/token",
                    f"{issuer}/connect/revocation",
                    f"{issuer}/connect/introspect",
                ],
                now=clock.now(),
            )
        except client_assertion.InvalidAssertion as exc:
            log.info("client assertion refused for %s: %s", client_id, exc.message)
            return False
        if not services.assertion_remember(
            application=client, jti=verified.jti, expires=verified.expires
        ):
            log.info("client assertion replayed for %s", client_id)
            return False
        registry_services.application_mark_used(application=client)
        request.client_id = client_id
        request.tr_auth_method = AUTH_JWT
        return True

    def authenticate_client_id(
        self, client_id: str, request: Any, *args: Any, **kwargs: Any
    ) -> bool:
        client = self._load_application(client_id, request)
        if client is None or policy.is_confidential(client):
            return False
        # Outside the token transaction, so concurrent requests never queue on the record's row.
        registry_services.application_mark_used(application=client)
        request.tr_auth_method = AUTH_NONE
        return True

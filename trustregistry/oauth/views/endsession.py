"""OIDC RP-initiated logout (SPEC 3): a `post_logout_redirect_uri` is followed only when it
exactly matches one of the record's logout URLs and comes with a valid `id_token_hint`
signed by this registry; otherwise there is no redirect."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import HttpResponse, HttpResponseRedirect
from django.urls import reverse
from oauth2_provider.exceptions import (
    ClientIdMissmatch,
    InvalidIDTokenError,
    InvalidOIDCClientError,
    InvalidOIDCRedirectURIError,
    OIDCError,
)
from oauth2_provider.forms import ConfirmLogoutForm
from oauth2_provider.models import get_id_token_model
from oauth2_provider.views import RPInitiatedLogoutView

from trustregistry.common import clock
from trustregistry.oauth import tokens
from trustregistry.oauth.views.common import (
    ClientRequestByPostMixin,
    SecurePageMixin,
    error_page,
)
from trustregistry.registry import selectors as registry_selectors

IDToken = get_id_token_model()


CONFIRM_MARKER = "tr_confirm"


def _hint_without_its_row(claims: dict[str, Any]) -> Any:
    """An ID token this registry signed whose row is gone: a logout at another of the user's
    clients ends their tokens everywhere, ID tokens included. RP-Initiated Logout 1.0 section
    2 asks to accept a recent ID token still (expired, too), so the client and the user come
    from its own claims, for one issued within a session's lifetime."""
    issued = claims.get("iat")
    if (
        not isinstance(issued, int)
        or issued < clock.now().timestamp() - settings.SESSION_COOKIE_AGE
    ):
        return None
    audience = claims.get("aud")
    client_id = audience[0] if isinstance(audience, list) and len(audience) == 1 else audience
    if not isinstance(client_id, str):
        return None
    subject = str(claims.get("sub", ""))
    application = registry_selectors.application_for_client(client_id=client_id)
    user = get_user_model().objects.filter(pk=subject).first() if subject.isdigit() else None
    if application is None or user is None:
        return None
    return SimpleNamespace(application=application, user=user)


class ConfirmForm(ConfirmLogoutForm):
    tr_confirm = forms.CharField(required=False, widget=forms.HiddenInput())


class EndSessionView(ClientRequestByPostMixin, SecurePageMixin, RPInitiatedLogoutView):
    """The client's logout request may come by POST (RP-Initiated Logout 1.0 section 2),
    cross-site; the confirmation form posts back here, CSRF-checked."""

    template_name = "oauth/endsession.html"
    form_class = ConfirmForm
    form_marker = CONFIRM_MARKER
    # GET and POST only (OpenID Connect): View would take PUT as POST.
    http_method_names = ["get", "post", "head", "options"]

    def validate_logout_request_user(self, id_token_hint: str | None, client_id: str | None):  # type: ignore[no-untyped-def]
        if not id_token_hint:
            return None
        try:
            claims = tokens.verify_id_token(id_token_hint, as_hint=True)
        except tokens.InvalidIdToken as exc:
            raise InvalidIDTokenError() from exc
        id_token = (
            IDToken.objects.select_related("application", "user").filter(jti=claims["jti"]).first()
        )
        if id_token is None:
            id_token = _hint_without_its_row(claims)
        if id_token is None or id_token.application is None:
            raise InvalidIDTokenError()
        if client_id and id_token.application.client_id != client_id:
            raise ClientIdMissmatch()
        return id_token

    def get_request_application(self, id_token: Any, client_id: str | None) -> Any:
        if client_id:
            # The registry's lookup: a client id no record can have (NUL, too long) is simply
            # unknown, where the ORM's query would reach PostgreSQL and fail (a 500).
            application = registry_selectors.application_for_client(client_id=client_id)
            if application is None:
                raise InvalidOIDCClientError()
            return application
        return id_token.application if id_token else None

    def validate_logout_request(self, id_token_hint, client_id, post_logout_redirect_uri):  # type: ignore[no-untyped-def]
        if post_logout_redirect_uri and not id_token_hint:
            raise InvalidOIDCRedirectURIError(
                "A post_logout_redirect_uri is followed only with a valid id_token_hint."
            )
        try:
            application, user = super().validate_logout_request(
                id_token_hint, client_id, post_logout_redirect_uri
            )
        except ValueError as exc:  # urlparse on a malformed URI ("http://[::1")
            raise InvalidOIDCRedirectURIError("The post_logout_redirect_uri is not a URL.") from exc
        if post_logout_redirect_uri and (application is None or not application.is_enabled):
            raise InvalidOIDCClientError()
        return application, user

    def do_logout(
        self, application=None, post_logout_redirect_uri=None, state=None, token_user=None
    ):  # type: ignore[no-untyped-def]
        response = super().do_logout(application, post_logout_redirect_uri, state, token_user)
        if not post_logout_redirect_uri:
            return HttpResponseRedirect(reverse("oauth:logout"))
        return response

    def error_response(self, error: OIDCError) -> HttpResponse:
        return error_page(
            self.request,
            error=getattr(error, "error", "invalid_request"),
            description=str(getattr(error, "description", "") or error),
            status=getattr(error, "status_code", 400),
        )

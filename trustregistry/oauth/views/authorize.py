"""The authorization endpoint (SPEC 3): code flow only, consent page in the viewer's language.

Order of checks: the request is validated before anyone is sent to log in, so an unknown
client or an unregistered redirect URI ends on the error page and never in a redirect; then
the logged-in user's kind must be one the record allows (else `access_denied` to the client).
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from django import forms
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from oauth2_provider.exceptions import OAuthToolkitError
from oauth2_provider.forms import AllowForm
from oauth2_provider.models import get_application_model
from oauth2_provider.views import AuthorizationView
from oauth2_provider.views.mixins import OAuthLibMixin
from oauthlib.common import add_params_to_uri
from oauthlib.oauth2.rfc6749 import errors

from trustregistry.oauth import policy, scopes, selectors, services, sign_ins
from trustregistry.oauth.validators import SESSION_USER_KEY
from trustregistry.oauth.views.common import (
    ClientRequestByPostMixin,
    SecurePageMixin,
    UiLocalesMixin,
    add_iss,
    error_page,
    parameter_problem,
)

logger = logging.getLogger(__name__)

Application = get_application_model()

_CLIENT_OR_ADDRESS_ERRORS = (
    errors.InvalidClientIdError,
    errors.MissingClientIdError,
    errors.MismatchingRedirectURIError,
    errors.InvalidRedirectURIError,
)
_UNKNOWN_CLIENT = _(
    "The application or its return address is not registered here, so you cannot be sent back "
    "to it. Close this page and contact the application's provider."
)


_UNREADABLE = _(
    "This sign-in request cannot be read, so you cannot be sent back to the application. "
    "Close this page and contact the application's provider."
)
CONSENT_MARKER = "tr_consent"


def _prompt(request: HttpRequest) -> set[str]:
    return set(request.GET.get("prompt", "").split())


def _prompt_none_with_others() -> errors.InvalidRequestError:
    # As oauthlib answers an OpenID Connect request (OpenID Connect Core 3.1.2.1): "none" asks
    # for no page, any other value for one.
    return errors.InvalidRequestError(
        description="Prompt none is mutually exclusive with other values."
    )


def _max_age(request: HttpRequest) -> int | None:
    try:
        return sign_ins.parse_max_age(request.GET.get("max_age"))
    except ValueError as exc:
        raise errors.InvalidRequestError(description="max_age must be a whole number.") from exc


class ConsentForm(AllowForm):
    # Nothing requested is valid: the token then gets all of the record's trusted scopes.
    scope = forms.CharField(required=False, widget=forms.HiddenInput())
    tr_consent = forms.CharField(required=False, widget=forms.HiddenInput())


class AuthorizeView(UiLocalesMixin, ClientRequestByPostMixin, SecurePageMixin, AuthorizationView):
    """An authorization request may come by POST from the client's own page (OpenID Connect
    Core 3.1.2.1), cross-site; the consent form posts back here, CSRF-checked."""

    template_name = "oauth/consent.html"
    form_class = ConsentForm
    form_marker = CONSENT_MARKER
    # GET and POST only (OpenID Connect): View would take PUT as POST.
    http_method_names = ["get", "post", "head", "options"]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        problem = parameter_problem(request)
        if problem is not None:
            return error_page(
                request,
                error="invalid_request",
                description=str(_UNREADABLE),
                detail=problem[0],
                status=problem[1],
            )
        # Lets the validator answer prompt=none (login_required vs consent_required) and know
        # when this session signed in (the code's auth_time).
        signed_in = request.user.is_authenticated
        request.META[SESSION_USER_KEY] = str(request.user.pk) if signed_in else ""
        auth_time = sign_ins.of_session(request) if signed_in else None
        request.META[sign_ins.META_KEY] = str(auth_time) if auth_time is not None else ""
        return super().dispatch(request, *args, **kwargs)

    # ------------------------------------------------------------------ not logged in

    def handle_no_permission(self) -> HttpResponse:
        try:
            _requested, credentials = self.validate_authorization_request(self.request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        prompt = _prompt(self.request)
        if "none" in prompt:
            # oauthlib answers prompt=none only for an OpenID Connect request (scope openid);
            # any other gets the same login_required, with iss (RFC 9207).
            answer = errors.LoginRequired() if prompt == {"none"} else _prompt_none_with_others()
            return self.refuse(None, credentials, answer)
        try:
            _max_age(self.request)
        except errors.InvalidRequestError as error:
            # Answered now, as to a person signed in: the sign-in or sign-up about to happen
            # drops max_age (it satisfies it), and a malformed one would go with it.
            return self.refuse(None, credentials, error)
        if "create" in prompt:
            return self.sign_up_first(credentials)
        return self.sign_in_again()

    def sign_up_first(self, credentials: dict[str, Any]) -> HttpResponse:
        """`prompt=create` (OpenID Connect Prompt Create 1.0): the sign-up page instead of the
        login page, and back to this request without `create` once the account exists. The
        page creates community users only, so a record that does not let them in is told so
        rather than have a person create an account it would then refuse."""
        # The record oauthlib loaded when it validated the request (read again only if not).
        application = (
            getattr(credentials.get("request"), "client", None)
            or Application.objects.filter(client_id=credentials.get("client_id")).first()
        )
        if application is None or not application.impersonate_community_allowed:
            return self.refuse(
                application,
                credentials,
                errors.InvalidRequestError(
                    description="prompt=create: this application accepts no self-registered "
                    "(community) users."
                ),
            )
        # The sign-up signs the new account in: the fresh sign-in `login` and `max_age` ask for.
        back = self.back_after_sign_in()
        return HttpResponseRedirect(f"{reverse('oauth:signup')}?{urlencode({'next': back})}")

    # ------------------------------------------------------------------ consent page

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            requested, credentials = self.validate_authorization_request(request)
        except OAuthToolkitError as error:
            return self.error_response(error, application=None)
        prompt = _prompt(request)
        if "none" in prompt and prompt != {"none"}:
            # Else "none login" of a request without openid showed the sign-in page.
            return self.refuse(None, credentials, _prompt_none_with_others())
        if "login" in prompt:
            return self.handle_prompt_login()
        oauth_request = credentials.pop("request", None)
        # A resource was checked to be the registry's own audience, which every token names
        # anyway; django-oauth-toolkit would store the bare string where it wants a list.
        credentials.pop("resource", None)
        application = getattr(oauth_request, "client", None) or Application.objects.get(
            client_id=credentials["client_id"]
        )
        try:
            max_age = _max_age(request)
        except errors.InvalidRequestError as error:
            return self.refuse(application, credentials, error)
        if max_age is not None and not sign_ins.fresh_enough(sign_ins.of_session(request), max_age):
            # OpenID Connect Core 3.1.2.1: signed in longer ago than max_age allows. (With
            # prompt=none the validator's validate_silent_login has answered login_required, for
            # an OpenID Connect request; any other is answered here.)
            if "none" in prompt:
                return self.refuse(application, credentials, errors.LoginRequired())
            return self.sign_in_again()
        if not policy.user_may_log_in_to(application, request.user):
            return self.denied(application, credentials)
        granted = policy.scopes_for_user(list(requested), request.user)
        if isinstance(credentials.get("claims"), dict):
            credentials["claims"] = json.dumps(credentials["claims"])
        if "consent" not in prompt and selectors.consent_covers(
            user_id=request.user.pk, application=application, scopes=granted
        ):
            # Approved before, every scope of it: no page (prompt=none gets here too).
            return self.authorize(application, credentials, granted, allow=True)
        if "none" in prompt:
            # No page with prompt=none (OpenID Connect Core 3.1.2.6); oauthlib has answered
            # an OpenID Connect request already, this is any other.
            return self.refuse(application, credentials, errors.ConsentRequired())
        self.oauth2_data = {**credentials, "scopes": granted}
        form = self.get_form(self.get_form_class())
        return self.render_to_response(
            self.get_context_data(form=form, **self.page_context(application, granted))
        )

    @staticmethod
    def page_context(application: Any, granted: list[str]) -> dict[str, Any]:
        words = scopes.descriptions()
        language = translation.get_language()
        return {
            "application": application,
            "application_name": application.localized_name(language),
            "scope_items": [{"name": s, "description": words.get(s, s)} for s in granted],
        }

    # ------------------------------------------------------------------ approve / deny

    def form_valid(self, form: ConsentForm) -> HttpResponse:
        data = form.cleaned_data
        application = (
            Application.objects.select_related("system_user")
            .filter(client_id=data["client_id"])
            .first()
        )
        # The hidden fields come back from the browser: check them again before any redirect.
        if (
            application is None
            or not application.is_enabled
            or not application.redirect_uri_allowed(data["redirect_uri"])
        ):
            return error_page(
                self.request,
                error="invalid_request",
                description=str(_UNKNOWN_CLIENT),
            )
        credentials = {
            "client_id": data["client_id"],
            "redirect_uri": data["redirect_uri"],
            "response_type": data.get("response_type"),
            "state": data.get("state"),
        }
        for name in ("code_challenge", "code_challenge_method", "nonce", "claims"):
            if data.get(name):
                credentials[name] = data[name]
        if not policy.user_may_log_in_to(application, self.request.user):
            return self.denied(application, credentials)
        granted = policy.scopes_for_user(data.get("scope", "").split(), self.request.user)
        allow = bool(data.get("allow"))
        if not allow:
            logger.info(
                "consent refused: user %s to %s (scope %r)",
                self.request.user.get_username(),
                application.client_id,
                " ".join(granted),
            )
        return self.authorize(application, credentials, granted, allow=allow, remember=allow)

    def authorize(
        self,
        application: Any,
        credentials: dict[str, Any],
        granted: list[str],
        *,
        allow: bool,
        remember: bool = False,
    ) -> HttpResponse:
        """Answer the client (a code, or access_denied); `remember`: the user approved on the
        page, so the consent is kept once the code is issued (never for a refused request)."""
        try:
            uri, _headers, _body, _status = self.create_authorization_response(
                request=self.request,
                scopes=" ".join(granted),
                credentials=credentials,
                allow=allow,
            )
        except OAuthToolkitError as error:
            return self.error_response(error, application)
        # oauthlib answers a refused request with a redirect too (error=...): only a code
        # means the user's approval led to an authorization worth remembering.
        if allow and remember and "code" in parse_qs(urlsplit(uri or "").query):
            services.consent_remember(
                user=self.request.user, application=application, scopes=granted
            )
            logger.info(
                "consent given: user %s to %s (scope %r)",
                self.request.user.get_username(),
                application.client_id,
                " ".join(granted),
            )
        return self.redirect(uri, application)

    def handle_prompt_login(self) -> HttpResponse:
        # django-oauth-toolkit drops the whole prompt, so "login consent" lost its consent
        # (OpenID Connect Core 3.1.2.1): signing in again satisfies `login` only.
        return self.sign_in_again()

    def sign_in_again(self) -> HttpResponse:
        """To the login page, and back to this request as `back_after_sign_in` has it."""
        return redirect_to_login(self.back_after_sign_in(), resolve_url(self.get_login_url()))

    def back_after_sign_in(self) -> str:
        """This request for after a sign-in (or sign-up) now: without `login` (and `create`)
        in `prompt` and without `max_age`, which that sign-in satisfies; kept, they would send
        the person to sign in again (max_age=0: every time). The other prompt values stay."""
        query = self.request.GET.copy()
        drop = ("create", "login")
        rest = [v for v in query.pop("prompt", [""])[-1].split() if v not in drop]
        query.pop("max_age", None)
        if rest:
            query["prompt"] = " ".join(rest)
        return f"{self.request.path}?{query.urlencode()}"

    # ------------------------------------------------------------------ errors

    def denied(self, application: Any, credentials: dict[str, Any]) -> HttpResponse:
        return self.refuse(
            application,
            credentials,
            errors.AccessDeniedError(
                description="This application does not accept users of your kind."
            ),
        )

    def refuse(self, application: Any, credentials: dict[str, Any], error: Any) -> HttpResponse:
        """An error sent back to the client (its redirect URI is known good here)."""
        error.state = credentials.get("state")
        uri = add_params_to_uri(credentials["redirect_uri"], error.twotuples)
        return self.redirect(add_iss(uri), application)

    def error_response(self, error: OAuthToolkitError, application: Any, **kwargs: Any):  # type: ignore[override]
        redirect, response = OAuthLibMixin.error_response(self, error, **kwargs)
        oauthlib_error = error.oauthlib_error
        if redirect and oauthlib_error.redirect_uri:
            return self.redirect(add_iss(response["url"]), application)
        # No return address: the person reads this page. Who the client or where its return
        # address is, is said in their language; oauthlib's English goes below as detail.
        about_the_client = isinstance(oauthlib_error, _CLIENT_OR_ADDRESS_ERRORS)
        return error_page(
            self.request,
            error=oauthlib_error.error,
            description=str(_UNKNOWN_CLIENT)
            if about_the_client or not oauthlib_error.description
            else oauthlib_error.description,
            detail=oauthlib_error.description or "",
            status=oauthlib_error.status_code if oauthlib_error.status_code < 500 else 400,
        )

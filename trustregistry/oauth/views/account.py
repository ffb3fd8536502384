"""The registry's own pages: login, logout and community sign-up (SPEC 3)."""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qs, urlsplit

from django import forms
from django.contrib.auth import get_user_model, login, logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import UserCreationForm
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView

from trustregistry.accounts.backends import login_block
from trustregistry.accounts.forms import block_message
from trustregistry.common.exceptions import TooManyFailures
from trustregistry.common.throttle import FailureThrottle, client_address
from trustregistry.oauth.views.common import SecurePageMixin, UiLocalesMixin, ui_locales_of_next
from trustregistry.registry import selectors

User = get_user_model()


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _application_for_next(next_url: str) -> Any:
    """The application a login continues to, to name it on the page."""
    if not next_url:
        return None
    parts = urlsplit(next_url)
    if parts.path != reverse("oauth:authorize"):
        return None
    client_id = (parse_qs(parts.query).get("client_id") or [""])[0]
    return selectors.application_get_enabled(application_uri=client_id) if client_id else None


class LoginView(UiLocalesMixin, SecurePageMixin, auth_views.LoginView):
    template_name = "oauth/login.html"
    redirect_authenticated_user = False

    def ui_locales_from(self, request: HttpRequest) -> str:
        return ui_locales_of_next(_safe_next(request))

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        application = _application_for_next(_safe_next(self.request))
        context["application_name"] = application.localized_name() if application else ""
        context["signup_url"] = reverse("oauth:signup")
        return context

    def form_invalid(self, form: Any) -> HttpResponse:
        block = login_block(self.request)
        if block is None:
            return super().form_invalid(form)
        # Throttled (accounts/backends.py): say so, and when to retry, instead of "did not
        # match", which would send the user on guessing.
        context = self.get_context_data(form=form, throttle_message=block_message(block))
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(block.retry_after)
        return response


class LogoutView(SecurePageMixin, TemplateView):
    """GET asks, POST (CSRF-protected) signs out: a link alone cannot sign anyone out."""

    template_name = "oauth/logout.html"

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        logout(request)
        next_url = _safe_next(request)
        if next_url:
            return HttpResponseRedirect(next_url)
        return render(request, self.template_name, {"signed_out": True})


class SignupForm(UserCreationForm):
    email = forms.EmailField(label=_("Email"), required=True)
    first_name = forms.CharField(label=_("First name"), max_length=150, required=False)
    last_name = forms.CharField(label=_("Last name"), max_length=150, required=False)

    class Meta(UserCreationForm.Meta):  # type: ignore[name-defined]
        model = User
        fields = ("username", "email", "first_name", "last_name")

    def save(self, commit: bool = True) -> Any:
        user = super().save(commit=False)
        # Anybody may sign up, and only ever as an external (community) user.
        user.kind = "community"
        user.is_staff = False
        user.is_superuser = False
        if commit:
            user.full_clean()
            user.save()
        return user


# Sign-up must say when a username is taken, so it can be asked name after name: refused
# sign-ups are counted per address and, from the 20th in 5 minutes, answered 429.
SIGNUP_THROTTLE = FailureThrottle("signup")


class SignupView(UiLocalesMixin, SecurePageMixin, FormView):
    """Reached from the login page's link or by `prompt=create`: like the login page, it
    names the application the person continues to, in the request's `ui_locales`."""

    template_name = "oauth/signup.html"
    form_class = SignupForm

    def ui_locales_from(self, request: HttpRequest) -> str:
        return ui_locales_of_next(_safe_next(request))

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            SIGNUP_THROTTLE.check("", client_address(request))
        except TooManyFailures as exc:
            return self._throttled(self.get_form(), exc)
        return super().post(request, *args, **kwargs)

    def form_invalid(self, form: SignupForm) -> HttpResponse:
        try:
            SIGNUP_THROTTLE.record_failure("", client_address(self.request))
        except TooManyFailures as exc:
            return self._throttled(form, exc)
        return super().form_invalid(form)

    def _throttled(self, form: SignupForm, exc: TooManyFailures) -> HttpResponse:
        minutes = max(1, math.ceil(exc.retry_after / 60))
        message = ngettext(
            "Too many refused sign-ups from your address. Try again in %(minutes)s minute.",
            "Too many refused sign-ups from your address. Try again in %(minutes)s minutes.",
            minutes,
        ) % {"minutes": minutes}
        context = self.get_context_data(form=form, throttle_message=message)
        response = self.render_to_response(context, status=429)
        response["Retry-After"] = str(exc.retry_after)
        return response

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        context["next"] = _safe_next(self.request)
        application = _application_for_next(context["next"])
        context["application_name"] = application.localized_name() if application else ""
        context["login_url"] = reverse("oauth:login")
        return context

    def form_valid(self, form: SignupForm) -> HttpResponse:
        try:
            with transaction.atomic():
                user = form.save()
        except (IntegrityError, ValidationError):
            # Taken by a concurrent sign-up since the form checked: said as the form says it.
            form.add_error("username", form.instance.unique_error_message(User, ["username"]))
            return self.form_invalid(form)
        login(self.request, user, backend="trustregistry.accounts.backends.KindAwareModelBackend")
        next_url = _safe_next(self.request)
        if next_url:
            return HttpResponseRedirect(next_url)
        return render(self.request, "oauth/signup.html", {"created": user})

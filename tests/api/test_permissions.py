"""Scope rules of SPEC section 4 and who may manage trusted applications."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from tests import factories
from tests.api.conftest import basic_header
from trustregistry.api.authentication import BearerTokenAuthentication
from trustregistry.oauth.access_tokens import issue_access_token
from trustregistry.registry.models import TrustedApplication

pytestmark = pytest.mark.django_db

APPS = "/api/trusted-applications/"


def _grant(user, *codenames: str) -> None:  # type: ignore[no-untyped-def]
    user.user_permissions.add(
        *Permission.objects.filter(content_type__app_label="registry", codename__in=codenames)
    )


# ------------------------------------------------------------------ update / sec


def test_unsafe_method_without_update_is_403_insufficient_scope_with_bearer_challenge(
    client, bearer
):
    app = factories.TrustedApplicationFactory(scope="sec update")
    header = bearer(app, factories.StaffUserFactory(), "sec")
    response = client.post(
        APPS,
        {"application_uri": "x.example.com/a"},
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert "update" in response.json()["message"]
    challenge = response["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and 'scope="update"' in challenge
    assert not TrustedApplication.objects.filter(client_id="x.example.com/a").exists()


def test_insufficient_scope_for_basic_has_no_bearer_challenge(client):
    factories.TrustedApplicationFactory(
        client_id="legacy.example.com/erp", basic_auth_allowed=True, scope="update"
    )
    factories.StaffUserFactory(username="ivan")
    response = client.get(
        APPS,
        HTTP_AUTHORIZATION=basic_header("ivan", factories.DEFAULT_PASSWORD),
        HTTP_X_APPLICATION_URI="legacy.example.com/erp",
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert "WWW-Authenticate" not in response


def test_trusted_applications_need_sec_even_to_read(client, bearer):
    app = factories.TrustedApplicationFactory(scope="update crm")
    response = client.get(
        APPS, HTTP_AUTHORIZATION=bearer(app, factories.StaffUserFactory(), "update crm")
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'scope="sec"' in response["WWW-Authenticate"]


def test_sec_alone_reads_but_does_not_write(client, bearer):
    app = factories.TrustedApplicationFactory(scope="sec")
    header = bearer(app, factories.StaffUserFactory(), "sec")
    assert client.get(APPS, HTTP_AUTHORIZATION=header).status_code == 200
    response = client.delete(f"{APPS}{app.client_id}/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 403 and response.json()["error"] == "insufficient_scope"


def test_community_user_never_reaches_sec_endpoints(client, bearer):
    app = factories.PublicApplicationFactory(scope="sec update")
    user = factories.CommunityUserFactory(is_staff=True)
    _grant(user, "view_trustedapplication")
    response = client.get(APPS, HTTP_AUTHORIZATION=bearer(app, user, "sec update"))
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"


def test_safe_methods_need_no_scope(client, bearer):
    app = factories.TrustedApplicationFactory(scope="")
    assert (
        client.get(
            "/api/me", HTTP_AUTHORIZATION=bearer(app, factories.UserFactory(), "")
        ).status_code
        == 200
    )


# ------------------------------------------------------------------ views declaring scopes


class _ResolveLikeView(APIView):
    """Shaped like POST /api/connectors/resolve: a query needing `sec` but not `update`."""

    required_scopes = ("sec",)
    update_scope_exempt = True

    def post(self, request):  # type: ignore[no-untyped-def]
        return Response({"ok": True})


class _PlainWriteView(APIView):
    def post(self, request):  # type: ignore[no-untyped-def]
        return Response({"ok": True})


def _call(view_class, scope: str, app_scope: str = "sec update"):  # type: ignore[no-untyped-def]
    app = factories.ServiceApplicationFactory(scope=app_scope)
    raw, _ = issue_access_token(application=app, user=app.system_user, scope=scope)
    request = APIRequestFactory().post("/x", {}, format="json", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return view_class.as_view()(request)


def test_defaults_apply_to_any_api_view():
    assert _call(_PlainWriteView, "update").status_code == 200
    response = _call(_PlainWriteView, "sec")
    assert response.status_code == 403 and response.data["error"] == "insufficient_scope"
    unauthenticated = _PlainWriteView.as_view()(APIRequestFactory().post("/x", {}, format="json"))
    assert unauthenticated.status_code == 401
    assert unauthenticated["WWW-Authenticate"].startswith("Bearer ")
    assert BearerTokenAuthentication in [type(a) for a in _PlainWriteView().get_authenticators()]


def test_update_scope_exempt_view_needs_only_its_required_scopes():
    assert _call(_ResolveLikeView, "sec").status_code == 200
    response = _call(_ResolveLikeView, "update", app_scope="update")
    assert response.status_code == 403
    assert response.data["error"] == "insufficient_scope"
    assert 'scope="sec"' in response["WWW-Authenticate"]


class _StringScopesView(APIView):
    """An outside resource server's slip: the scopes as a string, not a tuple."""

    required_scopes = "crm"

    def get(self, request):  # type: ignore[no-untyped-def]
        return Response({"ok": True})


class _ReadView(APIView):
    required_scopes = ("read",)

    def get(self, request):  # type: ignore[no-untyped-def]
        return Response({"ok": True})


def _get(view_class, scope: str, app_scope: str):  # type: ignore[no-untyped-def]
    app = factories.ServiceApplicationFactory(scope=app_scope)
    raw, _ = issue_access_token(application=app, user=app.system_user, scope=scope)
    request = APIRequestFactory().get("/x", HTTP_AUTHORIZATION=f"Bearer {raw}")
    return view_class.as_view()(request)


def test_required_scopes_given_as_a_string_are_the_scopes_it_names():
    """Iterated as a string, "crm" asked for the scopes c, r and m: every caller refused."""
    assert _get(_StringScopesView, "crm", app_scope="crm").status_code == 200
    refused = _get(_StringScopesView, "", app_scope="crm")
    assert refused.status_code == 403 and 'scope="crm"' in refused["WWW-Authenticate"]


def test_a_view_requiring_read_lets_every_caller_read():
    """SPEC 4: `read` is the baseline every trusted application has."""
    assert _get(_ReadView, "", app_scope="").status_code == 200


# ------------------------------------------------------------------ who may manage records


def test_staff_internal_user_without_the_model_permission_is_refused(client, bearer):
    app = factories.TrustedApplicationFactory(scope="sec update")
    user = factories.UserFactory(is_staff=True)
    response = client.get(APPS, HTTP_AUTHORIZATION=bearer(app, user, "sec"))
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    _grant(user, "view_trustedapplication")
    assert client.get(APPS, HTTP_AUTHORIZATION=bearer(app, user, "sec")).status_code == 200


def test_non_staff_internal_user_is_refused_even_with_permissions(client, bearer):
    app = factories.TrustedApplicationFactory(scope="sec update")
    user = factories.UserFactory(is_staff=False)
    _grant(user, "view_trustedapplication", "add_trustedapplication", "change_trustedapplication")
    response = client.get(APPS, HTTP_AUTHORIZATION=bearer(app, user, "sec"))
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"


def test_system_user_needs_the_permission_of_each_action(client, bearer):
    app = factories.ServiceApplicationFactory(scope="sec update")
    system = app.system_user
    header = bearer(app, system, "sec update")
    assert client.get(APPS, HTTP_AUTHORIZATION=header).status_code == 403
    _grant(system, "view_trustedapplication")
    system = type(system).objects.get(pk=system.pk)  # permission cache
    assert client.get(APPS, HTTP_AUTHORIZATION=header).status_code == 200
    body = {"application_uri": "new.example.com/app", "names": {"en": "New"}}
    assert (
        client.post(
            APPS, body, content_type="application/json", HTTP_AUTHORIZATION=header
        ).status_code
        == 403
    )
    patch = client.patch(
        f"{APPS}{app.client_id}/",
        {"scope": "sec"},
        content_type="application/json",
        HTTP_AUTHORIZATION=header,
    )
    assert patch.status_code == 403
    _grant(system, "add_trustedapplication")
    assert (
        client.post(
            APPS, body, content_type="application/json", HTTP_AUTHORIZATION=header
        ).status_code
        == 201
    )
    assert (
        client.post(
            f"{APPS}{app.client_id}/secrets/",
            {},
            content_type="application/json",
            HTTP_AUTHORIZATION=header,
        ).status_code
        == 403
    )
    _grant(system, "change_trustedapplication")
    assert (
        client.patch(
            f"{APPS}{app.client_id}/",
            {"scope": "sec update"},
            content_type="application/json",
            HTTP_AUTHORIZATION=header,
        ).status_code
        == 200
    )

"""What the keys admin's tests share (tests/keys/test_admin*.py): its URLs, and reading its
pages as a browser would."""

from __future__ import annotations

import html
import re

from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.test import Client

from tests import factories
from trustregistry.keys.models import SigningKey

# Spelled out rather than reversed: without the admin, each test fails on its own.
CHANGELIST = "/admin/keys/signingkey/"
BG = {"HTTP_ACCEPT_LANGUAGE": "bg"}


def change_url(key: SigningKey) -> str:
    return f"{CHANGELIST}{key.pk}/change/"


def history_url(key: SigningKey) -> str:
    return f"{CHANGELIST}{key.pk}/history/"


def staff_with(*codenames: str):  # type: ignore[no-untyped-def]
    user = factories.UserFactory(username="-".join(codenames), is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # without the cached (empty) permissions


def page_text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.content.decode())


def state() -> list[tuple]:
    return list(
        SigningKey.objects.order_by("pk").values_list(
            "kid", "retired_at", "publish_until", "withdrawn_at"
        )
    )


def published_kids(client: Client) -> set[str]:
    keys = client.get("/id/.well-known/openid-configuration/jwks").json()["keys"]
    return {k["kid"] for k in keys}


def private_key_bodies() -> list[str]:
    """Each private key's base64 body, and each of its lines: none may appear in a page."""
    found = []
    for pem in SigningKey.objects.values_list("private_key_pem", flat=True):
        lines = [line for line in pem.strip().splitlines() if not line.startswith("-----")]
        found += ["".join(lines), *lines]
    return found


def assert_no_private_key(response) -> None:  # type: ignore[no-untyped-def]
    body = response.content.decode()
    assert "PRIVATE KEY" not in body
    for fragment in private_key_bodies():
        assert fragment not in body


def confirmation_form(response) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """The hidden fields the confirmation page posts back (what a browser would send)."""
    form = re.search(r"<form method=\"post\">(.*?)</form>", response.content.decode(), re.S)
    assert form, "no confirmation form"
    return [
        (html.unescape(name), html.unescape(value))
        for name, value in re.findall(
            r'<input type="hidden" name="([^"]*)" value="([^"]*)">', form.group(1)
        )
        if name != "csrfmiddlewaretoken"
    ]


def as_post(fields: list[tuple[str, str]]) -> dict[str, list[str]]:
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return data


def messages_of(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(m) for m in get_messages(response.wsgi_request)]


def run(client: Client, action: str, *rows: SigningKey):  # type: ignore[no-untyped-def]
    """The action on `rows`, confirmed on its confirmation page."""
    page = client.post(CHANGELIST, {"action": action, "_selected_action": [r.pk for r in rows]})
    assert page.status_code == 200
    return client.post(CHANGELIST, as_post(confirmation_form(page)))

"""The registry's own login, logout and community sign-up pages."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from tests import factories
from tests.factories import DEFAULT_PASSWORD

LOGIN = "/id/account/login"


def test_login_honours_safe_next_only(client, internal_user):
    ok = client.post(LOGIN, {"username": "alice", "password": DEFAULT_PASSWORD,
                             "next": "/manage/apps/install?applicationUri=x"})  # fmt: skip
    assert ok.status_code == 302 and ok["Location"] == "/manage/apps/install?applicationUri=x"
    other = Client()
    evil = other.post(LOGIN, {"username": "alice", "password": DEFAULT_PASSWORD,
                              "next": "https://evil.example/steal"})  # fmt: skip
    assert evil.status_code == 302 and "evil.example" not in evil["Location"]


def test_login_page_names_the_application(client, confidential_app):
    from urllib.parse import urlencode

    nxt = "/id/connect/authorize?" + urlencode({"client_id": confidential_app.client_id})
    page = client.get(LOGIN, {"next": nxt})
    assert b"ERP client" in page.content
    assert page["X-Frame-Options"] == "DENY"


def test_system_user_cannot_log_in(client, db):
    user = factories.SystemUserFactory(username="svc")
    user.set_password(DEFAULT_PASSWORD)
    user.save()
    response = client.post(LOGIN, {"username": "svc", "password": DEFAULT_PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_signup_creates_a_community_user(client, db):
    response = client.post(
        "/id/account/signup",
        {"username": "newbie", "email": "n@example.com", "password1": "a-Long-pass-phrase-9",
         "password2": "a-Long-pass-phrase-9", "kind": "internal", "is_staff": "on"},
    )  # fmt: skip
    assert response.status_code == 200
    user = get_user_model().objects.get(username="newbie")
    assert user.kind == "community"
    assert not user.is_staff and not user.is_superuser
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_is_csrf_protected(db):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/id/account/signup", {"username": "x"})
    assert response.status_code == 403


def test_logout_needs_post(client, internal_user):
    client.force_login(internal_user)
    page = client.get("/id/account/logout")
    assert page.status_code == 200 and "_auth_user_id" in client.session
    client.post("/id/account/logout")
    assert "_auth_user_id" not in client.session


# ---------------------------------------------------------------- failed sign-ins throttled


def _address() -> str:
    # Counters live in the shared cache: an address of its own keeps each test independent.
    import random

    return f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(1, 255)}"


def _sign_in(client, username, password, address, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=address, **extra
    )


def test_the_20th_failure_blocks_that_username_from_that_address(client, internal_user):
    address = _address()
    for _ in range(19):
        page = _sign_in(client, "alice", "wrong", address)
        assert page.status_code == 200 and b"did not match" in page.content
    blocked = _sign_in(client, "alice", "wrong", address)
    assert blocked.status_code == 429
    assert 1 <= int(blocked["Retry-After"]) <= 300
    assert b"Too many failed sign-ins" in blocked.content and b"5 minutes" in blocked.content
    # the right password is refused too while blocked, and no session is made
    right = _sign_in(client, "alice", DEFAULT_PASSWORD, address)
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    # another address, or another username from this address, is not slowed
    elsewhere = _sign_in(Client(), "alice", DEFAULT_PASSWORD, _address())
    assert elsewhere.status_code == 302
    factories.UserFactory(username="bob")
    assert _sign_in(Client(), "bob", DEFAULT_PASSWORD, address).status_code == 302


def test_the_block_ends_with_the_window(client, internal_user):
    import datetime as dt

    import time_machine

    from trustregistry.common import clock

    address = _address()
    for _ in range(20):
        _sign_in(client, "alice", "wrong", address)
    assert _sign_in(client, "alice", DEFAULT_PASSWORD, address).status_code == 429
    with time_machine.travel(clock.now() + dt.timedelta(seconds=301)):
        assert _sign_in(client, "alice", DEFAULT_PASSWORD, address).status_code == 302


def test_a_successful_sign_in_starts_the_count_again(internal_user):
    address = _address()
    for _ in range(15):
        _sign_in(Client(), "alice", "wrong", address)
    assert _sign_in(Client(), "alice", DEFAULT_PASSWORD, address).status_code == 302
    for _ in range(19):
        assert _sign_in(Client(), "alice", "wrong", address).status_code == 200
    assert _sign_in(Client(), "alice", "wrong", address).status_code == 429


def test_username_case_does_not_open_a_new_count(client, internal_user):
    address = _address()
    for i in range(20):
        _sign_in(client, "alice" if i % 2 else "ALICE", "wrong", address)
    assert _sign_in(client, "Alice", "wrong", address).status_code == 429


def test_the_blocked_page_is_in_the_viewers_language(client, internal_user):
    address = _address()
    for _ in range(20):
        _sign_in(client, "alice", "wrong", address)
    page = _sign_in(client, "alice", "wrong", address, HTTP_ACCEPT_LANGUAGE="bg")
    assert page.status_code == 429
    assert "Твърде много неуспешни опити за вход" in page.content.decode()


def _admin_sign_in(client, username, password, address, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": username, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **extra,
    )


def test_the_admin_sign_in_shares_the_count_and_says_so(client, staff_user):
    address = _address()
    for _ in range(20):
        _sign_in(client, staff_user.username, "wrong", address)
    admin = _admin_sign_in(client, staff_user.username, DEFAULT_PASSWORD, address)
    assert admin.status_code == 429 and "_auth_user_id" not in client.session
    assert 1 <= int(admin["Retry-After"]) <= 300
    page = admin.content.decode()
    assert "Too many failed sign-ins with this username from your address" in page
    assert "Please enter the correct username" not in page
    bulgarian = _admin_sign_in(
        Client(), staff_user.username, "wrong", address, HTTP_ACCEPT_LANGUAGE="bg"
    )
    assert bulgarian.status_code == 429
    assert "Твърде много неуспешни опити за вход" in bulgarian.content.decode()
    other = Client()
    elsewhere = _admin_sign_in(other, staff_user.username, DEFAULT_PASSWORD, _address())
    assert elsewhere.status_code == 302 and "_auth_user_id" in other.session


def test_the_admin_page_still_says_did_not_match_when_not_throttled(client, staff_user):
    page = _admin_sign_in(client, staff_user.username, "wrong", _address())
    assert page.status_code == 200
    assert "Please enter the correct username and password" in page.content.decode()


# ---------------------------------------------------------------- password spraying


def test_many_usernames_from_one_address_block_that_address(client, internal_user, settings):
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 6
    address = _address()
    for i in range(5):  # one guess each at five usernames: no username's count is near 20
        assert _sign_in(Client(), f"user{i}", "Winter2026!", address).status_code == 200
    sixth = _sign_in(Client(), "user5", "Winter2026!", address)
    assert sixth.status_code == 429 and 1 <= int(sixth["Retry-After"]) <= 300
    assert b"Too many failed sign-ins from your address" in sixth.content
    # every username is refused from that address now, the right password included
    right = _sign_in(client, "alice", DEFAULT_PASSWORD, address)
    assert right.status_code == 429 and "_auth_user_id" not in client.session
    assert _admin_sign_in(Client(), "alice", DEFAULT_PASSWORD, address).status_code == 429
    # another address is not slowed
    assert _sign_in(Client(), "alice", DEFAULT_PASSWORD, _address()).status_code == 302


def test_a_successful_sign_in_does_not_restart_the_address_count(internal_user, settings):
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 4
    address = _address()
    for i in range(3):
        _sign_in(Client(), f"user{i}", "wrong", address)
    assert _sign_in(Client(), "alice", DEFAULT_PASSWORD, address).status_code == 302
    assert _sign_in(Client(), "user9", "wrong", address).status_code == 429


def test_the_address_block_ends_with_the_window(internal_user, settings):
    import datetime as dt

    import time_machine

    from trustregistry.common import clock

    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 3
    address = _address()
    for i in range(3):
        _sign_in(Client(), f"user{i}", "wrong", address)
    assert _sign_in(Client(), "alice", DEFAULT_PASSWORD, address).status_code == 429
    with time_machine.travel(clock.now() + dt.timedelta(seconds=301)):
        assert _sign_in(Client(), "alice", DEFAULT_PASSWORD, address).status_code == 302


def test_the_address_count_can_be_turned_off(internal_user, settings):
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 0
    address = _address()
    for i in range(30):
        assert _sign_in(Client(), f"user{i}", "wrong", address).status_code == 200
    assert _sign_in(Client(), "alice", DEFAULT_PASSWORD, address).status_code == 302


def test_the_address_block_page_is_in_the_viewers_language(internal_user, settings):
    settings.TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES = 2
    address = _address()
    for i in range(2):
        _sign_in(Client(), f"user{i}", "wrong", address)
    page = _sign_in(Client(), "alice", "wrong", address, HTTP_ACCEPT_LANGUAGE="bg")
    assert page.status_code == 429
    assert "Твърде много неуспешни опити за вход от вашия адрес" in page.content.decode()


def test_refused_sign_ups_from_one_address_are_throttled(client, db):
    # Sign-up says when a username is taken; asking name after name is slowed down.
    get_user_model().objects.create_user(username="taken", password=None)
    attempt = {"username": "taken", "email": "t@example.com", "password1": "a-Long-pass-phrase-9",
               "password2": "a-Long-pass-phrase-9"}  # fmt: skip
    for _ in range(19):
        assert client.post("/id/account/signup", attempt).status_code == 200
    refused = client.post("/id/account/signup", attempt, HTTP_ACCEPT_LANGUAGE="bg")
    assert refused.status_code == 429 and int(refused["Retry-After"]) > 0
    assert "Твърде много отказани регистрации" in refused.content.decode()
    # nor is a good sign-up taken from that address until the window ends
    good = {**attempt, "username": "fresh"}
    assert client.post("/id/account/signup", good).status_code == 429
    assert not get_user_model().objects.filter(username="fresh").exists()
    # another address is not slowed
    other = client.post("/id/account/signup", good, REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 200
    assert get_user_model().objects.filter(username="fresh", kind="community").exists()


def _sign_ups_at_once(usernames: list[str], network: str) -> list:
    """Each username signed up by its own thread from its own address (the sign-up throttle
    counts per address), all released together: (status, "already exists" shown) each."""
    from tests.registry.test_services import _race

    def work(i: int):
        response = Client().post(
            "/id/account/signup",
            {
                "username": usernames[i],
                "email": "racer@example.com",
                "password1": "correct horse battery 9",
                "password2": "correct horse battery 9",
            },
            REMOTE_ADDR=f"{network}.{i}",
        )
        return response.status_code, "already exists" in response.content.decode()

    return _race(len(usernames), work)


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_one_username_signed_up_at_once_is_one_user_and_form_errors():
    for round_ in range(5):
        username = f"racer{round_}"
        outcomes = _sign_ups_at_once([username] * 10, f"10.1.{round_}")
        assert all(status == 200 for status, _taken in outcomes), outcomes
        assert sum(1 for _status, taken in outcomes if taken) == 9
        assert get_user_model().objects.filter(username=username).count() == 1


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_usernames_differing_only_in_case_signed_up_at_once_are_one_user():
    for round_ in range(5):
        # racerN, RacerN, rAcerN, ...: one name whatever the case, ten spellings
        spellings = [
            "".join(c.upper() if i == j else c for j, c in enumerate(f"racer{round_}"))
            for i in range(-1, 5)
        ] + [f"RACER{round_}", f"RaCeR{round_}", f"rAcEr{round_}", f"RAcer{round_}"]
        outcomes = _sign_ups_at_once(spellings, f"10.2.{round_}")
        assert all(status == 200 for status, _taken in outcomes), outcomes
        assert sum(1 for _status, taken in outcomes if taken) == 9
        assert get_user_model().objects.filter(username__iexact=f"racer{round_}").count() == 1


# ---------------------------------------------------------------- accessibility of the pages


def _ids_described_by(body: str) -> list[str]:
    return [i for ids in re.findall(r'aria-describedby="([^"]*)"', body) for i in ids.split()]


def test_signup_shows_the_field_rules_its_inputs_are_described_by(client, db):
    # The widgets name id_<field>_helptext in aria-describedby (Django 5.2); the page rendered
    # no help text, so the references pointed at nothing and nobody saw the password rules
    # until a sign-up was refused.
    for language, rule in (("en", "at least 8 characters"), ("bg", "поне 8 символа")):
        body = client.get("/id/account/signup", HTTP_ACCEPT_LANGUAGE=language).content.decode()
        described = _ids_described_by(body)
        assert {"id_username_helptext", "id_password1_helptext"} <= set(described)
        for target in described:
            assert f'id="{target}"' in body, target
        assert rule in body


def test_a_refused_sign_in_marks_both_inputs_and_describes_them_with_the_message(
    client, internal_user
):
    # The message stood above the form, tied to nothing: focus lands on the username field
    # (autofocus), and a screen reader read it without the reason or that it was invalid.
    fresh = client.get(LOGIN).content.decode()
    assert "aria-invalid" not in fresh and "aria-describedby" not in fresh
    body = _sign_in(client, "alice", "wrong", _address()).content.decode()
    assert '<p class="errors" id="login-error" role="alert">' in body
    for input_id in ("id_username", "id_password"):
        tag = re.search(rf'<input [^>]*id="{input_id}"[^>]*>', body)
        assert tag is not None
        assert 'aria-invalid="true"' in tag[0] and 'aria-describedby="login-error"' in tag[0]


def _contrast(hex_a: str, hex_b: str) -> float:
    def luminance(hex_colour: str) -> float:
        channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    light, dark = sorted((luminance(hex_a), luminance(hex_b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize(
    "path", [LOGIN, "/id/account/signup", "/id/account/logout", "/id/connect/authorize"]
)
def test_the_focus_ring_of_the_account_pages_stands_out_from_the_page(client, db, path):
    # The ring is the only sign of where keyboard focus is; it stands 2px off the control on
    # the white panel. WCAG 1.4.11 asks 3:1 against it: the amber #f59e0b had 2.2:1.
    body = client.get(path).content.decode()
    ring = re.search(
        r"button:focus, input:focus, a:focus \{ outline: 3px solid (#[0-9a-f]{6});", body
    )
    assert ring is not None
    assert _contrast(ring[1], "#ffffff") >= 3


def test_titles_of_the_sign_up_and_sign_out_pages_say_what_happened(client, internal_user):
    # The title is what a screen reader announces first and what names the tab: it said
    # "Sign up" over "Your account is ready" and "Sign out" over "You are signed out".
    def title(response):  # type: ignore[no-untyped-def]
        return re.search(r"<title>([^<]*)</title>", response.content.decode())[1]

    assert title(client.get("/id/account/signup")) == "Sign up"
    created = client.post(
        "/id/account/signup",
        {"username": "newbie", "email": "n@example.com", "password1": "a-Long-pass-phrase-9",
         "password2": "a-Long-pass-phrase-9"},
        REMOTE_ADDR=_address(),  # the refused sign-ups of other tests are not this one's
    )  # fmt: skip
    assert title(created) == "Your account is ready"
    client.force_login(internal_user)
    assert title(client.get("/id/account/logout")) == "Sign out"
    assert title(client.post("/id/account/logout")) == "You are signed out"
    assert title(client.get("/id/account/logout", HTTP_ACCEPT_LANGUAGE="bg")) == (
        "Излязохте от системата"
    )

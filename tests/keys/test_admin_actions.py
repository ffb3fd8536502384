"""The Rotate and Withdraw (key leaked) actions of the signing keys' admin (keys/admin.py):
the change permission, a confirmation page first, the keys changed as `rotate_keys` changes
them, the admin's log, and hostile posts."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import Client

from tests.keys.admin_pages import (
    CHANGELIST,
    as_post,
    confirmation_form,
    history_url,
    messages_of,
    page_text,
    published_kids,
    run,
    staff_with,
    state,
)
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import get_active_key

pytestmark = pytest.mark.django_db


def test_view_only_staff_cannot_rotate_or_withdraw(client, keys):
    client.force_login(staff_with("view_signingkey"))
    before = state()
    for action in ("rotate", "withdraw"):
        response = client.post(
            CHANGELIST,
            {
                "action": action,
                "_selected_action": [keys["oidc"].pk],
                "confirm": "yes",
                "shown_kid": keys["oidc"].kid,
            },
        )
        assert response.status_code in (200, 302, 403)
    assert state() == before
    assert not LogEntry.objects.exists()


def test_nothing_changes_until_the_confirmation_is_posted(superuser_client, keys):
    before, published = state(), published_kids(superuser_client)
    page = superuser_client.post(
        CHANGELIST, {"action": "withdraw", "_selected_action": [keys["oidc"].pk]}
    )
    assert page.status_code == 200
    text = page_text(page)
    assert "Withdraw signing keys (key leaked)" in text
    assert "Access tokens those keys signed stop working" in text
    assert "Reload every app server right after (gunicorn: kill -HUP" in text
    assert "up to 30 seconds" in text and "up to 60 seconds" in text
    assert keys["oidc"].kid in text and keys["retired"].kid in text  # what is withdrawn
    assert keys["aas"].kid not in text  # the other purpose is not touched
    assert ("confirm", "yes") in confirmation_form(page)
    assert state() == before and published_kids(superuser_client) == published
    assert not LogEntry.objects.exists()


def test_rotate_adds_a_signing_key_keeps_the_old_one_published_and_is_logged(
    superuser_client, staff_user, keys
):
    old = keys["oidc"]
    response = run(superuser_client, "rotate", old)
    assert response.status_code == 302
    new = SigningKey.objects.get(purpose=KeyPurpose.OIDC, retired_at__isnull=True)
    assert new.kid != old.kid and get_active_key(KeyPurpose.OIDC).kid == new.kid
    [message] = messages_of(response)
    assert new.kid in message and message.startswith("Rotated the oidc key")
    assert {new.kid, old.kid, keys["retired"].kid, keys["aas"].kid} <= published_kids(
        superuser_client
    )
    old.refresh_from_db()
    assert old.retired_at is not None and old.withdrawn_at is None
    added = LogEntry.objects.get(action_flag=ADDITION)
    assert (added.user, added.object_id) == (staff_user, str(new.pk))
    assert added.change_message == "rotate oidc in the admin: new signing key"
    changed = LogEntry.objects.get(action_flag=CHANGE)
    assert changed.object_id == str(old.pk) and new.kid in changed.change_message
    assert changed.change_message.startswith("rotate oidc in the admin: retired")


def test_withdraw_unpublishes_every_older_key_of_the_purpose_and_is_logged(
    superuser_client, staff_user, keys
):
    response = run(superuser_client, "withdraw", keys["retired"])  # any row of the purpose
    assert response.status_code == 302
    new = SigningKey.objects.get(purpose=KeyPurpose.OIDC, retired_at__isnull=True)
    [message] = messages_of(response)
    assert new.kid in message and "Withdrew every older oidc key" in message
    assert "kill -HUP" in message
    published = published_kids(superuser_client)
    assert new.kid in published and keys["aas"].kid in published
    assert keys["oidc"].kid not in published and keys["retired"].kid not in published
    withdrawn = SigningKey.objects.filter(kid__in=[keys["oidc"].kid, keys["retired"].kid])
    assert all(row.withdrawn_at is not None for row in withdrawn)
    entries = LogEntry.objects.filter(user=staff_user)
    assert {(e.object_id, e.action_flag) for e in entries} == {
        (str(new.pk), ADDITION),
        (str(keys["oidc"].pk), CHANGE),
        (str(keys["retired"].pk), CHANGE),
    }
    assert all(e.change_message.startswith("withdraw (key leaked) oidc") for e in entries)
    history = page_text(superuser_client.get(history_url(keys["retired"])))
    assert "withdraw (key leaked) oidc in the admin: withdrawn, replaced by" in history
    assert staff_user.username in history


def test_rows_of_both_purposes_rotate_both(superuser_client, keys):
    response = run(superuser_client, "rotate", keys["retired"], keys["aas"])
    kids = {p: get_active_key(p).kid for p in KeyPurpose.values}
    assert kids["oidc"] != keys["oidc"].kid and kids["aas"] != keys["aas"].kid
    assert len(messages_of(response)) == 2


def test_a_confirmation_sent_twice_acts_once(superuser_client, keys):
    page = superuser_client.post(
        CHANGELIST, {"action": "withdraw", "_selected_action": [keys["aas"].pk]}
    )
    answer = as_post(confirmation_form(page))
    superuser_client.post(CHANGELIST, answer, follow=True)  # its message shown
    after_first = state()
    again = superuser_client.post(CHANGELIST, answer)  # a double click, the back button
    assert again.status_code == 302
    assert state() == after_first
    [warning] = messages_of(again)
    assert "changed after the confirmation page was shown" in warning
    assert get_active_key(KeyPurpose.AAS).kid in warning


def test_the_actions_need_the_csrf_token(staff_user, keys):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    answer = {
        "action": "withdraw",
        "_selected_action": [keys["aas"].pk],
        "confirm": "yes",
        "shown_kid": keys["aas"].kid,
    }
    before = state()
    assert client.post(CHANGELIST, answer).status_code == 403
    assert state() == before
    # The same, from the admin's own pages, with their token.
    assert client.get(CHANGELIST).status_code == 200
    token = client.cookies["csrftoken"].value
    page = client.post(
        CHANGELIST,
        {"action": "withdraw", "_selected_action": [keys["aas"].pk], "csrfmiddlewaretoken": token},
    )
    assert page.status_code == 200 and 'name="csrfmiddlewaretoken"' in page.content.decode()
    done = client.post(CHANGELIST, {**answer, "csrfmiddlewaretoken": token})
    assert done.status_code == 302
    assert get_active_key(KeyPurpose.AAS).kid != keys["aas"].kid


@pytest.mark.parametrize(
    "data",
    [
        {"action": "nope", "_selected_action": ["1"]},
        {"action": "", "_selected_action": ["1"]},
        {"action": "rotate"},
        {"action": "withdraw", "confirm": "yes"},
        {"action": "withdraw", "_selected_action": ["999999"], "confirm": "yes"},
        {"action": "withdraw", "_selected_action": ["abc"], "confirm": "yes"},
        {"action": "withdraw", "_selected_action": [""], "confirm": "yes"},
        {"action": "withdraw", "_selected_action": ["9" * 30], "confirm": "yes"},
        {"action": "withdraw", "_selected_action": ["-1"], "confirm": "yes"},
        {"action": ["rotate", "withdraw"], "index": "7", "_selected_action": ["1"]},
        {"action": "withdraw", "_selected_action": ["1"], "confirm": "yes", "shown_kid": ""},
        {"action": "withdraw", "_selected_action": ["1"], "confirm": "yes", "shown_kid": "x"},
        {"action": "rotate", "select_across": "maybe", "confirm": "yes", "index": "x"},
        {"action": "stage", "_selected_action": ["abc"], "confirm": "yes"},
        {"action": "stage", "_selected_action": ["1"], "confirm": "yes", "shown_kid": "x"},
        {
            "action": "rotate",
            "_selected_action": ["1"],
            "confirm": "yes",
            "shown_kid": "",
            "shown_staged_kid": "x",
        },
    ],
)
def test_hostile_action_posts_change_nothing_and_are_no_500(superuser_client, keys, data):
    data = {k: [keys["oidc"].pk if v == "1" else v for v in v] if isinstance(v, list) else v
            for k, v in data.items()}  # fmt: skip
    before = state()
    response = superuser_client.post(CHANGELIST, data)
    assert response.status_code in (200, 302, 400, 403), response.status_code
    assert state() == before
    assert not LogEntry.objects.exists()


def test_select_all_then_confirm_acts_on_the_rows_shown(superuser_client, keys):
    page = superuser_client.post(
        CHANGELIST, {"action": "rotate", "select_across": "1", "_selected_action": ["x"]}
    )
    # "x" names no row: refused as an empty selection, before "select all" is looked at.
    assert page.status_code == 302
    page = superuser_client.post(
        CHANGELIST,
        {"action": "rotate", "select_across": "1", "_selected_action": [keys["aas"].pk]},
    )
    assert page.status_code == 200
    selected = {v for n, v in confirmation_form(page) if n == "_selected_action"}
    assert selected == {str(pk) for pk in SigningKey.objects.values_list("pk", flat=True)}


@pytest.mark.django_db(transaction=True)
def test_a_confirmation_sent_twice_at_once_acts_once(staff_user, slow_to_store):
    # A double click sends the confirmation twice at once. The shown key was compared before
    # the rotation took the lock of key writes, so both requests found it signing and both
    # withdrew: the second withdrew the first one's new key (PostgreSQL). Found by the review.
    from django.db import connection

    from tests.keys.concurrency import at_once

    old = get_active_key(KeyPurpose.AAS).kid
    client = Client()
    client.force_login(staff_user)
    page = client.post(
        CHANGELIST,
        {"action": "withdraw", "_selected_action": [SigningKey.objects.get(kid=old).pk]},
    )
    answer = as_post(confirmation_form(page))

    def confirm() -> int:
        other = Client()
        other.force_login(staff_user)
        return other.post(CHANGELIST, answer).status_code

    # SQLite's in-memory database may refuse the second at once ("locked"): an exception.
    outcomes = at_once((0.0, confirm), (0.2, confirm))
    assert 302 in outcomes, outcomes
    if connection.vendor == "postgresql":  # the second waits, then finds the page stale
        assert outcomes == [302, 302], outcomes
    kids = list(SigningKey.objects.filter(purpose=KeyPurpose.AAS).values_list("kid", flat=True))
    assert len(kids) == 2, outcomes  # the old key and one new key
    new = SigningKey.objects.get(purpose=KeyPurpose.AAS, retired_at__isnull=True)
    assert new.withdrawn_at is None and new.kid != old

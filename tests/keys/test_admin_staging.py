"""Staged keys in the signing keys' admin (keys/admin.py, keys/admin_actions.py): their status
and filter, the Stage next key action (the change permission, a confirmation page, the admin's
log), and what Rotate and Withdraw say and do with a staged key."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry

from tests.keys.admin_pages import (
    BG,
    CHANGELIST,
    as_post,
    confirmation_form,
    messages_of,
    page_text,
    published_kids,
    run,
    staff_with,
    state,
)
from trustregistry.keys import services
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import get_active_key, stage_key

pytestmark = pytest.mark.django_db


def _ask(client, action: str, *rows: SigningKey):  # type: ignore[no-untyped-def]
    page = client.post(CHANGELIST, {"action": action, "_selected_action": [r.pk for r in rows]})
    assert page.status_code == 200
    return page


def test_view_only_staff_cannot_stage(client, keys):
    client.force_login(staff_with("view_signingkey"))
    before = state()
    response = client.post(
        CHANGELIST,
        {
            "action": "stage",
            "_selected_action": [keys["aas"].pk],
            "confirm": "yes",
            "shown_kid": keys["aas"].kid,
        },
    )
    assert response.status_code in (200, 302, 403)
    assert state() == before and not LogEntry.objects.exists()


def test_stage_asks_first_then_publishes_a_key_that_does_not_sign_and_is_logged(
    superuser_client, staff_user, keys
):
    before = state()
    text = page_text(_ask(superuser_client, "stage", keys["aas"]))
    assert "Stage the next signing keys" in text
    assert "They sign no handshake until the next rotation" in text
    assert "aas_certificate FILE --with-next" in text
    assert state() == before and not LogEntry.objects.exists()

    response = run(superuser_client, "stage", keys["aas"])
    assert response.status_code == 302
    staged = SigningKey.objects.staged(KeyPurpose.AAS).get()
    [message] = messages_of(response)
    assert message.startswith("Staged the next aas key") and staged.kid in message
    assert get_active_key(KeyPurpose.AAS).kid == keys["aas"].kid  # still signing
    assert {staged.kid, keys["aas"].kid} <= published_kids(superuser_client)
    entry = LogEntry.objects.get()
    assert (entry.user, entry.object_id, entry.action_flag) == (
        staff_user,
        str(staged.pk),
        ADDITION,
    )
    assert entry.change_message == "stage aas in the admin: new staged key"


def test_the_status_column_and_filter_know_the_staged_key(superuser_client, keys):
    staged, _ = stage_key(purpose=KeyPurpose.OIDC)
    listing = page_text(superuser_client.get(CHANGELIST))
    assert "staged – published, signs from the next rotation" in listing
    only_staged = page_text(superuser_client.get(f"{CHANGELIST}?status=staged"))
    assert staged.kid in only_staged and keys["oidc"].kid not in only_staged
    signing = page_text(superuser_client.get(f"{CHANGELIST}?status=signing"))
    assert staged.kid not in signing and keys["oidc"].kid in signing
    bulgarian = page_text(superuser_client.get(f"{CHANGELIST}?status=staged", **BG))
    assert "подготвен – публикуван" in bulgarian and "Подготвяне на следващ ключ" in bulgarian


def test_stage_with_a_key_staged_keeps_it_and_logs_nothing(superuser_client, keys):
    staged, _ = stage_key(purpose=KeyPurpose.OIDC)
    text = page_text(_ask(superuser_client, "stage", keys["oidc"]))
    assert f"The key {staged.kid} is staged already" in text
    assert "This key is staged already, and is kept:" in text
    before = state()
    response = run(superuser_client, "stage", keys["oidc"])
    assert state() == before and not LogEntry.objects.exists()
    [message] = messages_of(response)
    assert "was staged already: it is kept" in message and staged.kid in message


def test_rotate_says_it_activates_the_staged_key_then_does(superuser_client, staff_user, keys):
    text = page_text(_ask(superuser_client, "rotate", keys["oidc"]))
    assert "No key is staged" in text  # without one, the page says what staging would spare
    staged, _ = stage_key(purpose=KeyPurpose.OIDC)
    text = page_text(_ask(superuser_client, "rotate", keys["oidc"]))
    assert f"The staged key {staged.kid}, published since" in text
    assert "It was staged less than 5 minutes ago" in text
    assert "No key is staged" not in text

    response = run(superuser_client, "rotate", keys["oidc"])
    assert get_active_key(KeyPurpose.OIDC).kid == staged.kid
    assert services.staged_key(KeyPurpose.OIDC) is None
    [message] = messages_of(response)
    assert f"the staged key {staged.kid} now signs" in message
    activated = LogEntry.objects.get(object_id=str(staged.pk))
    assert activated.action_flag == CHANGE and activated.user == staff_user
    assert activated.change_message == "rotate oidc in the admin: staged key, now signing"
    retired = LogEntry.objects.get(object_id=str(keys["oidc"].pk))
    assert retired.change_message == f"rotate oidc in the admin: retired, replaced by {staged.kid}"
    assert not LogEntry.objects.filter(action_flag=ADDITION).exists()  # no key was made


def test_the_aas_rotate_page_tells_pinning_connectors_what_to_hold(superuser_client, keys):
    text = page_text(_ask(superuser_client, "rotate", keys["aas"]))
    assert "staging the next key first (Stage next key) gives those connectors" in text
    staged, _ = stage_key(purpose=KeyPurpose.AAS)
    text = page_text(_ask(superuser_client, "rotate", keys["aas"]))
    assert f"The staged key {staged.kid} and its certificate" in text
    assert "keeps accepting handshakes if its certificate file holds the staged" in text


def test_withdraw_withdraws_the_staged_key_too(superuser_client, keys):
    staged, _ = stage_key(purpose=KeyPurpose.AAS)
    page = _ask(superuser_client, "withdraw", keys["aas"])
    text = page_text(page)
    assert f"The staged key {staged.kid} is withdrawn too, never activated" in text
    assert staged.kid in text and keys["aas"].kid in text  # both listed as withdrawn
    superuser_client.post(CHANGELIST, as_post(confirmation_form(page)))
    new = get_active_key(KeyPurpose.AAS).kid
    assert new not in (staged.kid, keys["aas"].kid)
    staged.refresh_from_db()
    assert staged.withdrawn_at is not None and staged.activated_at is None
    assert staged.kid not in published_kids(superuser_client)
    entry = LogEntry.objects.get(object_id=str(staged.pk))
    assert (
        entry.change_message
        == f"withdraw (key leaked) aas in the admin: withdrawn, replaced by {new}"
    )


def test_a_rotate_page_shown_before_a_key_was_staged_does_nothing(superuser_client, keys):
    # The page said "a new key signs"; since then a key was staged, which confirming would
    # activate instead: nothing is done, and the administrator is told why.
    page = _ask(superuser_client, "rotate", keys["oidc"])
    staged, _ = stage_key(purpose=KeyPurpose.OIDC)
    before = state()
    response = superuser_client.post(CHANGELIST, as_post(confirmation_form(page)))
    assert state() == before and not LogEntry.objects.exists()
    [warning] = messages_of(response)
    assert "was staged after the confirmation page was shown" in warning and staged.kid in warning


def test_a_stage_confirmation_sent_twice_stages_once(superuser_client, keys):
    answer = as_post(confirmation_form(_ask(superuser_client, "stage", keys["oidc"])))
    superuser_client.post(CHANGELIST, answer, follow=True)  # its message shown
    after_first = state()
    again = superuser_client.post(CHANGELIST, answer)  # a double click, the back button
    assert state() == after_first
    assert SigningKey.objects.staged(KeyPurpose.OIDC).count() == 1
    [warning] = messages_of(again)
    assert "was staged after the confirmation page was shown" in warning
    assert LogEntry.objects.count() == 1

"""The admin's "test handshake" button against a real connector on 127.0.0.1 (issue 4, item
4): the outcome on the page, and who ran it with what outcome in the record's history."""

from __future__ import annotations

import json

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from connector import tokens
from connector.keys import public_key_to_jwk
from trustregistry.common import clock

pytestmark = pytest.mark.django_db


def _press(staff, record) -> tuple[int, list[str]]:
    admin = Client()
    admin.force_login(staff)
    url = reverse("admin:registry_trustedapplication_test_handshake", args=[record.pk])
    response = admin.post(url, follow=True)
    return response.status_code, [str(m) for m in get_messages(response.wsgi_request)]


def _latest_note(record):
    return record.history.order_by("-history_id").first()


def test_the_button_runs_the_handshake_and_notes_it(connector_record, staff_user, other_key):
    status, messages = _press(staff_user, connector_record)
    assert status == 200
    assert any("proved it holds the application's key" in m for m in messages), messages
    note = _latest_note(connector_record)
    assert note.history_change_reason == "handshake tested: ok"
    assert note.history_user == staff_user

    connector_record.public_keys = [public_key_to_jwk(other_key.public_key())]
    connector_record.save()
    status, messages = _press(staff_user, connector_record)
    assert status == 200
    assert any("not signed by the application's key" in m for m in messages), messages
    assert not any(connector_record.connector_url in m for m in messages)
    note = _latest_note(connector_record)
    assert note.history_change_reason.startswith("handshake tested: failed (")
    assert note.history_user == staff_user


def test_the_button_shows_the_connectors_own_reason(connector_record, staff_user):
    # The connector knows itself by another URI: it refuses, and says why.
    type(connector_record).objects.filter(pk=connector_record.pk).update(
        client_id="other.example.com/app"
    )
    connector_record.refresh_from_db()
    status, messages = _press(staff_user, connector_record)
    assert status == 200
    assert any("refused" in m and "SignedToken" in m for m in messages), messages
    assert "SignedToken" in _latest_note(connector_record).history_change_reason


@pytest.mark.django_db(transaction=True)  # the connector's thread writes to the record
def test_a_key_replaced_while_the_button_runs_fails_the_test(
    scripted, app_key, other_key, staff_user
):
    """The administrator (or another one) replaces the connector's key while the test runs:
    the connector still answers with the old key, and the test must not report it good."""
    record = scripted.record

    def answer(claims):
        type(record).objects.filter(pk=record.pk).update(
            public_keys=[public_key_to_jwk(other_key.public_key())]
        )
        value = tokens.sign_application_token(
            nonce=claims["nonce"], private_key=app_key, now=clock.now().timestamp()
        )
        body = {"Succeeded": True, "Reason": None, "SignedApplicationToken": value}
        return "200 OK", [], json.dumps(body).encode()

    scripted.answer = answer
    status, messages = _press(staff_user, record)
    assert status == 200
    assert any("not signed by the application's key" in m for m in messages), messages
    assert _latest_note(record).history_change_reason.startswith("handshake tested: failed (")

"""The trail of users: failed sign-ins, password changes and new superusers in the log (with
who did it, never a password), and the admin log readable in the admin (README, Audit trail)."""

import io
import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from tests import factories
from trustregistry.common.logging import os_account

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Another-passphrase-4711"


def _lines(caplog, logger: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == logger]


@pytest.mark.parametrize("page", ["/id/account/login", "/admin/login/"])
def test_a_failed_sign_in_is_logged_with_the_username_and_address_not_the_password(
    client, caplog, page
):
    factories.UserFactory(username="alice")
    caplog.set_level(logging.INFO)
    caplog.clear()
    response = client.post(page, {"username": "alice", "password": "wrong-guess-0815"})
    assert response.status_code == 200
    assert _lines(caplog, "trustregistry.accounts.backends") == [
        "sign-in failed: username 'alice' from 127.0.0.1"
    ]
    assert "wrong-guess-0815" not in caplog.text


def test_a_successful_sign_in_logs_no_failure(client, caplog):
    factories.UserFactory(username="alice")
    caplog.set_level(logging.INFO)
    caplog.clear()
    client.post("/id/account/login", {"username": "alice", "password": factories.DEFAULT_PASSWORD})
    assert _lines(caplog, "trustregistry.accounts.backends") == []


def test_a_username_cannot_forge_a_log_line(client, caplog):
    caplog.set_level(logging.INFO)
    caplog.clear()
    client.post("/id/account/login", {"username": "x\nsign-in ok: admin", "password": "p"})
    [line] = _lines(caplog, "trustregistry.accounts.backends")
    assert "\n" not in line and "'x\\nsign-in ok: admin'" in line


def test_a_password_set_in_the_admin_is_logged_with_who_set_it(client, staff_user, caplog):
    bob = factories.UserFactory(username="bob")
    client.force_login(staff_user)
    caplog.set_level(logging.INFO)
    caplog.clear()
    response = client.post(
        reverse("admin:auth_user_password_change", args=[bob.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert _lines(caplog, "trustregistry.accounts.models") == [
        "user bob: password changed by admin"
    ]
    assert NEW_PASSWORD not in caplog.text
    # Django's own admin log names the actor too.
    entry = LogEntry.objects.get(object_id=str(bob.pk))
    assert entry.user == staff_user and entry.get_change_message() == "Changed password."


def test_a_password_changed_on_the_admins_own_page_is_logged(client, caplog):
    # /admin/password_change/ writes no admin log entry.
    bob = factories.StaffUserFactory(username="bob")
    client.force_login(bob)
    caplog.set_level(logging.INFO)
    caplog.clear()
    response = client.post(
        reverse("admin:password_change"),
        {
            "old_password": factories.DEFAULT_PASSWORD,
            "new_password1": NEW_PASSWORD,
            "new_password2": NEW_PASSWORD,
        },
    )
    assert response.status_code == 302
    assert _lines(caplog, "trustregistry.accounts.models") == ["user bob: password changed by bob"]
    assert NEW_PASSWORD not in caplog.text


def test_changepassword_and_createsuperuser_are_logged_with_the_os_account(monkeypatch, caplog):
    from django.contrib.auth.management.commands import changepassword

    caplog.set_level(logging.INFO)
    caplog.clear()
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", NEW_PASSWORD)
    call_command(
        "createsuperuser", "--noinput", "--username", "root2", "--email", "r@example.com",
        stdout=io.StringIO(),
    )  # fmt: skip
    monkeypatch.setattr(changepassword.Command, "_get_pass", lambda *args: NEW_PASSWORD + "!")
    call_command("changepassword", "root2", stdout=io.StringIO())
    by = f"OS user {os_account()} (no web request)"
    assert _lines(caplog, "trustregistry.accounts.models") == [
        f"user root2: created as a superuser by {by}",
        f"user root2: password changed by {by}",
    ]
    assert NEW_PASSWORD not in caplog.text


def test_saving_a_user_without_a_new_password_logs_nothing(caplog):
    bob = factories.UserFactory(username="bob")
    caplog.set_level(logging.INFO)
    caplog.clear()
    bob.first_name = "Bob"
    bob.save()
    get_user_model().objects.get(pk=bob.pk).save(update_fields=["last_login"])
    assert _lines(caplog, "trustregistry.accounts.models") == []


def test_the_admin_log_is_listed_read_only(client, staff_user):
    bob = factories.UserFactory(username="bob")
    client.force_login(staff_user)
    page = reverse("admin:accounts_user_change", args=[bob.pk])
    data = {
        "username": "bob", "kind": "internal", "email": bob.email, "first_name": "",
        "last_name": "",
        "date_joined_0": "2024-01-01", "date_joined_1": "00:00:00",
    }  # fmt: skip
    assert client.post(page, data).status_code == 302  # is_active left out: deactivated
    listing = client.get(reverse("admin:admin_logentry_changelist"))
    assert listing.status_code == 200
    entry = LogEntry.objects.get(object_id=str(bob.pk))
    assert entry.user == staff_user and "Active" in entry.get_change_message()
    text = listing.content.decode()
    assert ">bob<" in text and entry.get_change_message() in text
    assert client.get(reverse("admin:admin_logentry_change", args=[entry.pk])).status_code == 200
    history = client.get(reverse("admin:accounts_user_history", args=[bob.pk]))
    assert entry.get_change_message() in history.content.decode()
    assert client.get(reverse("admin:admin_logentry_add")).status_code == 403
    assert (
        client.post(
            reverse("admin:admin_logentry_delete", args=[entry.pk]), {"post": "yes"}
        ).status_code
        == 403
    )
    assert LogEntry.objects.filter(pk=entry.pk).exists()


def test_the_admin_log_needs_its_view_permission(client):
    from django.contrib.auth.models import Permission

    clerk = factories.UserFactory(username="clerk", is_staff=True)
    client.force_login(clerk)
    listing = reverse("admin:admin_logentry_changelist")
    assert client.get(listing).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_logentry"))
    assert client.get(listing).status_code == 200

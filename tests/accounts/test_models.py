"""Usernames are unique whatever their letter case, down to the database."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from tests import factories

pytestmark = pytest.mark.django_db


def test_the_database_refuses_a_username_differing_only_in_case():
    # What a concurrent sign-up meets once the forms' own check has passed.
    factories.UserFactory(username="eve")
    with pytest.raises(IntegrityError), transaction.atomic():
        get_user_model().objects.create(username="EvE")
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["eve"]


def test_validation_names_the_taken_username():
    factories.UserFactory(username="eve")
    with pytest.raises(ValidationError) as refused:
        get_user_model()(username="Eve", password="!").full_clean()
    assert refused.value.message_dict == {"username": ["A user with that username already exists."]}


def test_other_usernames_are_still_free():
    factories.UserFactory(username="eve")
    get_user_model()(username="eve2", password="!").full_clean()


@pytest.mark.django_db(transaction=True)
def test_the_migration_names_existing_case_variants_instead_of_failing_on_the_index():
    call_command("migrate", "accounts", "0001", verbosity=0)
    try:
        with connection.cursor() as cursor:
            for username in ("ann", "Ann", "bob"):
                cursor.execute(
                    "INSERT INTO accounts_user (password, is_superuser, username, first_name,"
                    " last_name, email, is_staff, is_active, date_joined, kind)"
                    " VALUES ('!', %s, %s, '', '', '', %s, %s, CURRENT_TIMESTAMP, 'internal')",
                    [False, username, False, True],
                )
        with pytest.raises(CommandError) as refused:
            call_command("migrate", "accounts", verbosity=0)
        assert str(refused.value) == (
            "These usernames differ only in letter case; rename them so that each is unique "
            "whatever the case, then run migrate again: Ann, ann"
        )
        get_user_model().objects.filter(username="Ann").update(username="ann2")
    finally:
        call_command("migrate", "accounts", verbosity=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        get_user_model().objects.create(username="ANN")


def test_createsuperuser_says_a_username_is_taken_in_another_case(monkeypatch):
    # The command looks the name up as written; without the manager's check the index
    # stopped it with an IntegrityError traceback.
    factories.StaffUserFactory(username="admin")
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-Long-enough-passphrase-42")
    with pytest.raises(CommandError, match="A user with that username already exists."):
        call_command(
            "createsuperuser", "--noinput", "--username", "Admin", "--email", "a@example.org"
        )
    assert list(get_user_model().objects.values_list("username", flat=True)) == ["admin"]

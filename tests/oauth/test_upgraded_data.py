"""Data an installation stored under the rules of an earlier release, as the current code
meets it after `migrate`."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from trustregistry.oauth.models import SignIn
from trustregistry.registry.models import ApplicationName


def test_a_name_stored_before_invisible_characters_were_refused_is_shown_without_them(
    flow, confidential_app, internal_user
):
    # Registry migration 0002 added the rule to the field without checking stored names;
    # update() writes as the earlier release did, without the validator.
    ApplicationName.objects.filter(application=confidential_app, language="en").update(
        name="Pay\u202elapyaP \u200bknaB"
    )
    flow.client.force_login(internal_user)
    page = flow.client.get("/id/connect/authorize", flow.authorize_params(confidential_app))
    assert page.status_code == 200
    text = page.content.decode()
    assert "\u202e" not in text and "\u200b" not in text
    assert "Allow PaylapyaP knaB to access your account?" in text
    confidential_app.refresh_from_db()
    assert confidential_app.localized_name("en") == "PaylapyaP knaB"


@pytest.mark.django_db(transaction=True)
def test_a_family_begun_before_its_scope_was_recorded_keeps_it_after_a_narrowing_refresh(
    flow, confidential_app, internal_user
):
    tokens = flow.tokens(confidential_app, internal_user)
    # The state of an installation upgraded from before tr_oauth 0004: the family's sign-in
    # row is there, its scope column added empty.
    call_command("migrate", "tr_oauth", "0003", verbosity=0)
    try:
        call_command("migrate", "tr_oauth", "0004", verbosity=0)
        assert SignIn.objects.get().scope == ""
    finally:
        call_command("migrate", "tr_oauth", verbosity=0)
    granted = "offline_access openid update"
    assert sorted(SignIn.objects.get().scope.split()) == sorted(granted.split())

    narrowed = flow.refresh(confidential_app, tokens["refresh_token"], scope="openid")
    assert narrowed.status_code == 200, narrowed.content
    assert narrowed.json()["scope"] == "openid"
    again = flow.refresh(confidential_app, narrowed.json()["refresh_token"])
    assert again.status_code == 200, again.content
    assert sorted(again.json()["scope"].split()) == sorted(granted.split())

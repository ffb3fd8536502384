"""Data an installation stored under the rules of an earlier release, as the current code
meets it after `migrate`."""

from __future__ import annotations

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

"""Admin actions with a selection that names no record (a crafted or mangled POST)."""

import pytest
from django.contrib.messages import get_messages

from tests import factories


@pytest.mark.django_db
@pytest.mark.parametrize(
    "changelist,action",
    [
        ("/admin/registry/trustedapplication/", "disable"),
        ("/admin/accounts/user/", "delete_selected"),
        ("/admin/tr_oauth/consent/", "delete_selected"),
    ],
)
@pytest.mark.parametrize("selected", ["abc", "", "1e5", "9" * 25, "-1"])
def test_a_selection_that_names_no_record_is_refused_not_a_500(
    admin_client, changelist, action, selected
):
    app = factories.TrustedApplicationFactory()
    response = admin_client.post(changelist, {"action": action, "_selected_action": [selected]})
    assert response.status_code == 302
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        "Items must be selected in order to perform actions on them. No items have been changed."
    ]
    app.refresh_from_db()
    assert app.is_enabled


@pytest.mark.django_db
def test_a_real_selection_still_acts(admin_client):
    app = factories.TrustedApplicationFactory()
    admin_client.post(
        "/admin/registry/trustedapplication/",
        {"action": "disable", "_selected_action": [str(app.pk)]},
    )
    app.refresh_from_db()
    assert not app.is_enabled

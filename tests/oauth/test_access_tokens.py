import pytest

from tests.factories import ServiceApplicationFactory
from trustregistry.oauth import access_tokens


@pytest.mark.django_db
def test_issue_and_check():
    app = ServiceApplicationFactory()
    raw, row = access_tokens.issue_access_token(
        application=app, user=app.system_user, scope="update sec"
    )
    assert row.token == ""
    live = access_tokens.check_access_token(raw)
    assert live.scopes == {"update", "sec"} and live.claims["user_type"] == "system"
    app.is_enabled = False
    app.save()
    with pytest.raises(access_tokens.InvalidAccessToken):
        access_tokens.check_access_token(raw)

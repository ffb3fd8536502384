"""The signing keys' admin in a real headless Chromium: an administrator withdraws the AAS key
through the confirmation page."""

import pytest

from tests import factories
from trustregistry.keys.models import KeyPurpose, SigningKey
from trustregistry.keys.services import get_active_key, published_keys


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_an_administrator_withdraws_the_aas_key(live_server, browser):
    factories.StaffUserFactory(username="admin")
    leaked = get_active_key(KeyPurpose.AAS).kid
    get_active_key(KeyPurpose.OIDC)
    row = SigningKey.objects.get(kid=leaked)
    page = browser.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/keys/signingkey/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", factories.DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#result_list")

        page.check(f"input.action-select[value='{row.pk}']")
        page.select_option("select[name=action]", "withdraw")
        page.click("button[name=index]")
        page.wait_for_selector("text=Withdraw signing keys (key leaked)")
        assert "refuses every handshake" in page.text_content("#content-main")
        assert get_active_key(KeyPurpose.AAS).kid == leaked  # asked, not done

        page.click("input[type=submit][value='Yes, withdraw']")
        success = page.text_content(".messagelist .success")
        new = get_active_key(KeyPurpose.AAS).kid
        assert new != leaked and new in success and "kill -HUP" in success
        assert leaked not in {k.kid for k in published_keys(KeyPurpose.AAS)}
        assert "withdrawn" in page.text_content("#result_list")
    finally:
        page.close()

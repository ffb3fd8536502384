"""The install flow in a real headless Chromium against a live server on 127.0.0.1."""

from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests import factories
from trustregistry.registry.models import TrustedApplication
from trustregistry.registry.secrets import hash_secret

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PARAMS = {
    "applicationUri": "vendor.example/app",
    "redirectUri": "https://vendor.example/callback/",
    "applicationName": "Vendor App",
    "clientType": "Confidential",
    "impersonate": "internal",
    "requestSecret": "true",
    "serviceAccess": "clientCredentials",
    "scope": "read update",
}


def install_path() -> str:
    return "/manage/apps/install?" + urlencode(PARAMS)


def test_staff_user_installs_confirms_and_copies_the_secret(browser, live_server):
    factories.StaffUserFactory(username="admin")
    context = browser.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/admin/login/?{urlencode({'next': install_path()})}")
        page.fill("#id_username", "admin")
        page.fill("#id_password", factories.DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#confirm")
        assert page.url == live_server.url + install_path()  # the parameters survived the login
        assert page.text_content("tr[data-field=scope] td") == "read update"
        assert not TrustedApplication.objects.exists()  # nothing happens before confirming

        page.click("#confirm")
        secret = page.text_content("#secret").strip()
        assert len(secret) == 24
        page.click("#copy-secret")
        page.wait_for_function("document.getElementById('copy-status').textContent !== ''")
        assert page.text_content("#copy-status") == "Copied."
        assert page.evaluate("navigator.clipboard.readText()") == secret

        app = TrustedApplication.objects.get(client_id="vendor.example/app")
        assert app.source == "marketplace" and app.is_enabled and app.client_type == "confidential"
        assert app.impersonate_internal_allowed and not app.impersonate_community_allowed
        assert app.system_user_allowed and app.system_user.username == "system-application"
        assert app.system_user.kind == "system"
        assert app.scope == "read update" and app.login_urls == [PARAMS["redirectUri"]]
        assert list(app.secrets.values_list("secret_hash", flat=True)) == [hash_secret(secret)]
        assert app.history.latest().history_user.username == "admin"

        # Going back and reloading the result page does not reveal the secret again.
        page.goto(live_server.url + install_path())
        assert secret not in page.content()
    finally:
        context.close()


def test_non_staff_user_cannot_install(browser, live_server):
    person = factories.UserFactory(username="person")
    client = Client()
    client.force_login(person)
    context = browser.new_context(locale="bg-BG")
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    page = context.new_page()
    try:
        response = page.goto(live_server.url + install_path())
        assert response.status == 403
        assert page.text_content("h1") == "Само администратори могат да извършат това действие"
        assert page.locator("#confirm").count() == 0
        assert not TrustedApplication.objects.exists()
    finally:
        context.close()


def test_anonymous_visitor_is_sent_to_login_with_the_link(browser, live_server):
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(live_server.url + install_path())
        landed = urlsplit(page.url)
        assert landed.path == settings.LOGIN_URL
        assert parse_qs(landed.query)["next"] == [install_path()]
    finally:
        context.close()

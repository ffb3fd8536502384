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


def _erpnet_link(interop, name, base):  # type: ignore[no-untyped-def]
    """ERP.net's example link as its file writes it, on this registry's host: the lines are
    joined as a browser joins a pasted link (each line's surrounding whitespace dropped)."""
    text = (interop / name).read_text(encoding="utf-8")
    url = urlsplit("".join(line.strip() for line in text.splitlines()))
    assert url.netloc == "mycompany.my.erp.net"
    return f"{base}{url.path}?{url.query}"


def test_erpnet_example_links_install_and_uninstall_in_a_browser(browser, live_server, interop):
    """ERP.net's own install and uninstall links, verbatim: an administrator who is not signed
    in opens the install link, signs in on the registry's login page, lands on the plan with
    every parameter intact, confirms; later opens the uninstall link and confirms."""
    factories.StaffUserFactory(username="admin")
    install = _erpnet_link(interop, "marketplace_install_url_example.txt", live_server.url)
    uninstall = _erpnet_link(interop, "marketplace_uninstall_url_example.txt", live_server.url)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(install)
        assert urlsplit(page.url).path == settings.LOGIN_URL
        page.fill("#id_username", "admin")
        page.fill("#id_password", factories.DEFAULT_PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.wait_for_selector("#confirm")
        assert page.url == install  # the link survived the sign-in unchanged
        plan = page.text_content("#plan")
        assert "MyExternalAppIdentifier" in plan and "My External App" in plan
        assert "https://my-external-app.com/callback/" in plan
        assert not TrustedApplication.objects.exists()

        page.click("#confirm")
        page.wait_for_selector("#outcome")
        assert page.locator("#secret").count() == 0  # requestSecret was not asked for
        app = TrustedApplication.objects.get()
        assert app.client_id == "MyExternalAppIdentifier" and app.source == "marketplace"
        assert app.localized_name("en") == "My External App"
        assert app.client_type == "confidential" and app.is_enabled
        assert app.login_urls == ["https://my-external-app.com/callback/"]
        # impersonate and serviceAccess absent: none of either
        assert not app.impersonate_internal_allowed and not app.impersonate_community_allowed
        assert not app.system_user_allowed and app.system_user is None
        assert app.scope == "" and not app.secrets.exists()

        page.goto(uninstall)
        page.wait_for_selector("#confirm")
        assert "MyExternalAppIdentifier" in page.content()
        TrustedApplication.objects.get(is_enabled=True)  # the page alone changes nothing
        page.click("#confirm")
        page.wait_for_selector("#outcome")
        app.refresh_from_db()
        assert not app.is_enabled and app.uninstalled_at is not None
        assert app.history.latest().history_user.username == "admin"
    finally:
        context.close()

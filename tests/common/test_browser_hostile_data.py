"""Hostile stored data and parameters on every page that shows them, in a real headless
Chromium: record names in both languages, usernames, history notes, marketplace parameters and
the authorization request's own parameters carry markup, and no page runs it (no dialog opens,
no element is injected, the markup never reaches the page unescaped)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model

from tests import factories
from tests.factories import DEFAULT_PASSWORD
from trustregistry.oauth import services as oauth_services
from trustregistry.registry import services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(2)</script>"
SVG = "{{7*7}}\"'><svg onload=alert(3)>"
PAYLOADS = (IMG, SCRIPT, SVG)
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


class Pages:
    """Visits pages and notes each one where markup got through."""

    def __init__(self, page, base_url: str):
        self.page, self.base_url = page, base_url
        self.dialogs: list[str] = []
        self.problems: list[tuple[str, str]] = []
        page.on("dialog", self._dialog)

    def _dialog(self, dialog) -> None:  # type: ignore[no-untyped-def]
        self.dialogs.append(f"{self.page.url}: {dialog.message}")
        dialog.dismiss()

    def check(self, label: str, raw: str = "") -> None:
        self.page.wait_for_timeout(100)  # lets an injected onerror/onload run
        for payload in PAYLOADS:
            if payload in raw or payload in self.page.content():
                self.problems.append((label, payload))
        if self.page.locator("img[src=x], svg[onload]").count():
            self.problems.append((label, "injected element"))

    def visit(self, path: str) -> int:
        response = self.page.goto(self.base_url + path)
        assert response is not None and response.status < 500, path
        self.check(path, response.text())
        return response.status


def test_no_page_runs_markup_from_stored_data_or_parameters(live_server, browser):
    admin = factories.StaffUserFactory(username="admin")
    # Login and logout URLs on the live server itself (loopback: any port), so a redirect to
    # the client lands on a page that answers.
    app = factories.TrustedApplicationFactory(
        client_id="hostile.example.com/app", name=IMG + SCRIPT, scope="update",
        login_urls=["http://127.0.0.1/healthz"], logout_urls=["http://127.0.0.1/readyz"],
        connector_url="http://127.0.0.1:9/connector", secret="s1",
    )  # fmt: skip
    app.names.create(language="bg", name=SVG)
    services.history_note(application=app, actor=admin, reason=f"handshake tested: failed ({IMG})")
    services.history_note(application=app, actor=admin, reason=SCRIPT)
    users = get_user_model()
    # Usernames the sign-up form would refuse, as an import or a script could store them.
    person = users.objects.create(username=IMG, kind="internal", first_name=SCRIPT, last_name=SVG)
    person.set_password(DEFAULT_PASSWORD)
    person.save()
    app.system_user = users.objects.create(username="system" + SCRIPT, kind="system")
    app.save()
    oauth_services.consent_remember(user=person, application=app, scopes=["update"])

    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(15000)
    pages = Pages(page, live_server.url)
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")
        for language in ("bg", "en"):
            context.add_cookies(
                [{"name": "django_language", "value": language, "url": live_server.url}]
            )
            for path in (
                "/admin/registry/trustedapplication/",
                f"/admin/registry/trustedapplication/?{urlencode({'q': IMG})}",
                f"/admin/registry/trustedapplication/{app.pk}/change/",
                f"/admin/registry/trustedapplication/{app.pk}/history/",
                "/admin/accounts/user/",
                f"/admin/accounts/user/{person.pk}/change/",
                f"/admin/accounts/user/{person.pk}/history/",
                f"/admin/accounts/user/{person.pk}/delete/",
                "/admin/tr_oauth/consent/",
            ):
                assert pages.visit(path) == 200, path
        # The change page's buttons: the connector is unreachable, the secret is shown once.
        page.goto(f"{live_server.url}/admin/registry/trustedapplication/{app.pk}/change/")
        page.click("button:has-text('Test handshake')")
        page.wait_for_selector("ul.messagelist")
        pages.check("test handshake")
        page.click("button:has-text('Generate secret')")
        page.click("input[type=submit][value='Yes, replace the secrets']")
        page.wait_for_selector("code.new-secret")
        pages.check("new secret")

        install = {
            "applicationUri": "vendor.example.com/app",
            "applicationName": IMG + SCRIPT,
            "redirectUri": "https://vendor.example.com/cb",
            "impersonate": "internal",
        }
        for params in (
            install,
            {**install, "applicationUri": app.client_id},
            {**install, "redirectUri": f"javascript:alert(1)//{IMG}", "scope": IMG},
            {**install, "applicationUri": IMG, "clientType": SCRIPT, SVG: IMG},
        ):
            pages.visit("/manage/apps/install?" + urlencode(params))
        pages.visit("/manage/apps/uninstall?" + urlencode({"applicationUri": app.client_id}))
        pages.visit("/manage/apps/uninstall?" + urlencode({"applicationUri": IMG}))
        pages.visit("/sys/tools/sha256?" + urlencode({"secret": IMG}))

        context.clear_cookies()
        authorize = {
            "response_type": "code", "client_id": app.client_id,
            "redirect_uri": live_server.url.replace("localhost", "127.0.0.1") + "/healthz",
            "state": IMG, "nonce": SCRIPT, "login_hint": IMG, "ui_locales": SVG,
            "scope": "openid update", "prompt": "consent",
            "code_challenge": CHALLENGE, "code_challenge_method": "S256",
        }  # fmt: skip
        pages.visit("/id/connect/authorize?" + urlencode(authorize))  # the sign-in page
        page.fill("#id_username", IMG)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("button[name=allow]")
        pages.check("consent page after sign-in")
        for language in ("bg", "en"):
            pages.visit("/id/connect/authorize?" + urlencode({**authorize, "ui_locales": language}))
        for bad in ({"client_id": IMG}, {"redirect_uri": "javascript:alert(1)"}):
            pages.visit("/id/connect/authorize?" + urlencode({**authorize, **bad}))
        for params in (
            {"client_id": app.client_id, "state": IMG},
            {"client_id": app.client_id, "post_logout_redirect_uri": f"javascript:{IMG}"},
            {"client_id": IMG},
            {"id_token_hint": IMG},
        ):
            pages.visit("/id/connect/endsession?" + urlencode(params))
        pages.visit("/id/account/logout")
        for path in ("/id/account/login", "/id/account/signup"):
            pages.visit(f"{path}?{urlencode({'next': IMG})}")
    finally:
        context.close()
    assert pages.dialogs == []
    assert pages.problems == []

"""Headless Chromium against a live server: a person logs in through the authorization
endpoint, sees the consent page in Bulgarian, approves, and the client receives a code; a
community user is refused by an internal-only application."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import pytest

from tests import factories
from tests.factories import DEFAULT_PASSWORD
from tests.oauth.conftest import pkce_pair, query

CALLBACK = "http://127.0.0.1/callback"


def _is_callback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.hostname == "127.0.0.1" and parts.port is None and parts.path == "/callback"


@pytest.fixture
def internal_only_app(db):
    app = factories.TrustedApplicationFactory(
        client_id="browser.example.com/erp", login_urls=[CALLBACK], scope="update",
        impersonate_internal_allowed=True, impersonate_community_allowed=False,
        name="ERP in the browser",
    )  # fmt: skip
    app.names.create(language="bg", name="ЕРП в браузъра")
    return app


def _run(browser, live_server, app, username: str) -> tuple[str, str]:
    """Log in through /connect/authorize; returns (consent page text or "", callback URL)."""
    _verifier, challenge = pkce_pair()
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": CALLBACK,
              "state": "browser-state", "scope": "openid update",
              "code_challenge": challenge, "code_challenge_method": "S256"}  # fmt: skip
    context = browser.new_context(locale="bg-BG")
    page = context.new_page()
    seen: list[str] = []
    # The redirect to the client is observed as a request (nothing listens on port 80).
    page.on(
        "request", lambda request: seen.append(request.url) if _is_callback(request.url) else None
    )

    def settle() -> None:
        for _ in range(100):  # bounded: at most ~10 s
            if seen or page.locator("button[name=allow]").count():
                return
            page.wait_for_timeout(100)

    try:
        page.goto(f"{live_server.url}/id/connect/authorize?{urlencode(params)}")
        assert "/id/account/login" in page.url
        page.fill("#id_username", username)
        page.fill("#id_password", DEFAULT_PASSWORD)
        page.click("button[type=submit]")
        settle()
        consent = ""
        if not seen:
            consent = page.inner_text("main")
            assert page.locator("html").get_attribute("lang") == "bg"
            page.click("button[name=allow]")
            settle()
        assert seen, page.url
        return consent, seen[-1]
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_internal_user_consents_in_bulgarian(browser, live_server, internal_only_app):
    factories.UserFactory(username="ivan")
    consent, callback = _run(browser, live_server, internal_only_app, "ivan")
    assert "ЕРП в браузъра" in consent
    assert "Разрешаване" in consent
    assert "Създаване, промяна и изтриване на данни" in consent  # `update` in plain words
    params = query(callback)
    assert params["state"] == "browser-state"
    assert len(params["code"]) >= 20


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_community_user_refused_by_internal_only_app(browser, live_server, internal_only_app):
    factories.CommunityUserFactory(username="maria")
    consent, callback = _run(browser, live_server, internal_only_app, "maria")
    assert consent == ""  # no consent page at all
    params = query(callback)
    assert params["error"] == "access_denied"
    assert "code" not in params

"""A database outage in a real headless Chromium: a person who signs in while the database is
down sees the short page in their language (with the browser's own Accept header), not the
machines' JSON."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.db.backends.utils import CursorWrapper

from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _database_down(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise OperationalError("could not connect to server: Connection refused")


def test_signing_in_during_an_outage_shows_the_page(browser, live_server, monkeypatch):
    context = browser.new_context(locale="bg-BG")
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/id/account/login")  # the form needs no database
        page.fill("#id_username", "ivan")
        page.fill("#id_password", DEFAULT_PASSWORD)
        # Every query of every thread fails: the live server's request thread has its own
        # connection on PostgreSQL, which an execute_wrapper of this thread would not reach.
        with monkeypatch.context() as down:
            down.setattr(CursorWrapper, "_execute_with_wrappers", _database_down)
            with page.expect_response(lambda r: r.request.method == "POST") as posted:
                page.click("button[type=submit]")
            answer = posted.value
            page.wait_for_load_state()
        assert answer.status == 503
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert answer.headers["retry-after"] == "5"
        assert page.locator("html").get_attribute("lang") == "bg"
        heading = page.inner_text("h1")
        assert heading == "Регистърът на доверените приложения е временно недостъпен"
        text = page.inner_text("body")
        assert "temporarily_unavailable" in text and "{" not in text
        assert "OperationalError" not in page.content()
    finally:
        context.close()

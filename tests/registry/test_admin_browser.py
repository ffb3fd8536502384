"""The admin in a real headless Chromium: create, generate a secret, disable, read the history."""

import pytest

from tests import factories
from trustregistry.registry import secrets
from trustregistry.registry.models import TrustedApplication


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_create_generate_secret_disable_and_history(live_server, browser):
    factories.StaffUserFactory(username="admin")
    page = browser.new_page()
    page.set_default_timeout(15000)
    try:
        page.goto(f"{live_server.url}/admin/login/?next=/admin/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", factories.DEFAULT_PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_selector("#site-name")

        page.goto(f"{live_server.url}/admin/registry/trustedapplication/add/")
        page.fill("#id_client_id", "browser.example.com/app")
        assert page.input_value("#id_names-0-language") == "en"
        assert page.input_value("#id_names-1-language") == "bg"
        page.fill("#id_names-0-name", "Browser app")
        page.fill("#id_names-1-name", "Приложение в браузъра")
        page.fill("#id_login_urls", "https://browser.example.com/cb, http://127.0.0.1/cb")
        page.check("#id_impersonate_internal_allowed")
        page.check("input[name=scope][value=update]")
        page.click("input[name=_continue]")
        page.wait_for_selector("text=was added successfully")

        app = TrustedApplication.objects.get(client_id="browser.example.com/app")
        assert app.login_urls == ["https://browser.example.com/cb", "http://127.0.0.1/cb"]
        assert app.localized_name("bg") == "Приложение в браузъра"

        page.click("button:has-text('Generate secret')")
        plain = page.text_content("code.new-secret").strip()
        assert len(plain) >= 32
        assert app.secrets.get().secret_hash == secrets.hash_secret(plain)

        page.goto(f"{live_server.url}/admin/registry/trustedapplication/{app.pk}/change/")
        assert plain not in page.content()  # shown once, never again
        # A second secret would end the live one: asked first, then done.
        page.click("button:has-text('Generate secret')")
        page.wait_for_selector("table#ending-secrets")
        assert app.secrets.get().secret_hash == secrets.hash_secret(plain)
        page.click("input[type=submit][value='Yes, replace the secrets']")
        plain = page.text_content("code.new-secret").strip()
        assert app.secrets.get().secret_hash == secrets.hash_secret(plain)

        page.goto(f"{live_server.url}/admin/registry/trustedapplication/{app.pk}/change/")
        page.uncheck("#id_is_enabled")
        page.click("input[name=_continue]")
        page.wait_for_selector("text=was changed successfully")
        app.refresh_from_db()
        assert not app.is_enabled

        page.click("a.historylink")
        page.wait_for_selector("table#history")
        events = page.locator("tr.history-event td.history-what").all_text_contents()
        assert "disabled" in events and "secret generated" in events
        history_text = page.text_content("table#history")
        assert "is enabled: yes → no" in history_text
        assert plain not in page.content()
    finally:
        page.close()


def _sign_in(page, live_server):
    factories.StaffUserFactory(username="admin")
    page.goto(f"{live_server.url}/admin/login/?next=/admin/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", factories.DEFAULT_PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_scope_choices_are_one_line_each(live_server, browser):
    # Each scope is a checkbox with its meaning; squeezed into the 160 px of a field label
    # they wrapped into columns of 3 to 5 lines, the riskiest choice of the form the hardest
    # to read.
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15000)
    try:
        _sign_in(page, live_server)
        page.goto(f"{live_server.url}/admin/registry/trustedapplication/add/")
        label = page.locator("label[for=id_scope_2]")  # sec — Access the security infrastructure…
        assert "sec — Access the security infrastructure" in label.text_content()
        box = label.bounding_box()
        assert box is not None
        line_height = page.evaluate(
            "() => parseFloat(getComputedStyle(document.querySelector('label[for=id_scope_2]'))"
            ".lineHeight) || 20"
        )
        assert box["height"] < 1.8 * line_height, box
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_long_uri_or_name_does_not_push_the_list_columns_out_of_sight(live_server, browser):
    # URIs and names may be 200 characters without a space; unwrapped, one such record
    # widened the list so that every column after it (client type, enabled, scope, …) was
    # off screen for every row.
    factories.TrustedApplicationFactory(
        client_id="long.example.com/" + "x" * 183, name="VeryLongNameWithoutSpaces" * 8
    )
    factories.TrustedApplicationFactory(client_id="short.example.com/app")
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.set_default_timeout(15000)
    try:
        _sign_in(page, live_server)
        page.goto(f"{live_server.url}/admin/registry/trustedapplication/")
        widths = page.evaluate(
            "() => { const r = document.querySelector('div.results');"
            " return [r.scrollWidth, r.clientWidth]; }"
        )
        assert widths[0] <= widths[1], widths
        assert page.locator("#result_list th.column-last_used_at").is_visible()
    finally:
        page.close()

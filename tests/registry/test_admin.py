"""The trusted-application admin, through the Django test client."""

import datetime as dt
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from connector import keys
from tests import factories
from trustregistry.common import clock
from trustregistry.registry import secrets, services
from trustregistry.registry.models import TrustedApplication

CHANGELIST = reverse("admin:registry_trustedapplication_changelist")
CONFIRM = "confirm_end_secrets"  # the field the question page posts


def _answer(page) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What the question page (secrets that would end) posts back when its Yes is pressed:
    the answer and the ids of the secrets it listed."""
    text = page if isinstance(page, str) else page.content.decode()
    listed = re.search(r'name="confirmed_secrets" value="([0-9,]*)"', text)
    assert listed is not None, "not the question page"
    return {CONFIRM: "yes", "confirmed_secrets": listed.group(1)}


ADD = reverse("admin:registry_trustedapplication_add")


def change_url(app):
    return reverse("admin:registry_trustedapplication_change", args=[app.pk])


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def form_data(**overrides):
    data = {
        "client_id": "shop.example.com/app",
        "is_enabled": "on",
        "client_type": "confidential",
        "login_urls": "https://shop.example.com/cb, https://shop.example.com/cb2",
        "logout_urls": "",
        "scope": ["update"],
        "impersonate_internal_allowed": "on",
        "system_user": "",
        "system_user_login_url": "",
        "connector_url": "",
        "public_keys": "",
        "new_secret_hash": "",
        "new_secret_expires": "",
        "names-TOTAL_FORMS": "2",
        "names-INITIAL_FORMS": "0",
        "names-MIN_NUM_FORMS": "0",
        "names-MAX_NUM_FORMS": "2",
        "names-0-language": "en",
        "names-0-name": "Shop",
        "names-1-language": "bg",
        "names-1-name": "Магазин",
        "secrets-TOTAL_FORMS": "0",
        "secrets-INITIAL_FORMS": "0",
        "secrets-MIN_NUM_FORMS": "0",
        "secrets-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def errors_of(response):
    form = response.context["adminform"].form
    inline_errors = [fs.non_form_errors() for fs in response.context["inline_admin_formsets"]]
    return form.errors, [str(e) for e in inline_errors if e]


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


@pytest.mark.django_db
def test_add_record_with_two_names_and_two_login_urls(admin_client, staff_user):
    response = admin_client.post(ADD, form_data())
    assert response.status_code == 302, errors_of(response)
    app = TrustedApplication.objects.get(client_id="shop.example.com/app")
    assert app.login_urls == ["https://shop.example.com/cb", "https://shop.example.com/cb2"]
    assert app.localized_name("bg") == "Магазин" and app.localized_name("en") == "Shop"
    assert app.scope == "update"
    assert app.history.first().history_user == staff_user


@pytest.mark.django_db
def test_add_page_offers_one_name_row_per_language(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert 'name="names-0-language"' in page and 'name="names-1-language"' in page
    assert re.search(r'name="names-1-language".*?<option value="bg" selected>', page, re.S)
    # every fieldset of the record's anatomy
    for title in (
        "Identity",
        "Client type and secrets",
        "Basic authentication",
        "Impersonation",
        "URLs",
        "Scope",
        "System user",
        "Connector",
    ):
        assert f">{title}<" in page
    # scopes come with their meaning
    assert "sec — Access the security infrastructure" in page


@pytest.mark.django_db
def test_change_form_labels_are_capitalised_alike(admin_client):
    # Django capitalises a model field's verbose name ("System user:"), not the label of a
    # field the form declares: "system user login URL:" stood right below it.
    page = admin_client.get(ADD).content.decode()
    labels = re.findall(r'<label[^>]*for="id_[a-z_]+"[^>]*>([^<]+):</label>', page)
    assert "System user login URL" in labels and "Login URLs" in labels, labels
    assert [label for label in labels if label[0].islower()] == []


@pytest.mark.django_db
def test_default_language_name_is_required(admin_client):
    response = admin_client.post(ADD, form_data(**{"names-0-name": ""}))
    assert response.status_code == 200
    assert "default language" in " ".join(errors_of(response)[1])
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_add_with_only_the_default_language_name(admin_client):
    # What the browser posts when the Bulgarian row, offered with its language preselected,
    # is left empty: the record is saved with its English name alone.
    response = admin_client.post(ADD, form_data(**{"names-1-name": ""}))
    assert response.status_code == 302, errors_of(response)
    app = TrustedApplication.objects.get(client_id="shop.example.com/app")
    assert list(app.names.values_list("language", "name")) == [("en", "Shop")]


@pytest.mark.django_db
def test_record_named_in_one_language_saves_with_the_other_row_left_empty(admin_client):
    # A record named in the default language alone (a marketplace install, an import): its
    # change page offers an empty Bulgarian row, which must not block every later save.
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update")
    assert list(app.names.values_list("language", flat=True)) == ["en"]
    data = _change_form(app, is_enabled=None)
    data.update({"names-TOTAL_FORMS": "2", "names-1-language": "bg", "names-1-name": ""})
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 302, errors_of(response)
    app.refresh_from_db()
    assert not app.is_enabled and app.names.count() == 1


@pytest.mark.django_db
def test_bad_login_url_is_named(admin_client):
    response = admin_client.post(
        ADD, form_data(login_urls="https://shop.example.com/cb, http://evil.example.com/cb")
    )
    assert response.status_code == 200
    assert "http://evil.example.com/cb" in str(errors_of(response)[0]["login_urls"])


@pytest.mark.django_db
@pytest.mark.parametrize(
    "field,value,needle",
    [
        ("client_id", "has space/app", "1-200 characters"),
        ("connector_url", "http://connector.example.com/", "https"),
        ("public_keys", "-----BEGIN PUBLIC KEY-----\ngarbage\n-----END PUBLIC KEY-----", "PEM"),
        ("public_keys", "hello", "Unrecognised key format"),
        ("new_secret_hash", "DEMO", "base64(sha256"),
        ("logout_urls", "https://shop.example.com/#frag", "fragment"),
    ],
)
def test_bad_values_are_refused_with_a_clear_message(admin_client, field, value, needle):
    response = admin_client.post(ADD, form_data(**{field: value}))
    assert response.status_code == 200
    assert needle in str(errors_of(response)[0][field])
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_pasted_hex_hash_is_stored_as_base64_and_never_shown_in_full(admin_client, interop_json):
    vector = interop_json("secret_hash_vector.json")
    hex_hash = secrets.hash_secret_hex(vector["secret"])
    response = admin_client.post(ADD, form_data(new_secret_hash=hex_hash))
    assert response.status_code == 302, errors_of(response)
    app = TrustedApplication.objects.get()
    assert app.secrets.get().secret_hash == vector["ApplicationSecretHash"]
    page = admin_client.get(change_url(app)).content.decode()
    assert vector["ApplicationSecretHash"] not in page and "T/AGym…" in page


@pytest.mark.django_db
def test_public_keys_in_every_format_are_normalised_with_thumbprints(admin_client, interop):
    xml_private = (interop / "connector-samples_LocalhostPrivateKey.xml").read_text()
    public_xml = keys.rsa_public_key_to_xml(keys.load_private_key(xml_private).public_key())
    response = admin_client.post(ADD, form_data(public_keys=public_xml))
    assert response.status_code == 302, errors_of(response)
    app = TrustedApplication.objects.get()
    [jwk] = app.public_keys
    assert jwk["kid"] == keys.jwk_thumbprint(jwk)
    assert jwk["kid"] in admin_client.get(change_url(app)).content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "-----BEGIN PUBLIC KEY-----\nAA\u00e9\n-----END PUBLIC KEY-----",
        '{"kty": "RSA", "n": 123, "e": "AQAB"}',
        "[" * 30000 + "]" * 30000,
    ],
)
def test_unreadable_public_keys_are_a_form_error_not_a_crash(admin_client, text):
    response = admin_client.post(ADD, form_data(public_keys=text))
    assert response.status_code == 200
    assert "public_keys" in errors_of(response)[0]
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_sec_needs_a_confirmation_when_newly_granted(admin_client):
    response = admin_client.post(ADD, form_data(scope=["update", "sec"]))
    assert response.status_code == 200
    assert "confirm_sec" in errors_of(response)[0]
    response = admin_client.post(ADD, form_data(scope=["update", "sec"], confirm_sec="on"))
    assert response.status_code == 302
    app = TrustedApplication.objects.get()
    assert app.scope == "update sec"
    assert "sec trusted (confirmed)" in app.history.first().history_change_reason


@pytest.mark.django_db
def test_sec_already_trusted_needs_no_new_confirmation(admin_client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update sec")
    data = form_data(
        scope=["update", "sec"],
        **{"names-TOTAL_FORMS": "1", "names-1-language": None, "names-1-name": None},
    )
    data.update(
        {
            "names-INITIAL_FORMS": "1",
            "names-0-id": str(app.names.get().pk),
            "names-0-application": str(app.pk),
        }
    )
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 302, errors_of(response)


def _change_form(app, **overrides):
    data = form_data(
        **{"names-TOTAL_FORMS": "1", "names-1-language": None, "names-1-name": None},
        **overrides,
    )
    data.update(
        {
            "names-INITIAL_FORMS": "1",
            "names-0-id": str(app.names.get().pk),
            "names-0-application": str(app.pk),
        }
    )
    return data


@pytest.mark.django_db
def test_sec_granted_on_a_change_is_noted_as_confirmed_in_the_history(admin_client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update")
    response = admin_client.post(
        change_url(app), _change_form(app, scope=["update", "sec"], confirm_sec="on")
    )
    assert response.status_code == 302, errors_of(response)
    app.refresh_from_db()
    assert app.scope == "update sec"
    assert "sec trusted (confirmed)" in app.history.first().history_change_reason


@pytest.mark.django_db
def test_the_application_uri_is_chosen_once(admin_client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update")
    page = admin_client.get(change_url(app)).content.decode()
    assert 'name="client_id"' not in page and "shop.example.com/app" in page
    assert 'name="client_id"' in admin_client.get(ADD).content.decode()
    response = admin_client.post(
        change_url(app), _change_form(app, client_id="other.example.com/app", scope=["update"])
    )
    assert response.status_code == 302, errors_of(response)
    app.refresh_from_db()
    assert app.client_id == "shop.example.com/app"
    assert not TrustedApplication.objects.filter(client_id="other.example.com/app").exists()


@pytest.mark.django_db
def test_pasting_a_hash_the_record_holds_is_a_form_error_and_keeps_both_secrets(admin_client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", secret="old")
    services.secret_add_hash(application=app, secret_hash=secrets.hash_secret("new"))
    response = admin_client.post(
        change_url(app), _change_form(app, new_secret_hash=secrets.hash_secret_hex("new"))
    )
    assert response.status_code == 200
    assert "already on the record" in str(errors_of(response)[0]["new_secret_hash"])
    assert services.secret_verify(application=app, secret="old")
    assert app.secrets.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["history/", "test-handshake/", "generate-secret/", "rotate-secret/"],
)
def test_an_id_that_is_no_id_is_404_on_every_record_page(admin_client, path):
    url = f"/admin/registry/trustedapplication/abc/{path}"
    response = admin_client.get(url) if path == "history/" else admin_client.post(url)
    assert response.status_code == 404


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides,warning",
    [
        (
            {"impersonate_internal_allowed": None, "impersonate_community_allowed": "on"},
            "Only community",
        ),
        ({"scope": ["sec"], "confirm_sec": "on"}, "impersonates users and is trusted with 'sec'"),
        ({"client_id": "MYDEMOCLIENT"}, "not domain-based"),
        # A homograph of shop.example.com (Cyrillic о): named by the host browsers go to.
        (
            {"login_urls": "https://sh\u043ep.example.com/cb"},
            "browsers go to xn--shp-ted.example.com",
        ),
    ],
)
def test_risky_settings_are_saved_with_a_warning(admin_client, overrides, warning):
    response = admin_client.post(ADD, form_data(**overrides))
    assert response.status_code == 302, errors_of(response)
    assert any(warning in m for m in messages_of(response))
    assert TrustedApplication.objects.count() == 1


@pytest.mark.django_db
def test_a_uri_differing_only_in_case_from_another_record_is_added_with_a_warning(admin_client):
    data = form_data()
    uri = data["client_id"]
    factories.TrustedApplicationFactory(client_id=uri.upper())
    factories.TrustedApplicationFactory(client_id="unrelated.example.com/app")
    response = admin_client.post(ADD, data)
    assert response.status_code == 302, errors_of(response)
    admin_client.get(response["Location"])  # shows (and so consumes) the messages
    [warning] = [m for m in messages_of(response) if "but for letter case" in m]
    assert warning.startswith(f"The record {uri.upper()} has the same URI but for letter case.")
    assert f"so {uri} is another application" in warning
    assert TrustedApplication.objects.filter(client_id=uri).exists()
    # saving it again later warns no more: the URI was chosen when it was added
    app = TrustedApplication.objects.get(client_id=uri)
    again = admin_client.post(change_url(app), change_data(app))
    assert again.status_code == 302, errors_of(again)
    assert not [m for m in messages_of(again) if "but for letter case" in m]


def change_data(app, **overrides):
    """What the change page of `app` posts when saved as shown (its names as rows)."""
    names = list(app.names.order_by("language"))
    data = form_data(
        **{
            "names-TOTAL_FORMS": str(len(names)),
            "names-INITIAL_FORMS": str(len(names)),
            "names-0-language": None,
            "names-0-name": None,
            "names-1-language": None,
            "names-1-name": None,
        }
    )
    for i, name in enumerate(names):
        data.update(
            {
                f"names-{i}-id": str(name.pk),
                f"names-{i}-application": str(app.pk),
                f"names-{i}-language": name.language,
                f"names-{i}-name": name.name,
            }
        )
    data.pop("client_id")
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_a_name_added_meanwhile_in_that_language_is_a_form_error_not_a_500(admin_client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", name="Shop")
    # The page was opened with an empty Bulgarian row; another admin names it meanwhile.
    data = change_data(
        app,
        **{
            "names-TOTAL_FORMS": "2",
            "names-1-application": str(app.pk),
            "names-1-language": "bg",
            "names-1-name": "Магазин",
        },
    )
    app.names.create(language="bg", name="Другият")
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 200
    assert "A name in bg was added elsewhere since this page was shown." in str(errors_of(response))
    assert app.names.get(language="bg").name == "Другият"


@pytest.mark.django_db
def test_a_name_replaced_in_one_save_is_no_conflict(admin_client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", name="Shop")
    old = app.names.create(language="bg", name="Стар")
    data = change_data(
        app,
        **{
            "names-TOTAL_FORMS": "3",
            "names-0-DELETE": "on",  # bg, ordered first
            "names-2-application": str(app.pk),
            "names-2-language": "bg",
            "names-2-name": "Нов",
        },
    )
    assert data["names-0-id"] == str(old.pk)
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 302, errors_of(response)
    assert app.names.get(language="bg").name == "Нов"


@pytest.mark.django_db
def test_a_public_record_may_hold_no_secret(admin_client):
    # SPEC section 2, as the API and the marketplace apply it.
    response = admin_client.post(
        ADD, form_data(client_type="public", new_secret_hash=secrets.hash_secret("x"))
    )
    assert response.status_code == 200
    assert "may hold none" in str(errors_of(response)[0]["new_secret_hash"])
    assert not TrustedApplication.objects.exists()

    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", secret="old")
    secret_id = str(app.secrets.get().pk)
    inline = {
        "secrets-TOTAL_FORMS": "1",
        "secrets-INITIAL_FORMS": "1",
        "secrets-MIN_NUM_FORMS": "0",
        "secrets-MAX_NUM_FORMS": "1000",
        "secrets-0-id": secret_id,
        "secrets-0-application": str(app.pk),
    }
    turned_public = _change_form(app, client_type="public", **inline)
    response = admin_client.post(change_url(app), turned_public)
    assert response.status_code == 200
    assert "may hold no secret: tick" in " ".join(errors_of(response)[1])
    app.refresh_from_db()
    assert app.client_type == "confidential" and app.secrets.count() == 1
    # with its secret ticked for deletion, it may turn public
    response = admin_client.post(change_url(app), {**turned_public, "secrets-0-DELETE": "on"})
    assert response.status_code == 302, errors_of(response)
    app.refresh_from_db()
    assert app.client_type == "public" and not app.secrets.exists()
    # and no secret is generated for it
    for path in ("generate-secret/", "rotate-secret/"):
        response = admin_client.post(f"/admin/registry/trustedapplication/{app.pk}/{path}")
        assert response.status_code == 302
        assert any("may hold no secret" in m for m in messages_of(response))
    assert not app.secrets.exists()


@pytest.mark.django_db
def test_a_login_url_with_a_comma_survives_the_admin(admin_client):
    # Stored through the API (a list), shown comma-joined, saved again unchanged.
    urls = ["https://shop.example.com/cb?a=1,2", "https://shop.example.com/other"]
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", login_urls=urls)
    page = admin_client.get(change_url(app))
    shown = page.context["adminform"].form["login_urls"].value()
    shown_text = page.context["adminform"].form.fields["login_urls"].prepare_value(shown)
    response = admin_client.post(change_url(app), _change_form(app, login_urls=shown_text))
    assert response.status_code == 302, errors_of(response)
    app.refresh_from_db()
    assert app.login_urls == urls


@pytest.mark.django_db
@pytest.mark.parametrize(
    "overrides,message",
    [
        ({"new_secret_expires": "2099-01-01 00:00"}, "paste its hash too"),
        (
            {"new_secret_hash": secrets.hash_secret("x"), "new_secret_expires": "2001-01-01 00:00"},
            "must be in the future",
        ),
    ],
)
def test_a_secret_expiry_needs_a_hash_and_a_future(admin_client, overrides, message):
    response = admin_client.post(ADD, form_data(**overrides))
    assert response.status_code == 200
    assert message in str(errors_of(response)[0]["new_secret_expires"])
    assert not TrustedApplication.objects.exists()


@pytest.mark.django_db
def test_safe_record_gets_no_warning(admin_client):
    response = admin_client.post(ADD, form_data())
    assert not [m for m in get_messages(response.wsgi_request) if m.level_tag == "warning"]


@pytest.mark.django_db
def test_list_page_shows_columns_without_per_row_queries(
    admin_client, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(10):
        factories.TrustedApplicationFactory(
            client_id=f"list{n:02d}.example.com/app", name=f"List {n}"
        )
    with CaptureQueriesContext(connection) as ten_rows:
        response = admin_client.get(CHANGELIST)
    page = response.content.decode()
    assert "list00.example.com/app" in page and "List 0" in page
    for n in range(10, 60):
        factories.TrustedApplicationFactory(client_id=f"list{n:02d}.example.com/app")
    with django_assert_max_num_queries(len(ten_rows)):  # 50 rows cost what 10 rows cost
        response = admin_client.get(CHANGELIST)
    assert response.content.decode().count('class="action-select"') == 50
    with django_assert_max_num_queries(len(ten_rows)):
        admin_client.get(CHANGELIST, {"q": "list", "is_enabled__exact": "1"})


@pytest.mark.django_db
def test_list_names_follow_the_request_language(admin_client):
    app = factories.TrustedApplicationFactory(client_id="lang.example.com/app", name="English name")
    app.names.create(language="bg", name="Българско име")
    page_bg = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="bg").content.decode()
    page_en = admin_client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Българско име" in page_bg and "Българско име" not in page_en


@pytest.mark.django_db
def test_search_and_filters(admin_client):
    factories.TrustedApplicationFactory(
        client_id="alpha.example.com/app", name="Alpha", scope="update sec"
    )
    factories.PublicApplicationFactory(
        client_id="beta.example.com/app", name="Beta", scope="update"
    )
    factories.TrustedApplicationFactory(
        client_id="gamma.example.com/app", name="Gamma", is_enabled=False
    )

    def uris(**params):
        page = admin_client.get(CHANGELIST, params).content.decode()
        return sorted(set(re.findall(r"(alpha|beta|gamma)\.example\.com/app</a>", page)))

    assert uris(q="alph") == ["alpha"]
    assert uris(q="Beta") == ["beta"]
    assert uris(client_type__exact="public") == ["beta"]
    assert uris(is_enabled__exact="0") == ["gamma"]
    assert uris(scope_has="sec") == ["alpha"]


@pytest.mark.django_db
def test_disable_and_enable_actions(admin_client, staff_user):
    app = factories.TrustedApplicationFactory()
    admin_client.post(CHANGELIST, {"action": "disable", "_selected_action": [app.pk]})
    app.refresh_from_db()
    assert not app.is_enabled
    record = app.history.first()
    assert record.history_change_reason == "disabled" and record.history_user == staff_user
    admin_client.post(CHANGELIST, {"action": "enable", "_selected_action": [app.pk]})
    app.refresh_from_db()
    assert app.is_enabled and app.history.first().history_change_reason == "enabled"


@pytest.mark.django_db
def test_generate_secret_action_shows_it_once_and_stores_only_its_hash(admin_client):
    app = factories.TrustedApplicationFactory(secret="old-secret")
    selection = {"action": "generate_secret", "_selected_action": [app.pk]}
    asked = admin_client.post(CHANGELIST, selection)
    response = admin_client.post(CHANGELIST, {**selection, **_answer(asked)})
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    plain = re.search(
        r'<code class="new-secret">([A-Za-z0-9]+)</code>', response.content.decode()
    ).group(1)
    [stored] = app.secrets.all()
    assert stored.secret_hash == secrets.hash_secret(plain)  # the old one is gone
    assert plain not in admin_client.get(change_url(app)).content.decode()
    assert (
        plain
        not in admin_client.get(
            reverse("admin:registry_trustedapplication_history", args=[app.pk])
        ).content.decode()
    )


@pytest.mark.django_db
def test_rotate_keeps_the_newest_secret_beside_the_new_one(admin_client):
    app = factories.TrustedApplicationFactory(secret="first")
    rotate = reverse("admin:registry_trustedapplication_rotate_secret", args=[app.pk])
    first = admin_client.post(rotate).content.decode()  # ends no secret: nothing asked
    second_plain = re.search(r'class="new-secret">(\w+)<', first).group(1)
    assert {s.secret_hash for s in app.secrets.all()} == {
        secrets.hash_secret("first"),
        secrets.hash_secret(second_plain),
    }
    asked = admin_client.post(rotate).content.decode()  # would end "first": asked first
    assert 'id="ending-secrets"' in asked and "new-secret" not in asked
    assert app.secrets.count() == 2
    third_plain = re.search(
        r'class="new-secret">(\w+)<', admin_client.post(rotate, _answer(asked)).content.decode()
    ).group(1)
    assert {s.secret_hash for s in app.secrets.all()} == {
        secrets.hash_secret(second_plain),
        secrets.hash_secret(third_plain),
    }
    assert app.history.first().history_change_reason == "secret rotated"


def _ending_rows(page: str) -> list[str]:
    table = page.split('id="ending-secrets"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<tr>\s*<td><a href="[^"]+">([^<]+)</a>', table)


@pytest.mark.django_db
def test_generate_secret_asks_before_live_secrets_end_and_changes_nothing_meanwhile(
    admin_client,
):
    app = factories.TrustedApplicationFactory(client_id="ask.example.com/app", secret="live")
    button = reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    asked = admin_client.post(button)
    page = asked.content.decode()
    assert asked.status_code == 200 and "new-secret" not in page
    assert _ending_rows(page) == ["ask.example.com/app"]
    assert "the secrets below stop working at once" in page
    assert f'name="{CONFIRM}" value="yes"' in page and 'name="action"' not in page
    assert f'href="{change_url(app)}" class="button cancel-link"' in page
    assert app.secrets.get().secret_hash == secrets.hash_secret("live")
    assert not app.history.filter(history_change_reason="secret generated").exists()

    done = admin_client.post(button, _answer(page)).content.decode()
    plain = re.search(r'class="new-secret">(\w+)<', done).group(1)
    assert app.secrets.get().secret_hash == secrets.hash_secret(plain)


@pytest.mark.django_db
def test_nothing_is_asked_when_no_live_secret_ends(admin_client):
    app = factories.TrustedApplicationFactory()
    app.secrets.create(
        secret_hash=secrets.hash_secret("expired"), expires=clock.now() - dt.timedelta(days=1)
    )
    button = reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    assert 'class="new-secret"' in admin_client.post(button).content.decode()
    assert app.secrets.count() == 1


@pytest.mark.django_db
def test_the_list_action_asks_once_for_every_record_and_sends_the_selection_back(admin_client):
    live = factories.TrustedApplicationFactory(client_id="live.example.com/app", secret="s1")
    fresh = factories.TrustedApplicationFactory(client_id="fresh.example.com/app")
    public = factories.TrustedApplicationFactory(
        client_id="public.example.com/app", client_type="public"
    )
    selection = {"action": "generate_secret", "_selected_action": [live.pk, fresh.pk, public.pk]}
    page = admin_client.post(CHANGELIST, selection).content.decode()
    assert _ending_rows(page) == ["live.example.com/app"]
    assert not fresh.secrets.exists()
    for pk in (live.pk, fresh.pk, public.pk):
        assert f'name="_selected_action" value="{pk}"' in page
    assert 'name="action" value="generate_secret"' in page

    done = admin_client.post(CHANGELIST, {**selection, **_answer(page)}).content.decode()
    assert done.count('class="new-secret"') == 2
    assert live.secrets.count() == 1 and fresh.secrets.count() == 1
    assert not live.secrets.filter(secret_hash=secrets.hash_secret("s1")).exists()
    assert not public.secrets.exists()


@pytest.mark.django_db
def test_secret_buttons_need_post(admin_client):
    app = factories.TrustedApplicationFactory()
    assert (
        admin_client.get(
            reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
        ).status_code
        == 405
    )


@pytest.mark.django_db
def test_secret_buttons_need_change_permission(client):
    viewer = factories.UserFactory(username="viewer", is_staff=True)
    from django.contrib.auth.models import Permission

    viewer.user_permissions.add(Permission.objects.get(codename="view_trustedapplication"))
    client.force_login(viewer)
    app = factories.TrustedApplicationFactory(secret="keep")
    response = client.post(
        reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    )
    assert response.status_code == 403
    assert app.secrets.get().secret_hash == secrets.hash_secret("keep")


@pytest.mark.django_db
def test_history_page_shows_who_when_and_what_changed(admin_client, staff_user):
    app = factories.TrustedApplicationFactory(client_id="hist.example.com/app", scope="update")
    admin_client.post(CHANGELIST, {"action": "disable", "_selected_action": [app.pk]})
    admin_client.post(reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk]))
    page = admin_client.get(
        reverse("admin:registry_trustedapplication_history", args=[app.pk])
    ).content.decode()
    assert "disabled" in page and "is enabled</strong>: yes &rarr; no" in page
    assert "secret generated" in page and "secret added" in page
    assert staff_user.username in page
    for s in app.secrets.all():
        assert s.secret_hash not in page


@pytest.mark.django_db
def test_test_handshake_button_reports_the_outcome(admin_client, monkeypatch):
    from dataclasses import dataclass

    calls = []

    @dataclass
    class Result:
        ok: bool
        message: str

    def fake_run(*, application, actor):
        calls.append((application.pk, actor.username))
        return Result(ok=False, message="connector unreachable")

    import trustregistry.aas.services as aas_services

    monkeypatch.setattr(aas_services, "run_handshake_test", fake_run)
    app = factories.TrustedApplicationFactory(
        connector_url="https://connector.example.com/authenticate"
    )
    url = reverse("admin:registry_trustedapplication_test_handshake", args=[app.pk])
    response = admin_client.post(url)
    assert response.status_code == 302 and calls == [(app.pk, "admin")]
    assert any("connector unreachable" in m for m in messages_of(response))
    assert "Test handshake" in admin_client.get(change_url(app)).content.decode()


@pytest.mark.django_db
def test_dot_application_admin_is_not_offered(admin_client):
    page = admin_client.get(reverse("admin:index")).content.decode()
    assert "/admin/oauth2_provider/application/" not in page
    assert "/admin/registry/trustedapplication/" in page


@pytest.mark.django_db
def test_records_are_disabled_not_deleted(admin_client):
    app = factories.TrustedApplicationFactory()
    delete = reverse("admin:registry_trustedapplication_delete", args=[app.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert TrustedApplication.objects.filter(pk=app.pk).exists()
    assert "delete_selected" not in admin_client.get(CHANGELIST).content.decode()


@pytest.mark.django_db
def test_disabling_in_the_form_revokes_live_tokens(admin_client):
    import datetime as dt

    from oauth2_provider.models import get_access_token_model

    from trustregistry.common import clock

    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app")
    token = get_access_token_model().objects.create(
        application=app, token="x" * 40, expires=clock.now() + dt.timedelta(hours=1)
    )
    data = form_data(
        is_enabled=None,
        **{"names-TOTAL_FORMS": "1", "names-1-language": None, "names-1-name": None},
    )
    data.update({"names-INITIAL_FORMS": "1", "names-0-id": str(app.names.get().pk)})
    data["names-0-application"] = str(app.pk)
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 302, errors_of(response)
    app.refresh_from_db()
    token.refresh_from_db()
    assert not app.is_enabled and token.expires <= clock.now()
    assert app.history.first().history_change_reason.startswith("disabled")


@pytest.mark.django_db
def test_a_change_form_shown_before_a_disable_does_not_undo_it(admin_client):
    """The form carries is_enabled as it was shown; saved after a disable committed meanwhile
    (by the REST API, say), it is refused rather than enabling the record again."""
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update")
    shown = admin_client.get(change_url(app)).context["adminform"].form["tr_shown"].value()
    data = _change_form(app, scope=["update"], system_user_login_url="https://a.example/x")
    data["tr_shown"] = shown  # is_enabled "on", as the page showed it
    services.application_set_enabled(application=app, enabled=False)
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 200
    assert "changed elsewhere" in response.content.decode()
    app.refresh_from_db()
    assert not app.is_enabled and app.system_user_login_url == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    "elsewhere",
    [
        lambda app: services.application_update(application=app, scope="update crm"),
        lambda app: services.secret_generate(application=app),  # a rotation
        lambda app: type(app).objects.filter(pk=app.pk).update(basic_auth_allowed=True),
    ],
)
def test_any_guarded_change_made_elsewhere_refuses_the_save(admin_client, elsewhere):
    app = factories.TrustedApplicationFactory(
        client_id="shop.example.com/app", scope="update", secret="s1"
    )
    shown = admin_client.get(change_url(app)).context["adminform"].form["tr_shown"].value()
    elsewhere(app)
    data = _change_form(app, scope=["update"], system_user_login_url="https://a.example/x")
    data["tr_shown"] = shown
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 200 and "changed elsewhere" in response.content.decode()
    app.refresh_from_db()
    assert app.system_user_login_url == ""


@pytest.mark.django_db
def test_a_change_the_administrator_made_is_saved(admin_client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update")
    shown = admin_client.get(change_url(app)).context["adminform"].form["tr_shown"].value()
    data = _change_form(app, scope=["update"], is_enabled=None)  # unticked on the page
    data["tr_shown"] = shown
    response = admin_client.post(change_url(app), data)
    assert response.status_code == 302, errors_of(response)
    app.refresh_from_db()
    assert not app.is_enabled
    assert app.history.first().history_change_reason.startswith("disabled")


@pytest.mark.django_db
@pytest.mark.parametrize("shown", ["not json", "[" * 100_000, '{"is_enabled": [1]}', "[]"])
def test_a_mangled_shown_state_is_no_500(admin_client, shown):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", scope="update")
    data = _change_form(app, scope=["update"])
    data["tr_shown"] = shown
    response = admin_client.post(change_url(app), data)
    assert response.status_code in (200, 302)


@pytest.mark.django_db
def test_the_names_follow_the_uri_and_the_secrets_the_client_type(admin_client):
    app = factories.TrustedApplicationFactory(secret="s")
    page = admin_client.get(change_url(app)).content.decode()
    order = [
        page.index(marker)
        for marker in (
            "field-client_id",
            'id="names-group"',
            "field-client_type",
            'id="secrets-group"',
            "field-basic_auth_allowed",
        )
    ]
    assert order == sorted(order)
    assert page.count('id="names-group"') == 1 and page.count('id="secrets-group"') == 1


@pytest.mark.django_db
def test_the_add_page_leaves_out_what_only_an_existing_record_has(admin_client):
    page = admin_client.get(ADD).content.decode()
    for field in ("created", "updated", "last_used_at", "uninstalled_at", "source"):
        assert f"field-{field}" not in page
    assert "field-public_key_thumbprints" not in page and "field-connector_url" in page
    assert 'id="secrets-group"' not in page and 'id="names-group"' in page
    app = factories.TrustedApplicationFactory()
    page = admin_client.get(change_url(app)).content.decode()
    for field in ("created", "last_used_at", "source", "public_key_thumbprints"):
        assert f"field-{field}" in page


@pytest.mark.django_db
def test_new_secrets_wrap_in_their_cells_at_200_percent_zoom(admin_client):
    # A secret and its hash have no space to wrap at; at 200% zoom (a 640px window) the table
    # was 900px wide and the page scrolled sideways, the secret partly out of sight.
    app = factories.TrustedApplicationFactory()
    page = admin_client.post(
        reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    ).content.decode()
    assert 'class="new-secret"' in page
    assert re.search(r"#new-secrets td \{ overflow-wrap: anywhere; \}", page)


@pytest.mark.django_db
def test_each_new_secret_has_a_copy_button_beside_it_in_english_and_bulgarian(admin_client):
    # Selecting the text of a cell takes a mouse (or caret browsing): from the keyboard alone
    # the secret, shown once, could not be copied. Each row's button copies its own secret.
    first, second = factories.TrustedApplicationFactory.create_batch(2)
    selection = {"action": "generate_secret", "_selected_action": [first.pk, second.pk]}
    for language, label, copied in (
        ("en", "Copy the secret", "Copied."),
        ("bg", "Копиране на тайната", "Копирано."),
    ):
        # The first round ends no secret and is answered at once; the second asks first.
        page = admin_client.post(
            CHANGELIST, selection, HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        if "confirmed_secrets" in page:
            page = admin_client.post(
                CHANGELIST, {**selection, **_answer(page)}, HTTP_ACCEPT_LANGUAGE=language
            ).content.decode()
        cells = re.findall(
            r'<td><code class="new-secret">\w+</code>\s*'
            r'<button type="button" class="button copy-secret">([^<]+)</button>\s*'
            r'<span class="copy-status" role="status"></span></td>',
            page,
        )
        assert cells == [label, label]
        assert "navigator.clipboard.writeText" in page and f'"{copied}"' in page


@pytest.mark.django_db
def test_each_control_of_the_inlines_has_an_accessible_name(admin_client):
    # Django's tabular inline heads its columns but ties no label to the cells' controls.
    app = factories.TrustedApplicationFactory(name="Shop", secret="s")
    page = admin_client.get(change_url(app)).content.decode()
    assert re.search(r'<select name="names-0-language"[^>]*aria-label="Language"', page)
    assert re.search(r'<input type="text" name="names-0-name"[^>]*aria-label="Name"', page)
    assert re.search(
        r'<input type="checkbox" name="secrets-0-DELETE"[^>]*aria-label="Delete"', page
    )
    bg = admin_client.get(change_url(app), HTTP_ACCEPT_LANGUAGE="bg").content.decode()
    assert re.search(r'name="names-0-language"[^>]*aria-label="Език"', bg)


# A record's names and secrets are parts of it: the record's own permissions govern them, not
# the permissions of the ApplicationName and ApplicationSecret models, which nobody is given.


def _staff_holding(*codenames):
    from django.contrib.auth.models import Permission

    user = factories.UserFactory(username="-".join(codenames), is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return type(user).objects.get(pk=user.pk)  # without the cached (empty) permissions


@pytest.mark.django_db
def test_the_add_permission_alone_adds_a_record_with_its_names(client):
    client.force_login(_staff_holding("add_trustedapplication"))
    assert "names-TOTAL_FORMS" in client.get(ADD).content.decode()
    response = client.post(ADD, form_data(**{"names-0-name": "", "names-1-name": ""}))
    assert response.status_code == 200  # the default language's name is required
    assert not TrustedApplication.objects.exists()
    response = client.post(ADD, form_data())
    assert response.status_code == 302, errors_of(response)
    app = TrustedApplication.objects.get()
    assert dict(app.names.values_list("language", "name")) == {"en": "Shop", "bg": "Магазин"}


@pytest.mark.django_db
def test_the_change_permission_alone_renames_and_revokes_secrets(client):
    app = factories.TrustedApplicationFactory(client_id="shop.example.com/app", secret="old")
    client.force_login(_staff_holding("change_trustedapplication"))
    page = client.get(change_url(app)).content.decode()
    assert "names-TOTAL_FORMS" in page and "secrets-TOTAL_FORMS" in page
    secret_revoked = {
        "secrets-TOTAL_FORMS": "1",
        "secrets-INITIAL_FORMS": "1",
        "secrets-0-id": str(app.secrets.get().pk),
        "secrets-0-application": str(app.pk),
        "secrets-0-DELETE": "on",
    }
    response = client.post(
        change_url(app), _change_form(app, **{"names-0-name": "Renamed"}, **secret_revoked)
    )
    assert response.status_code == 302, errors_of(response)
    assert app.names.get().name == "Renamed"
    assert not app.secrets.exists()


@pytest.mark.django_db
def test_the_view_permission_alone_shows_names_and_secrets_read_only(client):
    app = factories.TrustedApplicationFactory(
        client_id="shop.example.com/app", name="The Shop", secret="old"
    )
    client.force_login(_staff_holding("view_trustedapplication"))
    page = client.get(change_url(app)).content.decode()
    assert "The Shop" in page
    assert f"{app.secrets.get().secret_hash[:6]}…" in page
    assert 'name="names-0-name"' not in page and 'name="secrets-0-DELETE"' not in page

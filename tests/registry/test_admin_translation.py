"""The trusted-application admin and the SHA-256 tool follow the browser's language: Bulgarian
with `Accept-Language: bg`, English without it (Django test client)."""

import html

import pytest
from django.urls import reverse

from tests import factories
from tests.registry.test_admin import ADD, CHANGELIST, change_url, form_data
from trustregistry.aas import errors as aas_errors
from trustregistry.aas import services as aas_services
from trustregistry.registry import secrets
from trustregistry.registry.models import TrustedApplication

BG = {"HTTP_ACCEPT_LANGUAGE": "bg"}


@pytest.fixture
def admin_client(client, staff_user):
    client.force_login(staff_user)
    return client


def text(response) -> str:
    return html.unescape(response.content.decode())


def history_url(app) -> str:
    return reverse("admin:registry_trustedapplication_history", args=[app.pk])


@pytest.mark.django_db
def test_changelist_in_bulgarian_and_in_english(admin_client):
    factories.TrustedApplicationFactory(client_id="list.example.com/app")
    bg = text(admin_client.get(CHANGELIST, **BG))
    assert 'lang="bg"' in bg
    assert "Доверени приложения" in bg  # the app, in the breadcrumbs
    assert "Изберете доверено приложение за промяна" in bg  # Django's own, with our model name
    assert "Търсене по URI на приложението или по име (на всеки език)." in bg
    assert "URI на приложението" in bg  # a column
    assert "има URL адрес на конектор" in bg and "Ръчно" in bg  # list filters
    assert "Разрешаване на избраните приложения" in bg  # an action
    assert "Search by application URI" not in bg and "Enable the selected" not in bg

    en = text(admin_client.get(CHANGELIST))
    assert 'lang="en"' in en
    assert "Trusted applications" in en and "Select trusted application to change" in en
    assert "Search by application URI or name (any language)." in en
    assert "has a connector URL" in en and "Enable the selected applications" in en
    assert "Доверени" not in en


@pytest.mark.django_db
def test_change_form_sections_labels_and_help_texts_in_bulgarian(admin_client):
    app = factories.TrustedApplicationFactory(
        client_id="form.example.com/app", connector_url="https://c.example.com/a", secret="s"
    )
    bg = text(admin_client.get(change_url(app), **BG))
    for title in (
        "Идентификация",
        "Вид клиент и тайни",
        "Basic удостоверяване",
        "Влизане на потребители",
        "URL адреси",
        "Обхват",
        "Системен потребител",
        "Конектор",
        "Запис",
    ):
        assert f">{title}<" in bg, title
    assert "URI на приложението:" in bg and "Обновено:" in bg  # ours, and DOT's field
    assert "Идентификаторът на приложението и неговият OAuth client_id" in bg  # a help text
    assert "URI адреси за пренасочване, разделени със запетая" in bg  # the form's help text
    assert "sec — Достъп до инфраструктурата за сигурност" in bg  # a scope's meaning
    assert "Поверителен (може да пази тайна: сървърни приложения)" in bg  # a choice
    assert "Тайни (отметнете „изтриване“, за да отмените някоя)" in bg  # an inline
    assert "тайна №" in bg  # a secret's row
    for button in ("Генериране на тайна", "Смяна на тайната", "Проверка на ръкостискането"):
        assert button in bg
    assert ">Identity<" not in bg and "Test handshake" not in bg

    en = text(admin_client.get(change_url(app)))
    for english in (">Identity<", ">Client type and secrets<", ">Record<", "Test handshake"):
        assert english in en
    assert "The application's identifier and OAuth client_id" in en
    assert "sec — Access the security infrastructure" in en
    assert "Идентификация" not in en


@pytest.mark.django_db
def test_validation_errors_in_bulgarian_and_in_english(admin_client):
    data = form_data(
        login_urls="https://shop.example.com/cb, http://evil.example.com/cb",
        public_keys="hello",
        new_secret_expires="2030-01-01 00:00",
        scope=["sec"],
        **{"names-0-name": ""},
    )
    bg = text(admin_client.post(ADD, data, **BG))
    assert (
        "URL адрес за вход http://evil.example.com/cb трябва да използва https "
        "(обикновен http е разрешен само за localhost и loopback адреси)."
    ) in bg
    assert "Непознат формат на ключа" in bg  # connector.keys' message, translated here
    assert "Срокът на валидност се отнася до нова тайна" in bg
    assert "Отметнете потвърждението" in bg  # 'sec' needs the confirmation
    assert "Името на езика по подразбиране (английски) е задължително." in bg
    assert "Моля, поправете грешката" in bg or "Моля, поправете грешките" in bg  # Django's
    assert not TrustedApplication.objects.exists()

    en = text(admin_client.post(ADD, data))
    assert "Login URL http://evil.example.com/cb must use https" in en
    assert "Unrecognised key format" in en
    assert "An expiry belongs to a new secret" in en
    assert "The name in the default language (English) is required." in en


@pytest.mark.django_db
def test_saved_record_risk_warning_in_bulgarian(admin_client):
    response = admin_client.post(
        ADD,
        form_data(impersonate_internal_allowed=None, impersonate_community_allowed="on"),
        follow=True,
        **BG,
    )
    assert response.redirect_chain and TrustedApplication.objects.count() == 1
    assert (
        "В това приложение могат да влизат само външни потребители, а вътрешните служители "
        "не могат. Така ли е замислено?"
    ) in text(response)


@pytest.mark.django_db
def test_the_application_uri_warning_names_it_in_both_languages(admin_client):
    bg = text(admin_client.post(ADD, form_data(client_id="MYDEMOCLIENT"), follow=True, **BG))
    assert "URI на приложението MYDEMOCLIENT не е основан на домейн" in bg
    en = text(admin_client.post(ADD, form_data(client_id="OTHERCLIENT"), follow=True))
    assert "The application URI OTHERCLIENT is not domain-based" in en
    assert TrustedApplication.objects.count() == 2


@pytest.mark.django_db
def test_action_messages_in_bulgarian_and_in_english(admin_client):
    app = factories.TrustedApplicationFactory()
    action = {"action": "disable", "_selected_action": [app.pk]}
    bg = text(admin_client.post(CHANGELIST, action, follow=True, **BG))
    assert "Забранени приложения: 1. Токените им спряха да действат." in bg
    action = {"action": "enable", "_selected_action": [app.pk]}
    en = text(admin_client.post(CHANGELIST, action, follow=True))
    assert "1 application(s) enabled." in en
    # The history keeps the reasons as written: they are data, not page text.
    assert [r.history_change_reason for r in app.history.all()[:2]] == ["enabled", "disabled"]


@pytest.mark.django_db
def test_new_secret_page_in_bulgarian(admin_client):
    app = factories.TrustedApplicationFactory()
    url = reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    bg = text(admin_client.post(url, **BG))
    assert "Нови тайни" in bg and "Копирайте всяка тайна сега: показва се еднократно." in bg
    assert "Всички предишни тайни на тези приложения спряха да действат." in bg
    # The first secret would end now: the question's answer names it.
    answer = {"confirm_end_secrets": "yes", "confirmed_secrets": str(app.secrets.get().pk)}
    en = text(admin_client.post(url, answer))
    assert "Copy each secret now: it is shown once." in en


@pytest.mark.django_db
def test_the_question_before_secrets_end_in_bulgarian(admin_client):
    app = factories.TrustedApplicationFactory(secret="live")
    url = reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    bg = text(admin_client.post(url, **BG))
    assert "Сигурни ли сте?" in bg
    assert "Новата тайна заменя всички тайни на записа" in bg
    assert "Да, заменете тайните" in bg and "Не, върни ме обратно" in bg
    assert app.secrets.get().secret_hash == secrets.hash_secret("live")


@pytest.mark.django_db
def test_history_page_in_bulgarian_and_in_english(admin_client):
    app = factories.TrustedApplicationFactory(client_id="hist.example.com/app")
    admin_client.post(CHANGELIST, {"action": "disable", "_selected_action": [app.pk]})
    admin_client.post(reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk]))
    bg = text(admin_client.get(history_url(app), **BG))
    assert "История: hist.example.com/app" in bg
    assert "Всички промени на този запис, на имената и на тайните му, най-новите първи." in bg
    for heading in ("кога (UTC)", "кой", "какво", "промени"):
        assert f">{heading}</th>" in bg
    assert ">забранено</td>" in bg  # the stored reason "disabled", shown in Bulgarian
    assert "<strong>разрешено</strong>: да → не" in bg  # the field "is enabled"
    assert ">генерирана тайна</td>" in bg and ">добавена тайна</td>" in bg
    assert "<strong>име (en)</strong>: — →" in bg and "изтича никога" in bg

    en = text(admin_client.get(history_url(app)))
    assert "History: hist.example.com/app" in en and "when (UTC)" in en
    assert ">disabled</td>" in en and "<strong>is enabled</strong>: yes → no" in en
    assert ">secret generated</td>" in en and "expires never" in en


@pytest.mark.django_db
def test_test_handshake_outcome_in_bulgarian_and_kept_in_english(admin_client, monkeypatch):
    def refused(*, application, context, pending=None):
        raise aas_errors.HandshakeFailed(
            "The connector answered HTTP %(status)s.", params={"status": 500}
        )

    monkeypatch.setattr(aas_services, "run_handshake", refused)
    app = factories.TrustedApplicationFactory(connector_url="https://connector.example.com/a")
    url = reverse("admin:registry_trustedapplication_test_handshake", args=[app.pk])
    bg = text(admin_client.post(url, follow=True, **BG))
    assert "Проверка на ръкостискането: Конекторът отговори с HTTP 500." in bg
    # The history stores it in English and shows it in the viewer's language.
    reason = app.history.first().history_change_reason
    assert reason == "handshake tested: failed (The connector answered HTTP 500.)"
    history_bg = text(admin_client.get(history_url(app), **BG))
    print(
        history_bg[
            history_bg.find('id="history"') : history_bg.find(
                "</table", history_bg.find('id="history"')
            )
        ]
    )
    assert "проверено ръкостискане: неуспешно (Конекторът отговори с HTTP 500.)" in history_bg
    en = text(admin_client.post(url, follow=True))
    assert "Handshake test: The connector answered HTTP 500." in en

    monkeypatch.setattr(aas_services, "run_handshake", lambda **kwargs: None)
    bg = text(admin_client.post(url, follow=True, **BG))
    assert (
        "Проверка на ръкостискането: Конекторът доказа, че притежава ключа на приложението." in bg
    )


@pytest.mark.django_db
def test_sha256_tool_page_in_bulgarian_and_in_english(client):
    bg = text(client.get("/sys/tools/sha256", **BG))
    assert 'lang="bg"' in bg and "<title>Хеш на тайна (SHA-256)</title>" in bg
    assert "Изчислява хеша на тайната на доверено приложение във формата на ERP.net" in bg
    assert '<label for="secret">Тайна</label>' in bg and ">Хеширане</button>" in bg
    refused = client.post("/sys/tools/sha256", {"secret": ""}, **BG)
    assert refused.status_code == 400 and "Въведете тайна." in text(refused)
    posted = text(client.post("/sys/tools/sha256", {"secret": "DEMO"}, **BG))
    assert "Хеш на тайната (base64):" in posted and "Същият хеш в шестнайсетичен вид:" in posted

    en = text(client.get("/sys/tools/sha256"))
    assert 'lang="en"' in en and "<title>Secret hash (SHA-256)</title>" in en
    assert "Computes a trusted application's secret hash in ERP.net's format" in en
    assert "Enter a secret." in text(client.post("/sys/tools/sha256", {"secret": ""}))
    # What scripts read stays English whatever the language.
    too_long = client.get("/sys/tools/sha256", {"secret": "x" * 5000}, **BG)
    assert too_long.content == b"The secret is too long."

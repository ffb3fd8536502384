"""The admin's secret pages: the question asked before live secrets end agrees to end the
secrets it listed, not whatever would end by the time the answer arrives."""

import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from tests import factories
from tests.registry.test_admin import CHANGELIST, _answer
from trustregistry.registry import secrets, services
from trustregistry.registry.admin import secret_pages

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, staff_user):  # type: ignore[no-untyped-def]
    client.force_login(staff_user)
    return client


def _new_secrets(page: str) -> list[str]:
    return re.findall(r'class="new-secret">(\w+)<', page)


def test_a_secret_added_after_the_question_is_not_ended_by_its_answer(admin_client):
    """An administrator is asked about secret A; meanwhile another adds secret B. Yes to the
    question about A must not end B, which nobody was shown: the question is asked again."""
    app = factories.TrustedApplicationFactory(secret="first-live")
    button = reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    asked = admin_client.post(button)
    answer = _answer(asked)
    assert answer["confirmed_secrets"] == str(app.secrets.get().pk)

    other = services.secret_generate(application=app, reason="secret rotated")
    again = admin_client.post(button, answer)
    page = again.content.decode()
    assert again.status_code == 200 and not _new_secrets(page)
    assert 'id="ending-secrets"' in page
    table = page.split('id="ending-secrets"', 1)[1].split("</table>", 1)[0]
    assert table.split("<tbody>", 1)[1].count("<tr>") == 2  # both secrets listed now
    assert any("changed since you were asked" in str(m) for m in get_messages(again.wsgi_request))
    hashes = {s.secret_hash for s in app.secrets.all()}
    assert hashes == {secrets.hash_secret("first-live"), other.secret.secret_hash}

    done = admin_client.post(button, _answer(page)).content.decode()
    [plain] = _new_secrets(done)
    assert {s.secret_hash for s in app.secrets.all()} == {secrets.hash_secret(plain)}


def test_a_listed_secret_gone_meanwhile_does_not_stop_the_answer(admin_client):
    app = factories.TrustedApplicationFactory(secret="first-live")
    button = reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    answer = _answer(admin_client.post(button))
    app.secrets.all().delete()  # fewer secrets end than were agreed to: nothing is lost
    [plain] = _new_secrets(admin_client.post(button, answer).content.decode())
    assert app.secrets.get().secret_hash == secrets.hash_secret(plain)


# "²" and "١" are digits to str.isdigit(), the first no number to int() (a 500), the second 1.
@pytest.mark.parametrize("listed", ["", "x", "0,,00", "9" * 40, "-1", "²", "١", "١,٢,٣"])
def test_an_answer_naming_no_listed_secret_asks_again(admin_client, listed):
    app = factories.TrustedApplicationFactory(secret="keep-me")
    button = reverse("admin:registry_trustedapplication_generate_secret", args=[app.pk])
    page = admin_client.post(
        button, {secret_pages.CONFIRM_FIELD: "yes", "confirmed_secrets": listed}
    ).content.decode()
    assert 'id="ending-secrets"' in page and not _new_secrets(page)
    assert app.secrets.get().secret_hash == secrets.hash_secret("keep-me")


def test_a_change_between_the_check_and_the_lock_skips_that_record_only(admin_client, monkeypatch):
    """The page checks the answer, then each record is locked and checked again: a secret
    that arrives in between leaves that record as it is (said in a message), while the other
    records' new secrets, shown once, are still shown."""
    calm = factories.TrustedApplicationFactory(client_id="calm.example.com/app")
    busy = factories.TrustedApplicationFactory(client_id="busy.example.com/app")
    real = services.secret_generate
    arrived = []

    def generate_after_a_concurrent_add(*, application, **kwargs):  # type: ignore[no-untyped-def]
        if application.pk == busy.pk and not arrived:
            arrived.append(real(application=application))  # another administrator's secret
        return real(application=application, **kwargs)

    monkeypatch.setattr(services, "secret_generate", generate_after_a_concurrent_add)
    selection = {"action": "generate_secret", "_selected_action": [calm.pk, busy.pk]}
    response = admin_client.post(CHANGELIST, selection)  # nothing ends yet: not asked
    [plain] = _new_secrets(response.content.decode())
    assert calm.secrets.get().secret_hash == secrets.hash_secret(plain)
    assert [s.secret_hash for s in busy.secrets.all()] == [arrived[0].secret.secret_hash]
    assert any(
        str(m).startswith("busy.example.com/app: The record's secrets changed")
        for m in get_messages(response.wsgi_request)
    )


def test_the_service_refuses_to_end_a_secret_it_was_not_told_of():
    app = factories.TrustedApplicationFactory(secret="one")
    first = app.secrets.get()
    second = services.secret_generate(application=app).secret
    with pytest.raises(services.SecretsChangedMeanwhile):
        services.secret_generate(
            application=app, replace_all=True, confirmed_ending=frozenset({first.pk})
        )
    assert set(app.secrets.values_list("pk", flat=True)) == {first.pk, second.pk}
    # Rotation ends only the oldest: agreeing to that one is enough.
    services.secret_generate(application=app, confirmed_ending=frozenset({first.pk}))
    assert second.pk in set(app.secrets.values_list("pk", flat=True))
    assert first.pk not in set(app.secrets.values_list("pk", flat=True))


@pytest.mark.parametrize("change", ["made public", "deleted"])
def test_a_record_made_public_or_deleted_before_its_turn_is_said_not_a_500(
    admin_client, monkeypatch, change
):
    """A list action loads its records, then locks and changes each in turn: one made public
    (it had no secret, so the change was allowed) or deleted by another administrator in
    between made the service refuse (ValidationError, DoesNotExist) and the whole page a 500,
    the other records' new secrets, already committed, never shown."""
    calm = factories.TrustedApplicationFactory(client_id="calm.example.com/app")
    gone = factories.TrustedApplicationFactory(client_id="gone.example.com/app")
    real = services.secret_generate

    def generate_after_a_concurrent_change(*, application, **kwargs):  # type: ignore[no-untyped-def]
        if application.pk == gone.pk:
            records = type(application).objects.filter(pk=application.pk)
            if change == "deleted":
                records.delete()
            else:
                records.update(client_type="public")
        return real(application=application, **kwargs)

    monkeypatch.setattr(services, "secret_generate", generate_after_a_concurrent_change)
    selection = {"action": "generate_secret", "_selected_action": [calm.pk, gone.pk]}
    response = admin_client.post(CHANGELIST, selection)
    assert response.status_code == 200
    [plain] = _new_secrets(response.content.decode())
    assert calm.secrets.get().secret_hash == secrets.hash_secret(plain)
    said = [str(m) for m in get_messages(response.wsgi_request)]
    assert any(m.startswith("gone.example.com/app") for m in said), said
    assert not gone.secrets.exists()

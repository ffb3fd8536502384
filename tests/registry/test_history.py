"""The record's history as readable events: who, when, which field from what to what."""

import pytest

from tests import factories
from trustregistry.registry import history, secrets, serialization, services


@pytest.mark.django_db
def test_history_lists_field_changes_names_and_secrets_without_secret_values(staff_user):
    svc = factories.SystemUserFactory(username="svc-history")
    app, _ = serialization.application_upsert(
        data={
            "application_uri": "history.example.com/app",
            "names": {"en": "History"},
            "scope": "update",
            "login_urls": ["https://history.example.com/cb"],
        },
        actor=staff_user,
    )
    serialization.application_upsert(
        data={
            "scope": "update sec",
            "names": {"en": "History", "bg": "История"},
            "system_user": svc.username,
            "system_user_allowed": True,
            "login_urls": ["https://history.example.com/cb", "https://history.example.com/cb2"],
        },
        existing=app,
        partial=True,
        actor=staff_user,
    )
    generated = services.secret_generate(
        application=app, actor=staff_user, reason="secret generated"
    )
    services.application_set_enabled(application=app, enabled=False, actor=staff_user)

    events = history.application_history(app)
    whats = [e.what for e in events]
    assert whats[0] == "disabled" and whats[-1] in ("created", "name added")
    assert "secret generated" in whats and "secret added" in whats and "name added" in whats
    assert all(e.who == "admin" for e in events)
    changes = {(c.field, c.old, c.new) for e in events for c in e.changes}
    assert ("scope", "update", "update sec") in changes
    assert ("system user", "—", "svc-history") in changes
    assert ("is enabled", "yes", "no") in changes
    assert ("name (bg)", "—", "История") in changes
    assert (
        "login URLs",
        "https://history.example.com/cb",
        "https://history.example.com/cb, https://history.example.com/cb2",
    ) in changes
    text = repr(events)
    assert generated.plain not in text and secrets.hash_secret(generated.plain) not in text


@pytest.mark.django_db
def test_secret_hashes_are_not_in_the_history_tables():
    app = factories.TrustedApplicationFactory(secret="top-secret")
    record = app.secrets.get().history.first()
    assert not hasattr(record, "secret_hash")


def test_stored_reasons_are_shown_in_the_viewers_language():
    from django.utils import translation

    stored = "disabled; sec trusted (confirmed)"
    failed = "handshake tested: failed (The connector refused the handshake: busy; try later)"
    with translation.override("bg"):
        assert history.readable_reason(stored) == "забранено; доверие за sec (потвърдено)"
        assert history.readable_reason("a reason a script chose") == "a reason a script chose"
        # A connector's own words stay as it wrote them, "; " included.
        assert history.readable_reason(failed) == (
            "проверено ръкостискане: неуспешно (Конекторът отказа ръкостискането: busy; try later)"
        )
        assert history.readable_reason(
            "handshake tested: failed (The connector answered HTTP 404 without a handshake answer.)"
        ) == (
            "проверено ръкостискане: неуспешно (Конекторът отговори с HTTP 404 без отговор на "
            "ръкостискането.)"
        )
    assert history.readable_reason(stored) == stored
    assert history.readable_reason(failed) == failed

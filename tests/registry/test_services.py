"""Record writes: secrets (generate, rotate, paste, verify, expiry), enable/disable, history."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from tests import factories
from trustregistry.registry import secrets, services


@pytest.mark.django_db
def test_at_most_two_secrets_a_third_replaces_the_oldest():
    app = factories.TrustedApplicationFactory()
    first = services.secret_add_hash(application=app, secret_hash=secrets.hash_secret("one"))
    services.secret_add_hash(application=app, secret_hash=secrets.hash_secret_hex("two"))
    services.secret_add_hash(application=app, secret_hash=secrets.hash_secret("three"))
    hashes = [s.secret_hash for s in app.secrets.order_by("created", "id")]
    assert hashes == [secrets.hash_secret("two"), secrets.hash_secret("three")]
    assert not app.secrets.filter(pk=first.pk).exists()


@pytest.mark.django_db
def test_a_hash_already_on_the_record_is_refused_and_pushes_nothing_out():
    app = factories.TrustedApplicationFactory(secret="old")
    services.secret_add_hash(application=app, secret_hash=secrets.hash_secret("new"))
    for again in (secrets.hash_secret("new"), secrets.hash_secret_hex("new")):
        with pytest.raises(ValidationError, match="already on the record"):
            services.secret_add_hash(application=app, secret_hash=again)
    assert services.secret_verify(application=app, secret="old")
    assert services.secret_verify(application=app, secret="new")


@pytest.mark.django_db
def test_a_public_record_gets_no_secret_from_any_caller():
    app = factories.TrustedApplicationFactory(client_type="public")
    with pytest.raises(ValidationError, match="may hold none"):
        services.secret_add_hash(application=app, secret_hash=secrets.hash_secret("x"))
    with pytest.raises(ValidationError, match="may hold none"):
        services.secret_generate(application=app, replace_all=True)
    assert not app.secrets.exists()


@pytest.mark.django_db
def test_generate_replacing_all_and_verify(staff_user):
    app = factories.TrustedApplicationFactory(secret="old")
    generated = services.secret_generate(
        application=app, actor=staff_user, replace_all=True, reason="secret generated"
    )
    assert app.secrets.count() == 1
    assert services.secret_verify(application=app, secret=generated.plain)
    assert not services.secret_verify(application=app, secret="old")
    app.refresh_from_db()
    assert app.last_used_at is not None and app.secrets.get().last_used is not None
    assert app.history.first().history_change_reason == "secret generated"
    assert app.history.first().history_user == staff_user


@pytest.mark.django_db
def test_expired_secret_no_longer_verifies():
    app = factories.TrustedApplicationFactory()
    with time_machine.travel(dt.datetime(2030, 1, 1, tzinfo=dt.UTC), tick=False):
        services.secret_add_hash(
            application=app,
            secret_hash=secrets.hash_secret("s"),
            expires=dt.datetime(2030, 1, 2, tzinfo=dt.UTC),
        )
        assert services.secret_verify(application=app, secret="s")
    with time_machine.travel(dt.datetime(2030, 1, 2, 0, 0, 1, tzinfo=dt.UTC), tick=False):
        assert not services.secret_verify(application=app, secret="s")


@pytest.mark.django_db
def test_replace_all_validates_hashes():
    app = factories.TrustedApplicationFactory()
    with pytest.raises(ValidationError):
        services.secret_replace_all(application=app, secret_hashes=["DEMO"])
    with pytest.raises(ValidationError):
        services.secret_replace_all(
            application=app, secret_hashes=[secrets.hash_secret(c) for c in "abc"]
        )
    services.secret_replace_all(application=app, secret_hashes=[secrets.hash_secret("a")] * 2)
    assert app.secrets.count() == 1


@pytest.mark.django_db
def test_disabling_revokes_live_tokens(staff_user):
    from oauth2_provider.models import get_access_token_model

    from trustregistry.common import clock

    app = factories.TrustedApplicationFactory()
    token = get_access_token_model().objects.create(
        application=app, token="t" * 40, expires=clock.now() + dt.timedelta(hours=1), scope="update"
    )
    services.application_set_enabled(application=app, enabled=False, actor=staff_user)
    token.refresh_from_db()
    assert token.expires <= clock.now()
    record = app.history.first()
    assert record.history_change_reason == "disabled" and record.history_user == staff_user


@pytest.mark.django_db
def test_history_note_records_an_event_without_changes(staff_user):
    app = factories.TrustedApplicationFactory()
    before = app.history.count()
    services.history_note(application=app, actor=staff_user, reason="handshake tested: ok")
    assert app.history.count() == before + 1
    assert app.history.first().history_change_reason == "handshake tested: ok"

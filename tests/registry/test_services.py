"""Record writes: secrets (generate, rotate, paste, verify, expiry), enable/disable, history."""

import datetime as dt

import pytest
import time_machine
from django.core.exceptions import ValidationError

from tests import factories
from trustregistry.common import clock
from trustregistry.registry import secrets, selectors, services


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
def test_a_third_secret_replaces_an_expired_one_before_a_live_one():
    # Rotating must not end the secret a client still uses while keeping a dead one.
    app = factories.TrustedApplicationFactory()
    live = services.secret_add_hash(application=app, secret_hash=secrets.hash_secret("live"))
    expired = services.secret_add_hash(
        application=app,
        secret_hash=secrets.hash_secret("expired"),
        expires=clock.now() + dt.timedelta(minutes=1),
    )
    with time_machine.travel(clock.now() + dt.timedelta(minutes=2)):
        assert [s.pk for s in selectors.secrets_ending(application=app, replace_all=False)] == []
        services.secret_generate(application=app)
        assert app.secrets.filter(pk=live.pk).exists()
        assert not app.secrets.filter(pk=expired.pk).exists()
        assert app.secrets.count() == 2


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
@pytest.mark.parametrize("enable_by", ["set_enabled", "update"])
def test_a_token_written_during_a_disable_does_not_live_on_after_enabling(enable_by):
    """A token request validated just before a disable may write its token just after the
    disable revoked the record's tokens; enabling the record again must not bring it to life."""
    from trustregistry.oauth.access_tokens import (
        InvalidAccessToken,
        check_access_token,
        issue_access_token,
    )

    app = factories.TrustedApplicationFactory(scope="update")
    user = factories.UserFactory()
    services.application_set_enabled(application=app, enabled=False)
    late, _row = issue_access_token(application=app, user=user, scope="update")
    if enable_by == "set_enabled":
        services.application_set_enabled(application=app, enabled=True)
    else:
        services.application_update(application=app, is_enabled=True)
    with pytest.raises(InvalidAccessToken):
        check_access_token(late)
    fresh, _row = issue_access_token(application=app, user=user, scope="update")
    assert check_access_token(fresh).application.pk == app.pk


@pytest.mark.django_db
def test_history_note_records_an_event_without_changes(staff_user):
    app = factories.TrustedApplicationFactory()
    before = app.history.count()
    services.history_note(application=app, actor=staff_user, reason="handshake tested: ok")
    assert app.history.count() == before + 1
    assert app.history.first().history_change_reason == "handshake tested: ok"


# ------------------------------------------------------------------ concurrent writes


@pytest.mark.django_db
def test_an_update_from_a_stale_instance_keeps_a_disable_committed_meanwhile():
    app = factories.TrustedApplicationFactory(client_id="stale.example.com/app")
    stale = type(app).objects.get(pk=app.pk)  # read before the disable, as a request would
    services.application_set_enabled(application=app, enabled=False)
    services.application_update(application=stale, system_user_login_url="https://a.example/x")
    app.refresh_from_db()
    assert not app.is_enabled
    assert app.system_user_login_url == "https://a.example/x"
    assert not stale.is_enabled  # the caller's instance shows what was saved


@pytest.mark.django_db
def test_a_record_holding_secrets_cannot_be_made_public_and_a_public_one_gets_none():
    app = factories.TrustedApplicationFactory(client_id="pub.example.com/app", secret="s1")
    with pytest.raises(ValidationError) as raised:
        services.application_update(application=app, client_type="public")
    assert "client_type" in raised.value.message_dict
    services.secret_replace_all(application=app, secret_hashes=[])
    services.application_update(application=app, client_type="public")
    with pytest.raises(ValidationError) as raised:
        services.secret_replace_all(application=app, secret_hashes=[secrets.hash_secret("s2")])
    assert "secret_hashes" in raised.value.message_dict
    assert not app.secrets.exists()


def _race(count: int, work) -> list:
    """Run `work(i)` in `count` threads released together; what each returned or raised."""
    import threading

    from django.db import connection

    barrier = threading.Barrier(count)
    outcomes: list = [None] * count

    def run(i: int) -> None:
        try:
            barrier.wait(10)
            outcomes[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_concurrent_secret_writes_leave_at_most_two_secrets_and_no_deadlock():
    from trustregistry.registry.models import TrustedApplication

    app = factories.TrustedApplicationFactory(client_id="race.example.com/app", secret="s0")

    def work(i: int):
        # Read with its secrets before the write, as the API's views read a record.
        fresh = TrustedApplication.objects.prefetch_related("secrets").get(pk=app.pk)
        assert len(fresh.secrets.all()) <= 2
        if i % 2:
            return services.secret_generate(application=fresh).plain
        return services.secret_replace_all(
            application=fresh,
            secret_hashes=[secrets.hash_secret(f"a{i}"), secrets.hash_secret(f"b{i}")],
        )

    for _round in range(3):
        outcomes = _race(6, work)
        assert not [o for o in outcomes if isinstance(o, Exception)], outcomes
        assert app.secrets.count() <= 2


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_a_uri_created_at_once_by_many_is_one_record_and_clear_refusals():
    from trustregistry.registry.models import TrustedApplication

    def work(i: int):
        return services.application_create(
            application_uri="once.example.com/app", names={"en": f"Once {i}"}
        )

    outcomes = _race(8, work)
    created = [o for o in outcomes if isinstance(o, TrustedApplication)]
    refused = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(created) == 1 and len(refused) == 7, outcomes
    assert TrustedApplication.objects.filter(client_id="once.example.com/app").count() == 1

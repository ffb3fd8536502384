"""Client authentication's precompiled reads load what the ORM queries they replace load,
read the database every time (nothing about the record or its secrets is kept), and cost one
query each."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import factories
from trustregistry.registry import selectors, services
from trustregistry.registry.models import ApplicationSecret, TrustedApplication
from trustregistry.registry.secrets import hash_secret

pytestmark = pytest.mark.django_db


def _fields(obj):  # type: ignore[no-untyped-def]
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_same_record_and_system_user_as_the_orm():
    app = factories.ServiceApplicationFactory(scope="sec update", secret="one")
    factories.TrustedApplicationFactory()  # another record, not to be found
    reference = (
        TrustedApplication.objects.select_related("system_user")
        .filter(client_id=app.client_id)
        .first()
    )
    with CaptureQueriesContext(connection) as queries:
        found = selectors.application_for_client(client_id=app.client_id)
        assert found is not None
        assert found.system_user is not None
        assert _fields(found) == _fields(reference)
        assert _fields(found.system_user) == _fields(reference.system_user)
    assert len(queries) == 1  # the system user came with the record


def test_record_without_system_user_unknown_and_odd_ids():
    app = factories.TrustedApplicationFactory()
    found = selectors.application_for_client(client_id=app.client_id)
    assert found is not None and found.pk == app.pk and found.system_user is None
    assert selectors.application_for_client(client_id="nobody.example.com/x") is None
    assert selectors.application_for_client(client_id=app.client_id.upper()) is None
    assert selectors.application_for_client(client_id="' OR 1=1 --") is None


def test_disabling_and_new_secrets_are_seen_at_once():
    app = factories.ServiceApplicationFactory(secret="first")
    assert selectors.application_for_client(client_id=app.client_id).is_enabled  # type: ignore[union-attr]
    TrustedApplication.objects.filter(pk=app.pk).update(is_enabled=False)
    assert not selectors.application_for_client(client_id=app.client_id).is_enabled  # type: ignore[union-attr]

    assert len(selectors.application_secrets(application=app)) == 1
    ApplicationSecret.objects.create(application=app, secret_hash=hash_secret("second"))
    secrets = selectors.application_secrets(application=app)
    assert [s.pk for s in secrets] == [s.pk for s in app.secrets.all()]
    assert [_fields(s) for s in secrets] == [_fields(s) for s in app.secrets.all()]
    assert services.secret_verify(application=app, secret="second")
    ApplicationSecret.objects.filter(application=app).delete()
    assert not services.secret_verify(application=app, secret="second")


def test_prefetched_secrets_are_used_as_secrets_all_would():
    app = factories.ServiceApplicationFactory(secret="first")
    loaded = selectors.application_list().get(pk=app.pk)
    with CaptureQueriesContext(connection) as queries:
        assert [s.pk for s in selectors.application_secrets(application=loaded)] == [
            s.pk for s in loaded.secrets.all()
        ]
    assert len(queries) == 0


def test_record_with_its_secrets_in_one_query():
    app = factories.ServiceApplicationFactory(scope="sec", secret="first")
    ApplicationSecret.objects.create(application=app, secret_hash=hash_secret("second"))
    reference = TrustedApplication.objects.select_related("system_user").get(pk=app.pk)
    reference_secrets = [_fields(s) for s in app.secrets.all()]
    with CaptureQueriesContext(connection) as queries:
        found = selectors.application_for_client_auth(client_id=app.client_id)
        assert found is not None
        assert _fields(found) == _fields(reference)
        assert _fields(found.system_user) == _fields(reference.system_user)
        secrets = selectors.application_secrets(application=found)
        assert services.secret_verify(application=found, secret="second")
    # One read; the rest are secret_verify's "last used" writes (at most once a minute).
    reads = [q["sql"] for q in queries if not q["sql"].startswith("UPDATE")]
    assert len(reads) == 1 and len(queries) <= 3
    assert [_fields(s) for s in secrets] == reference_secrets
    assert not hasattr(found, "_tr_secret_id")

    bare = factories.TrustedApplicationFactory()
    found = selectors.application_for_client_auth(client_id=bare.client_id)
    assert found is not None and found.pk == bare.pk
    assert selectors.application_secrets(application=found) == []
    assert selectors.application_for_client_auth(client_id="nobody.example.com/x") is None


def test_each_load_reads_the_secrets_anew():
    app = factories.ServiceApplicationFactory(secret="first")
    before = selectors.application_for_client_auth(client_id=app.client_id)
    ApplicationSecret.objects.filter(application=app).delete()
    after = selectors.application_for_client_auth(client_id=app.client_id)
    assert before is not None and after is not None
    assert not services.secret_verify(application=after, secret="first")

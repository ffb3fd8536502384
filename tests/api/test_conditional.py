"""ETag and If-Match on a trusted-application record (RFC 9110 sections 8.8.3 and 13): a
client's read-modify-write never silently undoes a change made in between."""

from __future__ import annotations

import pytest

from tests import factories
from trustregistry.api.conditional import etag_of
from trustregistry.registry import services
from trustregistry.registry.models import TrustedApplication

pytestmark = pytest.mark.django_db

PATH = "/api/trusted-applications/mywebsite.com/myapp1/"


@pytest.fixture
def record(db):  # type: ignore[no-untyped-def]
    return factories.TrustedApplicationFactory(
        client_id="mywebsite.com/myapp1", scope="update", secret="s3cret-value"
    )


def _patch(client, body, **headers):  # type: ignore[no-untyped-def]
    return client.patch(PATH, body, content_type="application/json", headers=headers)


def test_get_answers_a_strong_etag_of_what_it_shows(admin_client, record):
    response = admin_client.get(PATH)
    etag = response["ETag"]
    assert etag == etag_of(response.json())
    assert etag.startswith('"') and etag.endswith('"') and not etag.startswith("W/")
    assert admin_client.get(PATH)["ETag"] == etag  # unchanged record, same tag
    # Anything a GET shows changes it: a field, a name, a secret.
    services.application_update(application=record, scope="update crm")
    after_scope = admin_client.get(PATH)["ETag"]
    services.application_set_names(application=record, names={"en": "Renamed"})
    after_name = admin_client.get(PATH)["ETag"]
    services.secret_generate(application=record, expires=None, actor=None)
    after_secret = admin_client.get(PATH)["ETag"]
    assert len({etag, after_scope, after_name, after_secret}) == 4


def test_a_write_with_the_current_etag_succeeds_and_answers_the_new_one(admin_client, record):
    etag = admin_client.get(PATH)["ETag"]
    response = _patch(admin_client, {"scope": "update crm"}, if_match=etag)
    assert response.status_code == 200
    assert response.json()["scope"] == "update crm"
    assert response["ETag"] == admin_client.get(PATH)["ETag"] != etag


def test_a_write_over_a_change_made_meanwhile_is_refused_and_changes_nothing(admin_client, record):
    """Two clients read the record; one disables it; the other's PATCH, made from what it
    read, would have gone through unconditionally before. With If-Match it is a 412."""
    etag = admin_client.get(PATH)["ETag"]
    services.application_set_enabled(application=record, enabled=False)
    history = record.history.count()
    response = _patch(admin_client, {"scope": "update crm", "is_enabled": True}, if_match=etag)
    assert response.status_code == 412
    assert response.json()["error"] == "precondition_failed"
    assert "GET the record again" in response.json()["message"]
    fresh = TrustedApplication.objects.get(pk=record.pk)
    assert (fresh.is_enabled, fresh.scope) == (False, "update")
    assert record.history.count() == history


@pytest.mark.parametrize("method", ["put", "delete"])
def test_put_and_delete_are_conditional_too(admin_client, record, method):
    stale = admin_client.get(PATH)["ETag"]
    services.application_update(application=record, scope="update crm")
    body = {**admin_client.get(PATH).json(), "scope": "update"} if method == "put" else None
    response = getattr(admin_client, method)(
        PATH, body, content_type="application/json", headers={"if-match": stale}
    )
    assert response.status_code == 412
    fresh = TrustedApplication.objects.get(pk=record.pk)
    assert fresh.is_enabled and fresh.scope == "update crm"
    current = admin_client.get(PATH)["ETag"]
    response = getattr(admin_client, method)(
        PATH, body, content_type="application/json", headers={"if-match": current}
    )
    assert response.status_code == 200 and response["ETag"] != current


def test_generating_a_secret_is_conditional_too(admin_client, record):
    stale = admin_client.get(PATH)["ETag"]
    services.application_update(application=record, scope="update crm")
    secrets = PATH + "secrets/"
    refused = admin_client.post(
        secrets, {}, content_type="application/json", headers={"if-match": stale}
    )
    assert refused.status_code == 412 and record.secrets.count() == 1
    current = admin_client.get(PATH)["ETag"]
    made = admin_client.post(
        secrets, {}, content_type="application/json", headers={"if-match": current}
    )
    assert made.status_code == 201 and record.secrets.count() == 2


@pytest.mark.parametrize(
    ("header", "passes"),
    [
        ("*", True),  # any current representation
        ('"0000", {current}', True),  # one of a list
        ("W/{current}", False),  # If-Match compares strongly: a weak tag never matches
        ('"0000"', False),
    ],
)
def test_if_match_follows_rfc_9110(admin_client, record, header, passes):
    current = admin_client.get(PATH)["ETag"]
    if_match = header.format(current=current)
    response = _patch(admin_client, {"scope": "update crm"}, if_match=if_match)
    assert response.status_code == (200 if passes else 412)


@pytest.mark.parametrize("header", ["abc123", "", '"unterminated', "W/"])
def test_an_if_match_holding_no_entity_tag_is_400_not_a_blind_write(admin_client, record, header):
    response = _patch(admin_client, {"scope": "update crm"}, if_match=header)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "If-Match holds no entity tag" in response.json()["message"]
    assert TrustedApplication.objects.get(pk=record.pk).scope == "update"


def test_if_none_match_on_get_answers_304_until_the_record_changes(admin_client, record):
    etag = admin_client.get(PATH)["ETag"]
    unchanged = admin_client.get(PATH, headers={"if-none-match": f"W/{etag}"})
    assert unchanged.status_code == 304 and unchanged["ETag"] == etag and not unchanged.content
    services.application_update(application=record, scope="update crm")
    changed = admin_client.get(PATH, headers={"if-none-match": etag})
    assert changed.status_code == 200 and changed.json()["scope"] == "update crm"


def test_if_none_match_star_refuses_a_write_to_an_existing_record(admin_client, record):
    assert _patch(admin_client, {"scope": "crm"}, if_none_match="*").status_code == 412
    assert TrustedApplication.objects.get(pk=record.pk).scope == "update"


def test_modification_dates_are_not_preconditions_here(admin_client, record):
    """RFC 9110 13.1.4: a resource with no modification date ignores If-Unmodified-Since."""
    response = _patch(
        admin_client, {"scope": "update crm"}, if_unmodified_since="Mon, 01 Jan 1990 00:00:00 GMT"
    )
    assert response.status_code == 200


def test_create_answers_the_new_records_etag(admin_client):
    body = {"application_uri": "mywebsite.com/myapp1", "names": {"en": "My app"}}
    created = admin_client.post("/api/trusted-applications/", body, content_type="application/json")
    assert created.status_code == 201 and created["ETag"] == admin_client.get(PATH)["ETag"]


def test_a_refused_precondition_is_checked_before_the_body(admin_client, record):
    stale = '"0000"'
    response = _patch(admin_client, {"scope": 42}, if_match=stale)
    assert response.status_code == 412


@pytest.mark.postgresql
@pytest.mark.django_db(transaction=True)
def test_two_writes_made_from_one_read_at_once_one_wins_one_is_refused(admin_client, record):
    """The check runs under the record's lock, in the write's transaction: two clients that
    read the same ETag and write at once cannot both pass it."""
    from django.test import Client

    from tests.registry.test_services import _race

    header = admin_client.defaults["HTTP_AUTHORIZATION"]
    etag = admin_client.get(PATH)["ETag"]

    def work(i: int) -> int:
        client = Client(HTTP_AUTHORIZATION=header)
        return _patch(client, {"names": {"en": f"Name {i}"}}, if_match=etag).status_code

    statuses = _race(6, work)
    assert sorted(statuses) == [200] + [412] * 5, statuses
    assert record.names.get(language="en").name.startswith("Name ")


@pytest.mark.parametrize("method", ["get", "head"])
def test_a_read_evaluates_if_match_too(admin_client, record, method):
    """RFC 9110 13.1.1: a server MUST evaluate If-Match before performing the method, GET
    and HEAD included (13.2.1: the condition is ignored only where the answer would not be
    2xx); a client that reads on with a representation it holds in part must hear of a
    change. An If-Match that fails is 412 before If-None-Match is looked at (13.2.2)."""
    current = admin_client.get(PATH)["ETag"]
    read = getattr(admin_client, method)
    refused = read(PATH, headers={"if-match": '"0000"', "if-none-match": current})
    assert refused.status_code == 412
    assert read(PATH, headers={"if-match": current}).status_code == 200
    assert read(PATH, headers={"if-match": "*"}).status_code == 200
    assert read(PATH, headers={"if-match": f"W/{current}"}).status_code == 412
    assert read(PATH, headers={"if-match": current, "if-none-match": current}).status_code == 304

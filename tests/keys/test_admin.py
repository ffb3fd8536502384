"""The signing keys in the admin (keys/admin.py): read-only rows, filtered and searched, that
never show a private key, in English and Bulgarian. The actions: test_admin_actions.py."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine

from tests.keys.admin_pages import (
    BG,
    CHANGELIST,
    as_post,
    assert_no_private_key,
    change_url,
    confirmation_form,
    history_url,
    page_text,
    run,
    staff_with,
)
from trustregistry.common import clock
from trustregistry.keys.models import SigningKey

pytestmark = pytest.mark.django_db


def test_view_only_staff_see_every_key_with_its_state_and_no_action(client, keys):
    client.force_login(staff_with("view_signingkey"))
    response = client.get(CHANGELIST)
    assert response.status_code == 200
    page = page_text(response)
    for key in keys.values():
        assert key.kid in page
    assert "signing" in page and "retired – published until" in page
    assert "Certificate valid until" in page
    # The AAS certificate's end of validity, five years on, in the aas row.
    year = str(clock.now().year + 5)
    aas_row = re.search(rf"<tr>(?:(?!</tr>).)*{keys['aas'].kid}.*?</tr>", page, re.S)
    assert aas_row and year in aas_row.group(0)
    assert 'name="action"' not in page  # no action offered
    assert_no_private_key(response)


def test_the_change_page_shows_the_public_jwk_and_certificate_never_the_private_key(client, keys):
    client.force_login(staff_with("view_signingkey"))
    aas = client.get(change_url(keys["aas"]))
    assert aas.status_code == 200
    page = page_text(aas)
    assert keys["aas"].public_jwk["n"] in page and keys["aas"].public_jwk["x5t"] in page
    assert keys["aas"].certificate_pem.strip().splitlines()[1] in page
    assert "Certificate valid until" in page
    assert "private" not in page.lower()
    assert_no_private_key(aas)
    oidc = client.get(change_url(keys["oidc"]))
    assert keys["oidc"].public_jwk["n"] in page_text(oidc)
    assert "Certificate" not in page_text(oidc)  # an oidc key has none
    assert_no_private_key(oidc)


def test_no_page_of_the_keys_admin_holds_a_private_key(superuser_client, keys):
    client = superuser_client
    run(client, "withdraw", keys["aas"])  # log entries and a message page
    run(client, "rotate", keys["oidc"])
    rows = list(SigningKey.objects.all())
    urls = [
        "/admin/",
        "/admin/keys/",
        CHANGELIST,
        f"{CHANGELIST}?_facets=1&purpose__exact=oidc",
        f"{CHANGELIST}?status=withdrawn",
        f"{CHANGELIST}?o=-2.1",
        f"{CHANGELIST}?q=PRIVATE",
        f"{CHANGELIST}?_popup=1",
        *(change_url(row) for row in rows),
        *(history_url(row) for row in rows),
        *(f"{CHANGELIST}{row.pk}/delete/" for row in rows),
        f"{CHANGELIST}add/",
    ]
    for url in urls:
        response = client.get(url, follow=True)
        assert response.status_code in (200, 403), url
        assert_no_private_key(response)
    for action in ("rotate", "withdraw"):
        confirmation = client.post(
            CHANGELIST, {"action": action, "_selected_action": [row.pk for row in rows]}
        )
        assert confirmation.status_code == 200
        assert_no_private_key(confirmation)
    done = client.post(CHANGELIST, as_post(confirmation_form(confirmation)), follow=True)
    assert_no_private_key(done)


@pytest.mark.parametrize(
    "query",
    [
        "private_key_pem__startswith=-----BEGIN",
        "private_key_pem__contains=MII",
        "private_key_pem__regex=^-",
        "private_key_pem__isnull=False",
        "private_key_pem=x",
        "private_key_pem__gt=A",
        "purpose__exact=oidc&private_key_pem__startswith=-----BEGIN",
        "_popup=1&_to_field=private_key_pem",
    ],
)
def test_lookups_on_the_private_key_are_refused(client, keys, query):
    # Django's admin answers any field lookup in the URL with the rows that match: a count
    # that would read the private key a character at a time.
    client.force_login(staff_with("view_signingkey"))
    assert client.get(f"{CHANGELIST}?{query}").status_code == 400
    assert client.get(f"{CHANGELIST}?kid__startswith={keys['aas'].kid[:4]}").status_code == 200


def test_search_finds_keys_by_kid_only(client, keys):
    client.force_login(staff_with("view_signingkey"))
    found = page_text(client.get(CHANGELIST, {"q": keys["aas"].kid[:12]}))
    assert keys["aas"].kid in found and keys["oidc"].kid not in found
    pem_line = keys["aas"].private_key_pem.splitlines()[1][:20]
    nothing = page_text(client.get(CHANGELIST, {"q": pem_line}))
    assert "0 signing keys" in nothing


def test_filters_by_purpose_and_status(superuser_client, keys):
    def shown(**params: str) -> set[str]:
        page = page_text(superuser_client.get(CHANGELIST, params))
        rows = re.search(r'<table id="result_list">.*?</table>', page, re.S)
        return {k.kid for k in SigningKey.objects.all() if rows and k.kid in rows.group(0)}

    assert shown(purpose__exact="aas") == {keys["aas"].kid}
    assert shown(status="signing") == {keys["oidc"].kid, keys["aas"].kid}
    assert shown(status="published") == {keys["retired"].kid}
    assert shown(status="unpublished") == set()
    with time_machine.travel(clock.now() + dt.timedelta(days=1), tick=False):
        assert shown(status="unpublished") == {keys["retired"].kid}
        assert "no longer published" in page_text(superuser_client.get(CHANGELIST))
    run(superuser_client, "withdraw", keys["aas"])
    assert shown(status="withdrawn") == {keys["aas"].kid}
    assert shown(status="bogus") == {k.kid for k in SigningKey.objects.all()}


def test_rows_are_never_added_edited_or_deleted(superuser_client, keys):
    key = keys["aas"]
    assert superuser_client.get(f"{CHANGELIST}add/").status_code == 403
    delete = f"{CHANGELIST}{key.pk}/delete/"
    assert superuser_client.post(delete, {"post": "yes"}).status_code == 403
    response = superuser_client.post(change_url(key), {"kid": "mine", "purpose": "oidc"})
    assert response.status_code == 403
    listing = superuser_client.get(CHANGELIST).content.decode()
    assert "delete_selected" not in listing and 'value="rotate"' in listing
    superuser_client.post(CHANGELIST, {"action": "delete_selected", "_selected_action": [key.pk]})
    assert SigningKey.objects.filter(pk=key.pk).exists()


def test_the_list_and_the_confirmation_page_in_bulgarian(superuser_client, keys):
    listing = page_text(superuser_client.get(CHANGELIST, **BG))
    assert "Ключове за подписване" in listing and "състояние" in listing.lower()
    assert "Оттегляне (компрометиран ключ)" in listing and "Смяна" in listing
    assert "сертификатът е валиден до" in listing.lower()
    page = page_text(
        superuser_client.post(
            CHANGELIST, {"action": "withdraw", "_selected_action": [keys["aas"].pk]}, **BG
        )
    )
    assert "Оттегляне на ключове за подписване (компрометиран ключ)" in page
    assert "Презаредете сървърите на приложението" in page
    assert 'value="Да, оттеглете"' in page and "Не, върни ме обратно" in page
    assert "Withdraw" not in page and "Reload" not in page

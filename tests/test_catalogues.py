"""Every Bulgarian catalogue of the project (trustregistry/<app>/locale/bg), read by
tests/catalogues.py: no database, no GNU gettext. The apps' own test_locale.py files hold
what is particular to each."""

import pytest

from tests import catalogues

# Every catalogue: each entry translated, with its placeholders, and its .mo compiled from it.
ALL_APPS = ["accounts", "aas", "keys", "marketplace", "oauth", "registry"]
# Catalogues kept in step with their app's own sources (`make messages`): the oauth,
# marketplace and accounts catalogues also hold the pages' template strings and Django's.
SOURCE_APPS = ["aas", "keys", "registry"]


@pytest.mark.parametrize("app", ALL_APPS)
def test_every_entry_is_translated_with_its_placeholders_and_compiled(app):
    assert catalogues.catalogue_problems(app) == []


@pytest.mark.parametrize("app", SOURCE_APPS)
def test_every_string_marked_for_translation_has_a_bulgarian_entry(app):
    assert catalogues.untranslated_marked_strings(app) == [], (
        f"run `make messages`, translate the new entries of "
        f"trustregistry/{app}/locale/bg/LC_MESSAGES/django.po, then `make compile-messages`"
    )


@pytest.mark.parametrize("app", SOURCE_APPS)
def test_the_catalogue_holds_no_entry_nothing_marks(app):
    assert catalogues.stale_entries(app) == []

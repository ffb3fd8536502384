"""The keys app's Bulgarian catalogue (trustregistry/keys/locale/bg): complete, in step with its
sources and its compiled .mo. No database, no GNU gettext."""

from django.utils import translation

from tests import catalogues
from trustregistry.keys.models import SigningKey

APP = "keys"


def test_every_entry_is_translated_with_its_placeholders_and_compiled():
    assert catalogues.catalogue_problems(APP) == []


def test_every_string_marked_for_translation_has_a_bulgarian_entry():
    assert catalogues.untranslated_marked_strings(APP) == []


def test_the_catalogue_holds_no_entry_nothing_marks():
    assert catalogues.stale_entries(APP) == []


def test_model_names_follow_the_language():
    with translation.override("bg"):
        assert str(SigningKey._meta.verbose_name_plural) == "ключове за подписване"
    assert str(SigningKey._meta.verbose_name_plural) == "signing keys"

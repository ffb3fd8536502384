"""The keys app's Bulgarian catalogue (trustregistry/keys/locale/bg; its completeness is
checked with the others in tests/test_catalogues.py). No database, no GNU gettext."""

from django.utils import translation

from trustregistry.keys.models import SigningKey


def test_model_names_follow_the_language():
    with translation.override("bg"):
        assert str(SigningKey._meta.verbose_name_plural) == "ключове за подписване"
    assert str(SigningKey._meta.verbose_name_plural) == "signing keys"

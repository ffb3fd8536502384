"""The registry's Bulgarian catalogue (trustregistry/registry/locale/bg; its completeness is
checked with the others in tests/test_catalogues.py): the scanners, and agreement with the
project's other catalogues. No database, no GNU gettext: the .po is read by tests/catalogues.py."""

import ast
import gettext
from pathlib import Path

from django.utils import translation

from tests import catalogues
from trustregistry.registry import secrets
from trustregistry.registry.admin import forms

APP = "registry"


def test_the_scanners_find_every_kind_of_marking(tmp_path):
    """The checks above are only as good as the scanners: each kind of marking is found."""
    module = tmp_path / "m.py"
    module.write_text(
        "from django.utils.translation import gettext as _, gettext_lazy, pgettext, ngettext\n"
        "_('one')\n"
        "gettext_lazy('two' ' joined')\n"
        "pgettext('ctx', 'three')\n"
        "ngettext('four', 'fours', 2)\n"
        "translation.gettext_noop('five')\n"
        "_(variable)\n",
        encoding="utf-8",
    )
    assert catalogues.python_msgids(module) == {
        (None, "one"),
        (None, "two joined"),
        ("ctx", "three"),
        (None, "four"),
        (None, "five"),
    }
    template = tmp_path / "t.html"
    template.write_text(
        "{% load i18n %}{% translate \"Six\" %}{% trans 'Seven' %}"
        '{% translate "Hash" context "verb" %}'
        "{% blocktranslate trimmed %}Eight\n   {{ name }} nine{% endblocktranslate %}"
        "{% blocktranslate with n=x %}Ten {{ n }}{% plural %}Tens{% endblocktranslate %}",
        encoding="utf-8",
    )
    assert catalogues.template_msgids(template) == {
        (None, "Six"),
        (None, "Seven"),
        ("verb", "Hash"),
        (None, "Eight %(name)s nine"),
        (None, "Ten %(n)s"),
    }


def test_the_scanners_agree_with_the_registrys_own_sources():
    """Spot checks: one string of each source kind is found where it is marked."""
    marked = catalogues.marked_msgids(*catalogues.app_sources(APP))
    assert marked[(None, "Identity")].endswith("admin/application.py")
    assert marked[(None, "Test handshake")].endswith("change_form.html")
    assert marked[(None, "No history yet.")].endswith("history.html")
    assert marked[("verb", "Hash")].endswith("sha256_tool.html")
    assert (None, "The expiry must be in the future.") in marked


def test_shared_entries_agree_with_the_other_catalogues():
    """Django merges every app's catalogue into one: the same text translated differently in
    two catalogues would show whichever app comes first in INSTALLED_APPS (the scope
    meanings are on the consent page too)."""
    ours = {e.key: e.msgstr for e in catalogues.parse_po(catalogues.catalogue_path(APP))[1]}
    clashes = []
    for app, path in catalogues.project_catalogues().items():
        if app == APP:
            continue
        for e in catalogues.parse_po(path)[1]:
            if e.key in ours and ours[e.key] != e.msgstr:
                clashes.append((app, e.msgid, ours[e.key], e.msgstr))
    assert clashes == []


def _key_format_messages() -> tuple[set[str], list[str]]:
    """The literal messages `connector.keys` raises KeyFormatError with, and its f-strings."""
    source = Path(catalogues.ROOT / "connector" / "keys.py")
    literals, formatted = set(), []
    for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
        if (
            isinstance(node, ast.Call)
            and getattr(node.func, "id", None) == "KeyFormatError"
            and node.args
        ):
            arg = node.args[0]
            if isinstance(arg, ast.Constant):
                literals.add(arg.value)
            else:
                formatted.append(ast.unparse(arg))
    return literals, formatted


def test_every_key_format_message_of_the_connector_package_is_in_the_catalogue():
    """The admin shows `connector.keys`' messages (a pasted key it cannot use) translated by
    looking them up: each must have an entry, listed in forms.KEY_FORMAT_MESSAGES."""
    literals, formatted = _key_format_messages()
    assert literals and literals <= set(forms.KEY_FORMAT_MESSAGES)
    # The messages built with a value are matched by a pattern each.
    assert len(formatted) == len(forms._KEY_FORMAT_PATTERNS)


def test_key_and_secret_hash_messages_are_shown_translated():
    with translation.override("bg"):
        assert forms.readable_key_error("No key was found in the text.") == (
            "В текста не е намерен ключ."
        )
        assert forms.readable_key_error("RSA keys must be at least 1024 bits.") == (
            "RSA ключовете трябва да са поне 1024 бита."
        )
        assert "EC JWK" in forms.readable_key_error(
            "The EC JWK is missing a member or has an invalid value."
        )
        try:
            secrets.normalise_secret_hash("nope")
        except secrets.SecretHashFormatError as exc:
            assert forms.readable_key_error(str(exc)).startswith("Хешът на тайна е base64")
        # A message the catalogue does not know stays as it is.
        assert forms.readable_key_error("Something new.") == "Something new."
    assert forms.readable_key_error("No key was found in the text.") == (
        "No key was found in the text."
    )


def test_the_compiled_catalogue_is_what_django_loads():
    with catalogues.catalogue_path(APP, "mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    with translation.override("bg"):
        assert translation.gettext("Identity") == compiled.gettext("Identity")
        assert translation.pgettext("verb", "Hash") == compiled.pgettext("verb", "Hash")

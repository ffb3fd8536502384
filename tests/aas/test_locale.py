"""The AAS's Bulgarian catalogue (trustregistry/aas/locale/bg; its completeness is checked
with the others in tests/test_catalogues.py): the handshake's messages stay English for the
API and the history, and come translated for the admin. No database, no GNU gettext."""

import ast

from django.utils import translation

from tests import catalogues
from trustregistry.aas import errors


def test_every_reason_the_aas_check_of_a_reply_gives_is_in_the_catalogue():
    """`connector.tokens.verify_application_token`'s reasons become HandshakeFailed messages:
    each is listed in errors.CONNECTOR_REPLY_REASONS, so it has an entry."""
    tree = ast.parse((catalogues.ROOT / "connector" / "tokens.py").read_text(encoding="utf-8"))
    function = next(
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.FunctionDef) and n.name == "verify_application_token"
    )
    reasons = {
        node.args[0].value
        for node in ast.walk(function)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) == "HandshakeError"
        and isinstance(node.args[0], ast.Constant)
    }
    assert reasons and reasons <= set(errors.CONNECTOR_REPLY_REASONS)


def test_messages_are_english_and_translated_on_request():
    failed = errors.HandshakeFailed(
        "The connector answered HTTP %(status)s.", params={"status": 500}
    )
    unreachable = errors.ConnectorUnreachable()
    reply = errors.HandshakeFailed("The SignedApplicationToken is too long.")
    with translation.override("bg"):
        # What the API answers and the history stores does not follow the language...
        assert failed.message == "The connector answered HTTP 500."
        assert failed.as_dict()["message"] == "The connector answered HTTP 500."
        # ...what the admin shows does.
        assert failed.translated() == "Конекторът отговори с HTTP 500."
        assert unreachable.translated() == "Конекторът не може да бъде достигнат."
        assert reply.translated() == "SignedApplicationToken е твърде дълъг."
        assert errors.HandshakeFailed("A reason nobody listed.").translated() == (
            "A reason nobody listed."
        )
    assert failed.translated() == "The connector answered HTTP 500."
    # A value with a percent sign is data, not a template.
    refused = errors.HandshakeFailed(
        "The connector refused the handshake: %(reason)s", params={"reason": "100% wrong"}
    )
    assert refused.message == "The connector refused the handshake: 100% wrong"

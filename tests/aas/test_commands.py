"""manage.py resolve_connector."""

import pytest
from django.core.management import CommandError, call_command

from connector.keys import public_key_to_jwk
from tests.aas.conftest import CONNECTOR_URI


def test_resolve_prints_the_url(connector_record, connector_url, capsys):
    call_command("resolve_connector", f"app://{CONNECTOR_URI}", "--context", "Cust1")
    assert capsys.readouterr().out.strip() == connector_url


def test_failure_names_code_and_reason_not_the_url(connector_record, other_key, capsys):
    connector_record.public_keys = [public_key_to_jwk(other_key.public_key())]
    connector_record.save()
    with pytest.raises(CommandError) as info:
        call_command("resolve_connector", f"app://{CONNECTOR_URI}", "--context", "Cust1")
    assert str(info.value).startswith("handshake_failed: ")
    assert connector_record.connector_url not in str(info.value)
    assert capsys.readouterr().out == ""


def test_unknown_and_missing_context(db):
    with pytest.raises(CommandError, match="unknown_application"):
        call_command("resolve_connector", "app://nobody.example/app", "--context", "c")
    with pytest.raises(CommandError, match="invalid_request"):
        call_command("resolve_connector", "app://nobody.example/app")

"""The client-credentials access-token row, written with one precompiled INSERT.

A client-credentials grant writes exactly one row: the access token (no refresh token, no ID
token, no code). Through the ORM that row cost a model instance, a compiled INSERT and the
field preparation of every column on each request, about a fifth of the token endpoint's
CPU; here the statement is compiled once per database alias and, on PostgreSQL, prepared
once per connection (`common.db.prepared_cursor`). The row is what
`AccessToken(...).save()` writes (the same columns and the same value preparation, the
checksum as DOT computes it, the plaintext column blank when RFC 9700 token storage is on);
`tests/oauth/test_token_writes.py` compares the two. One statement in autocommit is atomic by
itself.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import connections, router
from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from oauth2_provider.settings import oauth2_settings

from trustregistry.common.db import prepared_cursor
from trustregistry.oauth.access_tokens import token_checksum

_COLUMNS = (
    "token",
    "token_checksum",
    "expires",
    "scope",
    "application",
    "user",
    "resource",
    "created",
    "updated",
)
# Values of these fields go to the database as they are (str and int adapt alike everywhere);
# the others (datetimes, JSON) need their field's per-database preparation.
_AS_IS = frozenset({"token", "token_checksum", "scope", "application", "user"})

_compiled: dict[str, tuple[str, list[Any]]] = {}


def _statement(alias: str) -> tuple[str, list[Any]]:
    entry = _compiled.get(alias)
    if entry is None:
        model = get_access_token_model()
        fields = [model._meta.get_field(name) for name in _COLUMNS]
        quote = connections[alias].ops.quote_name
        # Identifiers from the model's metadata, quoted; every value is a parameter.
        sql = (
            f"INSERT INTO {quote(model._meta.db_table)} "  # noqa: S608
            f"({', '.join(quote(f.column) for f in fields)}) "  # type: ignore[union-attr]
            f"VALUES ({', '.join(['%s'] * len(fields))})"
        )
        entry = (sql, [None if f.name in _AS_IS else f for f in fields])
        _compiled[alias] = entry
    return entry


def insert_access_token(
    *,
    raw_token: str,
    application_id: int,
    user_id: int | None,
    scope: str,
    expires: dt.datetime,
    resource: list[str] | None = None,
) -> None:
    """Record an issued access token (only its checksum under RFC 9700 token storage)."""
    alias = router.db_for_write(get_access_token_model())
    connection = connections[alias]
    sql, preparers = _statement(alias)
    now = timezone.now()
    stored = "" if oauth2_settings.COMPLIANT_BCP_RFC9700_TOKEN_STORAGE else raw_token
    values: list[Any] = [
        stored,
        token_checksum(raw_token),
        expires,
        scope,
        application_id,
        user_id,
        resource or [],
        now,
        now,
    ]
    params = [
        value if field is None else field.get_db_prep_save(value, connection)
        for field, value in zip(preparers, values, strict=True)
    ]
    with prepared_cursor(alias) as cursor:
        cursor.execute(sql, params)

"""The bearer check of the API's hot path: one precompiled query per request.

`trustregistry.oauth.access_tokens.check_access_token` is the reference: a live token is
recorded, not expired, of an enabled record and an active user the record still lets it act
as. Its ORM query (three wide models joined, compiled and instantiated per call) cost most of
a bearer request under load; this module asks the same question with the same rules,
selecting only the columns the API needs, with SQL compiled once per process.
`tests/api/test_token_lookup.py` runs both over the same cases so they cannot drift apart.

The signature, `typ`, `iss`, `aud` and `exp` checks stay in `access_tokens.decode_access_token`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import router
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from trustregistry.common import clock
from trustregistry.common.db import prepared_cursor
from trustregistry.oauth import policy
from trustregistry.oauth.access_tokens import (
    InvalidAccessToken,
    decode_access_token,
    token_checksum,
)
from trustregistry.registry.models import TrustedApplication


def _in_model_order(model: Any, names: set[str]) -> tuple[str, ...]:
    # Model.from_db takes a subset of values in the order of the model's concrete fields.
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname in names)


_TOKEN_COLUMNS = ("expires", "scope")
_APPLICATION_COLUMNS = _in_model_order(
    TrustedApplication,
    {
        "id",
        "client_id",
        "client_type",
        "is_enabled",
        "scope",
        "system_user_id",
        "system_user_allowed",
        "impersonate_internal_allowed",
        "impersonate_community_allowed",
    },
)
_USER_COLUMNS = _in_model_order(
    get_user_model(), {"id", "username", "kind", "is_active", "is_staff", "is_superuser"}
)
_SELECT = (
    *_TOKEN_COLUMNS,
    *(f"application__{c}" for c in _APPLICATION_COLUMNS),
    *(f"user__{c}" for c in _USER_COLUMNS),
)
_BOOLEAN_INDEXES = frozenset(
    i
    for i, name in enumerate(_SELECT)
    if name.endswith(("is_enabled", "is_active", "is_staff", "is_superuser", "_allowed"))
)

_compiled: dict[str, str] = {}


@dataclass(frozen=True)
class BearerToken:
    claims: dict[str, Any]
    scopes: frozenset[str]
    scope: str  # the token row's scope as recorded, in its order
    application: TrustedApplication  # only the columns above are loaded; others load lazily
    user: Any


def _sql(alias: str) -> str:
    sql = _compiled.get(alias)
    if sql is None:
        model = get_access_token_model()
        query = model.objects.using(alias).filter(token_checksum="?").values_list(*_SELECT).query
        sql, params = query.get_compiler(using=alias).as_sql()
        if len(params) != 1:  # the checksum must be the query's only parameter
            raise RuntimeError("unexpected token query shape")
        _compiled[alias] = sql
    return sql


def _row(alias: str, checksum: str) -> tuple[Any, ...] | None:
    with prepared_cursor(alias) as cursor:
        cursor.execute(_sql(alias), [checksum])
        row = cursor.fetchone()
    if row is None:
        return None
    # SQLite answers 0/1 and naive UTC datetimes; PostgreSQL booleans and aware datetimes.
    values = [bool(v) if i in _BOOLEAN_INDEXES and v is not None else v for i, v in enumerate(row)]
    expires: Any = values[0]
    if isinstance(expires, str):
        expires = dt.datetime.fromisoformat(expires)
    if expires is not None and timezone.is_naive(expires):
        expires = timezone.make_aware(expires, dt.UTC)
    values[0] = expires
    return tuple(values)


def check_bearer_token(raw: str) -> BearerToken:
    """A live access token, as `check_access_token` decides. Raises InvalidAccessToken."""
    claims = decode_access_token(raw)
    alias = router.db_for_read(get_access_token_model())
    row = _row(alias, token_checksum(raw))
    if row is None:
        raise InvalidAccessToken("The access token has been revoked.")
    n_token, n_app = len(_TOKEN_COLUMNS), len(_APPLICATION_COLUMNS)
    expires, scope = row[:n_token]
    app_values = row[n_token : n_token + n_app]
    user_values = row[n_token + n_app :]
    app = dict(zip(_APPLICATION_COLUMNS, app_values, strict=True))
    user_row = dict(zip(_USER_COLUMNS, user_values, strict=True))
    # In `check_access_token`'s order (a test holds the two equal).
    if app["id"] is None or not app["is_enabled"]:
        raise InvalidAccessToken("The application of this access token is disabled.")
    if user_row["id"] is not None and not user_row["is_active"]:
        raise InvalidAccessToken("The user of this access token is inactive.")
    if expires is None or expires <= clock.now():
        raise InvalidAccessToken("The access token has expired.")
    user = None
    if user_row["id"] is not None:
        user = get_user_model().from_db(alias, list(_USER_COLUMNS), list(user_values))
    application = TrustedApplication.from_db(alias, list(_APPLICATION_COLUMNS), list(app_values))
    withdrawn = policy.token_user_allowed(
        application,
        user_id=user_row["id"],
        user_kind=user_row["kind"],
        issued_as=claims.get("user_type"),
    )
    if withdrawn:
        raise InvalidAccessToken(withdrawn)
    return BearerToken(
        claims=claims,
        scopes=frozenset((scope or "").split()),
        scope=scope or "",
        application=application,
        user=user,
    )

"""Reads of trusted-application records."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from django.db import router
from django.db.models import F, QuerySet
from django.db.models.query import get_related_populators  # type: ignore[attr-defined]

from trustregistry.common.db import prepared_cursor
from trustregistry.registry.models import ApplicationSecret, TrustedApplication


def application_list() -> QuerySet[TrustedApplication]:
    return TrustedApplication.objects.select_related("system_user").prefetch_related(
        "names", "secrets"
    )


def application_get(*, application_uri: str) -> TrustedApplication | None:
    """Exact, case-sensitive lookup by URI (a percent-encoded URI is decoded first)."""
    if not application_uri:
        return None
    uri = unquote(application_uri) if "%" in application_uri else application_uri
    if "\x00" in uri:  # no URI holds one, and PostgreSQL refuses it in any text parameter
        return None
    return application_list().filter(client_id=uri).first()


def application_get_enabled(*, application_uri: str) -> TrustedApplication | None:
    app = application_get(application_uri=application_uri)
    return app if app is not None and app.is_enabled else None


# ------------------------------------------------------------------ precompiled hot-path reads


class _Precompiled:
    """One ORM query with a single varying parameter, its SQL compiled once per thread and
    database alias and its rows turned into model instances as the ORM's ModelIterable does
    (the same converters, `from_db` and select_related population). Compiling a query over a
    wide model costs more than the database round trip it makes; the client-authentication
    reads run on every token and introspection request."""

    def __init__(self, model: Any, build: Callable[[Any], QuerySet[Any]], sentinel: Any):
        self.model = model
        self.build = build
        self.sentinel = sentinel
        self._local = threading.local()

    def _prepared(self, alias: str) -> tuple[Any, ...]:
        cache: dict[str, tuple[Any, ...]] = self._local.__dict__.setdefault("by_alias", {})
        entry = cache.get(alias)
        if entry is None:
            compiler = self.build(self.sentinel).using(alias).query.get_compiler(using=alias)
            sql, params = compiler.as_sql()
            positions = [i for i, p in enumerate(params) if p == self.sentinel]
            if len(positions) != 1:
                raise RuntimeError("a precompiled query must have exactly one varying parameter")
            klass_info, select = compiler.klass_info, compiler.select
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            init_list = [f[0].target.attname for f in select[start:end]]
            populators = get_related_populators(klass_info, select, alias)
            annotations = tuple(compiler.annotation_col_map.items())
            fields = [s[0] for s in select[0 : compiler.col_count]]
            converters = compiler.get_converters(fields)
            entry = (
                compiler,
                converters,
                sql,
                list(params),
                positions[0],
                start,
                end,
                init_list,
                populators,
                annotations,
            )
            cache[alias] = entry
        return entry

    def fetch(self, value: Any) -> list[Any]:
        if isinstance(value, str) and "\x00" in value:
            # No record holds one, and PostgreSQL refuses NUL in any text parameter.
            return []
        alias = router.db_for_read(self.model)
        prepared = self._prepared(alias)
        (
            compiler,
            converters,
            sql,
            params,
            position,
            start,
            end,
            init_list,
            populators,
            annotations,
        ) = prepared
        params = list(params)
        params[position] = value
        with prepared_cursor(alias) as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if converters:  # as compiler.results_iter, with the converters looked up once
            rows = list(compiler.apply_converters(rows, converters))
        objects = []
        for row in rows:
            obj = self.model.from_db(alias, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            for name, index in annotations:
                setattr(obj, name, row[index])
            objects.append(obj)
        return objects


_application_by_client_id = _Precompiled(
    TrustedApplication,
    lambda client_id: (
        TrustedApplication.objects.select_related("system_user")
        .filter(client_id=client_id)
        .order_by("pk")[:1]
    ),
    "\x00precompiled-client-id\x00",
)
_secrets_of_application = _Precompiled(
    ApplicationSecret,
    lambda application_id: ApplicationSecret.objects.filter(application_id=application_id),
    -7_364_019_201,
)


_SECRET_FIELDS = tuple(f.attname for f in ApplicationSecret._meta.concrete_fields)
_application_and_secrets_by_client_id = _Precompiled(
    TrustedApplication,
    lambda client_id: (
        TrustedApplication.objects.select_related("system_user")
        .filter(client_id=client_id)
        .annotate(**{f"_tr_secret_{name}": F(f"secrets__{name}") for name in _SECRET_FIELDS})
        .order_by("pk", "secrets__created", "secrets__id")
    ),
    "\x00precompiled-client-id\x00",
)


def application_for_client_auth(*, client_id: str) -> TrustedApplication | None:
    """`application_for_client` and the record's secrets in the same query (one row per
    secret, LEFT OUTER JOIN), for client authentication, which reads both on every token and
    introspection request. `application_secrets` answers the secrets read here for this
    instance; nothing outlives the instance, which lives as long as the request."""
    rows = _application_and_secrets_by_client_id.fetch(client_id)
    if not rows:
        return None
    application = rows[0]
    secrets = []
    for row in rows:
        values = [row.__dict__.pop(f"_tr_secret_{name}") for name in _SECRET_FIELDS]
        if values[_SECRET_FIELDS.index("id")] is not None:
            secrets.append(ApplicationSecret.from_db(row._state.db, list(_SECRET_FIELDS), values))
    for secret in secrets:
        ApplicationSecret.application.field.set_cached_value(secret, application)
    application._tr_secrets = secrets  # type: ignore[attr-defined]
    return application


def application_for_client(*, client_id: str) -> TrustedApplication | None:
    """The record with this exact client id and its system user (enabled or not), as
    `TrustedApplication.objects.select_related("system_user").filter(client_id=...).first()`
    loads it, with precompiled SQL (client authentication's hot path)."""
    found = _application_by_client_id.fetch(client_id)
    return found[0] if found else None


def application_secrets(*, application: TrustedApplication) -> list[ApplicationSecret]:
    """The record's secrets (live or not), as `application.secrets.all()` answers them: those
    read with the record by `application_for_client_auth`, the prefetched ones when the record
    was loaded with them, else read now (precompiled)."""
    loaded = getattr(application, "_tr_secrets", None)
    if loaded is not None:  # read with the record (application_for_client_auth)
        return list(loaded)
    prefetched = getattr(application, "_prefetched_objects_cache", {}).get("secrets")
    if prefetched is not None:
        return list(prefetched)
    return _secrets_of_application.fetch(application.pk)


def secrets_ending(
    *, application: TrustedApplication, replace_all: bool
) -> list[ApplicationSecret]:
    """The live secrets that generating a secret would end: every one for `replace_all`, else
    those a rotation pushes out (`ApplicationSecret.pushed_out_by_one_more`). The admin asks
    before ending them, since a client still using one stops authenticating at once."""
    existing = list(ApplicationSecret.objects.filter(application_id=application.pk))
    if not replace_all:
        existing = ApplicationSecret.pushed_out_by_one_more(existing)
    return [secret for secret in existing if secret.is_live()]


def application_uris_differing_in_case(*, application_uri: str) -> list[str]:
    """The URIs of other records that equal `application_uri` but for letter case. URIs are
    case-sensitive (SPEC section 2), so such a record is another application; adding one is
    allowed and warned about, since it is more often a typo than intended."""
    return sorted(
        TrustedApplication.objects.filter(client_id__iexact=application_uri)
        .exclude(client_id=application_uri)
        .values_list("client_id", flat=True)
    )

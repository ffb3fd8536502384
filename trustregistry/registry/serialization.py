"""The trusted-application record as JSON (SPEC section 6): one shape for the REST API and the
import/export commands, so an export imports back unchanged.

`application_to_dict` reads; `application_upsert` validates a whole (or partial) body and writes
it through the services in one transaction. Errors are Django ValidationErrors whose
`message_dict` is keyed by the JSON field names, so every caller can name the bad field.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from connector.keys import KeyFormatError, normalise_public_keys
from trustregistry.registry import selectors, services
from trustregistry.registry.models import ClientType, Source, TrustedApplication

# The JSON fields, in the order they are written: identity, names, client type and secrets,
# then the record's other editable fields in the services' order.
FIELDS = (
    "application_uri",
    "names",
    "client_type",
    "secret_hashes",
    "secrets",
    *(f for f in services.EDITABLE_FIELDS if f != "client_type"),
)
READ_ONLY_FIELDS = ("secrets",)
BOOLEAN_FIELDS = (
    "basic_auth_allowed",
    "impersonate_internal_allowed",
    "impersonate_community_allowed",
    "is_enabled",
    "system_user_allowed",
)
STRING_FIELDS = ("scope", "system_user_login_url", "connector_url")
URL_LIST_FIELDS = ("login_urls", "logout_urls")

# What a field is when a full (not partial) body leaves it out: the model's defaults. Not
# secret_hashes: write-only, a record read back never holds it, so a PUT of what was read
# would leave the application without a secret; left out, the secrets stay (`[]` removes them).
_DEFAULTS: dict[str, Any] = {
    "client_type": ClientType.CONFIDENTIAL.value,
    "basic_auth_allowed": False,
    "impersonate_internal_allowed": False,
    "impersonate_community_allowed": False,
    "login_urls": [],
    "logout_urls": [],
    "is_enabled": True,
    "scope": "",
    "system_user": None,
    "system_user_allowed": False,
    "system_user_login_url": "",
    "connector_url": "",
    "public_keys": [],
}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def application_to_dict(app: TrustedApplication, *, include_secret_hashes: bool) -> dict[str, Any]:
    """The record as SPEC section 6 writes it. Uses prefetched names/secrets when present
    (`selectors.application_list()`), so a list costs a fixed number of queries."""
    secrets = sorted(app.secrets.all(), key=lambda s: (s.created, s.pk))
    data: dict[str, Any] = {
        "application_uri": app.client_id,
        "names": {n.language: n.name for n in sorted(app.names.all(), key=lambda n: n.language)},
        "client_type": app.client_type,
    }
    if include_secret_hashes:
        data["secret_hashes"] = [s.secret_hash for s in secrets]
    data.update(
        {
            "secrets": [
                {
                    "id": s.pk,
                    "created": _iso(s.created),
                    "expires": _iso(s.expires),
                    "last_used": _iso(s.last_used),
                }
                for s in secrets
            ],
            "basic_auth_allowed": app.basic_auth_allowed,
            "impersonate_internal_allowed": app.impersonate_internal_allowed,
            "impersonate_community_allowed": app.impersonate_community_allowed,
            "login_urls": list(app.login_urls or []),
            "logout_urls": list(app.logout_urls or []),
            "is_enabled": app.is_enabled,
            "scope": app.scope,
            "system_user": app.system_user.username if app.system_user_id else None,
            "system_user_allowed": app.system_user_allowed,
            "system_user_login_url": app.system_user_login_url,
            "connector_url": app.connector_url,
            # Members sorted: PostgreSQL's jsonb keeps its own order, so an export would
            # differ from the same record's on SQLite.
            "public_keys": [
                dict(sorted(jwk.items())) if isinstance(jwk, dict) else jwk
                for jwk in app.public_keys or []
            ],
            "source": app.source,
        }
    )
    return data


# ------------------------------------------------------------------ reading a body


class _Errors:
    def __init__(self) -> None:
        self.by_field: dict[str, list[str]] = {}

    def add(self, field: str, message: str | list[str]) -> None:
        self.by_field.setdefault(field, []).extend(
            [message] if isinstance(message, str) else message
        )

    def raise_if_any(self) -> None:
        if self.by_field:
            raise ValidationError(self.by_field)


def _model_error_dict(exc: ValidationError) -> dict[str, list[str]]:
    """Model errors keyed by JSON names: `client_id` is `application_uri` on the wire."""
    if not hasattr(exc, "error_dict"):
        return {"non_field_errors": exc.messages}
    renamed: dict[str, list[str]] = {}
    for field, messages in exc.message_dict.items():
        key = {"client_id": "application_uri", "__all__": "non_field_errors"}.get(field, field)
        renamed.setdefault(key, []).extend(messages)
    return renamed


def _read_body(data: Any, *, partial: bool, accept_source: bool, errors: _Errors) -> dict[str, Any]:
    """Type-check the body; returns the fields to write (names, secret_hashes included)."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": ["A record must be a JSON object."]})
    unknown = sorted(set(data) - set(FIELDS))
    for key in unknown:
        errors.add(str(key), "Unknown field.")
    wanted: dict[str, Any] = {}
    for field in FIELDS:
        if field in READ_ONLY_FIELDS or field == "application_uri":
            continue
        if field == "source":
            if accept_source and "source" in data:
                wanted["source"] = data["source"]
            continue
        if field in data:
            wanted[field] = data[field]
        elif not partial and field in _DEFAULTS:
            wanted[field] = _DEFAULTS[field]

    for field in BOOLEAN_FIELDS:
        if field in wanted and not isinstance(wanted[field], bool):
            errors.add(field, "Must be true or false.")
    for field in STRING_FIELDS:
        if field in wanted:
            if wanted[field] is None:
                wanted[field] = ""
            elif not isinstance(wanted[field], str):
                errors.add(field, "Must be a string.")
    for field in URL_LIST_FIELDS:
        value = wanted.get(field)
        if field in wanted and not (
            isinstance(value, str)
            or (isinstance(value, list) and all(isinstance(v, str) for v in value))
        ):
            errors.add(field, "Must be a list of URLs.")
    if "client_type" in wanted and wanted["client_type"] not in ClientType.values:
        errors.add("client_type", f"Must be one of: {', '.join(ClientType.values)}.")
    if "source" in wanted and wanted["source"] not in Source.values:
        errors.add("source", f"Must be one of: {', '.join(Source.values)}.")
    if (
        "system_user" in wanted
        and wanted["system_user"] is not None
        and not (isinstance(wanted["system_user"], str) and wanted["system_user"].strip())
    ):
        errors.add("system_user", "Must be a username or null.")
    if "names" in wanted and not (
        isinstance(wanted["names"], dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in wanted["names"].items())
    ):
        errors.add("names", 'Must be an object of language code to name, e.g. {"en": "My app"}.')
    if not partial and "names" not in data:
        errors.add(
            "names", f"The name in the default language ({settings.LANGUAGE_CODE}) is required."
        )
    if "secret_hashes" in wanted:
        hashes = wanted["secret_hashes"]
        if hashes is None:
            wanted["secret_hashes"] = []
        elif not (isinstance(hashes, list) and all(isinstance(h, str) for h in hashes)):
            errors.add("secret_hashes", "Must be a list of at most two secret hashes.")
    if "public_keys" in wanted:
        keys = wanted["public_keys"]
        if keys is None:
            wanted["public_keys"] = []
        elif isinstance(keys, (str, dict)):
            wanted["public_keys"] = [keys]
        elif not (isinstance(keys, list) and all(isinstance(k, (str, dict)) for k in keys)):
            errors.add("public_keys", "Must be a list of JWK objects or PEM / RSA XML strings.")
        if "public_keys" not in errors.by_field and wanted["public_keys"]:
            try:
                wanted["public_keys"] = normalise_public_keys(wanted["public_keys"])
            except KeyFormatError as exc:
                errors.add("public_keys", str(exc))
    return wanted


def _resolve_system_user(username: str | None, *, create_missing: bool, errors: _Errors) -> Any:
    if username is None:
        return None
    User = get_user_model()
    user = User.objects.filter(username=username).first()
    if user is None:
        if create_missing:
            try:
                with transaction.atomic():
                    return User.objects.create_system_user(username)  # type: ignore[attr-defined]
            except (ValidationError, IntegrityError) as exc:
                # Created by a concurrent import meanwhile? Then it is checked as any user.
                user = User.objects.filter(username=username).first()
                if user is None and isinstance(exc, IntegrityError):
                    raise
                if user is None:  # the username's own rules: named as system_user
                    for message in exc.messages:  # type: ignore[union-attr]
                        errors.add("system_user", message)
                    return None
        if user is None:
            errors.add("system_user", f"No user named {username!r}.")
            return None
    if not getattr(user, "is_system", False):
        errors.add("system_user", f"The user {username!r} is not of kind 'system'.")
        return None
    return user


@transaction.atomic
def application_upsert(
    *,
    data: dict[str, Any],
    actor: Any = None,
    existing: TrustedApplication | None = None,
    partial: bool = False,
    create_missing_system_user: bool = False,
    accept_source: bool = False,
    must_create: bool = False,
    reason: str | None = None,
    secret_expiries: list[dt.datetime | None] | None = None,
) -> tuple[TrustedApplication, bool]:
    """Create or update one record from its JSON. Returns (app, created).

    `existing` given: that record is updated (`application_uri` in the body must match it: the
    URI is the OAuth client_id and is never renamed). Not given: the record is looked up by the
    body's `application_uri` and created when missing (`must_create` refuses an existing one).
    `partial` (PATCH) writes only the fields present; otherwise absent fields get their defaults.
    `secrets` and, unless `accept_source`, `source` are read-only and ignored. Nothing is written
    unless the whole body is valid.
    """
    errors = _Errors()
    wanted = _read_body(data, partial=partial, accept_source=accept_source, errors=errors)
    uri = data.get("application_uri") if isinstance(data, dict) else None
    if existing is None:
        if not isinstance(uri, str) or not uri:
            errors.add("application_uri", "The application URI is required.")
        else:
            existing = selectors.application_for_client(client_id=uri)
            if existing is not None and must_create:
                raise services.ApplicationExists(uri, field="application_uri")
    elif uri is not None and uri != existing.client_id:
        errors.add("application_uri", "The application URI cannot be changed.")

    if "system_user" in wanted and "system_user" not in errors.by_field:
        wanted["system_user"] = _resolve_system_user(
            wanted["system_user"], create_missing=create_missing_system_user, errors=errors
        )
    client_type = wanted.get(
        "client_type", existing.client_type if existing else ClientType.CONFIDENTIAL
    )
    if client_type == ClientType.PUBLIC and wanted.get("secret_hashes"):
        errors.add(
            "secret_hashes", "A public client cannot keep a secret: it may hold no secret hash."
        )
    elif (
        client_type == ClientType.PUBLIC
        and existing is not None
        and existing.client_type != ClientType.PUBLIC
        and wanted.get("secret_hashes") is None
        and existing.secrets.exists()
    ):
        # SPEC section 2: a public record may hold no secret. Say so rather than keep them.
        errors.add(
            "client_type",
            "The record still holds secrets: a public client may hold none. Send "
            '"secret_hashes": [] with the change to remove them.',
        )
    errors.raise_if_any()

    names = wanted.pop("names", None)
    secret_hashes = wanted.pop("secret_hashes", None)
    created = existing is None
    try:
        if existing is None:
            app = services.application_create(
                application_uri=uri,  # type: ignore[arg-type]
                names=names or {},
                actor=actor,
                reason=reason or "created",
                **wanted,
            )
        else:
            app = existing
            if secret_hashes == [] and client_type == ClientType.PUBLIC:
                # Turning public: the secrets go first (a public record may hold none).
                services.secret_replace_all(application=app, secret_hashes=[], actor=actor)
                secret_hashes = None
            changed = {k: v for k, v in wanted.items() if _current(app, k) != _comparable(k, v)}
            if changed:
                services.application_update(
                    application=app, actor=actor, reason=reason or "updated", **changed
                )
            if names is not None:
                services.application_set_names(application=app, names=names, actor=actor)
        if secret_hashes is not None:
            services.secret_replace_all(
                application=app,
                secret_hashes=secret_hashes,
                actor=actor,
                expiries=secret_expiries
                if secret_expiries is not None and len(secret_expiries) == len(secret_hashes)
                else None,
            )
    except services.ApplicationExists as exc:  # named as on the wire
        raise services.ApplicationExists(exc.application_uri, field="application_uri") from exc
    except ValidationError as exc:
        raise ValidationError(_model_error_dict(exc)) from exc
    return app, created


def _current(app: TrustedApplication, field: str) -> Any:
    if field == "system_user":
        return app.system_user_id
    return getattr(app, field)


def _comparable(field: str, value: Any) -> Any:
    if field == "system_user":
        return value.pk if value is not None else None
    if field in URL_LIST_FIELDS and isinstance(value, str):
        from trustregistry.registry.validators import parse_url_list

        return parse_url_list(value)
    return value

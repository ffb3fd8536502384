"""Writes to trusted-application records (`records`) and their secrets (`record_secrets`),
one action each; callers use them as `services.<action>`."""

from trustregistry.registry.services.record_secrets import (
    PUBLIC_HOLDS_NO_SECRET,
    SECRET_ALREADY_ON_RECORD,
    GeneratedSecret,
    SecretsChangedMeanwhile,
    secret_add_hash,
    secret_generate,
    secret_replace_all,
    secret_verify,
)
from trustregistry.registry.services.records import (
    EDITABLE_FIELDS,
    LAST_USED_RESOLUTION,
    PUBLIC_STILL_HOLDS_SECRETS,
    ApplicationExists,
    application_create,
    application_lock,
    application_mark_used,
    application_save_edited,
    application_set_enabled,
    application_set_names,
    application_update,
    history_note,
)
from trustregistry.registry.services.revocation import revoke_live_tokens, revoke_withdrawn_tokens

__all__ = [
    "EDITABLE_FIELDS",
    "LAST_USED_RESOLUTION",
    "PUBLIC_HOLDS_NO_SECRET",
    "PUBLIC_STILL_HOLDS_SECRETS",
    "SECRET_ALREADY_ON_RECORD",
    "ApplicationExists",
    "GeneratedSecret",
    "SecretsChangedMeanwhile",
    "application_create",
    "application_lock",
    "application_mark_used",
    "application_save_edited",
    "application_set_enabled",
    "application_set_names",
    "application_update",
    "history_note",
    "revoke_live_tokens",
    "revoke_withdrawn_tokens",
    "secret_add_hash",
    "secret_generate",
    "secret_replace_all",
    "secret_verify",
]

"""ERP.net's register-trusted-app bodies (interop/register_*.json), in ERP.net's PascalCase
field names, read as the record's JSON (`serialization`): `import_trusted_apps` takes either."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from trustregistry.registry.models import Source

# ERP.net's register-trusted-app bodies (interop/register_*.json) use these names.
ERPNET_FIELDS = {
    "ApplicationUri": "application_uri",
    "Name": "names",
    "ClientType": "client_type",
    "ApplicationSecretHash": "secret_hashes",
    "BasicAuthenticationAllowed": "basic_auth_allowed",
    "ImpersonateAsInternalUserAllowed": "impersonate_internal_allowed",
    "ImpersonateAsCommunityUserAllowed": "impersonate_community_allowed",
    "ImpersonateLoginUrl": "login_urls",
    "ImpersonateLogoutUrl": "logout_urls",
    "IsEnabled": "is_enabled",
    "Scope": "scope",
    "SystemUser": "system_user",
    "SystemUserAllowed": "system_user_allowed",
    "SystemUserLoginUrl": "system_user_login_url",
}


def is_erpnet_form(data: Any) -> bool:
    return isinstance(data, dict) and "ApplicationUri" in data


def from_erpnet(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """ERP.net's PascalCase record as our JSON, plus notes for the operator.

    ERP.net names its system user by an OData id (`Systems_Security_Users(<guid>)`) that means
    nothing here; such a record gets the marketplace system user
    (`TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER`), created as a `system` user when missing, and a
    note says so. Unknown keys are kept under their own name, so the import refuses them.
    """
    out: dict[str, Any] = {}
    notes: list[str] = []
    uri = data.get("ApplicationUri")
    for key, value in data.items():
        field = ERPNET_FIELDS.get(key)
        if field is None:
            out[key] = value
        elif field == "names":
            out["names"] = value if isinstance(value, dict) else {settings.LANGUAGE_CODE: value}
        elif field == "client_type":
            out["client_type"] = value.lower() if isinstance(value, str) else value
        elif field == "secret_hashes":
            out["secret_hashes"] = [] if value in (None, "") else [value]
        elif field == "system_user":
            if isinstance(value, dict) or (isinstance(value, str) and value.startswith("Systems_")):
                username = settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER
                out["system_user"] = username
                notes.append(
                    f"{uri}: ERP.net system user {_odata_id(value)!r} cannot be resolved here; "
                    f"mapped to the system user {username!r}."
                )
            else:
                out["system_user"] = value
        else:
            out[field] = value
    out.setdefault("source", Source.MANUAL.value)
    return out, notes


def _odata_id(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("@odata.id", value))
    return str(value)

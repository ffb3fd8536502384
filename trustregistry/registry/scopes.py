"""The scope catalogue of SPEC section 4."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

StrOrLazy = str | Promise  # meanings are lazy translations

READ = "read"
UPDATE = "update"
SEC = "sec"

CATALOGUE: dict[str, StrOrLazy] = {
    "read": _(
        "Read data (the baseline every trusted application has; accepted for compatibility)."
    ),
    "update": _("Create, change and delete data (unsafe API methods)."),
    "sec": _("Access the security infrastructure: trusted applications and connector resolution."),
    "profile": _("Reserved for resource servers: profile information."),
    "general": _("Reserved for resource servers: general data."),
    "crm": _("Reserved for resource servers: customer relations."),
    "logistics": _("Reserved for resource servers: logistics."),
    "production": _("Reserved for resource servers: production."),
    "finance": _("Reserved for resource servers: finance."),
    "personaldata": _("Reserved for resource servers: personal data."),
}

# Protocol scopes: allowed to every record that may impersonate users, never stored on a record.
PROTOCOL_SCOPES: dict[str, StrOrLazy] = {
    "openid": _("Sign you in (OpenID Connect)."),
    "profile": _("Your name and profile information."),
    "offline_access": _("Keep access while you are away (a refresh token)."),
}


def split(scope: str | None) -> list[str]:
    seen: list[str] = []
    for token in (scope or "").split():
        if token not in seen:
            seen.append(token)
    return seen


def join(scopes: list[str] | set[str] | tuple[str, ...]) -> str:
    return " ".join(dict.fromkeys(scopes))

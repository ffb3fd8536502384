"""The parameters of ERP.net marketplace links (SPEC section 8), parsed into typed requests.

Database-free. Every problem is collected, so the refusal page names all of them at once.
Parameter *names* are exact (case-sensitive, as SPEC section 8 writes them) and an unknown or
repeated name is refused rather than guessed; parameter *values* of the enumerations are
case-insensitive (`Confidential`, `confidential` and `CONFIDENTIAL` are the same), as ERP.net
reads them.

Defaults for an absent (or empty) parameter follow ERP.net's own description of the flow:
`clientType` Confidential (ERP.net's examples install a confidential app when it is absent),
`impersonate` none, `requestSecret` false, `serviceAccess` none, `scope` empty, and for a new
record an absent `applicationName` gives the name "(unnamed)".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from trustregistry.common.exceptions import ApplicationError
from trustregistry.registry import scopes as scope_catalogue
from trustregistry.registry import validators

INSTALL_PARAMETERS = (
    "applicationUri",
    "applicationName",
    "clientType",
    "redirectUri",
    "impersonate",
    "requestSecret",
    "serviceAccess",
    "scope",
)
UNINSTALL_PARAMETERS = ("applicationUri",)

# ERP.net parameters (some from older versions of its documentation) this registry does not
# implement: named in the refusal so the vendor knows what to change.
_NOT_SUPPORTED_HINTS = {
    "redirectUrl": "redirectUri",
    "referenceTokens": None,
    "secretType": None,
    "impersonateAsInternalUserAllowed": "impersonate",
    "impersonateAsCommunityUserAllowed": "impersonate",
}

# Protocol scopes: every record that may impersonate gets them without storing them.
_PROTOCOL_ONLY_SCOPES = tuple(
    s for s in scope_catalogue.PROTOCOL_SCOPES if s not in scope_catalogue.CATALOGUE
)

NAME_MAX_LENGTH = 200
UNNAMED = "(unnamed)"


class ClientType(StrEnum):
    CONFIDENTIAL = "confidential"
    PUBLIC = "public"


class Impersonate(StrEnum):
    NONE = "none"
    INTERNAL = "internal"
    ALL = "all"


class ServiceAccess(StrEnum):
    NONE = "none"
    CLIENT_CREDENTIALS = "clientCredentials"


class MarketplaceRefusal(ApplicationError):
    """The link cannot be used as it is; `problems` are human messages, one per fault."""

    code = "invalid_request"
    status = 400
    message = "The marketplace link cannot be used."

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        super().__init__(" ".join(self.problems) or None)


@dataclass(frozen=True)
class InstallRequest:
    application_uri: str
    application_name: str | None  # None: not given (a new record is named UNNAMED)
    client_type: ClientType
    redirect_uri: str | None
    impersonate: Impersonate
    request_secret: bool
    service_access: ServiceAccess
    scope: str  # catalogue scopes only, space-delimited, as stored on the record
    protocol_scopes: tuple[str, ...] = ()  # asked for, granted by impersonation, not stored

    @property
    def impersonate_internal(self) -> bool:
        return self.impersonate in (Impersonate.INTERNAL, Impersonate.ALL)

    @property
    def impersonate_community(self) -> bool:
        return self.impersonate == Impersonate.ALL

    @property
    def system_user_allowed(self) -> bool:
        return self.service_access == ServiceAccess.CLIENT_CREDENTIALS


def _single_values(
    query: Mapping[str, Sequence[str]], allowed: Iterable[str], problems: list[str]
) -> dict[str, str]:
    """The given parameters as single, stripped values; empty ones count as absent."""
    allowed = tuple(allowed)
    by_lower = {name.lower(): name for name in allowed}
    values: dict[str, str] = {}
    for name, given in query.items():
        if name not in allowed:
            problems.append(_unknown_parameter_message(name, by_lower))
            continue
        if len(given) != 1:
            problems.append(
                _("The parameter %(name)s is given more than once; give it once.") % {"name": name}
            )
            continue
        value = given[0].strip()
        if value:
            values[name] = value
    return values


def _unknown_parameter_message(name: str, by_lower: Mapping[str, str]) -> str:
    shown = name if len(name) <= 60 else name[:60] + "…"
    if name.lower() in by_lower:
        return _(
            "Unknown parameter %(name)s: did you mean %(known)s? "
            "Parameter names are case-sensitive."
        ) % {"name": shown, "known": by_lower[name.lower()]}
    if name in _NOT_SUPPORTED_HINTS:
        instead = _NOT_SUPPORTED_HINTS[name]
        if instead:
            return _("The parameter %(name)s is not supported here: use %(instead)s.") % {
                "name": name,
                "instead": instead,
            }
        return _("The parameter %(name)s is not supported by this registry.") % {"name": name}
    return _("Unknown parameter %(name)s.") % {"name": shown}


def _choice(
    value: str | None, enum: type[StrEnum], default: StrEnum, name: str, problems: list[str]
):  # type: ignore[no-untyped-def]
    if value is None:
        return default
    for member in enum:
        if value.lower() == member.value.lower():
            return member
    problems.append(
        _("%(name)s must be one of %(choices)s (got %(value)s).")
        % {"name": name, "choices": ", ".join(m.value for m in enum), "value": _shorten(value)}
    )
    return default


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


def _application_uri(values: Mapping[str, str], problems: list[str]) -> str:
    uri = values.get("applicationUri", "")
    if not uri:
        problems.append(_("Missing required parameter: applicationUri."))
        return ""
    try:
        validators.validate_application_uri(uri)
    except ValidationError as exc:
        problems.append(f"applicationUri: {' '.join(exc.messages)}")
    return uri


def parse_uninstall(query: Mapping[str, Sequence[str]]) -> str:
    """The application URI of an uninstall link, or MarketplaceRefusal."""
    problems: list[str] = []
    values = _single_values(query, UNINSTALL_PARAMETERS, problems)
    uri = _application_uri(values, problems)
    if problems:
        raise MarketplaceRefusal(problems)
    return uri


def parse_install(query: Mapping[str, Sequence[str]]) -> InstallRequest:
    """An install link's parameters, or MarketplaceRefusal naming every fault."""
    problems: list[str] = []
    values = _single_values(query, INSTALL_PARAMETERS, problems)
    uri = _application_uri(values, problems)

    name = values.get("applicationName")
    if name is not None:
        if len(name) > NAME_MAX_LENGTH:
            problems.append(
                _("applicationName is longer than %(max)d characters.") % {"max": NAME_MAX_LENGTH}
            )
        elif validators.has_invisible_characters(name):
            problems.append(_("applicationName contains control characters."))

    client_type = _choice(
        values.get("clientType"), ClientType, ClientType.CONFIDENTIAL, "clientType", problems
    )
    impersonate = _choice(
        values.get("impersonate"), Impersonate, Impersonate.NONE, "impersonate", problems
    )
    request_secret = _boolean(values.get("requestSecret"), "requestSecret", problems)
    service_access = _service_access(values.get("serviceAccess"), problems)

    redirect_uri = values.get("redirectUri")
    if redirect_uri is not None:
        try:
            validators.validate_redirect_url(redirect_uri, label="redirectUri")
        except ValidationError as exc:
            problems.extend(exc.messages)

    if client_type == ClientType.PUBLIC:
        if redirect_uri is None:
            problems.append(_("Public clients require a valid redirectUri."))
        if impersonate == Impersonate.NONE:
            problems.append(
                _(
                    "Public clients must allow impersonation for at least one user type "
                    "(impersonate=internal or impersonate=all)."
                )
            )
        if request_secret:
            problems.append(
                _("Cannot request credentials for a public client (requestSecret=true).")
            )
        if service_access == ServiceAccess.CLIENT_CREDENTIALS:
            problems.append(
                _(
                    "A public client cannot use client credentials "
                    "(serviceAccess=clientCredentials)."
                )
            )

    scope, protocol_scopes = _scopes(values.get("scope"), impersonate, problems)

    if problems:
        raise MarketplaceRefusal(problems)
    return InstallRequest(
        application_uri=uri,
        application_name=name,
        client_type=client_type,
        redirect_uri=redirect_uri,
        impersonate=impersonate,
        request_secret=request_secret,
        service_access=service_access,
        scope=scope,
        protocol_scopes=protocol_scopes,
    )


def _boolean(value: str | None, name: str, problems: list[str]) -> bool:
    if value is None:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    problems.append(
        _("%(name)s must be true or false (got %(value)s).")
        % {"name": name, "value": _shorten(value)}
    )
    return False


def _service_access(value: str | None, problems: list[str]) -> ServiceAccess:
    if value is not None and value.lower() == "referencetoken":
        problems.append(
            _(
                "serviceAccess=referenceToken is not supported: this registry issues no reference "
                "tokens. Use serviceAccess=clientCredentials or none."
            )
        )
        return ServiceAccess.NONE
    return _choice(value, ServiceAccess, ServiceAccess.NONE, "serviceAccess", problems)


def _scopes(
    value: str | None, impersonate: Impersonate, problems: list[str]
) -> tuple[str, tuple[str, ...]]:
    stored: list[str] = []
    protocol: list[str] = []
    unknown: list[str] = []
    for token in (value or "").split():
        if token in _PROTOCOL_ONLY_SCOPES:
            target = protocol
        elif token in scope_catalogue.CATALOGUE:
            target = stored
        else:
            target = unknown
        if token not in target:
            target.append(token)
    if unknown:
        problems.append(
            _("Unknown scope: %(unknown)s. Choose from: %(choices)s.")
            % {
                "unknown": _shorten(" ".join(unknown)),
                "choices": " ".join([*scope_catalogue.CATALOGUE, *_PROTOCOL_ONLY_SCOPES]),
            }
        )
    if protocol and impersonate == Impersonate.NONE:
        problems.append(
            _(
                "The scopes %(scopes)s are for applications that sign users in: set "
                "impersonate=internal or impersonate=all."
            )
            % {"scopes": " ".join(protocol)}
        )
    return scope_catalogue.join(stored), tuple(protocol)

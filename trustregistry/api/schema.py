"""What the OpenAPI document (`GET /api/schema/`) says about the API.

The serializers here *describe* the JSON; they do not validate it: the record is read and
written by `trustregistry.registry.serialization`, the one implementation of SPEC section 6
shared with import/export.

`ApiAutoSchema` (the API's `DEFAULT_SCHEMA_CLASS`) adds to every operation the errors the
exception handler can answer it, with their codes and headers: outside clients generate code
from this document, so an answer it leaves out is one they cannot read.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from trustregistry.api.authentication import (
    APPLICATION_URI_HEADER,
    BasicAuthentication,
    BasicRefusal,
    BearerTokenAuthentication,
)
from trustregistry.api.permissions import ScopePermission, required_scopes_for
from trustregistry.registry import validators

# Every `error` code of the API (SPEC section 6: stable codes) and when it is answered.
ERROR_CODES: dict[str, str] = {
    "invalid_request": "400: the body is not valid (with `fields`), or the Authorization "
    "header is malformed (bearer)",
    "invalid_json": "400: the body is not JSON",
    "not_authenticated": "401: no credentials",
    "invalid_token": "401: the bearer token is not valid (or no longer)",
    BasicRefusal.UNKNOWN_APPLICATION: "401 (Basic): the application does not exist; 404 "
    "(connector resolution): no such record",
    BasicRefusal.APPLICATION_DISABLED: "401 (Basic), 403 (connector resolution): the "
    "application is disabled",
    BasicRefusal.BASIC_NOT_ALLOWED: "401 (Basic): the record does not allow Basic",
    BasicRefusal.WRONG_USER: "401 (Basic): the record has a system user, and it is another",
    BasicRefusal.INVALID_CREDENTIALS: "401 (Basic): wrong user name or password",
    "authentication_failed": "401: the credentials were refused",
    "insufficient_scope": "403: the caller lacks a scope the request needs",
    "permission_denied": "403: the user lacks the permission",
    "not_found": "404: no such record, or no such endpoint",
    "method_not_allowed": "405",
    "not_acceptable": "406: the client accepts no JSON",
    "already_exists": "409: a record with this application URI exists",
    "precondition_failed": "412: the record's ETag is not one If-Match names (it changed), "
    "or is one If-None-Match names; nothing was changed",
    "request_too_large": "413: the body is over the upload limit",
    "unsupported_media_type": "415: the body is not application/json",
    "too_many_requests": "429: too many failed attempts; see Retry-After",
    "server_error": "500: an unexpected error (logged)",
    "handshake_failed": "502: the connector did not pass the handshake",
    "temporarily_unavailable": "503: the database is unavailable; see Retry-After",
    "connector_unreachable": "504: the connector could not be reached",
}


class BearerScheme(OpenApiAuthenticationExtension):
    target_class = "trustregistry.api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": (
                "An RFC 9068 access token from this registry's token endpoint (/id/connect/token)."
            ),
        }


class BasicScheme(OpenApiAuthenticationExtension):
    target_class = "trustregistry.api.authentication.BasicAuthentication"
    name = "basicAuth"

    def get_security_definition(self, auto_schema):  # type: ignore[no-untyped-def]
        return {
            "type": "http",
            "scheme": "basic",
            "description": (
                f"user:password, as the application named by the {APPLICATION_URI_HEADER} header "
                "(default: the TRUSTREGISTRY_BASIC_AUTH_APPLICATION setting), "
                "if its record allows Basic."
            ),
        }


class ErrorSerializer(serializers.Serializer):
    error = serializers.ChoiceField(choices=list(ERROR_CODES.items()), help_text="A stable code.")
    message = serializers.CharField(help_text="For a human.")
    # DRF's metaclass takes declared fields off the class, so these names are free to use.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors by JSON field name.",
    )


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    kind = serializers.ChoiceField(choices=["internal", "community", "system"])
    application_uri = serializers.CharField()
    scopes = serializers.ListField(child=serializers.CharField())
    auth = serializers.ChoiceField(choices=["bearer", "basic"])


class SecretInfoSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created = serializers.DateTimeField()
    expires = serializers.DateTimeField(allow_null=True)
    last_used = serializers.DateTimeField(allow_null=True)


class TrustedApplicationSerializer(serializers.Serializer):
    application_uri = serializers.CharField(max_length=200)
    names = serializers.DictField(
        child=serializers.CharField(), help_text='{"en": "...", "bg": "..."}'
    )
    client_type = serializers.ChoiceField(choices=["confidential", "public"], required=False)
    secret_hashes = serializers.ListField(
        child=serializers.CharField(),
        max_length=2,
        write_only=True,
        required=False,
        help_text="base64(sha256(secret)) or 64 hex digits; at most two; none for a public "
        "client. Write-only; left out (even by a PUT), the secrets stay, [] removes them.",
    )
    secrets = SecretInfoSerializer(many=True, read_only=True)
    basic_auth_allowed = serializers.BooleanField(required=False)
    impersonate_internal_allowed = serializers.BooleanField(required=False)
    impersonate_community_allowed = serializers.BooleanField(required=False)
    login_urls = serializers.ListField(child=serializers.URLField(), required=False)
    logout_urls = serializers.ListField(child=serializers.URLField(), required=False)
    is_enabled = serializers.BooleanField(required=False)
    scope = serializers.CharField(required=False, allow_blank=True, help_text="Space-delimited.")
    system_user = serializers.CharField(
        allow_null=True,
        required=False,
        help_text="The username of an existing system user; needed by system_user_allowed.",
    )
    system_user_allowed = serializers.BooleanField(required=False)
    system_user_login_url = serializers.CharField(
        required=False, allow_blank=True, max_length=2000, help_text="An http(s) or ftp(s) URL."
    )
    connector_url = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=2000,
        help_text="An https URL (http for loopback hosts only).",
    )
    public_keys = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="JWK objects; PEM and .NET RSA XML strings accepted on write.",
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["manual", "marketplace"], read_only=True
    )


def _json_pattern(regex: Any) -> str:
    # ECMA-262, as JSON Schema reads it: `$` is the end of the text, as `\Z` is in Python.
    return str(regex.pattern).replace("\\Z", "$")


_SCOPE_TOKEN = _json_pattern(validators.SCOPE_TOKEN_RE).removeprefix("^").removesuffix("$")
# secrets.normalise_secret_hash: base64 of 32 bytes, or 64 hex digits.
_SECRET_HASH = r"^(?:[A-Za-z0-9+/]{43}=|[0-9a-fA-F]{64})$"


class TrustedApplicationSchema(OpenApiSerializerExtension):
    """The record's syntax rules that JSON Schema can state (serialization.py and the
    validators hold them all): a generated client can check a body before sending it."""

    target_class = TrustedApplicationSerializer

    def map_serializer(self, auto_schema: Any, direction: Any) -> Any:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        properties = schema["properties"]
        if direction == "response":
            schema["required"] = list(properties)  # every field is answered, always
            properties["public_keys"]["items"] = {"type": "object", "description": "A JWK."}
            return schema
        schema["additionalProperties"] = False  # an unknown field is refused
        # Answered, and ignored when sent: a record read back can be sent unchanged.
        properties["secrets"] = {
            "type": "array",
            "items": {"type": "object"},
            "description": "Read-only: ignored when sent (secrets come from secret_hashes or "
            "POST .../secrets/).",
        }
        properties["source"] = {
            "type": "string",
            "description": "Read-only: ignored when sent.",
        }
        properties["application_uri"]["pattern"] = _json_pattern(validators.APPLICATION_URI_RE)
        properties["names"] = {
            "type": "object",
            "properties": {
                code: {"type": "string", "maxLength": 200} for code, _name in settings.LANGUAGES
            }
            | {settings.LANGUAGE_CODE: {"type": "string", "maxLength": 200, "pattern": r"\S"}},
            "required": [settings.LANGUAGE_CODE],
            "additionalProperties": False,
            "description": f"One name per language; the {settings.LANGUAGE_CODE} one is "
            "required, an empty one removes that language's. Visible text: no control or "
            "invisible characters (bidi overrides, zero-width).",
        }
        properties["scope"]["pattern"] = f"^(?:{_SCOPE_TOKEN}(?: {_SCOPE_TOKEN})*)?$"
        properties["secret_hashes"]["items"]["pattern"] = _SECRET_HASH
        # Looser than the rules (a loopback host for http, a valid host name), never stricter.
        properties["connector_url"]["pattern"] = r"^(?:[Hh][Tt][Tt][Pp][Ss]?://\S+)?$"
        properties["system_user_login_url"]["pattern"] = (
            r"^(?:(?:[Hh][Tt][Tt][Pp]|[Ff][Tt][Pp])[Ss]?://\S+)?$"
        )
        properties["public_keys"]["items"] = {"oneOf": [{"type": "object"}, {"type": "string"}]}
        return schema


class SecretRequestSerializer(serializers.Serializer):
    expires = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Optional expiry (ISO 8601)."
    )


class GeneratedSecretSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    secret = serializers.CharField(help_text="Shown once; only its hash is stored.")
    expires = serializers.DateTimeField(allow_null=True)


# ------------------------------------------------------------------ headers of success answers

LOCATION = OpenApiParameter(
    "Location",
    str,
    OpenApiParameter.HEADER,
    required=True,
    response=[201],
    description="The new record's path: /api/trusted-applications/<application uri>/.",
)


def etag(*statuses: int) -> OpenApiParameter:
    return OpenApiParameter(
        "ETag",
        str,
        OpenApiParameter.HEADER,
        required=True,
        response=list(statuses),
        description="The record's entity tag (strong): send it back in If-Match to change the "
        "record only if nobody changed it since.",
    )


ETAG = etag(200, 304)
IF_MATCH = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='Change the record only if its ETag is one of these (or "*"); else 412 '
    "precondition_failed and nothing changes.",
)
IF_MATCH_READ = OpenApiParameter(
    "If-Match",
    str,
    OpenApiParameter.HEADER,
    description='Answer only if the record\'s ETag is one of these (or "*"); else 412 '
    "precondition_failed.",
)
IF_NONE_MATCH = OpenApiParameter(
    "If-None-Match",
    str,
    OpenApiParameter.HEADER,
    description="GET: 304 with no body if the record's ETag is one of these. A write: 412 "
    "precondition_failed if it is.",
)
CONDITIONAL_WRITE = (IF_MATCH, IF_NONE_MATCH, etag(200))
NOT_MODIFIED = OpenApiResponse(description="Unchanged since the ETag in If-None-Match: no body.")


def no_store(status: int) -> OpenApiParameter:
    """The answer holds what must not be cached: a secret shown once, a connector URL."""
    return OpenApiParameter(
        "Cache-Control",
        str,
        OpenApiParameter.HEADER,
        required=True,
        enum=["no-store"],
        response=[status],
    )


# ------------------------------------------------------------------ errors of every operation


def _described(codes: Sequence[str]) -> str:
    return "`error`: " + ", ".join(f"`{code}`" for code in dict.fromkeys(codes)) + "."


class ErrorResponse(OpenApiResponse):
    """An error a view answers besides those of every operation (`ApiAutoSchema` adds the
    codes of every operation with the same status)."""

    def __init__(self, *codes: str):
        super().__init__(ErrorSerializer, description=_described(codes))
        self.codes = codes


PRECONDITION_FAILED = ErrorResponse("precondition_failed")


_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class ApiAutoSchema(AutoSchema):
    def _authenticators(self) -> list[type]:
        return list(getattr(self.view, "authentication_classes", None) or ())

    def _has(self, cls: type) -> bool:
        return any(issubclass(a, cls) for a in self._authenticators())

    def _may_refuse(self) -> bool:
        """403: the operation needs a scope, or a permission besides the scopes."""
        request = SimpleNamespace(method=self.method)
        permissions = getattr(self.view, "permission_classes", None) or ()
        return bool(required_scopes_for(request, self.view)) or any(  # type: ignore[arg-type]
            not issubclass(p, ScopePermission) for p in permissions
        )

    def error_codes(self) -> dict[int, list[str]]:
        """What `trustregistry.api.exceptions` can answer this operation, by status."""
        # 406: an Accept without JSON (the API speaks JSON only); 500: a bug, answered as JSON.
        codes: dict[int, list[str]] = {
            404: ["not_found"],
            406: ["not_acceptable"],
            500: ["server_error"],
            503: ["temporarily_unavailable"],
        }
        if self._authenticators():
            codes[401] = ["not_authenticated"]
        if self._has(BearerTokenAuthentication):
            codes[400] = ["invalid_request"]  # a malformed Authorization header
            codes[401].append("invalid_token")
        if self._has(BasicAuthentication):
            codes[401] += [
                BasicRefusal.UNKNOWN_APPLICATION,
                BasicRefusal.APPLICATION_DISABLED,
                BasicRefusal.BASIC_NOT_ALLOWED,
                BasicRefusal.WRONG_USER,
                BasicRefusal.INVALID_CREDENTIALS,
            ]
            codes[429] = ["too_many_requests"]  # repeated Basic failures
        if self.method in _BODY_METHODS:
            codes[400] = [*codes.get(400, []), "invalid_request", "invalid_json"]
            codes[413] = ["request_too_large"]
            codes[415] = ["unsupported_media_type"]
        if self._may_refuse():
            codes[403] = ["insufficient_scope", "permission_denied"]
        declared: Any = self.get_response_serializers()
        for status, response in dict(declared if isinstance(declared, dict) else {}).items():
            if isinstance(response, ErrorResponse):
                codes[int(status)] = [*codes.get(int(status), []), *response.codes]
        return codes

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for status, codes in self.error_codes().items():
            error = OpenApiResponse(ErrorSerializer, description=_described(codes))
            responses[str(status)] = self._get_response_for_code(error, str(status))
        return dict(sorted(responses.items()))

    def get_override_parameters(self) -> list[Any]:
        parameters = list(super().get_override_parameters())
        if self._authenticators():
            parameters.append(
                OpenApiParameter(
                    "WWW-Authenticate",
                    str,
                    OpenApiParameter.HEADER,
                    required=True,
                    response=[401],
                    description="The challenge: Bearer (RFC 6750) and/or Basic.",
                )
            )
        if self._has(BearerTokenAuthentication):
            parameters.append(
                OpenApiParameter(
                    "WWW-Authenticate",
                    str,
                    OpenApiParameter.HEADER,
                    response=[400, 403],
                    description="For a bearer caller: the RFC 6750 error "
                    "(invalid_request, insufficient_scope with the scope needed).",
                )
            )
        if self._has(BasicAuthentication):
            parameters.append(
                OpenApiParameter(
                    APPLICATION_URI_HEADER,
                    str,
                    OpenApiParameter.HEADER,
                    description="Basic only: the application URI the caller acts as "
                    "(default: the TRUSTREGISTRY_BASIC_AUTH_APPLICATION setting).",
                )
            )
        parameters.append(
            OpenApiParameter(
                "Retry-After",
                int,
                OpenApiParameter.HEADER,
                required=True,
                response=[429, 503],
                description="Seconds to wait before trying again.",
            )
        )
        return parameters

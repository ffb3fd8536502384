"""What the OpenAPI document (`GET /api/schema/`) says about the API.

The serializers here *describe* the JSON; they do not validate it: the record is read and
written by `trustregistry.registry.serialization`, the one implementation of SPEC section 6
shared with import/export.
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import serializers

from trustregistry.api.authentication import APPLICATION_URI_HEADER


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
    error = serializers.CharField(help_text="A stable error code.")
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
    client_type = serializers.ChoiceField(choices=["confidential", "public"])
    secret_hashes = serializers.ListField(
        child=serializers.CharField(),
        max_length=2,
        write_only=True,
        required=False,
        help_text="base64(sha256(secret)) or 64 hex digits; at most two. Write-only.",
    )
    secrets = SecretInfoSerializer(many=True, read_only=True)
    basic_auth_allowed = serializers.BooleanField(required=False)
    impersonate_internal_allowed = serializers.BooleanField(required=False)
    impersonate_community_allowed = serializers.BooleanField(required=False)
    login_urls = serializers.ListField(child=serializers.URLField(), required=False)
    logout_urls = serializers.ListField(child=serializers.URLField(), required=False)
    is_enabled = serializers.BooleanField(required=False)
    scope = serializers.CharField(required=False, allow_blank=True, help_text="Space-delimited.")
    system_user = serializers.CharField(allow_null=True, required=False, help_text="A username.")
    system_user_allowed = serializers.BooleanField(required=False)
    system_user_login_url = serializers.CharField(required=False, allow_blank=True)
    connector_url = serializers.CharField(required=False, allow_blank=True)
    public_keys = serializers.ListField(
        child=serializers.JSONField(),
        required=False,
        help_text="JWK objects; PEM and .NET RSA XML strings accepted on write.",
    )
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=["manual", "marketplace"], read_only=True
    )


class SecretRequestSerializer(serializers.Serializer):
    expires = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Optional expiry (ISO 8601)."
    )


class GeneratedSecretSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    secret = serializers.CharField(help_text="Shown once; only its hash is stored.")
    expires = serializers.DateTimeField(allow_null=True)

"""The registry's REST API (SPEC section 6). Thin: reads through the selectors, writes through
`trustregistry.registry.serialization` / `services`; authentication, scopes and errors come
from the DRF defaults in settings (`trustregistry.api.authentication`, `.permissions`,
`.exceptions`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from trustregistry.api import conditional, schema
from trustregistry.api.authentication import ApiAuth
from trustregistry.api.permissions import ScopePermission, TrustedApplicationAdmin
from trustregistry.common import clock
from trustregistry.common.exceptions import InvalidInput, NotFound
from trustregistry.registry import selectors, serialization, services
from trustregistry.registry.models import ClientType, TrustedApplication

URI_PARAMETER = OpenApiParameter(
    "uri",
    str,
    OpenApiParameter.PATH,
    description="The application URI as it is, slashes included (mywebsite.com/myapp1); "
    "a percent-encoded form is accepted too.",
)


class MeView(APIView):
    @extend_schema(
        summary="Who the caller is",
        responses={200: schema.MeSerializer},
        examples=[
            OpenApiExample(
                "Client credentials",
                value={
                    "username": "system-application",
                    "kind": "system",
                    "application_uri": "mywebsite.com/myapp1",
                    "scopes": ["sec", "update"],
                    "auth": "bearer",
                },
                response_only=True,
            )
        ],
    )
    def get(self, request: Request) -> Response:
        auth: ApiAuth = request.auth  # type: ignore[assignment]
        user: Any = request.user
        return Response(
            {
                "username": user.get_username(),
                "kind": user.kind,
                "application_uri": auth.application.client_id,
                "scopes": sorted(auth.scopes),
                "auth": auth.method,
            }
        )


def _body(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return dict(request.data)


def _record(app: TrustedApplication, *, status: int = 200) -> Response:
    """The record as stored now (read again with its names and secrets), with its ETag."""
    shown = conditional.representation(app)
    return Response(shown, status=status, headers={"ETag": conditional.etag_of(shown)})


class TrustedApplicationAccess(APIView):
    """Needs `sec` (and `update` for writes) and a staff internal or system user with the
    model permission for the action."""

    permission_classes = [ScopePermission, TrustedApplicationAdmin]
    required_scopes = ("sec",)


class TrustedApplicationListView(TrustedApplicationAccess):
    create_permission = "registry.add_trustedapplication"

    @extend_schema(
        summary="List the trusted-application records",
        responses={200: schema.TrustedApplicationSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        apps = selectors.application_list()
        return Response(
            [serialization.application_to_dict(a, include_secret_hashes=False) for a in apps]
        )

    @extend_schema(
        summary="Create a trusted-application record",
        request=schema.TrustedApplicationSerializer,
        parameters=[schema.LOCATION, schema.etag(201)],
        responses={
            201: schema.TrustedApplicationSerializer,
            409: schema.ErrorResponse("already_exists"),
        },
    )
    def post(self, request: Request) -> Response:
        data = _body(request)
        uri = data.get("application_uri")
        if isinstance(uri, str) and selectors.application_get(application_uri=uri) is not None:
            return _already_exists(uri)
        try:
            app, _created = serialization.application_upsert(
                data=data,
                actor=request.user,
                existing=None,
                partial=False,
                must_create=True,
                reason="created (API)",
            )
        except services.ApplicationExists as exc:  # created by a concurrent request
            return _already_exists(exc.application_uri)
        response = _record(app, status=status.HTTP_201_CREATED)
        response["Location"] = f"/api/trusted-applications/{app.client_id}/"
        return response


def _already_exists(uri: str) -> Response:
    return Response(
        {
            "error": "already_exists",
            "message": f"An application with the URI '{uri}' already exists.",
        },
        status=status.HTTP_409_CONFLICT,
    )


class TrustedApplicationDetailView(TrustedApplicationAccess):
    def application_uri(self) -> str:
        return str(self.kwargs["uri"])

    def get_application(self) -> TrustedApplication:
        uri = self.application_uri()
        app = selectors.application_get(application_uri=uri)
        if app is None:
            raise NotFound(f"There is no trusted application '{uri}'.")
        return app

    @extend_schema(
        summary="Read one record",
        parameters=[URI_PARAMETER, schema.IF_MATCH_READ, schema.IF_NONE_MATCH, schema.ETAG],
        responses={
            200: schema.TrustedApplicationSerializer,
            304: schema.NOT_MODIFIED,
            412: schema.PRECONDITION_FAILED,
        },
    )
    def get(self, request: Request, uri: str) -> Response:
        shown = serialization.application_to_dict(
            self.get_application(), include_secret_hashes=False
        )
        etag = conditional.etag_of(shown)
        if conditional.not_modified(request, etag):
            return Response(status=status.HTTP_304_NOT_MODIFIED, headers={"ETag": etag})
        return Response(shown, headers={"ETag": etag})

    @extend_schema(
        summary="Replace a record (fields left out get their defaults)",
        parameters=[URI_PARAMETER, *schema.CONDITIONAL_WRITE],
        request=schema.TrustedApplicationSerializer,
        responses={200: schema.TrustedApplicationSerializer, 412: schema.PRECONDITION_FAILED},
    )
    def put(self, request: Request, uri: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change some fields of a record",
        parameters=[URI_PARAMETER, *schema.CONDITIONAL_WRITE],
        request=schema.TrustedApplicationSerializer(partial=True),
        responses={200: schema.TrustedApplicationSerializer, 412: schema.PRECONDITION_FAILED},
    )
    def patch(self, request: Request, uri: str) -> Response:
        return self._update(request, partial=True)

    @extend_schema(
        summary="Disable a record (records are never deleted)",
        parameters=[URI_PARAMETER, *schema.CONDITIONAL_WRITE],
        responses={200: schema.TrustedApplicationSerializer, 412: schema.PRECONDITION_FAILED},
    )
    def delete(self, request: Request, uri: str) -> Response:
        app = self.get_application()
        with conditional.preconditions_held(request, app):
            app = services.application_set_enabled(
                application=app, enabled=False, actor=request.user, reason="disabled (API)"
            )
        return _record(app)

    def _update(self, request: Request, *, partial: bool) -> Response:
        app = self.get_application()
        data = _body(request)
        with conditional.preconditions_held(request, app):
            app, _created = serialization.application_upsert(
                data=data,
                actor=request.user,
                existing=app,
                partial=partial,
                reason="updated (API)",
            )
        return _record(app)


class TrustedApplicationSecretsView(TrustedApplicationDetailView):
    """`POST <uri>/secrets/` generates a secret. Any other method on a path ending in
    `/secrets/` addresses the record whose URI ends in `/secrets` (a valid URI)."""

    def application_uri(self) -> str:
        uri = str(self.kwargs["uri"])
        return uri if self.request.method == "POST" else f"{uri}/secrets"

    @extend_schema(
        summary="Generate a secret, returned once",
        description=(
            "At most two live secrets: a third replaces the oldest. The other secret keeps working."
        ),
        parameters=[URI_PARAMETER, schema.no_store(201), schema.IF_MATCH, schema.IF_NONE_MATCH],
        request=schema.SecretRequestSerializer,
        responses={201: schema.GeneratedSecretSerializer, 412: schema.PRECONDITION_FAILED},
    )
    def post(self, request: Request, uri: str) -> Response:
        app = self.get_application()
        if app.client_type == ClientType.PUBLIC:
            raise InvalidInput("A public client cannot keep a secret: it may hold no secret.")
        expires = _parse_expiry(_body(request).get("expires"))
        with conditional.preconditions_held(request, app):
            generated = services.secret_generate(
                application=app, expires=expires, actor=request.user
            )
        response = Response(
            {
                "id": generated.secret.pk,
                "secret": generated.plain,
                "expires": generated.secret.expires.isoformat()
                if generated.secret.expires
                else None,
            },
            status=status.HTTP_201_CREATED,
        )
        response["Cache-Control"] = "no-store"
        return response

    # The record whose URI ends in /secrets: documented on the detail path, not here.
    @extend_schema(exclude=True)
    def get(self, request: Request, uri: str) -> Response:
        return super().get(request, uri)

    @extend_schema(exclude=True)
    def put(self, request: Request, uri: str) -> Response:
        return super().put(request, uri)

    @extend_schema(exclude=True)
    def patch(self, request: Request, uri: str) -> Response:
        return super().patch(request, uri)

    @extend_schema(exclude=True)
    def delete(self, request: Request, uri: str) -> Response:
        return super().delete(request, uri)


def _parse_expiry(value: Any) -> dt.datetime | None:
    if value in (None, ""):
        return None
    try:
        parsed = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput("expires must be an ISO 8601 date and time, e.g. 2030-01-31T00:00:00Z.")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, dt.UTC)
    try:
        parsed = parsed.astimezone(dt.UTC)  # as the database keeps it
    except OverflowError as exc:  # 9999-12-31T23:59:59-23:59 is past year 9999 in UTC
        raise InvalidInput("expires is beyond the year 9999.") from exc
    if parsed <= clock.now():
        raise InvalidInput("expires must be in the future.")
    return parsed

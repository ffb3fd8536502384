"""The error codes of connector resolution (SPEC section 7). Messages never carry the
connector URL."""

from __future__ import annotations

from trustregistry.common.exceptions import ApplicationError


class ResolveError(ApplicationError):
    pass


class InvalidResolveRequest(ResolveError):
    code = "invalid_request"
    status = 400
    message = 'The body must be {"url": "app://<application uri>", "context": "<id>"}.'


class UnknownApplication(ResolveError):
    code = "unknown_application"
    status = 404
    message = "No trusted application has this application URI."


class ApplicationDisabled(ResolveError):
    code = "application_disabled"
    status = 403
    message = "The application is disabled."


class HandshakeFailed(ResolveError):
    code = "handshake_failed"
    status = 502
    message = "The connector did not pass the handshake."


class ConnectorUnreachable(ResolveError):
    code = "connector_unreachable"
    status = 504
    message = "The connector could not be reached."

"""Domain errors. Each carries its stable code, its HTTP status and a human message.

One handler (`trustregistry.api.exceptions`) maps them to `{"error", "message"}` JSON; the
OAuth endpoints map them to RFC 6749 `error` / `error_description`.
"""

from __future__ import annotations


class ApplicationError(Exception):
    code: str = "error"
    status: int = 400
    message: str = "The request could not be processed."

    def __init__(self, message: str | None = None, *, code: str | None = None):
        if message is not None:
            self.message = message
        if code is not None:
            self.code = code
        super().__init__(self.message)

    def as_dict(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class NotFound(ApplicationError):
    code = "not_found"
    status = 404
    message = "Not found."


class InvalidInput(ApplicationError):
    code = "invalid_request"
    status = 400
    message = "The request is not valid."


class ServiceUnavailable(ApplicationError):
    code = "temporarily_unavailable"
    status = 503
    message = "The service is temporarily unavailable. Try again shortly."


class TooManyFailures(ApplicationError):
    code = "too_many_requests"
    status = 429
    message = "Too many failed attempts. Try again later."

    def __init__(self, retry_after: int, message: str | None = None):
        super().__init__(message)
        self.retry_after = retry_after

"""Keeps secrets out of log lines.

Request logs (runserver's `django.server`, `django.request`) print the request line, query
string included. Values of parameters that carry secrets are replaced before the record is
formatted.
"""

from __future__ import annotations

import logging
import re

SECRET_PARAMETERS = (
    "secret",
    "client_secret",
    "password",
    "code",
    "code_verifier",
    "token",
    "refresh_token",
    "access_token",
    "id_token_hint",
    "client_assertion",
    "SignedToken",
)
_PATTERN = re.compile(
    r"(?P<name>\b(?:" + "|".join(SECRET_PARAMETERS) + r"))=(?P<value>[^&\s\"']*)",
    re.IGNORECASE,
)


# The same names as keys of a printed dict or JSON object: {'access_token': 'eyJ…'}.
_QUOTED = re.compile(
    r"(?P<name>(?P<q>['\"])(?:" + "|".join(SECRET_PARAMETERS) + r")(?P=q)\s*:\s*)"
    r"(?P<v>['\"])(?P<value>.*?)(?P=v)",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    text = _PATTERN.sub(lambda m: f"{m.group('name')}=[redacted]", text)
    return _QUOTED.sub(lambda m: f"{m.group('name')}{m.group('v')}[redacted]{m.group('v')}", text)


class RedactSecretsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to break
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        # runserver's handler re-reads the request line from record.args / request.
        if hasattr(record, "request"):
            record.request = None  # type: ignore[attr-defined]
        return True


class WithoutTraceback(logging.Filter):
    """For loggers that report hostile input (a forged Host header): one line, no traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True

"""The error codes of connector resolution (SPEC section 7). Messages never carry the
connector URL.

`message` is English: the REST API answers it and the record's history stores it. Each message
is marked for the catalogue (`gettext_noop`), so `translated()` gives the same text in the active
language, for the admin's "test handshake" button."""

from __future__ import annotations

import re
from typing import Any

from django.utils.translation import gettext, gettext_noop

from trustregistry.common.exceptions import ApplicationError


class ResolveError(ApplicationError):
    def __init__(
        self,
        message: str | None = None,
        *,
        params: dict[str, Any] | None = None,
        code: str | None = None,
    ):
        # The English template and its values: `%(name)s` placeholders are filled in the
        # English message now and in the translated one when it is asked for.
        self.template = message if message is not None else type(self).message
        self.params = dict(params or {})
        super().__init__(self.template % self.params if self.params else self.template, code=code)

    def translated(self) -> str:
        """The message in the active language (English where the catalogue has none)."""
        # gettext("") would be the catalogue's header.
        text = gettext(self.template) if self.template else self.template
        return text % self.params if self.params else text


class InvalidResolveRequest(ResolveError):
    code = "invalid_request"
    status = 400
    message = gettext_noop(
        'The body must be {"url": "app://<application uri>", "context": "<id>"}.'
    )


class UnknownApplication(ResolveError):
    code = "unknown_application"
    status = 404
    message = gettext_noop("No trusted application has this application URI.")


class ApplicationDisabled(ResolveError):
    code = "application_disabled"
    status = 403
    message = gettext_noop("The application is disabled.")


class HandshakeFailed(ResolveError):
    code = "handshake_failed"
    status = 502
    message = gettext_noop("The connector did not pass the handshake.")


class ConnectorUnreachable(ResolveError):
    code = "connector_unreachable"
    status = 504
    message = gettext_noop("The connector could not be reached.")


# Why `connector.tokens.verify_application_token` refuses a connector's reply (the connector
# package has no translations of its own): a HandshakeFailed carries the reason as its
# message, and these entries let the admin show it in the viewer's language.
CONNECTOR_REPLY_REASONS = (
    gettext_noop("The connector sent no SignedApplicationToken."),
    gettext_noop("The SignedApplicationToken is too long."),
    gettext_noop("The SignedApplicationToken must have exactly three parts."),
    gettext_noop("The SignedApplicationToken answers another handshake (nonce)."),
    gettext_noop("The SignedApplicationToken's time is not yyyyMMddHHmm."),
    gettext_noop("The SignedApplicationToken's time is not a valid date."),
    gettext_noop("The SignedApplicationToken's time is more than 15 minutes off."),
    gettext_noop("The SignedApplicationToken's signature is not base64."),
    gettext_noop("The SignedApplicationToken is not signed by the application's key."),
)

# The messages with a value in them (services.call_connector). Longest first: the history's
# English text is matched against them in this order.
CONNECTOR_ANSWERED_WITHOUT_HANDSHAKE = gettext_noop(
    "The connector answered HTTP %(status)s without a handshake answer."
)
CONNECTOR_REFUSED = gettext_noop("The connector refused the handshake: %(reason)s")
CONNECTOR_ANSWERED_STATUS = gettext_noop("The connector answered HTTP %(status)s.")
_MESSAGES_WITH_VALUES = (
    CONNECTOR_ANSWERED_WITHOUT_HANDSHAKE,
    CONNECTOR_REFUSED,
    CONNECTOR_ANSWERED_STATUS,
)


def _pattern(template: str) -> re.Pattern[str]:
    """`%(status)s` matches digits, any other placeholder any text."""
    regex = []
    for i, part in enumerate(re.split(r"%\((\w+)\)s", template)):
        if i % 2 == 0:
            regex.append(re.escape(part))
        else:
            regex.append(rf"(?P<{part}>\d+)" if part == "status" else rf"(?P<{part}>.+)")
    return re.compile("".join(regex) + r"\Z", re.S)


_PATTERNS = tuple((_pattern(t), t) for t in _MESSAGES_WITH_VALUES)


def readable_message(text: str) -> str:
    """A message of this module as the record's history stores it (English, values filled
    in), in the active language; a text the catalogue does not know, as it is."""
    for pattern, template in _PATTERNS:
        found = pattern.match(text)
        if found:
            return gettext(template) % found.groupdict()
    return gettext(text) if text else text

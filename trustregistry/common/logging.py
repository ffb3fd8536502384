"""Keeps secrets out of log lines.

Request logs (runserver's `django.server`, `django.request`) print the request line, query
string included. Values of parameters that carry secrets are replaced before the record is
formatted. gunicorn's error log (`gunicorn.conf.py`) goes through `ServerErrorLogFilter`.
"""

from __future__ import annotations

import getpass
import logging
import os
import re
from typing import Any
from urllib.parse import unquote

# Credentials whose names hold none of the words of `_SECRET_WORDS` below (every token,
# secret, password and assertion of OAuth, OpenID Connect and the handshake does).
SECRET_PARAMETERS = (
    "code",
    "code_verifier",
    # Django's session cookie (SESSION_COOKIE_NAME): a signed-in user's, an administrator's.
    "sessionid",
)
_SECRET_NAMES = frozenset(name.casefold() for name in SECRET_PARAMETERS)
# Names the registry never reads but a client, a form or a proxy may put beside its own
# (`new_password1`, `csrfmiddlewaretoken`, `api_key`, `X-Signature`): as Django's
# SafeExceptionReporterFilter does for settings, a name holding one of these words is taken
# for a secret. `code` is not among them: `response_type=code` and `code_challenge` are not.
# Header spellings too (`X-Api-Key`), and cookies (Django's report filter hides HTTP_COOKIE).
_SECRET_WORDS = re.compile(
    r"secret|passw|token|assertion|authorization|signature|api[_-]?key|cookie", re.I
)
# Any parameter name, its letters plain or percent-encoded: Django decodes `%73ecret` to
# `secret`, so the name is compared once decoded (`_redact_parameter`). Hyphens belong to the
# name (`x-api-key`); its last hyphenated part is a name too (`auth-code`, as before).
# A value ends at the next parameter, a space or a quote, or a fragment where a parameter
# follows its `#` (`state=1#access_token=…` of a redirect): in `password=hunter#2` the `#` is
# the secret's own. The look-ahead reads one word, so the scan stays linear however many `#`
# a hostile line holds.
_PATTERN = re.compile(
    r"(?P<name>(?<![\w%-])(?:[\w-]|%[0-9A-Fa-f]{2})+)="
    r"(?P<value>(?:[^&#\s\"']|#(?!(?:[\w-]|%[0-9A-Fa-f]{2})+=))*)"
)


# The same names as keys of a printed dict or JSON object, `{'access_token': 'eyJ…'}`, or as
# a printed (name, value) pair, `('Authorization', 'Bearer …')`; a bytes value (b'…') too.
# A value runs to its closing quote, past escaped ones (`"a\"b"`). A backslash is read one
# way only (it escapes what follows): were it also a character of its own, a value of n
# backslashes without a closing quote would be tried in exponentially many ways, and the
# filter runs on lines anybody writes (a 404's path).
# A comma stands between name and value only in a pair, `(…, …)`: in a list of names
# (`['client_secret', 'redirect_uris']`) the next name is no value.
_QUOTED = re.compile(
    r"(?P<name>(?P<pair>\(\s*b?)?(?P<q>['\"])(?P<key>[\w-]+)(?P=q)\s*(?(pair),|:)\s*b?)"
    r"(?P<v>['\"])(?P<value>(?:\\.|(?!(?P=v))[^\\])*)(?P=v)(?(pair)(?=\s*\)))",
    re.S,
)
# A header as a line of its own (`Authorization: Bearer …`), for the headers that carry
# credentials whatever their value looks like. Indented by spaces or tabs only: `\s*` would
# cross line ends, scanning the rest of the text from each of many empty lines.
_HEADER_LINE = re.compile(
    r"(?im)^(?P<name>[ \t]*(?:(?:proxy-)?authorization|cookie|set-cookie|x-api-key))"
    r"(?P<sep>:[ \t]*)(?P<value>[^\r\n]*)"
)
# Names that only say which kind of token or which algorithm (`token_type_hint`,
# `client_assertion_type`, `id_token_signed_response_alg`, `token_endpoint_auth_method`):
# hiding them hides nothing and costs the operator the request's meaning.
_KIND_SUFFIXES = ("_type", "_type_hint", "_alg", "_method")


def is_secret_name(name: str) -> bool:
    folded = name.casefold()
    if folded.endswith(_KIND_SUFFIXES):
        return False
    last = folded.rsplit("-", 1)[-1]
    if folded in _SECRET_NAMES or last in _SECRET_NAMES:
        return True
    return _SECRET_WORDS.search(name) is not None


def _redact_parameter(match: re.Match[str]) -> str:
    if not is_secret_name(unquote(match.group("name"))):
        return match.group(0)
    return f"{match.group('name')}=[redacted]"


def _redact_member(match: re.Match[str]) -> str:
    if not is_secret_name(match.group("key")):
        return match.group(0)
    return f"{match.group('name')}{match.group('v')}[redacted]{match.group('v')}"


def redact(text: str) -> str:
    text = _HEADER_LINE.sub(lambda m: f"{m.group('name')}{m.group('sep')}[redacted]", text)
    return _QUOTED.sub(_redact_member, _PATTERN.sub(_redact_parameter, text))


def shown(value: Any, limit: int = 200) -> str:
    """A name the caller chose (a username, a client id, an application URI from a header) as
    the audit lines show it: quoted, its control characters escaped so that it cannot start a
    forged line, and cut after `limit` characters."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = text[:limit] + "…"
    return repr(text)


def os_account() -> str:
    """Who runs a management command, as far as the registry can tell: the operating-system
    account (from the environment, as `getpass` reads it: a hint, not a proof)."""
    try:
        return getpass.getuser()
    except Exception:  # no such variable and no passwd entry (a container's bare uid)
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


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


# gunicorn's words for a request it could not parse: "Invalid request from ip=<address>: "
# and then what was wrong with the request, with the offending bytes quoted.
_UNPARSABLE_REQUEST = re.compile(r"(?P<head>Invalid request from ip=\S*: )(?P<error>.*)", re.S)


class ServerErrorLogFilter(logging.Filter):
    """For gunicorn's error log, which Django's LOGGING does not reach. A request gunicorn
    could not parse is logged with the bytes it stumbled on: the request line (its query
    string, `?secret=…`, included) or a header line (an `Authorization` or `Cookie` header
    without its colon, credentials and all). Only what was wrong is kept ("Invalid HTTP
    Header"). A request the application failed on is logged with its URI, whose secret
    parameters are redacted as in the request logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is not ours to break
            return True
        unparsable = _UNPARSABLE_REQUEST.match(message)
        if unparsable:
            # "Invalid HTTP Header: 'Cookie sessionid=…'": the description ends at the first
            # colon or quote; what follows is the request's own bytes.
            what = re.split(r"[:'\"]", unparsable.group("error"), maxsplit=1)[0].strip()
            cleaned = unparsable.group("head") + (what or "unreadable request")
        else:
            cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True

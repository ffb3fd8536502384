"""The registry as Application Authorization Service (SPEC section 7): resolve `app://<uri>`
to a connector's real URL only after the connector proves it holds the application's key.

The handshake, in three steps a test can also drive one at a time:

1. `begin_handshake`: store a fresh nonce (single-use, with a time-to-live) and sign the
   `SignedToken` with the active AAS key.
2. `call_connector`: POST `{"SignedToken": ...}` to the record's connector URL; timeouts, a
   size cap, no redirects, no proxy from the environment.
3. `complete_handshake`: check the `SignedApplicationToken` against the record's public keys
   and consume the nonce with one conditional UPDATE, so a reply counts once even with many
   app servers on one database.

The connector URL never appears in an error, a history note or a log line: logs name the
application URI and the failure class only.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import http.client
import json
import logging
import re
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from connector.keys import KeyFormatError, jwk_to_public_key
from connector.tokens import (
    TOKEN_LIFETIME_SECONDS,
    HandshakeError,
    build_aas_token,
    new_nonce,
    verify_application_token,
)
from trustregistry.aas import outbound, writes
from trustregistry.aas.errors import (
    CONNECTOR_ANSWERED_STATUS,
    CONNECTOR_ANSWERED_WITHOUT_HANDSHAKE,
    CONNECTOR_REFUSED,
    ApplicationDisabled,
    ConnectorUnreachable,
    HandshakeFailed,
    InvalidResolveRequest,
    ResolveError,
    UnknownApplication,
)
from trustregistry.aas.models import PendingHandshake
from trustregistry.aas.selectors import ACTIVE_KID_ATTRIBUTE, active_aas_key
from trustregistry.common import clock
from trustregistry.registry import validators
from trustregistry.registry.models import TrustedApplication

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS = 3.0
READ_TIMEOUT_SECONDS = 10.0
MAX_REPLY_BYTES = 64 * 1024
MAX_REASON_LENGTH = 200
MAX_CONTEXT_LENGTH = 200
APP_SCHEME = "app://"

NO_PUBLIC_KEY = gettext_noop(
    "The application record has no public key to check the connector with."
)
RECORD_URL_CHANGED = gettext_noop(
    "The application record's connector URL changed during the handshake."
)


# ---------------------------------------------------------------- step 1


@dataclass(frozen=True)
class HandshakeAttempt:
    application: TrustedApplication
    nonce: str
    signed_token: str


def _check_record(application: TrustedApplication) -> None:
    if not application.is_enabled:
        raise ApplicationDisabled()
    if not application.connector_url:
        raise HandshakeFailed(gettext_noop("The application record has no connector URL."))
    if not application.public_keys:
        raise HandshakeFailed(NO_PUBLIC_KEY)


@dataclass(frozen=True)
class PendingNonce:
    """A nonce for the next attempt, made before the record is read so that the read can
    store it in the same statement (`writes.lookup_and_store`)."""

    nonce: str
    created: dt.datetime
    stored: bool = False

    @property
    def expires_at(self) -> dt.datetime:
        return self.created + dt.timedelta(seconds=TOKEN_LIFETIME_SECONDS)


def new_pending_nonce() -> PendingNonce:
    return PendingNonce(nonce=new_nonce(), created=clock.now())


def begin_handshake(
    *, application: TrustedApplication, context: str, pending: PendingNonce | None = None
) -> HandshakeAttempt:
    """Sign the SignedToken for a nonce stored for this record: `pending` if it was stored
    already (by the record's lookup, for this record and context), else a new one stored
    now."""
    _check_record(application)
    # The record read by `connector_application_get` carries the active kid (one query for
    # both); a record from elsewhere (the admin's test button) asks for it.
    if hasattr(application, ACTIVE_KID_ATTRIBUTE):
        key = active_aas_key(getattr(application, ACTIVE_KID_ATTRIBUTE))
    else:
        key = active_aas_key()
    if pending is None or not pending.stored:
        pending = new_pending_nonce()
        # Committed before the call: the connector may share this database (make run), and a
        # transaction held open across the HTTP call would lock it out.
        writes.store_pending(
            nonce=pending.nonce,
            application_id=application.pk,
            context=context,
            created=pending.created,
            expires_at=pending.expires_at,
        )
    now, nonce = pending.created, pending.nonce
    token = build_aas_token(
        private_key=key.private_key,
        kid=key.kid,
        x5t=key.public_jwk["x5t"],
        issuer=settings.TRUSTREGISTRY_AAS_ISSUER,
        application_uri=application.client_id,
        context=context,
        nonce=nonce,
        now=now.timestamp(),
    )
    return HandshakeAttempt(application=application, nonce=nonce, signed_token=token)


# ---------------------------------------------------------------- step 2


_HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "User-Agent": "trustregistry-aas",
}


def _clean_reason(reason: Any, connector_url: str) -> str:
    text = reason if isinstance(reason, str) and reason.strip() else "no reason given"
    # A connector quoting its own URL as a parameter writes it percent-encoded ("%2F" before
    # the host reads as part of a word, and the encoded path matches nothing): decoded first.
    text = unquote(text)
    text = "".join(ch if ch.isprintable() else " " for ch in text).strip()
    for part in _url_parts(connector_url):
        # Hosts and schemes are case-insensitive: "HTTP://HOST:PORT" names it just as well.
        # Only where the part stands alone: a path "/a" or a query "x" is no name inside
        # "nonce/audience" or "expired", and replacing there garbled the reason.
        pattern = rf"(?<!\w){re.escape(part)}(?!\w)"
        text = re.sub(pattern, "[connector]", text, flags=re.IGNORECASE)
    return text[:MAX_REASON_LENGTH]


def _url_parts(url: str) -> list[str]:
    """The connector URL, its origin, its host and port, its host, its path with the query,
    its path (unless just "/") and its query, longest first. Connectors sharing a host are
    told apart by the path or a key in the query: either names the connector as well."""
    if not url:
        return []
    parts = urlsplit(url)
    found = [url, f"{parts.scheme}://{parts.netloc}", parts.netloc, parts.hostname or ""]
    if parts.path not in ("", "/"):
        found.append(parts.path)
    if parts.query:
        found += [f"{parts.path}?{parts.query}", parts.query]
    return sorted({p for p in found if p and p != "://"}, key=len, reverse=True)


def call_connector(attempt: HandshakeAttempt) -> dict[str, Any]:
    """POST the SignedToken; the connector's JSON answer. Raises ResolveError."""
    url = attempt.application.connector_url
    uri = attempt.application.client_id
    try:
        validators.validate_connector_url(url)
    except ValidationError as exc:
        raise HandshakeFailed(
            gettext_noop("The application record's connector URL is not valid.")
        ) from exc
    payload = json.dumps({"SignedToken": attempt.signed_token}).encode()
    try:
        reply = outbound.post(
            url,
            payload,
            _HEADERS,
            connect_timeout=CONNECT_TIMEOUT_SECONDS,
            read_timeout=READ_TIMEOUT_SECONDS,
            max_bytes=MAX_REPLY_BYTES,
        )
    except TimeoutError as exc:
        # str(exc) may carry the host: log only the class.
        logger.warning("handshake %s: connector timed out (%s)", uri, type(exc).__name__)
        raise ConnectorUnreachable(gettext_noop("The connector did not answer in time.")) from exc
    except ssl.SSLCertVerificationError as exc:
        logger.warning("handshake %s: connector's TLS certificate not trusted", uri)
        raise ConnectorUnreachable(
            gettext_noop("The connector's TLS certificate is not trusted for its host name.")
        ) from exc
    except (OSError, http.client.HTTPException, ValueError) as exc:
        logger.warning("handshake %s: connector unreachable (%s)", uri, type(exc).__name__)
        raise ConnectorUnreachable() from exc
    if reply.too_large(MAX_REPLY_BYTES):
        logger.warning("handshake %s: connector answer too large", uri)
        raise HandshakeFailed(gettext_noop("The connector's answer is too large."))
    body = reply.body
    status = reply.status
    if 300 <= status < 400:
        raise HandshakeFailed(
            gettext_noop("The connector answered with a redirect, which is not followed.")
        )
    try:
        answer = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" within the size cap
        answer = None
    if not isinstance(answer, dict) or "Succeeded" not in answer:
        logger.warning(
            "handshake %s: connector answered HTTP %s without a handshake answer", uri, status
        )
        raise HandshakeFailed(CONNECTOR_ANSWERED_WITHOUT_HANDSHAKE, params={"status": status})
    if answer.get("Succeeded") is not True:
        reason = _clean_reason(answer.get("Reason"), url)
        logger.info("handshake %s: connector refused: %s", uri, reason)
        raise HandshakeFailed(CONNECTOR_REFUSED, params={"reason": reason})
    if status != 200:
        raise HandshakeFailed(CONNECTOR_ANSWERED_STATUS, params={"status": status})
    return answer


# ---------------------------------------------------------------- step 3


def _consume_nonce(*, nonce: str, application: TrustedApplication) -> writes.AcceptedRecord:
    """One conditional UPDATE: only one reply per nonce can win, on any number of servers.
    The record's enabled flag is part of the condition: disabling it stops a handshake that
    is under way. Answers the record's connector URL and keys as they are at that moment."""
    accepted = writes.consume_pending(nonce=nonce, application_id=application.pk, now=clock.now())
    if accepted is not None:
        return accepted
    if not TrustedApplication.objects.filter(pk=application.pk, is_enabled=True).exists():
        raise ApplicationDisabled()
    logger.warning("handshake %s: reply for a used or expired nonce", application.client_id)
    raise HandshakeFailed(gettext_noop("The reply's nonce was already used or has expired."))


def _verify_reply(reply_token: Any, *, attempt: HandshakeAttempt, keys: list[Any]) -> None:
    public_keys = []
    for jwk in keys:
        try:
            public_keys.append(jwk_to_public_key(jwk))
        except KeyFormatError:
            continue
    try:
        verify_application_token(
            reply_token,
            expected_nonce=attempt.nonce,
            public_keys=public_keys,
            now=clock.now().timestamp(),
        )
    except HandshakeError as exc:
        uri = attempt.application.client_id
        logger.warning("handshake %s: reply refused: %s", uri, exc.reason)
        # One of CONNECTOR_REPLY_REASONS (errors.py): translated when the admin shows it.
        raise HandshakeFailed(exc.reason) from exc


def complete_handshake(*, attempt: HandshakeAttempt, reply_token: Any) -> None:
    """Accept the connector's `SignedApplicationToken` once. Raises HandshakeFailed.

    The reply is checked against the record as read when the handshake began, then again
    against the record as it is when the nonce is consumed (SPEC section 2: a withdrawal
    stops a handshake already under way): a public key replaced or removed while the
    connector worked no longer vouches for it, and a connector URL changed meanwhile is not
    the one the caller would be given."""
    application = attempt.application
    _verify_reply(reply_token, attempt=attempt, keys=application.public_keys)
    current = _consume_nonce(nonce=attempt.nonce, application=application)
    if current.connector_url != application.connector_url:
        logger.warning("handshake %s: connector URL changed meanwhile", application.client_id)
        raise HandshakeFailed(RECORD_URL_CHANGED)
    if current.public_keys != application.public_keys:
        if not current.public_keys:
            logger.warning("handshake %s: public keys removed meanwhile", application.client_id)
            raise HandshakeFailed(NO_PUBLIC_KEY)
        # A key added beside the one that signed leaves the reply good; the signer gone, not.
        _verify_reply(reply_token, attempt=attempt, keys=current.public_keys)


def run_handshake(
    *, application: TrustedApplication, context: str, pending: PendingNonce | None = None
) -> None:
    attempt = begin_handshake(application=application, context=context, pending=pending)
    answer = call_connector(attempt)
    complete_handshake(attempt=attempt, reply_token=answer.get("SignedApplicationToken"))


# ---------------------------------------------------------------- resolve


@dataclass(frozen=True)
class Resolved:
    url: str


def _validate_context(context: Any) -> str:
    if not isinstance(context, str) or not context.strip():
        raise InvalidResolveRequest(gettext_noop("The context (tenant context id) is required."))
    if len(context) > MAX_CONTEXT_LENGTH or not context.isprintable():
        raise InvalidResolveRequest(
            gettext_noop("The context must be at most 200 printable characters.")
        )
    return context


def resolve_connector(*, url: Any, context: Any = None) -> Resolved:
    """`https://...` unchanged; `app://<uri>` to the connector URL after a handshake."""
    if not isinstance(url, str) or not url or len(url) > 2000:
        raise InvalidResolveRequest()
    if url.lower().startswith("https://"):
        return Resolved(url=url)  # a legacy connector setting: no handshake to run
    if not url.startswith(APP_SCHEME):
        raise InvalidResolveRequest(
            gettext_noop("The url must be app://<application uri> or an https:// URL.")
        )
    application_uri = url[len(APP_SCHEME) :]
    try:
        validators.validate_application_uri(application_uri)
    except ValidationError as exc:
        raise UnknownApplication() from exc
    context = _validate_context(context)
    # The record read and, if it is enabled, the attempt's nonce stored: one round trip.
    pending = new_pending_nonce()
    application, stored = writes.lookup_and_store(
        application_uri=application_uri,
        nonce=pending.nonce,
        context=context,
        created=pending.created,
        expires_at=pending.expires_at,
    )
    if application is None:
        raise UnknownApplication()
    if stored:
        pending = dataclasses.replace(pending, stored=True)
    run_handshake(application=application, context=context, pending=pending)
    logger.info("handshake %s: resolved", application.client_id)
    return Resolved(url=application.connector_url)


# ---------------------------------------------------------------- the admin's test button


@dataclass(frozen=True)
class HandshakeTestResult:
    ok: bool
    message: str


HANDSHAKE_TEST_CONTEXT = "handshake-test"


def run_handshake_test(*, application: TrustedApplication, actor: Any) -> HandshakeTestResult:
    """Run the handshake against the record's connector and note who ran it and the outcome
    in the record's history (in English: the history stores data, and its page translates
    it). The message, in the active language, never contains the connector URL."""
    from trustregistry.registry.services import history_note

    try:
        run_handshake(application=application, context=HANDSHAKE_TEST_CONTEXT)
    except ResolveError as exc:
        note = f"handshake tested: failed ({exc.message})"
        history_note(application=application, actor=actor, reason=note)
        return HandshakeTestResult(ok=False, message=exc.translated())
    history_note(application=application, actor=actor, reason="handshake tested: ok")
    return HandshakeTestResult(
        ok=True, message=_("The connector proved it holds the application's key.")
    )


def purge_expired_handshakes(*, batch_size: int = 1000) -> int:
    """Delete expired pending nonces, at most `batch_size` (call repeatedly for more)."""
    ids = list(
        PendingHandshake.objects.filter(expires_at__lte=clock.now()).values_list("id", flat=True)[
            :batch_size
        ]
    )
    return PendingHandshake.objects.filter(id__in=ids).delete()[0] if ids else 0

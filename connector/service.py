"""A connector's answer to the AAS, framework-free: verify the `SignedToken`, refuse replays,
sign the `SignedApplicationToken`.

    from connector.keys import load_private_key
    from connector.service import Connector, MemoryReplayGuard
    from connector.trust import PinnedCertificates

    connector = Connector(
        application_uri="mywebsite.com/myapp1",
        private_key=load_private_key(open("private.pem").read()),   # or .NET <RSAKeyValue> XML
        trusted_issuer="https://erp.example.com/id",
        keys=PinnedCertificates.from_file("aas-certificate.pem"),   # or JwksKeys(jwks_url)
    )
    result = connector.authenticate(signed_token)
    json_body = result.as_json()          # {"Succeeded", "Reason", "SignedApplicationToken"}
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from cryptography.hazmat.primitives.asymmetric import rsa

from connector.keys import KeyFormatError, PrivateKey
from connector.tokens import (
    LEEWAY_SECONDS,
    HandshakeError,
    KeyLookup,
    sign_application_token,
    verify_aas_token,
)

logger = logging.getLogger(__name__)


class ReplayGuard(Protocol):
    def __call__(self, nonce: str, keep_until: float, now: float) -> bool:
        """Remember `nonce` until `keep_until` (epoch seconds, the clock of `now`); False if it
        was already seen and is still remembered."""


class MemoryReplayGuard:
    """Per-process memory of answered nonces. One process only: a connector running several
    servers needs shared storage (the Django app stores them in its database)."""

    def __init__(self, max_entries: int = 100_000):
        self._seen: dict[str, float] = {}
        self._lock = threading.Lock()
        self._max = max_entries

    def __call__(self, nonce: str, keep_until: float, now: float) -> bool:
        with self._lock:
            if len(self._seen) >= self._max:
                self._seen = {n: t for n, t in self._seen.items() if t > now}
                if len(self._seen) >= self._max:
                    # Full of live nonces: refusing is safer than forgetting one.
                    return False
            until = self._seen.get(nonce)
            if until is not None and until > now:
                return False
            self._seen[nonce] = keep_until
            return True


class RefusalLog:
    """The operator's log of refused handshakes, at most `limit` lines a `window` (seconds):
    anybody can send a connector tokens to refuse, and a line for each would let them fill its
    disk. The refusals left out are counted and said in one line once the window has passed
    (with the next refusal logged)."""

    def __init__(self, limit: int = 20, window: float = 60.0):
        self._limit = limit
        self._window = window
        self._lock = threading.Lock()
        self._started: float | None = None
        self._logged = 0
        self._left_out = 0

    def __call__(self, reason: str, now: float) -> None:
        with self._lock:
            if self._started is not None and now < self._started:
                # The wall clock (the handshake's) set back: the window ends a `window` from
                # now at the latest, not once the clock has caught up again, which after an
                # hour's step left an hour of refusals unlogged. (A few milliseconds back, as
                # two threads' clocks may be, only move its start.)
                self._started = now
            if self._started is None or now - self._started >= self._window:
                if self._left_out:
                    logger.warning(
                        "handshake refused %d more times within %d s (not logged one by one)",
                        self._left_out,
                        self._window,
                    )
                self._started, self._logged, self._left_out = now, 0, 0
            if self._logged >= self._limit:
                self._left_out += 1
                return
            self._logged += 1
        logger.warning("handshake refused: %s", reason)


@dataclass(frozen=True)
class AuthenticateResult:
    succeeded: bool
    reason: str | None = None
    signed_application_token: str | None = None
    context: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "Succeeded": self.succeeded,
            "Reason": self.reason,
            "SignedApplicationToken": self.signed_application_token,
        }


@dataclass
class Connector:
    application_uri: str
    private_key: PrivateKey
    trusted_issuer: str
    keys: KeyLookup
    replay_guard: ReplayGuard | None = None
    leeway: int = LEEWAY_SECONDS
    refusal_log: RefusalLog = field(default_factory=RefusalLog)

    def __post_init__(self) -> None:
        if not isinstance(self.private_key, rsa.RSAPrivateKey):
            raise KeyFormatError("The connector's private key must be an RSA key.")
        if not self.application_uri or not self.trusted_issuer:
            raise ValueError("application_uri and trusted_issuer are required")
        if self.replay_guard is None:
            self.replay_guard = MemoryReplayGuard()

    def authenticate(self, signed_token: Any, *, now: float | None = None) -> AuthenticateResult:
        """Answer one `SignedToken`. Never raises for bad input: a refusal carries its reason."""
        current = time.time() if now is None else now
        try:
            verified = verify_aas_token(
                signed_token,
                keys=self.keys,
                issuer=self.trusted_issuer,
                application_uri=self.application_uri,
                now=current,
                leeway=self.leeway,
            )
            assert self.replay_guard is not None
            # Remember the nonce until the token could no longer be accepted anyway.
            if not self.replay_guard(verified.nonce, verified.expires + self.leeway + 1, current):
                raise HandshakeError("The SignedToken has already been answered (replay).")
        except HandshakeError as exc:
            # The reasons are fixed sentences that quote nothing of the token, so the line is
            # safe to keep; the AAS sees only the same reason, so this is where an operator
            # learns that the AAS's key, issuer or clock no longer matches this connector's.
            self.refusal_log(exc.reason, current)
            return AuthenticateResult(succeeded=False, reason=exc.reason)
        token = sign_application_token(
            nonce=verified.nonce,
            private_key=self.private_key,  # type: ignore[arg-type]
            now=current,
        )
        return AuthenticateResult(
            succeeded=True, signed_application_token=token, context=verified.context
        )

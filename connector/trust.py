"""Where a connector gets the AAS keys it trusts: a pinned certificate file, or the AAS JWKS.

Both are `KeyLookup`s for `connector.tokens.verify_aas_token`: called with the token's header,
they return the keys that may have signed it. Neither ever reads `jku`, `x5u` or `x5c` from the
token: the token does not choose its own trust anchor.

A pinned certificate is trusted because the operator configured it, not because of its
validity dates: SuperOffice's published DevNet certificate expired in 2022 while its tokens
are the reference test data. Expiry of the *token* is always enforced; to stop trusting a
certificate, remove it from the file.
"""

from __future__ import annotations

import http.client
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from connector import deadline_http
from connector.keys import (
    KeyFormatError,
    PublicKey,
    b64url_encode,
    certificate_sha1_thumbprint,
    jwk_to_public_key,
    load_certificate,
)
from connector.tokens import HandshakeError

logger = logging.getLogger(__name__)

JWKS_TIMEOUT_SECONDS = 5.0
JWKS_MAX_BYTES = 256 * 1024
JWKS_CACHE_SECONDS = 300
# After a failed fetch, requests are answered from the keys at hand (or refused) for this long
# instead of each waiting for a fetch of its own.
FAILED_FETCH_RETRY_SECONDS = 10
UNKNOWN_KID_REFETCH_SECONDS = 60
# Across all unknown kids: many made-up kids must not turn into many fetches either.
ANY_UNKNOWN_KID_REFETCH_SECONDS = 5


_CERTIFICATE_BLOCK = re.compile(
    r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", re.DOTALL
)


def _unknown_key() -> HandshakeError:
    return HandshakeError("The SignedToken was signed by a key this connector does not trust.")


class PinnedCertificates:
    """Keys from one or more pinned certificates (a PEM file may hold several, for rotation)."""

    def __init__(self, certificates: list[x509.Certificate]):
        if not certificates:
            raise KeyFormatError("No certificate was given.")
        self._entries: list[tuple[str, str, PublicKey]] = []
        for cert in certificates:
            key = cert.public_key()
            if not isinstance(key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
                raise KeyFormatError("A pinned certificate must hold an RSA or EC key.")
            thumb = certificate_sha1_thumbprint(cert)
            self._entries.append((thumb.hex().upper(), b64url_encode(thumb), key))

    @classmethod
    def from_pem(cls, data: str | bytes) -> PinnedCertificates:
        """Every certificate block of a PEM file (text around them, such as a bundle's
        `subject=CN = Müller` lines, is ignored), or one DER certificate."""
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        blocks = _CERTIFICATE_BLOCK.findall(text)
        if not blocks:
            return cls([load_certificate(data)])
        return cls([load_certificate(block) for block in blocks])

    @classmethod
    def from_file(cls, path: str) -> PinnedCertificates:
        with open(path, "rb") as handle:
            return cls.from_pem(handle.read(JWKS_MAX_BYTES))

    def __call__(self, header: dict[str, Any]) -> list[PublicKey]:
        kid, x5t = header.get("kid"), header.get("x5t")
        if kid is None and x5t is None:
            return [entry[2] for entry in self._entries]
        matches = [
            key
            for hex_thumb, b64_thumb, key in self._entries
            if (isinstance(kid, str) and kid.upper() == hex_thumb)
            or (kid is None and isinstance(x5t, str) and x5t == b64_thumb)
        ]
        if not matches:
            raise _unknown_key()
        return matches


def check_jwks_url(url: str) -> str:
    """`url` if it can be fetched at all (an absolute http(s) URL with a host), else
    ValueError: a typo is an error when the connector starts, not a refusal of every handshake."""
    try:
        parts = urlsplit(url)
        usable = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except (ValueError, AttributeError):  # an invalid IPv6 literal; not a string
        usable = False
    if not usable:
        raise ValueError(
            "The JWKS URL must be an absolute http(s) URL, such as "
            "https://registry.example.com/id/.well-known/openid-configuration/jwks."
        )
    return url


def shown_url(url: str) -> str:
    """`url` as a log line or an error may show it: without a user name, password, query or
    fragment, which may carry credentials an operator put there (a basic-auth proxy, a
    signed link)."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc.rpartition("@")[2]
    except (ValueError, AttributeError):
        return "(an unreadable URL)"
    return f"{parts.scheme}://{netloc}{parts.path}" if parts.scheme else f"{netloc}{parts.path}"


def fetch_jwks(url: str, *, timeout: float = JWKS_TIMEOUT_SECONDS) -> dict[str, Any]:
    """GET a JWKS: the whole answer within `timeout`, a size cap, no redirects, no proxies
    from the environment. Raises ValueError, OSError or http.client.HTTPException."""
    if not url.lower().startswith(("https://", "http://")):
        raise ValueError("the JWKS URL must be http(s)")
    status, body = deadline_http.get(
        url, timeout=timeout, max_bytes=JWKS_MAX_BYTES, headers={"Accept": "application/json"}
    )
    if status != 200:
        raise ValueError(f"the JWKS URL answered HTTP {status}")  # redirects included
    if len(body) > JWKS_MAX_BYTES:
        raise ValueError("the JWKS is too large")
    data = json.loads(body)
    if not isinstance(data, dict) or not isinstance(data.get("keys"), list):
        raise ValueError("not a JWKS")
    return data


def _aas_keys(jwks: list[Any]) -> dict[str, list[tuple[PublicKey, str]]]:
    """The JWKS's RSA signing keys that have a certificate thumbprint (`x5t`): by kid, each
    key and its x5t (RFC 7517 only asks that kids SHOULD differ: a JWKS naming two keys alike
    keeps both, and a token verifies with either).

    The AAS key is published with its certificate (SPEC section 7); keys without one, such as
    the registry's OIDC keys in the same JWKS, sign other tokens and are not trusted here.
    """
    keys: dict[str, list[tuple[PublicKey, str]]] = {}
    for jwk in jwks:
        if (
            not isinstance(jwk, dict)
            or jwk.get("kty") != "RSA"
            or not isinstance(jwk.get("kid"), str)
            or not isinstance(jwk.get("x5t"), str)
            or jwk.get("use", "sig") != "sig"
        ):
            continue
        try:
            public_key = jwk_to_public_key(jwk)
        except KeyFormatError:
            continue
        keys.setdefault(jwk["kid"], []).append((public_key, jwk["x5t"]))
    return keys


def _failure(exc: BaseException) -> str:
    """What kind of failure a JWKS fetch met, without any text of the answer: `fetch_jwks`'s
    own messages, the operating system's for a connection (refused, timed out, DNS), else
    only the exception's class (http.client's carry the line received, JSON's nothing useful)."""
    if type(exc) is ValueError or isinstance(exc, TimeoutError):
        return str(exc)
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__}: {exc.strerror}"
    return type(exc).__name__


class JwksKeys:
    """The AAS keys from its JWKS URL: cached, refetched when stale, and refetched at most once
    a minute for a `kid` it does not know (so a flood of made-up kids cannot make it hammer
    the AAS). Thread-safe, one fetch at a time, and the fetch runs outside the lock: while the
    stale keys are refreshed (up to JWKS_TIMEOUT_SECONDS from a slow AAS), handshakes signed by
    a key at hand go on with it; only one that needs the fetch's outcome (no keys yet, or a
    kid not at hand) waits for it. One instance per URL should live for the process."""

    def __init__(
        self,
        url: str,
        *,
        fetch: Callable[[str], dict[str, Any]] | None = None,
        cache_seconds: float = JWKS_CACHE_SECONDS,
        unknown_kid_refetch_seconds: float = UNKNOWN_KID_REFETCH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.url = check_jwks_url(url)
        self._fetch = fetch or fetch_jwks
        self._cache_seconds = cache_seconds
        self._refetch_seconds = unknown_kid_refetch_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._fetch_done = threading.Condition(self._lock)
        self._fetching = False
        # Fetches finished, to tell whether one finished while a handshake waited for it.
        self._fetches_done = 0
        self._keys: dict[str, list[tuple[PublicKey, str]]] = {}
        self._fetched_at: float | None = None
        self._last_unknown_refetch: dict[str, float] = {}
        self._last_any_unknown_refetch: float | None = None
        self._failed_at: float | None = None
        self.fetch_count = 0

    def _refresh(self, *, wait: bool) -> None:
        """Fetch the JWKS, called with the lock held (released during the fetch itself). A
        fetch under way is not doubled: with `wait` this waits for its outcome, else goes on
        with the keys at hand. No fetch either within FAILED_FETCH_RETRY_SECONDS of a failed
        one. A failure keeps the keys as they were."""
        if self._fetching:
            if wait:
                # Bounded: the fetch itself gives up after JWKS_TIMEOUT_SECONDS.
                self._fetch_done.wait_for(
                    lambda: not self._fetching, timeout=2 * JWKS_TIMEOUT_SECONDS
                )
            return
        if self._paused(self._clock()):
            return
        self._fetching = True
        self.fetch_count += 1
        failure: BaseException | None = None
        keys: dict[str, list[tuple[PublicKey, str]]] = {}
        self._lock.release()
        try:
            data = self._fetch(self.url)
            keys = _aas_keys(data["keys"])
        except (
            OSError,
            ValueError,
            TypeError,
            KeyError,
            http.client.HTTPException,
            RecursionError,
        ) as exc:
            failure = exc
        finally:
            self._lock.acquire()
            self._fetching = False
            self._fetches_done += 1
            self._fetch_done.notify_all()
        if failure is not None:
            # RecursionError: "[[[[…" within the size cap. Nothing of the answer is logged or
            # shown: the reason says only that the keys could not be fetched, the log line
            # (for this side's operator: a wrong URL, the AAS down) what kind of failure it was.
            self._failed_at = self._clock()
            logger.warning(
                "The AAS JWKS at %s could not be fetched (%s); handshakes are answered from "
                "the keys at hand, or refused, until the next try in %d s.",
                shown_url(self.url),
                _failure(failure),
                FAILED_FETCH_RETRY_SECONDS,
            )
            return
        self._failed_at = None
        self._keys = keys
        self._fetched_at = self._clock()

    def _paused(self, now: float) -> bool:
        """Within FAILED_FETCH_RETRY_SECONDS of a failed fetch: no fetch is made."""
        return self._failed_at is not None and now - self._failed_at < FAILED_FETCH_RETRY_SECONDS

    def __call__(self, header: dict[str, Any]) -> list[PublicKey]:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > 200:
            raise HandshakeError("The SignedToken names no key (kid).")
        with self._lock:
            now = self._clock()
            done_before = self._fetches_done
            if self._fetched_at is None or now - self._fetched_at > self._cache_seconds:
                # Stale keys keep serving while one handshake refreshes them, and after a
                # failure: the AAS being down for a moment should not stop handshakes signed
                # with a key already known. With none at hand, wait for the fetch.
                self._refresh(wait=self._fetched_at is None)
                if self._fetched_at is None:
                    raise HandshakeError("The connector could not fetch the AAS keys.")
            # This call fetched, or waited for a fetch to finish: the JWKS as it is now.
            fetched_now = self._fetches_done != done_before
            found = self._keys.get(kid)
            if found is None and self._fetching:
                # Another handshake's fetch is under way: it may bring this kid.
                self._refresh(wait=True)
            elif found is None and not self._paused(now):
                # (In the pause no fetch is made: this kid's refetch is kept for after it.)
                last = self._last_unknown_refetch.get(kid)
                last_any = self._last_any_unknown_refetch
                if (last is None or now - last >= self._refetch_seconds) and (
                    last_any is None or now - last_any >= ANY_UNKNOWN_KID_REFETCH_SECONDS
                ):
                    if len(self._last_unknown_refetch) > 1000:
                        self._last_unknown_refetch.clear()
                    self._last_unknown_refetch[kid] = now
                    self._last_any_unknown_refetch = now
                    # Keys fetched in this very call count as this kid's refetch: a second
                    # fetch at once could not know more.
                    if not fetched_now:
                        self._refresh(wait=True)
            found = self._keys.get(kid)
            if found is None:
                raise _unknown_key()
            # The token may name the key twice (kid and x5t); both must name it.
            matches = [key for key, x5t in found if header.get("x5t", x5t) == x5t]
            if not matches:
                raise _unknown_key()
            return matches

"""The one authentication backend of interactive sign-in (the registry's login page and the
admin's): Django's model backend, with system users refused and failed sign-ins throttled."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from trustregistry.accounts.models import UserKind
from trustregistry.common.exceptions import TooManyFailures
from trustregistry.common.logging import shown
from trustregistry.common.throttle import FailureThrottle, client_address

logger = logging.getLogger(__name__)

# As client authentication (SPEC section 3): from the 20th failure of one username from one
# address within 5 minutes, that username is refused from that address (the right password
# included) until the window ends; other addresses and other usernames are not slowed.
LOGIN_THROTTLE = FailureThrottle("login")
# Password spraying (a few guesses at each of many usernames) stays under the per-username
# count: from the TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES-th failure from one address within the
# window, whatever the usernames, every sign-in from that address is refused until the window
# ends. A successful sign-in does not restart this count, or an attacker holding one account
# could reset it between guesses.
ADDRESS_THROTTLE = FailureThrottle(
    "login-address", limit_setting="TRUSTREGISTRY_LOGIN_ADDRESS_FAILURES"
)
ANY_USERNAME = ""  # the address-wide count is kept under this identity
# Set on the request when a sign-in is refused by a throttle (a LoginBlock).
BLOCKED_ATTRIBUTE = "tr_login_blocked"


@dataclass(frozen=True)
class LoginBlock:
    retry_after: int  # seconds
    whole_address: bool  # every username from this address, not just this one


def login_block(request: Any) -> LoginBlock | None:
    """Why the last sign-in on this request was refused by a throttle, if it was."""
    return getattr(request, BLOCKED_ATTRIBUTE, None)


def _block(request: Any, exc: TooManyFailures, *, whole_address: bool) -> None:
    current = login_block(request)
    if current is None or (whole_address and not current.whole_address):
        setattr(request, BLOCKED_ATTRIBUTE, LoginBlock(exc.retry_after, whole_address))


class KindAwareModelBackend(ModelBackend):
    """System users are service identities: never an interactive login or a session."""

    def user_can_authenticate(self, user) -> bool:  # type: ignore[no-untyped-def]
        return (
            super().user_can_authenticate(user) and getattr(user, "kind", None) != UserKind.SYSTEM
        )

    def authenticate(  # type: ignore[override]
        self, request: Any, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is None or username is None:
            # Not a sign-in over HTTP (management commands, tests): no address to count.
            return super().authenticate(request, username, password, **kwargs)
        identity, address = username.casefold(), client_address(request)
        counts = ((ADDRESS_THROTTLE, ANY_USERNAME, True), (LOGIN_THROTTLE, identity, False))
        for throttle, key, whole_address in counts:
            try:
                throttle.check(key, address)
            except TooManyFailures as exc:
                _block(request, exc, whole_address=whole_address)
                raise PermissionDenied from exc  # no further backend is asked
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            # The password is never logged (nor is it said whether the username exists).
            logger.info("sign-in failed: username %s from %s", shown(username), address)
            for throttle, key, whole_address in counts:
                try:
                    throttle.record_failure(key, address)
                except TooManyFailures as exc:
                    _block(request, exc, whole_address=whole_address)
        else:
            LOGIN_THROTTLE.reset(identity, address)
        return user

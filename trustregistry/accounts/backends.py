"""The one authentication backend of interactive sign-in (the registry's login page and the
admin's): Django's model backend, with system users refused and failed sign-ins throttled."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from trustregistry.accounts.models import UserKind
from trustregistry.common.exceptions import TooManyFailures
from trustregistry.common.throttle import FailureThrottle, client_address

# As client authentication (SPEC section 3): from the 20th failure of one username from one
# address within 5 minutes, that username is refused from that address (the right password
# included) until the window ends; other addresses and other usernames are not slowed.
LOGIN_THROTTLE = FailureThrottle("login")
# Set on the request when a sign-in is refused by the throttle: seconds until it may retry.
BLOCKED_ATTRIBUTE = "tr_login_retry_after"


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
        try:
            LOGIN_THROTTLE.check(identity, address)
        except TooManyFailures as exc:
            setattr(request, BLOCKED_ATTRIBUTE, exc.retry_after)
            raise PermissionDenied from exc  # no further backend is asked
        user = super().authenticate(request, username, password, **kwargs)
        if user is None:
            try:
                LOGIN_THROTTLE.record_failure(identity, address)
            except TooManyFailures as exc:
                setattr(request, BLOCKED_ATTRIBUTE, exc.retry_after)
        else:
            LOGIN_THROTTLE.reset(identity, address)
        return user

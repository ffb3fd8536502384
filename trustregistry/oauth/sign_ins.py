"""When the person behind an authorization signed in: the moment of each interactive sign-in,
kept in its session, becomes the ID token's `auth_time` (OpenID Connect Core section 2) and
what `max_age` is measured against (section 3.1.2.1). `User.last_login`, which
django-oauth-toolkit would use, is the user's latest sign-in in any browser."""

from __future__ import annotations

import datetime as dt
from typing import Any

from trustregistry.common import clock

SESSION_KEY = "tr_auth_time"
# Set by the authorization view from the session on every request (overwriting whatever a
# client might send), read by the validator from the oauthlib request's headers.
META_KEY = "TR_SESSION_AUTH_TIME"


def remember(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    """`user_logged_in` receiver: the session records when its user signed in."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_KEY] = int(clock.now().timestamp())


def of_session(request: Any) -> int | None:
    """Epoch seconds of the session's sign-in; None when unknown (a session from before)."""
    value = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def of_oauth_request(request: Any) -> dt.datetime | None:
    value = (request.headers or {}).get(META_KEY) if hasattr(request, "headers") else None
    if not isinstance(value, str) or not value.isdigit():
        return None
    seconds = int(value)
    return dt.datetime.fromtimestamp(seconds, tz=dt.UTC)


def parse_max_age(value: str | None) -> int | None:
    """A max_age parameter: None when absent; ValueError when not a non-negative integer."""
    if value is None or value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 12:
        raise ValueError("max_age must be a non-negative integer")
    return int(value)


def fresh_enough(signed_in: float | None, max_age: int) -> bool:
    """Whether a sign-in at `signed_in` (epoch seconds; None: unknown) is at most `max_age`
    seconds old by the registry's clock."""
    return signed_in is not None and clock.now().timestamp() - signed_in <= max_age

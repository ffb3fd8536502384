"""The one place the registry reads the time.

Every security check (token expiry, nonce time-to-live, handshake timestamps, secret expiry)
asks this function, so tests can move the clock with time-machine and see every check move
with it.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone


def now() -> dt.datetime:
    return timezone.now()


def epoch() -> int:
    return int(now().timestamp())

"""Calls made at the same moment from threads, each with its own database connection, as two
app servers (or two administrators) would make them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from django.db import OperationalError, connection


def at_once(*calls: tuple[float, Callable[[], object]]) -> list[object]:
    """Run each call in its own thread after its delay; each outcome, in the calls' order: a
    result, or the exception raised."""
    outcomes: list[object] = [None] * len(calls)

    def run(index: int, delay: float, call: Callable[[], object]) -> None:
        try:
            time.sleep(delay)
            outcomes[index] = call()
        except Exception as exc:  # noqa: BLE001 - what the test looks at
            outcomes[index] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(i, delay, call)) for i, (delay, call) in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


def refused_by_sqlite(outcome: object) -> bool:
    # SQLite's shared in-memory test database reports the other writer at once instead of
    # waiting: that call changed nothing.
    return connection.vendor == "sqlite" and isinstance(outcome, OperationalError)

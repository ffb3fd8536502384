"""Conditional requests on a trusted-application record (RFC 9110 sections 8.8.3 and 13).

A record's `ETag` is a strong validator of its JSON representation: a digest of the very
object a GET answers, so it changes whenever anything a GET shows changes (a secret used since,
its `last_used`, included). A client that sends it back in `If-Match` with PUT, PATCH, DELETE
or `POST .../secrets/` has its write refused (412 `precondition_failed`) if the record changed
in between, instead of silently undoing the other change: the check runs after the record's
row is locked, in the write's own transaction, so no write can come between the check and the
change. Without `If-Match` a write is unconditional, as before.

`If-None-Match` on GET answers 304 when the record is unchanged (weak comparison); on a write it
refuses the write when it matches. A GET with an `If-Match` that fails is 412 too (RFC 9110
13.1.1: evaluated whatever the method). `If-Unmodified-Since` and `If-Modified-Since` are
ignored, as RFC 9110 asks of a resource with no modification date (a record's names and
secrets change apart from it). A header that holds no entity tag at all (an unquoted digest,
say) is refused with 400 rather than taken for no condition, which would turn a careful write
into a blind one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import transaction
from django.utils.http import parse_etags
from rest_framework.request import Request

from trustregistry.common.exceptions import ApplicationError, InvalidInput
from trustregistry.registry import selectors, serialization, services
from trustregistry.registry.models import TrustedApplication


class PreconditionFailed(ApplicationError):
    code = "precondition_failed"
    status = 412
    message = (
        "The record has changed since the ETag sent in If-Match (or If-None-Match matched it): "
        "nothing was changed. GET the record again, apply your change to what it holds now "
        "and send it with the new ETag."
    )


def representation(application: TrustedApplication) -> dict[str, Any]:
    """The record as the API shows it, read again with its names and secrets."""
    fresh = selectors.application_list().get(pk=application.pk)
    return serialization.application_to_dict(fresh, include_secret_hashes=False)


def etag_of(shown: dict[str, Any]) -> str:
    canonical = json.dumps(
        shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
    )
    return '"' + hashlib.sha256(canonical.encode()).hexdigest()[:32] + '"'


def _tags(request: Request, header: str) -> list[str] | None:
    value = request.headers.get(header)
    if value is None:
        return None
    tags = parse_etags(value)
    if not tags:
        raise InvalidInput(
            f'{header} holds no entity tag: send "*" or the ETag as the API answered it, '
            'quotes included ("…").'
        )
    return tags


def _none_match(tags: list[str], current: str) -> bool:
    return tags == ["*"] or current in (tag.removeprefix("W/") for tag in tags)


def _check_if_match(request: Request, current: str) -> None:
    match = _tags(request, "If-Match")
    if match is not None and match != ["*"] and current not in match:
        raise PreconditionFailed()


def not_modified(request: Request, current: str) -> bool:
    """GET and HEAD: True when `If-None-Match` names the current ETag (answer 304). An
    `If-Match` that fails is 412 first: RFC 9110 13.1.1 has every method evaluate it, a read
    too (a client reading on with what it holds of the record must hear that it changed)."""
    _check_if_match(request, current)
    tags = _tags(request, "If-None-Match")
    return tags is not None and _none_match(tags, current)


def _check(request: Request, current: str) -> None:
    _check_if_match(request, current)
    none_match = _tags(request, "If-None-Match")
    if none_match is not None and _none_match(none_match, current):
        raise PreconditionFailed()


@contextmanager
def preconditions_held(request: Request, application: TrustedApplication) -> Iterator[None]:
    """Run the write in the block only if the request's preconditions hold for the record as
    it is once locked; the block runs in the same transaction, under the same lock."""
    if "If-Match" not in request.headers and "If-None-Match" not in request.headers:
        yield
        return
    with transaction.atomic():
        services.application_lock(application=application)
        _check(request, etag_of(representation(application)))
        yield

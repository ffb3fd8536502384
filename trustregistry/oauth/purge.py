"""Purging expired OAuth records and handshake nonces in bounded batches (SPEC 9), keeping
what reuse detection needs: the refresh tokens of a family stay, revoked ones included, until
the family's newest token has expired; redeemed-code records stay until the tokens they
issued have expired."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Max, QuerySet
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from trustregistry.common import clock
from trustregistry.oauth import policy
from trustregistry.oauth.models import RedeemedCode, SignIn, UsedAssertion


@dataclass
class PurgeReport:
    deleted: dict[str, int] = field(default_factory=dict)
    complete: bool = True

    def add(self, name: str, count: int) -> None:
        self.deleted[name] = self.deleted.get(name, 0) + count


class _Budget:
    def __init__(self, max_batches: int | None):
        self.left = max_batches

    def take(self) -> bool:
        if self.left is None:
            return True
        if self.left <= 0:
            return False
        self.left -= 1
        return True


def _delete_in_batches(
    name: str, queryset: QuerySet, *, batch_size: int, budget: _Budget, report: PurgeReport
) -> None:
    model = queryset.model
    while True:
        pks = list(queryset.values_list("pk", flat=True)[:batch_size])
        if not pks:
            return
        if not budget.take():
            report.complete = False
            return
        model.objects.filter(pk__in=pks).delete()
        report.add(name, len(pks))


def _expired_families(now: dt.datetime) -> QuerySet:
    refresh = get_refresh_token_model()
    public_cutoff = now - policy.PUBLIC_REFRESH_LIFETIME
    confidential_cutoff = now - policy.CONFIDENTIAL_REFRESH_LIFETIME
    newest = (
        refresh.objects.exclude(token_family__isnull=True)
        .values("token_family", "application__client_type")
        .annotate(newest=Max("created"))
    )
    public = newest.filter(application__client_type="public", newest__lt=public_cutoff)
    confidential = newest.exclude(application__client_type="public").filter(
        newest__lt=confidential_cutoff
    )
    return public.values("token_family").union(confidential.values("token_family"))


def purge_expired(*, batch_size: int = 1000, max_batches: int | None = None) -> PurgeReport:
    now = clock.now()
    report = PurgeReport()
    budget = _Budget(max_batches)
    refresh = get_refresh_token_model()
    access = get_access_token_model()

    def run(name: str, queryset: QuerySet) -> None:
        _delete_in_batches(name, queryset, batch_size=batch_size, budget=budget, report=report)

    run("grants", get_grant_model().objects.filter(expires__lt=now))
    run("client assertions", UsedAssertion.objects.filter(expires__lt=now))
    run("redeemed codes", RedeemedCode.objects.filter(keep_until__lt=now))
    run("sign-ins", SignIn.objects.filter(keep_until__lt=now))

    families = [row["token_family"] for row in _expired_families(now)]
    for start in range(0, len(families), batch_size):
        chunk = families[start : start + batch_size]
        run("refresh tokens", refresh.objects.filter(token_family__in=chunk))
    cutoff = now - policy.LONGEST_REFRESH_LIFETIME
    run(
        "refresh tokens",
        refresh.objects.filter(token_family__isnull=True, created__lt=cutoff),
    )
    # An expired access token still anchors a live refresh token; it goes with its family.
    run("access tokens", access.objects.filter(expires__lt=now, refresh_token__isnull=True))
    run(
        "id tokens",
        get_id_token_model().objects.filter(expires__lt=now, access_token__isnull=True),
    )
    # The handshake's single-use nonces (both sides) are purged with the rest; like every
    # kind above, a batch is spent only where there is something to delete.
    from connector.django_app.models import AnsweredNonce
    from trustregistry.aas.models import PendingHandshake

    run("pending handshakes", PendingHandshake.objects.filter(expires_at__lte=now))
    run("answered connector nonces", AnsweredNonce.objects.filter(keep_until__lte=now))
    return report

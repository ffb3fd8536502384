"""Risky but allowed settings of a record (SPEC sections 2 and 4): the admin warns about them,
it does not refuse them. Pure: reads only the values it is given."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.utils.translation import gettext as _

from trustregistry.registry import validators


@dataclass(frozen=True)
class Risk:
    code: str
    message: str


def record_risks(
    *,
    application_uri: str,
    client_type: str,
    impersonate_internal_allowed: bool,
    impersonate_community_allowed: bool,
    scopes: list[str],
    has_secret: bool,
    urls: Sequence[str] = (),
) -> list[Risk]:
    risks: list[Risk] = url_host_risks(urls)
    if impersonate_community_allowed and not impersonate_internal_allowed:
        risks.append(
            Risk(
                "community_only",
                _(
                    "Only community (external) users may log in to this app, internal staff "
                    "may not. Is that intended?"
                ),
            )
        )
    if client_type == "public" and has_secret:
        risks.append(
            Risk(
                "public_with_secret",
                _(
                    "A public client cannot keep a secret: a secret shipped in a browser or "
                    "native app is readable by anyone. Prefer a confidential client."
                ),
            )
        )
    if "sec" in scopes and (impersonate_internal_allowed or impersonate_community_allowed):
        risks.append(
            Risk(
                "sec_with_impersonation",
                _(
                    "This app impersonates users and is trusted with 'sec': tokens issued to "
                    "people may manage the security infrastructure (never for community users)."
                ),
            )
        )
    if not validators.application_uri_is_domain_based(application_uri):
        risks.append(
            Risk(
                "uri_not_domain_based",
                _(
                    "The application URI %(uri)s is not domain-based; the recommended form "
                    "is mywebsite.com/myapp1."
                )
                % {"uri": application_uri},
            )
        )
    return risks


def url_host_risks(urls: Iterable[str]) -> list[Risk]:
    """A URL whose host is not written in ASCII: the address people read is not plainly the
    one browsers go to, so the ASCII form is named (a login URL is where codes are sent, and
    a marketplace link is written by someone else)."""
    return [
        Risk(
            "non_ascii_host",
            _(
                "%(url)s: its host name is not written in plain ASCII; browsers go to "
                "%(host)s. Letters that look alike (a Cyrillic о for a Latin o) or a full stop "
                'other than "." can make it look like another address: check that %(host)s '
                "is the application's own."
            )
            % {"url": url, "host": host},
        )
        for url in urls
        if (host := validators.browser_host(url))
    ]


def application_risks(app, *, has_secret: bool | None = None) -> list[Risk]:  # type: ignore[no-untyped-def]
    return record_risks(
        application_uri=app.client_id,
        client_type=app.client_type,
        impersonate_internal_allowed=app.impersonate_internal_allowed,
        impersonate_community_allowed=app.impersonate_community_allowed,
        scopes=app.scopes,
        has_secret=app.secrets.exists() if has_secret is None else has_secret,
        urls=[
            *app.login_urls,
            *app.logout_urls,
            *([app.connector_url] if app.connector_url else []),
        ],
    )

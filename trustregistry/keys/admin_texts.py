"""What the signing keys' admin says: each key's state (keys/admin.py), and what its confirmation
pages say a staging, a rotation or a withdrawal does and what stops working
(keys/admin_actions.py), in the words of the README's Operations and Connector sections: the
administrator deciding whether to withdraw a key reads the consequences there, not in the
README."""

from __future__ import annotations

import datetime as dt

from django.utils import formats, timezone
from django.utils.translation import gettext

from trustregistry.common import clock
from trustregistry.keys import services
from trustregistry.keys.models import KeyPurpose, SigningKey

STAGE, ROTATE, WITHDRAW = "stage", "rotate", "withdraw"


def when(value: dt.datetime) -> str:
    # As the admin shows the other dates of the row.
    return formats.localize(timezone.localtime(value))


def key_status(key: SigningKey, now: dt.datetime | None = None) -> str:
    now = now or clock.now()
    if key.withdrawn_at is not None:
        return gettext("withdrawn")
    if key.is_staged:
        return gettext("staged – published, signs from the next rotation")
    if key.retired_at is None:
        return gettext("signing")
    if key.publish_until is not None and key.publish_until > now:
        return gettext("retired – published until %(date)s") % {"date": when(key.publish_until)}
    return gettext("no longer published")


def consequences(purpose: str, action: str, staged: SigningKey | None) -> list[str]:
    """What the action does and what stops working, in the words of the README's Operations.
    `staged`: the purpose's staged key, if any. The in-process cache times are the services'
    own, so the page follows them if they change."""
    if action == STAGE:
        return _staging(purpose, staged)
    if action == WITHDRAW:
        lines = _withdrawal(purpose)
        if staged is not None:
            lines.insert(
                1,
                gettext(
                    "The staged key %(kid)s is withdrawn too, never activated: it is kept in the "
                    "same database as the keys that leaked, so it may have leaked with them. The "
                    "new signing key is made now; stage a new next key afterwards."
                )
                % {"kid": staged.kid},
            )
        return lines
    if staged is not None:
        return _activation(purpose, staged)
    return _rotation(purpose)


def _staging(purpose: str, staged: SigningKey | None) -> list[str]:
    if staged is not None:
        return [
            gettext(
                "The key %(kid)s is staged already, since %(date)s: it is kept, and nothing new "
                "is made."
            )
            % {"kid": staged.kid, "date": when(staged.created)}
        ]
    if purpose == KeyPurpose.OIDC:
        return [
            gettext(
                "A new key is made and published in the JWKS at once. It signs nothing until "
                "the next rotation (Rotate) makes it the signing key; the current key keeps "
                "signing until then."
            ),
            gettext(
                "Rotate no sooner than %(minutes)d minutes after staging: relying parties may "
                "cache the JWKS that long, and one that has not fetched it again would not know "
                "the new key yet."
            )
            % {"minutes": services.JWKS_CACHE_SECONDS // 60},
        ]
    return [
        gettext(
            "A new key and certificate are made and published in the JWKS at once. They sign no "
            "handshake until the next rotation (Rotate); the current key keeps signing until "
            "then."
        ),
        gettext(
            "Before rotating, add the new certificate to the file of every connector that pins "
            "the AAS certificate: `manage.py aas_certificate FILE --with-next` writes the "
            "current and the next certificate together (the staged key's page here shows it "
            "too). Connectors that read the JWKS need nothing."
        ),
    ]


def _activation(purpose: str, staged: SigningKey) -> list[str]:
    """A rotation that makes the staged key the signing one."""
    facts = {"kid": staged.kid, "date": when(staged.created)}
    if purpose == KeyPurpose.OIDC:
        lines = [
            gettext(
                "The staged key %(kid)s, published since %(date)s, signs the ID and access "
                "tokens issued from now on; every app server uses it within %(seconds)d seconds."
            )
            % {**facts, "seconds": services.ACTIVE_KEY_CACHE_SECONDS},
            gettext(
                "The current key stays in the JWKS until every token it signed has expired, so "
                "nothing stops working. If the key has leaked, withdraw it instead."
            ),
        ]
        if staged.created > clock.now() - dt.timedelta(seconds=services.JWKS_CACHE_SECONDS):
            lines.append(
                gettext(
                    "It was staged less than %(minutes)d minutes ago: a relying party that "
                    "cached the JWKS before then does not know it yet, and may refuse the new "
                    "tokens until it fetches the JWKS again."
                )
                % {"minutes": services.JWKS_CACHE_SECONDS // 60}
            )
        return lines
    return [
        gettext(
            "The staged key %(kid)s and its certificate, published since %(date)s, sign every "
            "handshake from now on, on every app server at once. The current key stays in the "
            "JWKS for 6 minutes, until the handshake tokens it signed have expired."
        )
        % facts,
        gettext(
            "A connector that pins the AAS certificate keeps accepting handshakes if its "
            "certificate file holds the staged certificate (`manage.py aas_certificate FILE "
            "--with-next`); the current certificate can be removed from it after the rotation."
        ),
    ]


def _rotation(purpose: str) -> list[str]:
    """A rotation with no key staged: a new key signs at once."""
    if purpose == KeyPurpose.OIDC:
        return [
            gettext(
                "A new key signs the ID and access tokens issued from now on; every app server "
                "uses it within %(seconds)d seconds."
            )
            % {"seconds": services.ACTIVE_KEY_CACHE_SECONDS},
            gettext(
                "The current key stays in the JWKS until every token it signed has expired, so "
                "nothing stops working. If the key has leaked, withdraw it instead."
            ),
            gettext(
                "No key is staged: a relying party that caches the JWKS may refuse the new "
                "key's tokens until it fetches the JWKS again. Staging the next key first (Stage "
                "next key) and rotating %(minutes)d minutes later avoids that."
            )
            % {"minutes": services.JWKS_CACHE_SECONDS // 60},
        ]
    return [
        gettext(
            "A new key and certificate sign every handshake from now on, on every app "
            "server at once. The current key stays in the JWKS for 6 minutes, until the "
            "handshake tokens it signed have expired."
        ),
        gettext(
            "A connector that pins the AAS certificate refuses the handshakes the new key "
            "signs until its certificate file holds the new certificate too: download it "
            "from /id/.well-known/aas-certificate.pem after the rotation (the file may hold "
            "both)."
        ),
        gettext(
            "No key is staged: staging the next key first (Stage next key) gives those "
            "connectors its certificate before it signs, and none of them refuses a handshake."
        ),
    ]


def _withdrawal(purpose: str) -> list[str]:
    if purpose == KeyPurpose.OIDC:
        return [
            gettext(
                "A new key is made, and every older OpenID Connect key below is withdrawn at "
                "once: it leaves the JWKS and verifies nothing more, not even the ID token "
                "hint of a logout."
            ),
            gettext(
                "Access tokens those keys signed stop working: clients get new ones with their "
                "refresh tokens or credentials. So does anything forged with a leaked key."
            ),
            gettext(
                "Reload every app server right after (gunicorn: kill -HUP on each master). "
                "Until then a server not yet reloaded may still sign tokens with the withdrawn "
                "key for up to %(signing)d seconds, refused wherever it is no longer held, and "
                "accept what it signed, forgeries included, for up to %(verifying)d seconds."
            )
            % {
                "signing": services.ACTIVE_KEY_CACHE_SECONDS,
                "verifying": services.PUBLIC_KEY_CACHE_SECONDS,
            },
            gettext(
                "Clients that cache the JWKS drop the withdrawn keys when they fetch it again "
                "(it may be cached for up to 5 minutes)."
            ),
        ]
    return [
        gettext(
            "A new key and certificate are made, and every older AAS key below is withdrawn "
            "at once: it leaves the JWKS and signs no more handshakes. Every app server signs "
            "with the new key at once."
        ),
        gettext(
            "Connectors that read the JWKS stop trusting the withdrawn keys when they fetch it "
            "again (the connector package does so every 5 minutes). A connector that pins the AAS "
            "certificate refuses every handshake until its certificate file is replaced with "
            "the new certificate (/id/.well-known/aas-certificate.pem)."
        ),
        gettext(
            "Reload the app servers (gunicorn: kill -HUP on each master) so the connector app "
            "they serve at /connector/ forgets the withdrawn keys at once."
        ),
    ]

"""What the admin's confirmation page says a rotation or a withdrawal does and what stops
working (keys/admin.py), in the words of the README's Operations and Connector sections: the
administrator deciding whether to withdraw a key reads the consequences there, not in the
README."""

from __future__ import annotations

from django.utils.translation import gettext

from trustregistry.keys import services
from trustregistry.keys.models import KeyPurpose


def consequences(purpose: str, *, withdraw: bool) -> list[str]:
    """What the action does and what stops working, in the words of the README's Operations.
    The in-process cache times are the services' own, so the page follows them if they change."""
    if purpose == KeyPurpose.OIDC and not withdraw:
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
        ]
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
    if not withdraw:
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

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from trustregistry.accounts.models import UserKind


class KindAwareModelBackend(ModelBackend):
    """System users are service identities: never an interactive login or a session."""

    def user_can_authenticate(self, user) -> bool:  # type: ignore[no-untyped-def]
        return (
            super().user_can_authenticate(user) and getattr(user, "kind", None) != UserKind.SYSTEM
        )

"""Seeds the benchmark's scratch database (run by bench/load.py, with its environment).

Prints one JSON line: the service app's client id and generated secret, and an access token
minted directly (so /api/me and introspection can be measured even while the token endpoint
fails).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustregistry.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402

from trustregistry.keys.models import KeyPurpose  # noqa: E402
from trustregistry.keys.services import get_active_key  # noqa: E402
from trustregistry.oauth.access_tokens import issue_access_token  # noqa: E402
from trustregistry.registry import selectors, services  # noqa: E402

CLIENT_ID = "bench.example.com/service"


def main() -> None:
    User = get_user_model()
    system = User.objects.filter(username="bench-service").first() or (
        User.objects.create_system_user("bench-service")  # type: ignore[attr-defined]
    )
    get_active_key(KeyPurpose.OIDC)
    fields = {
        "client_type": "confidential",
        "scope": "sec update",
        "system_user": system,
        "system_user_allowed": True,
        "is_enabled": True,
    }
    app = selectors.application_get(application_uri=CLIENT_ID)
    if app is None:
        app = services.application_create(
            application_uri=CLIENT_ID, names={"en": "Load benchmark service"}, **fields
        )
    else:  # a reused database (--database-url): bring the record back to the known state
        app = services.application_update(application=app, **fields)
    generated = services.secret_generate(application=app)
    raw, _row = issue_access_token(application=app, user=system, scope="sec update", lifetime=7200)
    print(json.dumps({"client_id": CLIENT_ID, "secret": generated.plain, "token": raw}))


if __name__ == "__main__":
    main()

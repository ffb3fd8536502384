"""`manage.py load_demo_data`: the demo records `make run` shows. Idempotent: a second run
creates only what is missing and never prints a password or secret again."""

from __future__ import annotations

import os
import secrets as _secrets
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from connector.keys import load_private_key, private_key_to_pem, public_jwk_of_private
from trustregistry.registry import selectors, services

DEMO = "demo.trustregistry.local"


def _base() -> str:
    """Where the registry serves (its issuer without `/id`): `make run`'s host and port."""
    return str(settings.TRUSTREGISTRY_ISSUER).removesuffix("/id")


def connector_key_path() -> Path:
    return Path(settings.BASE_DIR) / ".demo" / "connector_private_key.pem"


def ensure_connector_key(path: Path) -> tuple[Any, bool]:
    """The demo connector's private key (2048-bit RSA, PKCS#8 PEM), generated when missing."""
    if path.exists():
        return load_private_key(path.read_text()), False
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private_key_to_pem(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return key, True


class Command(BaseCommand):
    help = "Create the demo admin and demo trusted applications (idempotent)."
    # It creates the demo connector's key file, which the checks would otherwise report
    # missing (trustregistry.W003) just before creating it; `make run`'s server runs them after.
    requires_system_checks: list[str] = []

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            self._admin()
            self._service_app()
            self._records()
            self._connector_app()

    def _say(self, text: str) -> None:
        self.stdout.write(text)

    def _admin(self) -> None:
        User = get_user_model()
        if User.objects.filter(username="admin").exists():
            self._say("Admin user 'admin' already exists (password not shown again).")
            return
        password = _secrets.token_urlsafe(12)
        User.objects.create_superuser("admin", "admin@example.com", password)
        self._say(self.style.SUCCESS(f"Created the admin user. Sign in at {_base()}/admin/"))
        self._say(f"    username: admin\n    password: {password}\n    (shown once: note it now)")

    def _service_app(self) -> None:
        uri = f"{DEMO}/service"
        if selectors.application_get(application_uri=uri) is not None:
            self._say(f"Application {uri} already exists.")
            return
        User = get_user_model()
        system_user = User.objects.filter(username="demo-service").first()
        if system_user is None:
            system_user = User.objects.create_system_user("demo-service")  # type: ignore[attr-defined]
        app = services.application_create(
            application_uri=uri,
            names={"en": "Demo service", "bg": "Демо услуга"},
            client_type="confidential",
            scope="update sec",
            system_user=system_user,
            system_user_allowed=True,
            reason="demo data",
        )
        generated = services.secret_generate(application=app)
        self._say(f"Created the confidential service app {uri} (system user demo-service).")
        self._say(
            f"    client secret: {generated.plain}\n    (shown once: only its hash is stored)"
        )

    def _records(self) -> None:
        records = [
            dict(
                application_uri=f"{DEMO}/spa",
                names={"en": "Demo browser app", "bg": "Демо приложение за браузър"},
                client_type="public",
                impersonate_internal_allowed=True,
                impersonate_community_allowed=True,
                login_urls=[f"{_base()}/demo/callback"],
                logout_urls=[f"{_base()}/demo/"],
                scope="update",
            ),
            dict(
                application_uri=settings.TRUSTREGISTRY_BASIC_AUTH_APPLICATION,
                names={"en": "Domain API (HTTP Basic)", "bg": "Domain API (HTTP Basic)"},
                client_type="confidential",
                basic_auth_allowed=True,
                scope="update",
            ),
        ]
        for record in records:
            uri = record.pop("application_uri")
            if selectors.application_get(application_uri=uri) is not None:
                self._say(f"Application {uri} already exists.")
                continue
            services.application_create(application_uri=uri, reason="demo data", **record)
            self._say(f"Created {uri}.")

    def _connector_app(self) -> None:
        uri = f"{DEMO}/connector"
        path = connector_key_path()
        key, generated = ensure_connector_key(path)
        if generated:
            self._say(f"Generated the demo connector's private key: {path}")
        app = selectors.application_get(application_uri=uri)
        jwk = public_jwk_of_private(key)
        connector_url = f"{_base()}/connector/authenticate"
        if app is not None:
            current = (app.public_keys, app.connector_url)
            if current[0] != [jwk]:
                # The key file was replaced (e.g. .demo/ deleted): trust the new one.
                services.application_update(
                    application=app, public_keys=[jwk], reason="demo key replaced"
                )
                self._say(f"Application {uri}: public key replaced by that of {path}.")
            if current[1] != connector_url:
                # `make run PORT=...` on a database made with another port.
                services.application_update(
                    application=app, connector_url=connector_url, reason="demo moved"
                )
                self._say(f"Application {uri}: connector URL now {connector_url}.")
            if current == ([jwk], connector_url):
                self._say(f"Application {uri} already exists.")
            return
        services.application_create(
            application_uri=uri,
            names={"en": "Demo connector", "bg": "Демо конектор"},
            client_type="confidential",
            connector_url=connector_url,
            public_keys=[jwk],
            scope="",
            reason="demo data",
        )
        self._say(f"Created the connector app {uri} (connector URL {connector_url}).")

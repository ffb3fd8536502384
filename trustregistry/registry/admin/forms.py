"""Admin form fields: URL lists typed comma-separated, keys pasted in any format, scopes from
the catalogue, a pasted secret hash, and the confirmation before `sec` is trusted."""

from __future__ import annotations

import json
import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.functional import Promise
from django.utils.text import capfirst
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from connector.keys import KeyFormatError, normalise_public_keys
from trustregistry.common import clock
from trustregistry.registry import scopes as scope_catalogue
from trustregistry.registry import secrets as secret_hashing
from trustregistry.registry import services, validators
from trustregistry.registry.models import ApplicationSecret, TrustedApplication

# The messages of `connector.keys` (the connector package has no translations of its own) and of
# `registry.secrets` (kept free of Django), listed for the catalogue: the form shows them in the
# viewer's language.
KEY_FORMAT_MESSAGES = (
    gettext_noop("The RSA XML key is not well-formed XML."),
    gettext_noop("An XML key must be an <RSAKeyValue> element."),
    gettext_noop("The RSA XML key needs <Modulus> and <Exponent>."),
    gettext_noop("The RSA XML key has an invalid Modulus or Exponent."),
    gettext_noop("The RSA XML private key is not a consistent RSA key."),
    gettext_noop("A JWK must be a JSON object."),
    gettext_noop("Only the EC curves P-256, P-384 and P-521 are supported."),
    gettext_noop("A JWK must have kty RSA or EC."),
    gettext_noop("Only RSA and EC public keys are supported."),
    gettext_noop("This is a private key: paste only the public key."),
    gettext_noop("The PEM block is not a readable public key or certificate."),
    gettext_noop("No key was given."),
    gettext_noop("The key text is too long."),
    gettext_noop("The PEM text has no complete BEGIN/END block."),
    gettext_noop("The JSON key is not valid JSON."),
    gettext_noop(
        "Unrecognised key format: paste PEM (public key or certificate), "
        "<RSAKeyValue> XML, or a JWK/JWKS."
    ),
    gettext_noop("No key was found in the text."),
    gettext_noop("A JSON key must be a JWK object, a list of JWKs or a JWKS."),
    gettext_noop("This JWK holds a private key: paste only the public key."),
    gettext_noop("The private key file is neither UTF-8 nor UTF-16 text (PEM or XML)."),
    gettext_noop("The private key is neither readable PEM nor <RSAKeyValue> XML."),
    gettext_noop("Only RSA and EC private keys are supported."),
    gettext_noop(
        "This is a certificate, not the private key: the connector needs the private "
        "key it signs with (its public half goes to the registry's record)."
    ),
    gettext_noop(
        "This is a public key, not the private key: the connector needs the private key "
        "it signs with (its public half goes to the registry's record)."
    ),
    gettext_noop(
        "The private key is encrypted: give its password, or store it unencrypted "
        "(`openssl pkey -in encrypted.pem -out private.pem`) readable by its owner only."
    ),
    gettext_noop("The certificate is neither PEM nor DER X.509."),
    gettext_noop(
        "A secret hash is base64(sha256(secret)): 44 characters ending in '=', or 64 hex digits."
    ),
)
# The messages `connector.keys` builds with a value in them.
_KEY_FORMAT_PATTERNS = (
    (
        re.compile(r"RSA keys must be at least (?P<bits>\d+) bits\.\Z"),
        gettext_noop("RSA keys must be at least %(bits)s bits."),
    ),
    (
        re.compile(r"RSA keys must be at most (?P<bits>\d+) bits\.\Z"),
        gettext_noop("RSA keys must be at most %(bits)s bits."),
    ),
    (
        re.compile(r"The (?P<kty>RSA|EC) JWK is missing a member or has an invalid value\.\Z"),
        gettext_noop("The %(kty)s JWK is missing a member or has an invalid value."),
    ),
    (
        re.compile(r"The RSA XML private key lacks <(?P<member>\w+)>\.\Z"),
        gettext_noop("The RSA XML private key lacks <%(member)s>."),
    ),
)


def readable_key_error(message: str) -> str:
    """A key or secret-hash message of the connector package or `registry.secrets`, in the
    active language (as it is, if it is none the catalogue knows)."""
    for pattern, template in _KEY_FORMAT_PATTERNS:
        found = pattern.match(message)
        if found:
            return gettext(template) % found.groupdict()
    return gettext(message)


class UrlListField(forms.CharField):
    """Comma-separated URLs in the form, a list in the model; each URL checked by itself so
    the message names the bad one."""

    widget = forms.Textarea(attrs={"rows": 2, "cols": 80})

    def __init__(self, *, label_for_errors: str | Promise, **kwargs: Any) -> None:
        self.label_for_errors = label_for_errors
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ", ".join(value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        return validators.parse_url_list(value)

    def validate(self, value: list[str]) -> None:  # type: ignore[override]
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        validators.validate_url_list(value, label=str(self.label_for_errors))

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return list(initial or []) != self.to_python(data)
        except ValidationError:
            return True


class PublicKeysField(forms.CharField):
    """PEM (SPKI, PKCS#1, X.509 certificate), .NET RSA XML, a JWK or a JWKS, normalised to a
    list of JWKs. Empty text removes every key."""

    widget = forms.Textarea(attrs={"rows": 6, "cols": 80, "spellcheck": "false"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return json.dumps(value, indent=2) if value else ""
        return value

    def to_python(self, value: Any) -> list[dict[str, str]]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        text = (value or "").strip()
        if not text:
            return []
        try:
            return normalise_public_keys(text)
        except KeyFormatError as exc:
            raise ValidationError(readable_key_error(str(exc)), code="invalid_key") from exc

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return list(initial or []) != self.to_python(data)
        except ValidationError:
            return True


def scope_choices() -> list[tuple[str, str]]:
    return [(name, f"{name} — {meaning}") for name, meaning in scope_catalogue.CATALOGUE.items()]


class ScopeField(forms.MultipleChoiceField):
    # `radiolist`: the admin's own class for a list of choices, which lets each choice's label
    # take the row's width instead of a field label's 160 px.
    widget = forms.CheckboxSelectMultiple(attrs={"class": "radiolist"})

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("choices", scope_choices)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return scope_catalogue.split(value) if isinstance(value, str) else value

    def clean(self, value: Any) -> str:  # type: ignore[override]
        return scope_catalogue.join(super().clean(value))

    def has_changed(self, initial: Any, data: Any) -> bool:
        initial_set = set(
            scope_catalogue.split(initial) if isinstance(initial, str) else initial or []
        )
        return initial_set != set(data or [])


class TrustedApplicationForm(forms.ModelForm):
    login_urls = UrlListField(
        label=_("login URLs"),
        label_for_errors=_("Login URL"),
        help_text=_(
            "Redirect URIs, comma-separated: https (http only for localhost/loopback), exact."
        ),
    )
    logout_urls = UrlListField(
        label=_("logout URLs"),
        label_for_errors=_("Logout URL"),
        help_text=_(
            "Allowed post-logout redirect URIs, comma-separated; same rules as login URLs."
        ),
    )
    scope = ScopeField(
        label=_("scope"),
        help_text=_("The permissions the app is trusted with; reading needs no scope."),
    )
    tr_shown = forms.CharField(required=False, widget=forms.HiddenInput())
    confirm_sec = forms.BooleanField(
        required=False,
        label=_("I confirm: trust this application with 'sec'"),
        help_text=_(
            "Needed when 'sec' is newly ticked: it opens the trusted-application API and "
            "connector resolution to this app."
        ),
    )
    public_keys = PublicKeysField(
        label=_("public keys"),
        help_text=_(
            "Paste PEM (public key or X.509 certificate), <RSAKeyValue> XML, a JWK or a JWKS."
        ),
    )
    system_user_login_url = forms.URLField(
        required=False,
        max_length=2000,
        assume_scheme="https",
        label=_("system user login URL"),
        help_text=_("Reserved: stored and validated as a URL, no behaviour."),
    )
    new_secret_hash = forms.CharField(
        required=False,
        label=_("add a secret hash"),
        max_length=200,
        widget=forms.TextInput(attrs={"size": 70, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_(
            "base64(sha256(secret)) (44 characters) or 64 hex digits; see /sys/tools/sha256. "
            "Added beside the newest secret (at most two)."
        ),
    )
    new_secret_expires = forms.DateTimeField(
        required=False,
        label=_("its expiry"),
        help_text=_("Optional, e.g. 2030-12-31 23:59 (UTC)."),
    )

    class Meta:
        model = TrustedApplication
        # Every field the services may set, but `source`, which only imports and the
        # marketplace write.
        fields = ["client_id", *(f for f in services.EDITABLE_FIELDS if f != "source")]
        widgets = {"client_id": forms.TextInput(attrs={"size": 60, "spellcheck": "false"})}

    def clean_new_secret_hash(self) -> str:
        value = (self.cleaned_data.get("new_secret_hash") or "").strip()
        if not value:
            return ""
        try:
            normalised = secret_hashing.normalise_secret_hash(value)
        except secret_hashing.SecretHashFormatError as exc:
            raise ValidationError(readable_key_error(str(exc))) from exc
        if self.instance.pk and self.instance.secrets.filter(secret_hash=normalised).exists():
            raise ValidationError(services.SECRET_ALREADY_ON_RECORD)
        return normalised

    # What the page showed of these (and of the record's secrets) travels with the form
    # (`tr_shown`). If any of it differs from the record when the form comes back, someone
    # changed the record elsewhere meanwhile (a disable by the REST API, a rotated secret):
    # the save is refused rather than silently undoing that change or mixing the two into a
    # record nobody chose. Without `tr_shown` (a form posted by a script) nothing is compared.
    GUARDED_FIELDS = (
        "is_enabled",
        "client_type",
        "scope",
        "system_user",
        "basic_auth_allowed",
        "impersonate_internal_allowed",
        "impersonate_community_allowed",
        "system_user_allowed",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The model's fields are labelled "Client type", "Connector URL" (Django capitalises a
        # verbose name); the fields declared here take their label as written. Capitalised
        # alike, the form does not alternate "System user:" and "system user login URL:".
        for field in self.fields.values():
            field.label = capfirst(field.label)
        # Read now: validation copies the new scope onto the instance, and `save_model` asks
        # afterwards whether sec was newly granted.
        self._scope_before = self.instance.scope if self.instance.pk else ""
        if self.instance.pk and "tr_shown" in self.fields and not self.is_bound:
            self.fields["tr_shown"].initial = json.dumps(
                self.guarded_state(TrustedApplication.objects.get(pk=self.instance.pk))
            )

    @classmethod
    def guarded_state(cls, record: TrustedApplication) -> dict[str, Any]:
        state: dict[str, Any] = {
            name: getattr(record, name) for name in cls.GUARDED_FIELDS if name != "system_user"
        }
        state["scope"] = sorted(str(record.scope or "").split())
        state["system_user"] = record.system_user_id
        state["secrets"] = sorted(
            ApplicationSecret.objects.filter(application_id=record.pk).values_list("pk", flat=True)
        )
        return state

    def changed_elsewhere(self) -> list[str]:
        """What the page showed that the record no longer holds (empty without `tr_shown`)."""
        try:
            shown = json.loads(self.data.get("tr_shown") or "null")
        except (ValueError, TypeError, RecursionError):  # "[[[[…": not what the page sent
            shown = None
        if not isinstance(shown, dict) or not self.instance.pk:
            return []
        now = self.guarded_state(TrustedApplication.objects.get(pk=self.instance.pk))
        return sorted(name for name, value in now.items() if name in shown and shown[name] != value)

    def sec_newly_granted(self) -> bool:
        wanted = scope_catalogue.split(self.cleaned_data.get("scope") or "")
        before = scope_catalogue.split(self._scope_before or "")
        return scope_catalogue.SEC in wanted and scope_catalogue.SEC not in before

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        elsewhere = self.changed_elsewhere()
        if elsewhere:
            raise ValidationError(
                _(
                    "This record was changed elsewhere since this page was opened (%(fields)s). "
                    "Reload the page and make your change again."
                )
                % {"fields": ", ".join(elsewhere)}
            )
        if cleaned.get("client_type") == "public" and cleaned.get("new_secret_hash"):
            self.add_error("new_secret_hash", services.PUBLIC_HOLDS_NO_SECRET)
        expires = cleaned.get("new_secret_expires")
        if expires and not cleaned.get("new_secret_hash") and "new_secret_hash" not in self.errors:
            self.add_error(
                "new_secret_expires",
                _("An expiry belongs to a new secret: paste its hash too, or clear the expiry."),
            )
        elif expires and expires <= clock.now():
            # A secret dead on arrival would still push out the oldest live one.
            self.add_error("new_secret_expires", _("The expiry must be in the future."))
        if "scope" in cleaned and self.sec_newly_granted() and not cleaned.get("confirm_sec"):
            self.add_error(
                "confirm_sec",
                _(
                    "'sec' gives access to the security infrastructure (the trusted-application "
                    "API and connector resolution). Tick the confirmation to trust this app "
                    "with it."
                ),
            )
        return cleaned

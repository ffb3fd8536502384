"""Validation rules of the trusted-application record (SPEC section 2). Pure functions that
raise Django's ValidationError with a message naming what is wrong."""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from urllib.parse import urlsplit

import idna
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

APPLICATION_URI_RE = re.compile(r"^[A-Za-z0-9.\-_~:/]{1,200}\Z")
_DOMAIN_BASED_RE = re.compile(
    r"^(?:[a-z][a-z0-9+.\-]*://)?[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?"
    r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)+(?::\d+)?(?:/.*)?$"
)
SCOPE_TOKEN_RE = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+\Z")  # RFC 6749 section 3.3


def validate_application_uri(value: str) -> None:
    if not isinstance(value, str) or not APPLICATION_URI_RE.match(value):
        raise ValidationError(
            _(
                "The application URI must be 1-200 characters of latin letters, digits "
                "and . - _ ~ : / (no spaces)."
            ),
            code="invalid_application_uri",
        )


def application_uri_is_domain_based(value: str) -> bool:
    return bool(_DOMAIN_BASED_RE.match(value or ""))


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


# Control characters (DEL and C1 too), format characters (bidi overrides, zero-width) and the
# like: invisible or misleading in a URL an administrator reads and a client must repeat.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})
_HOST_LABEL = re.compile(r"[A-Za-z0-9_-]{1,63}\Z")


def _valid_host(host: str) -> bool:
    """An IP address, or DNS labels (an internationalised name must be IDNA-encodable)."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        ascii_host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        return False
    labels = ascii_host.rstrip(".").split(".")
    return len(ascii_host) <= 253 and all(_HOST_LABEL.match(label) for label in labels)


def browser_host(url: str) -> str | None:
    """The host name browsers go to for `url`, in its ASCII (IDNA) form, when the URL writes
    it otherwise (letters outside ASCII, full-width forms, a full stop such as "。" that
    separates labels as "." does), else None. A reader sees the written form: a Cyrillic "о"
    for a Latin "o" looks the same, and "app.example。evil.com" is a host under evil.com."""
    try:
        host = urlsplit(url).hostname
    except ValueError:
        return None
    if not host or host.isascii():
        return None
    try:
        # UTS 46 non-transitional, as browsers (the WHATWG URL standard): Python's own "idna"
        # codec is IDNA 2003, which maps "ß" to "ss" and "ς" to "σ" and so named another host
        # ("faß.de": fass.de, while browsers go to xn--fa-hia.de).
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        pass  # a code point IDNA 2008 disallows ("☃"), which browsers still map
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        return None


def has_invisible_characters(value: str) -> bool:
    """Control, format (bidi overrides, zero-width), surrogate, private-use or line/paragraph
    separator characters: they hide or reorder what a reader sees."""
    return any(unicodedata.category(ch) in _INVISIBLE for ch in value)


def visible_text(value: str) -> str:
    """`value` without the characters `validate_visible_text` refuses: for showing a name
    stored before that rule (registry migration 0002 added it without checking the names
    already stored, so a bidi override kept in one still reordered the consent page)."""
    return "".join(ch for ch in value if unicodedata.category(ch) not in _INVISIBLE)


def validate_visible_text(value: str) -> None:
    """For text people read to decide whom they trust (an application's name on the consent
    page): no character that hides or reorders the rest."""
    if isinstance(value, str) and has_invisible_characters(value):
        raise ValidationError(
            _("The text contains control or invisible characters (such as a bidi override)."),
            code="invisible_characters",
        )


def validate_redirect_url(value: str, *, label: str = "URL") -> None:
    """A login or logout URL: absolute https (http for loopback), no fragment, wildcard or
    userinfo."""
    if not isinstance(value, str) or not value or value != value.strip() or len(value) > 2000:
        raise ValidationError(
            _("%(label)s %(url)r is not a valid URL.") % {"label": label, "url": value}
        )
    if any(ch.isspace() for ch in value) or has_invisible_characters(value):
        raise ValidationError(
            _("%(label)s %(url)r contains spaces or control characters.")
            % {"label": label, "url": value}
        )
    try:
        parts = urlsplit(value)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise ValidationError(
            _("%(label)s %(url)r is not a valid URL.") % {"label": label, "url": value}
        ) from exc
    problem = None
    if parts.scheme not in ("https", "http") or not host:
        problem = _("must be an absolute https URL")
    elif parts.scheme == "http" and not is_loopback_host(host):
        problem = _(
            "must use https (plain http is allowed only for localhost and loopback addresses)"
        )
    elif "#" in value:
        problem = _("must not contain a fragment (#)")
    elif "*" in value:
        problem = _("must not contain a wildcard (*)")
    elif "@" in parts.netloc:
        problem = _("must not contain user information (user@host)")
    elif not _valid_host(host) or parts.port == 0:
        problem = _("has no valid host name or port")
    if problem:
        raise ValidationError(
            _("%(label)s %(url)s %(problem)s.")
            % {"label": label, "url": value, "problem": problem},
            code="invalid_url",
        )


# A comma separates two URLs only where the next one begins (its scheme) or the text ends: a
# comma inside a URL (`?a=1,2`) is part of it.
_URL_LIST_SEPARATOR = re.compile(r"\n|,(?=\s*(?:[A-Za-z][A-Za-z0-9+.-]*://|\Z))")


def parse_url_list(value: object) -> list[str]:
    """Comma-separated text (or newlines) or a list into a list of stripped, non-empty URLs."""
    if value is None:
        return []
    if isinstance(value, str):
        items = _URL_LIST_SEPARATOR.split(value)
    elif isinstance(value, (list, tuple)):
        items = [str(v) for v in value]
    else:
        raise ValidationError(_("Expected a comma-separated list of URLs."))
    return [item.strip() for item in items if item.strip()]


def validate_url_list(value: list[str], *, label: str) -> None:
    if not isinstance(value, list):
        raise ValidationError(_("Expected a list of URLs."))
    errors = []
    for url in value:
        try:
            validate_redirect_url(url, label=label)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if len(set(value)) != len(value):
        errors.append(_("%(label)s: the same URL is listed twice.") % {"label": label})
    if errors:
        raise ValidationError(errors)


def validate_connector_url(value: str) -> None:
    if not value:
        return
    validate_redirect_url(value, label=_("The connector URL"))


def validate_scope(value: str) -> None:
    if value is None:
        return
    if not isinstance(value, str):
        raise ValidationError(
            _("The scope must be a space-delimited string."), code="invalid_scope"
        )
    if "  " in value or value != value.strip(" "):
        raise ValidationError(_("Scopes are separated by single spaces."), code="invalid_scope")
    # Only the space separates scope tokens (RFC 6749 3.3): a tab or newline is an invalid
    # character inside a token, not a separator.
    for token in value.split(" ") if value else []:
        if not SCOPE_TOKEN_RE.match(token):
            raise ValidationError(
                _("%(scope)r is not a valid scope token (RFC 6749 section 3.3).")
                % {"scope": token},
                code="invalid_scope",
            )

"""Every validation rule of the record (SPEC section 2), with good and bad input."""

import pytest
from django.core.exceptions import ValidationError

from trustregistry.registry import validators
from trustregistry.registry.models import redirect_uri_matches


@pytest.mark.parametrize(
    "uri",
    ["mywebsite.com/myapp1", "MYDEMOCLIENT", "a", "x" * 200, "urn:a~b_c-d.e/f", "app:1/2"],
)
def test_good_application_uris(uri):
    validators.validate_application_uri(uri)


@pytest.mark.parametrize(
    "uri",
    [
        "",
        "x" * 201,
        "has space",
        "ünïcode.com/app",
        "a?b",
        "a#b",
        "a@b",
        "a\tb",
        "a\nb",
        "nl.example.com/x\n",  # `$` would let a final newline through
        "a%20b",
        None,
    ],
)
def test_bad_application_uris(uri):
    with pytest.raises(ValidationError) as exc:
        validators.validate_application_uri(uri)
    assert "1-200 characters" in exc.value.messages[0]


@pytest.mark.parametrize(
    "uri,expected",
    [
        ("mywebsite.com/myapp1", True),
        ("https://mywebsite.com/app", True),
        ("sub.example.org", True),
        ("MYDEMOCLIENT", False),
        ("localhost/app", False),
        ("urn:thing", False),
    ],
)
def test_domain_based_uri_detection(uri, expected):
    assert validators.application_uri_is_domain_based(uri) is expected


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/cb",
        "https://example.com:8443/cb?x=1",
        "http://localhost:5080/myapp/signin-oidc",
        "http://127.0.0.1/cb",
        "http://[::1]:8080/cb",
        "https://xn--bcher-kva.example/cb",
        "https://bücher.example/cb",
        "https://my_host.internal.example/cb",
        "https://shop.example.com./cb",
        "https://[2001:db8::1]/cb",
    ],
)
def test_good_redirect_urls(url):
    validators.validate_redirect_url(url, label="Login URL")


@pytest.mark.parametrize(
    "url,needle",
    [
        ("http://example.com/cb", "must use https"),
        ("ftp://example.com/cb", "absolute https URL"),
        ("/relative/cb", "absolute https URL"),
        ("example.com/cb", "absolute https URL"),
        ("https://example.com/cb#frag", "fragment"),
        ("https://*.example.com/cb", "wildcard"),
        ("https://user:pass@example.com/cb", "user information"),
        ("https://example.com/a b", "spaces"),
        (" https://example.com/cb", "not a valid URL"),
        ("https://example.com:99999/cb", "not a valid URL"),
        ("", "not a valid URL"),
        # DEL, a C1 control and a bidi override: invisible in what an administrator reads
        ("https://shop.example.com/cb\x7f", "control characters"),
        ("https://shop.example.com/cb\x9b", "control characters"),
        ("https://shop.example.com/\u202ebc", "control characters"),
        ("https://<script>/cb", "no valid host name"),
        ("https://a..com/cb", "no valid host name"),
        ("https://shop.example.com:0/cb", "no valid host name or port"),
        ("https://" + "a" * 64 + ".example.com/cb", "no valid host name"),
    ],
)
def test_bad_redirect_urls_name_the_url_and_the_rule(url, needle):
    with pytest.raises(ValidationError) as exc:
        validators.validate_redirect_url(url, label="Login URL")
    message = exc.value.messages[0]
    assert needle in message and "Login URL" in message
    if url.strip():
        assert url.strip() in message or repr(url) in message


def test_url_list_parsing_from_comma_separated_text_and_lists():
    assert validators.parse_url_list("https://a.com/1, https://a.com/2 ,\nhttps://a.com/3,") == [
        "https://a.com/1",
        "https://a.com/2",
        "https://a.com/3",
    ]
    # a comma inside a URL is part of it; one before the next URL's scheme separates
    assert validators.parse_url_list("https://a.com/cb?a=1,2,https://a.com/x?b=3,4") == [
        "https://a.com/cb?a=1,2",
        "https://a.com/x?b=3,4",
    ]
    assert validators.parse_url_list(["https://a.com/1", " "]) == ["https://a.com/1"]
    assert validators.parse_url_list(None) == []
    with pytest.raises(ValidationError):
        validators.parse_url_list(42)


def test_url_list_names_every_bad_url_and_refuses_duplicates():
    with pytest.raises(ValidationError) as exc:
        validators.validate_url_list(
            ["https://ok.com/cb", "http://bad1.com/cb", "https://bad2.com/#x"], label="Login URL"
        )
    text = " ".join(exc.value.messages)
    assert "http://bad1.com/cb" in text and "https://bad2.com/#x" in text and "ok.com" not in text
    with pytest.raises(ValidationError) as exc:
        validators.validate_url_list(["https://a.com/cb", "https://a.com/cb"], label="Login URL")
    assert "twice" in exc.value.messages[0]
    validators.validate_url_list([], label="Login URL")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "https://connector.example.com/authenticate",
        "http://127.0.0.1:8000/connector/authenticate",
    ],
)
def test_good_connector_urls(url):
    validators.validate_connector_url(url)


@pytest.mark.parametrize(
    "url", ["http://connector.example.com/x", "connector.example.com", "https://c.example.com/#x"]
)
def test_bad_connector_urls(url):
    with pytest.raises(ValidationError) as exc:
        validators.validate_connector_url(url)
    assert "connector URL" in exc.value.messages[0]


@pytest.mark.parametrize(
    "scope", ["", "update", "update sec", "read update sec finance personaldata"]
)
def test_good_scopes(scope):
    validators.validate_scope(scope)


@pytest.mark.parametrize(
    "scope",
    ["update  sec", " update", "update ", 'up"date', "up\\date", "upd\tate", "update\n"],
)
def test_bad_scopes(scope):
    with pytest.raises(ValidationError):
        validators.validate_scope(scope)


@pytest.mark.parametrize(
    "uri,registered,expected",
    [
        ("https://a.com/cb", ["https://a.com/cb"], True),
        ("https://a.com/cb/", ["https://a.com/cb"], False),
        ("https://A.com/cb", ["https://a.com/cb"], False),
        ("https://a.com:8443/cb", ["https://a.com/cb"], False),
        ("http://127.0.0.1:51234/cb", ["http://127.0.0.1/cb"], True),
        ("http://localhost:5080/cb", ["http://localhost:1/cb"], True),
        ("http://127.0.0.1:51234/other", ["http://127.0.0.1/cb"], False),
        ("http://user@127.0.0.1:5/cb", ["http://127.0.0.1/cb"], False),
        ("", ["https://a.com/cb"], False),
    ],
)
def test_redirect_matching_is_exact_except_loopback_ports(uri, registered, expected):
    assert redirect_uri_matches(uri, registered) is expected

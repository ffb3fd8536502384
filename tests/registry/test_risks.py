"""Risky settings the admin warns about (SPEC sections 2 and 4)."""

import pytest

from trustregistry.registry.risks import record_risks


def codes(**overrides):
    fields = dict(
        application_uri="shop.example.com/app",
        client_type="confidential",
        impersonate_internal_allowed=True,
        impersonate_community_allowed=False,
        scopes=["update"],
        has_secret=True,
    )
    fields.update(overrides)
    return [r.code for r in record_risks(**fields)]


def test_a_plain_record_has_no_risks():
    assert codes() == []


@pytest.mark.parametrize(
    "overrides,code",
    [
        (
            {"impersonate_internal_allowed": False, "impersonate_community_allowed": True},
            "community_only",
        ),
        ({"client_type": "public"}, "public_with_secret"),
        ({"scopes": ["update", "sec"]}, "sec_with_impersonation"),
        (
            {
                "scopes": ["sec"],
                "impersonate_internal_allowed": False,
                "impersonate_community_allowed": True,
            },
            "sec_with_impersonation",
        ),
        ({"application_uri": "MYDEMOCLIENT"}, "uri_not_domain_based"),
    ],
)
def test_each_risk(overrides, code):
    assert code in codes(**overrides)


def test_no_false_alarms():
    assert codes(impersonate_community_allowed=True) == []  # both kinds: not community-only
    assert codes(client_type="public", has_secret=False) == []
    assert codes(scopes=["sec"], impersonate_internal_allowed=False) == []  # a service app


@pytest.mark.parametrize(
    "url,host",
    [
        ("https://vend\u043er.example/cb", "xn--vendr-mye.example"),  # Cyrillic о
        ("https://vendor.example\u3002evil.com/cb", "vendor.example.evil.com"),  # "。"
        ("https://\uff56endor.example/cb", "vendor.example"),  # full-width v
        # Python's IDNA 2003 codec maps "ß" to "ss" and "ς" to "σ"; browsers (UTS 46,
        # non-transitional, as the WHATWG URL standard says) keep them: the warning named
        # fass.de, the vendor's own host, while codes went to xn--fa-hia.de.
        ("https://fa\u00df.de/cb", "xn--fa-hia.de"),
        ("https://\u03c4\u03b5\u03c3\u03c4\u03bf\u03c2.example/cb", "xn--qxaujcdc.example"),
    ],
)
def test_a_url_whose_host_is_not_written_in_ascii_is_named_by_the_host_browsers_go_to(url, host):
    # The written host is what the administrator reads; the browser goes to its IDNA form,
    # which for a look-alike letter or a full stop other than "." is another address (found
    # by the web-security audit: a marketplace link swapped a login URL for a homograph).
    [risk] = record_risks(
        application_uri="vendor.example/app",
        client_type="confidential",
        impersonate_internal_allowed=True,
        impersonate_community_allowed=False,
        scopes=[],
        has_secret=True,
        urls=[url, "https://vendor.example/cb", "http://127.0.0.1/cb"],
    )
    assert risk.code == "non_ascii_host"
    assert url in risk.message and f"browsers go to {host}." in risk.message

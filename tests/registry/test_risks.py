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

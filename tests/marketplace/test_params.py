from urllib.parse import parse_qs, urlsplit

import pytest

from trustregistry.marketplace.params import (
    ClientType,
    Impersonate,
    MarketplaceRefusal,
    ServiceAccess,
    parse_install,
    parse_uninstall,
)


def query(**params):
    return {name: [value] for name, value in params.items()}


def link_query(text: str) -> dict[str, list[str]]:
    """ERP.net writes its links over several lines: joined into one, as a browser sends them."""
    url = "".join(line.strip() for line in text.splitlines())
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


def refusal(q) -> list[str]:
    with pytest.raises(MarketplaceRefusal) as exc:
        parse_install(q)
    return exc.value.problems


def test_erpnet_example_install_link_parses_as_given(interop):
    q = link_query((interop / "marketplace_install_url_example.txt").read_text())
    req = parse_install(q)
    assert req.application_uri == "MyExternalAppIdentifier"
    assert req.application_name == "My External App"
    assert req.client_type == ClientType.CONFIDENTIAL
    assert req.redirect_uri == "https://my-external-app.com/callback/"
    assert req.impersonate == Impersonate.NONE
    assert req.request_secret is False
    assert req.service_access == ServiceAccess.NONE
    assert req.scope == "" and req.protocol_scopes == ()


def test_erpnet_example_uninstall_link_parses_as_given(interop):
    q = link_query((interop / "marketplace_uninstall_url_example.txt").read_text())
    assert parse_uninstall(q) == "MyExternalAppIdentifier"


def test_every_parameter_maps():
    req = parse_install(
        query(
            applicationUri="vendor.example/app",
            applicationName="Vendor App",
            clientType="Confidential",
            redirectUri="https://vendor.example/cb",
            impersonate="all",
            requestSecret="true",
            serviceAccess="clientCredentials",
            scope="read update sec",
        )
    )
    assert req.impersonate_internal and req.impersonate_community
    assert req.request_secret is True
    assert req.system_user_allowed is True
    assert req.scope == "read update sec"


@pytest.mark.parametrize(
    ("value", "internal", "community"),
    [("none", False, False), ("internal", True, False), ("all", True, True), ("ALL", True, True)],
)
def test_impersonate_sets_the_flags(value, internal, community):
    req = parse_install(query(applicationUri="a.example/x", impersonate=value))
    assert (req.impersonate_internal, req.impersonate_community) == (internal, community)


@pytest.mark.parametrize("value", ["Confidential", "confidential", "CONFIDENTIAL"])
def test_client_type_values_are_case_insensitive(value):
    assert (
        parse_install(query(applicationUri="a.example/x", clientType=value)).client_type
        == "confidential"
    )


def test_defaults_when_parameters_are_absent_or_empty():
    req = parse_install(
        query(applicationUri="a.example/x", clientType="", scope="", requestSecret="")
    )
    assert req.client_type == ClientType.CONFIDENTIAL
    assert req.application_name is None and req.redirect_uri is None
    assert req.impersonate == Impersonate.NONE and req.service_access == ServiceAccess.NONE
    assert req.request_secret is False and req.scope == ""


def test_public_client_example_with_protocol_scopes():
    req = parse_install(
        query(
            applicationUri="MyExternalAppIdentifier",
            redirectUri="https://my-external-app.com/callback/",
            applicationName="My External App",
            clientType="Public",
            impersonate="all",
            requestSecret="false",
            scope="openid profile",
        )
    )
    assert req.client_type == ClientType.PUBLIC
    assert req.scope == "profile"  # profile is in the catalogue; openid is granted, not stored
    assert req.protocol_scopes == ("openid",)


def test_missing_application_uri_is_refused():
    assert refusal(query(applicationName="x")) == ["Missing required parameter: applicationUri."]
    assert refusal(query(applicationUri="")) == ["Missing required parameter: applicationUri."]


def test_invalid_application_uri_is_refused():
    problems = refusal(query(applicationUri="has space/app"))
    assert problems[0].startswith("applicationUri:")


def test_public_client_without_redirect_uri_is_refused():
    problems = refusal(
        query(applicationUri="a.example/x", clientType="Public", impersonate="internal")
    )
    assert problems == ["Public clients require a valid redirectUri."]


def test_public_client_with_impersonate_none_is_refused():
    problems = refusal(
        query(applicationUri="a.example/x", clientType="Public", redirectUri="https://a.example/cb")
    )
    assert len(problems) == 1 and "impersonation" in problems[0]


def test_public_client_requesting_a_secret_is_refused():
    problems = refusal(
        query(
            applicationUri="a.example/x",
            clientType="Public",
            redirectUri="https://a.example/cb",
            impersonate="all",
            requestSecret="true",
        )
    )
    assert problems == ["Cannot request credentials for a public client (requestSecret=true)."]


def test_public_client_with_client_credentials_is_refused():
    problems = refusal(
        query(
            applicationUri="a.example/x",
            clientType="Public",
            redirectUri="https://a.example/cb",
            impersonate="all",
            serviceAccess="clientCredentials",
        )
    )
    assert "client credentials" in problems[0]


def test_redirect_uri_follows_the_login_url_rules():
    for bad in (
        "http://a.example/cb",
        "https://a.example/cb#frag",
        "https://*.a.example/cb",
        "https://u@a.example/",
    ):
        problems = refusal(query(applicationUri="a.example/x", redirectUri=bad))
        assert len(problems) == 1 and bad in problems[0]
    assert parse_install(
        query(applicationUri="a.example/x", redirectUri="http://127.0.0.1:8080/cb")
    ).redirect_uri


def test_scope_is_checked_against_the_catalogue():
    problems = refusal(query(applicationUri="a.example/x", scope="read admin"))
    assert problems[0].startswith("Unknown scope: admin.")


def test_protocol_scopes_need_impersonation():
    problems = refusal(query(applicationUri="a.example/x", scope="openid offline_access"))
    assert "openid offline_access" in problems[0]


def test_unknown_parameters_are_refused_by_name():
    problems = refusal(query(applicationUri="a.example/x", colour="blue", referenceTokens="none"))
    assert "Unknown parameter colour." in problems
    assert "The parameter referenceTokens is not supported by this registry." in problems


def test_wrong_case_parameter_name_is_refused_with_a_hint():
    problems = refusal(query(applicationuri="a.example/x"))
    assert any("did you mean applicationUri" in p for p in problems)
    assert "Missing required parameter: applicationUri." in problems


def test_older_erpnet_parameter_name_gets_a_hint():
    problems = refusal(query(applicationUri="a.example/x", redirectUrl="https://a.example/cb"))
    assert problems == ["The parameter redirectUrl is not supported here: use redirectUri."]


def test_duplicated_parameters_are_refused():
    problems = refusal({"applicationUri": ["a.example/x"], "scope": ["read", "update"]})
    assert problems == ["The parameter scope is given more than once; give it once."]
    with pytest.raises(MarketplaceRefusal):
        parse_uninstall({"applicationUri": ["a.example/x", "b.example/y"]})


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("clientType", "Hybrid"),
        ("impersonate", "community"),
        ("requestSecret", "yes"),
        ("serviceAccess", "sat"),
    ],
)
def test_bad_enumeration_values_are_refused(name, value):
    problems = refusal(query(applicationUri="a.example/x", **{name: value}))
    assert len(problems) == 1 and problems[0].startswith(name) and value in problems[0]


def test_reference_token_service_access_is_refused_with_a_reason():
    problems = refusal(query(applicationUri="a.example/x", serviceAccess="referenceToken"))
    assert "reference" in problems[0] and "clientCredentials" in problems[0]


def test_every_problem_is_reported_at_once():
    problems = refusal(query(clientType="Public", requestSecret="true", scope="bogus"))
    assert len(problems) == 5  # uri, redirectUri, impersonate, secret, scope


def test_application_name_limits():
    assert refusal(query(applicationUri="a.example/x", applicationName="x" * 201))
    assert refusal(query(applicationUri="a.example/x", applicationName="a\x00b"))
    assert (
        parse_install(
            query(applicationUri="a.example/x", applicationName="  Тест  ")
        ).application_name
        == "Тест"
    )


def test_uninstall_refuses_other_parameters():
    with pytest.raises(MarketplaceRefusal) as exc:
        parse_uninstall(query(applicationUri="a.example/x", scope="read"))
    assert exc.value.problems == ["Unknown parameter scope."]


@pytest.mark.parametrize("name", ["Shop\x07", "\u202eevil\ufeff", "Sh\x85op"])
def test_a_name_with_control_or_invisible_characters_is_refused(name):
    # A bidi override in the name reverses the consent page's sentence around it.
    problems = refusal(query(applicationUri="a.example/x", applicationName=name))
    assert problems == ["applicationName contains control characters."]

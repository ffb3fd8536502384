import pytest
from django.contrib.auth import get_user_model
from oauth2_provider.models import get_access_token_model

from tests import factories
from trustregistry.common import clock
from trustregistry.marketplace import selectors, services
from trustregistry.marketplace.params import MarketplaceRefusal, parse_install
from trustregistry.registry.models import TrustedApplication
from trustregistry.registry.secrets import hash_secret, secret_matches

pytestmark = pytest.mark.django_db


def install_request(**params):
    params.setdefault("applicationUri", "vendor.example/app")
    return parse_install({k: [v] for k, v in params.items()})


def install(actor, **params):
    req = install_request(**params)
    plan = selectors.install_plan(request=req)
    return services.marketplace_install(request=req, actor=actor, expected_state=plan.state)


def test_install_creates_a_marketplace_record(staff_user):
    result = install(
        staff_user,
        applicationName="Vendor App",
        redirectUri="https://vendor.example/cb",
        impersonate="internal",
        scope="read update",
    )
    app = TrustedApplication.objects.get(client_id="vendor.example/app")
    assert result.created and result.secret is None
    assert app.source == "marketplace" and app.is_enabled and app.uninstalled_at is None
    assert app.client_type == "confidential"
    assert app.login_urls == ["https://vendor.example/cb"]
    assert app.impersonate_internal_allowed and not app.impersonate_community_allowed
    assert app.scope == "read update"
    assert not app.system_user_allowed and app.system_user is None
    assert app.localized_name("en") == "Vendor App"
    assert app.secrets.count() == 0
    row = app.history.latest()
    assert row.history_user == staff_user and row.history_change_reason == "marketplace install"


def test_absent_name_gives_unnamed(staff_user):
    install(staff_user)
    assert TrustedApplication.objects.get().localized_name("en") == "(unnamed)"


def test_request_secret_stores_only_the_hash_of_a_24_character_secret(staff_user):
    result = install(staff_user, requestSecret="true")
    assert len(result.secret) == 24 and result.secret.isalnum()
    stored = result.application.secrets.get()
    assert stored.secret_hash == hash_secret(result.secret)
    assert secret_matches(result.secret, stored.secret_hash)
    assert result.secret not in str(TrustedApplication.objects.values().get())


def test_two_installs_get_different_secrets(staff_user):
    first = install(staff_user, requestSecret="true").secret
    second = install(staff_user, requestSecret="true").secret
    assert first != second
    assert TrustedApplication.objects.get().secrets.count() == 2


def test_client_credentials_creates_the_system_user(staff_user, settings):
    settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER = "svc-marketplace"
    install(staff_user, serviceAccess="clientCredentials", requestSecret="true")
    app = TrustedApplication.objects.get()
    assert app.system_user_allowed
    assert app.system_user.username == "svc-marketplace" and app.system_user.kind == "system"
    assert not app.system_user.has_usable_password()


def test_client_credentials_reuses_an_existing_system_user(staff_user):
    existing = factories.SystemUserFactory(username="system-application")
    install(staff_user, serviceAccess="clientCredentials")
    assert TrustedApplication.objects.get().system_user == existing
    assert get_user_model().objects.filter(username="system-application").count() == 1


def test_system_user_name_taken_by_a_person_is_refused(staff_user):
    factories.UserFactory(username="system-application", kind="internal")
    req = install_request(serviceAccess="clientCredentials")
    plan = selectors.install_plan(request=req)
    assert plan.blockers and "not a system user" in plan.blockers[0]
    with pytest.raises(MarketplaceRefusal):
        services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)
    assert not TrustedApplication.objects.exists()


def test_system_user_name_differing_only_in_case_from_a_user_is_refused(staff_user):
    # Usernames are unique whatever their case: the configured name cannot be created.
    factories.SystemUserFactory(username="System-Application")
    req = install_request(serviceAccess="clientCredentials")
    plan = selectors.install_plan(request=req)
    assert plan.blockers == [
        "The user system-application named by TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER cannot be "
        "created: the user System-Application differs from it only in letter case."
    ]
    with pytest.raises(MarketplaceRefusal) as refused:
        services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)
    assert refused.value.problems == plan.blockers
    assert not TrustedApplication.objects.exists()
    assert get_user_model().objects.count() == 2  # the staff user and the case variant


@pytest.mark.parametrize("existing", ["ivan-svc", "IVAN-SVC"])
def test_the_plan_blocks_exactly_what_the_install_refuses_on_letter_case(
    staff_user, settings, existing
):
    # The plan's check folds as the index does: on PostgreSQL "İ" lowers to "i" (so the index
    # refuses "İvan-svc" beside "ivan-svc") while iexact's UPPER keeps them apart; the plan
    # then showed no blocker and the install failed with a bare ValidationError (a 500).
    # On SQLite LOWER folds ASCII only, so both are allowed there, by the plan and the index.
    settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER = "İvan-svc"
    factories.SystemUserFactory(username=existing)
    req = install_request(serviceAccess="clientCredentials")
    plan = selectors.install_plan(request=req)
    if plan.blockers:
        with pytest.raises(MarketplaceRefusal) as refused:
            services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)
        assert refused.value.problems == plan.blockers
    else:
        services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)
        assert get_user_model().objects.filter(username="İvan-svc").exists()


def test_install_over_a_manual_record_shows_and_applies_the_diff(staff_user):
    manual = factories.TrustedApplicationFactory(
        client_id="vendor.example/app",
        name="Old name",
        scope="update",
        login_urls=["https://old.example/cb"],
        logout_urls=["https://old.example/"],
        basic_auth_allowed=True,
    )
    manual.names.create(language="bg", name="Старо име")
    req = install_request(
        applicationName="New name",
        redirectUri="https://vendor.example/cb",
        impersonate="all",
        scope="read",
    )
    plan = selectors.install_plan(request=req)
    assert not plan.creates
    changes = {row.field: (row.old, row.new) for row in plan.changes}
    assert changes["name"] == ("Old name", "New name")
    assert changes["login_urls"] == ("https://old.example/cb", "https://vendor.example/cb")
    assert changes["impersonate_community_allowed"] == ("no", "yes")
    assert changes["scope"] == ("update", "read")
    assert changes["source"] == ("manual", "marketplace")
    assert "impersonate_internal_allowed" not in changes and "client_type" not in changes

    result = services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)
    app = TrustedApplication.objects.get()
    assert not result.created and app.pk == manual.pk
    assert app.source == "marketplace" and app.scope == "read"
    assert app.login_urls == ["https://vendor.example/cb"]
    # What the marketplace does not describe is kept.
    assert app.logout_urls == ["https://old.example/"] and app.basic_auth_allowed
    assert app.localized_name("en") == "New name" and app.localized_name("bg") == "Старо име"
    assert app.history.latest().history_change_reason == "marketplace install"


def test_a_stale_confirmation_is_not_applied(staff_user):
    app = factories.TrustedApplicationFactory(client_id="vendor.example/app", scope="update")
    req = install_request(scope="read")
    plan = selectors.install_plan(request=req)
    app.scope = "sec"
    app.save()
    with pytest.raises(services.StaleConfirmation):
        services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)
    app.refresh_from_db()
    assert app.scope == "sec"


def test_confirmation_for_a_new_record_is_stale_once_it_exists(staff_user):
    req = install_request()
    plan = selectors.install_plan(request=req)
    factories.TrustedApplicationFactory(client_id="vendor.example/app")
    with pytest.raises(services.StaleConfirmation):
        services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)


def test_public_install_over_a_record_with_secrets_is_blocked(staff_user):
    factories.TrustedApplicationFactory(client_id="vendor.example/app", secret="s3cret")
    req = install_request(
        clientType="Public", redirectUri="https://vendor.example/cb", impersonate="all"
    )
    plan = selectors.install_plan(request=req)
    assert plan.blockers
    with pytest.raises(MarketplaceRefusal):
        services.marketplace_install(request=req, actor=staff_user, expected_state=plan.state)


def test_uninstall_disables_marks_and_revokes_then_reinstall_enables(staff_user):
    install(staff_user, impersonate="internal", redirectUri="https://vendor.example/cb")
    app = TrustedApplication.objects.get()
    token = get_access_token_model().objects.create(
        application=app,
        token="t" * 40,
        expires=clock.now().replace(year=clock.now().year + 1),
        scope="read",
    )

    services.marketplace_uninstall(application_uri="vendor.example/app", actor=staff_user)
    app.refresh_from_db()
    token.refresh_from_db()
    assert not app.is_enabled and app.uninstalled_at is not None
    assert token.expires <= clock.now()
    assert TrustedApplication.objects.filter(pk=app.pk).exists()  # never deleted
    row = app.history.latest()
    assert row.history_user == staff_user and row.history_change_reason == "marketplace uninstall"
    assert row.is_enabled is False and row.uninstalled_at is not None

    result = install(staff_user, impersonate="internal", redirectUri="https://vendor.example/cb")
    app.refresh_from_db()
    assert result.reinstalled and app.is_enabled and app.uninstalled_at is None
    row = app.history.latest()
    assert row.history_user == staff_user and row.history_change_reason == "marketplace reinstall"
    assert row.is_enabled and row.uninstalled_at is None
    reasons = list(
        app.history.order_by("history_id").values_list("history_change_reason", flat=True)
    )
    assert reasons == ["marketplace install", "marketplace uninstall", "marketplace reinstall"]


def test_uninstall_of_a_disabled_record_is_still_recorded(staff_user):
    app = factories.TrustedApplicationFactory(client_id="vendor.example/app", is_enabled=False)
    services.marketplace_uninstall(application_uri="vendor.example/app", actor=staff_user)
    app.refresh_from_db()
    assert app.uninstalled_at is not None
    assert app.history.latest().history_change_reason == "marketplace uninstall"


def test_uninstall_twice_changes_nothing_more(staff_user):
    factories.TrustedApplicationFactory(client_id="vendor.example/app")
    first = services.marketplace_uninstall(application_uri="vendor.example/app", actor=staff_user)
    count = first.history.count()
    second = services.marketplace_uninstall(application_uri="vendor.example/app", actor=staff_user)
    assert second.uninstalled_at == first.uninstalled_at and second.history.count() == count


def test_uninstall_of_an_unknown_record():
    with pytest.raises(services.ApplicationNotFound):
        services.marketplace_uninstall(application_uri="nobody.example/x", actor=None)


def test_public_install_as_erpnet_example_three(staff_user):
    result = install(
        staff_user,
        applicationUri="MyExternalAppIdentifier",
        redirectUri="https://my-external-app.com/callback/",
        applicationName="My External App",
        clientType="Public",
        impersonate="all",
        requestSecret="false",
        scope="openid profile",
    )
    app = result.application
    app.refresh_from_db()
    assert result.secret is None and app.secrets.count() == 0
    assert app.client_type == "public"
    assert app.impersonate_internal_allowed and app.impersonate_community_allowed
    assert (
        app.scope == "profile"
    )  # openid is a protocol scope: granted by impersonation, not stored
    assert not app.system_user_allowed


def test_service_access_none_on_reinstall_turns_client_credentials_off(staff_user):
    install(staff_user, serviceAccess="clientCredentials", requestSecret="true")
    install(staff_user)
    app = TrustedApplication.objects.get()
    assert not app.system_user_allowed
    assert app.secrets.count() == 1  # an install never deletes a secret


def test_plan_warns_about_sec_and_a_non_domain_uri():
    plan = selectors.install_plan(request=install_request(applicationUri="NotADomain", scope="sec"))
    text = " ".join(plan.warnings)
    assert "sec scope" in text and "domain-based" in text
    assert plan.creates and plan.state == selectors.NEW_RECORD_STATE


def test_plan_warns_when_a_new_uri_differs_from_a_record_only_in_case():
    factories.TrustedApplicationFactory(client_id="Vendor.example/app")
    plan = selectors.install_plan(request=install_request())
    assert (
        "The record Vendor.example/app has the same URI but for letter case. URIs are "
        "case-sensitive, so this install adds another application, vendor.example/app. "
        "Is that intended?"
    ) in plan.warnings
    assert plan.creates and not plan.blockers
    # installing over the exact record warns no more
    factories.TrustedApplicationFactory(client_id="vendor.example/app")
    assert not any(
        "letter case" in w for w in selectors.install_plan(request=install_request()).warnings
    )


def test_losing_a_race_to_create_the_record_is_a_stale_confirmation(staff_user, monkeypatch):
    from trustregistry.registry import services as registry_services

    real_create = registry_services.application_create

    def concurrent_insert(**kwargs):
        # Another install commits the same URI between the plan and this create.
        TrustedApplication.objects.create(client_id=kwargs["application_uri"])
        return real_create(**kwargs)

    monkeypatch.setattr(registry_services, "application_create", concurrent_insert)
    with pytest.raises(services.StaleConfirmation):
        install(staff_user, serviceAccess="clientCredentials")
    # The whole install rolled back, the system user it created included.
    assert not get_user_model().objects.filter(username="system-application").exists()

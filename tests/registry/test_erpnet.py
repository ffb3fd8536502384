"""ERP.net's register-trusted-app bodies, as ERP.net publishes them, read as the record's JSON."""

import pytest

from trustregistry.registry import erpnet, secrets, serialization


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["register_confidential_interactive.json", "register_public_interactive.json"]
)
def test_erpnet_interactive_bodies_import(interop_json, name):
    data, notes = erpnet.from_erpnet(interop_json(name))
    app, created = serialization.application_upsert(data=data, accept_source=True)
    assert created and app.client_id == "MYDEMOCLIENT" and notes == []
    assert app.localized_name("en") == "MY DEMO CLIENT"
    assert app.login_urls == ["http://localhost:5080/myapp/signin-oidc"]
    assert app.impersonate_internal_allowed and app.impersonate_community_allowed
    if app.client_type == "confidential":
        assert secrets.secret_matches("DEMO", app.secrets.get().secret_hash)
    else:
        assert not app.secrets.exists()


@pytest.mark.django_db
def test_erpnet_service_body_maps_system_user_to_the_marketplace_user(interop_json, settings):
    settings.TRUSTREGISTRY_MARKETPLACE_SYSTEM_USER = "system-application"
    data, notes = erpnet.from_erpnet(interop_json("register_service_app.json"))
    app, _ = serialization.application_upsert(
        data=data, create_missing_system_user=True, accept_source=True
    )
    assert app.system_user_allowed and app.system_user.username == "system-application"
    assert "cc314327-3d04-477f-ac53-cde19d8350e9" in notes[0]

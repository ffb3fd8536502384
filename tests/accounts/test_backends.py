"""User kinds (SPEC section 2): system users never log in interactively."""

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command

from tests import factories


@pytest.mark.django_db
def test_internal_and_community_users_log_in():
    factories.UserFactory(username="staffer")
    factories.CommunityUserFactory(username="visitor")
    assert authenticate(username="staffer", password=factories.DEFAULT_PASSWORD).kind == "internal"
    assert authenticate(username="visitor", password=factories.DEFAULT_PASSWORD).kind == "community"


@pytest.mark.django_db
def test_system_user_cannot_log_in_even_with_a_password():
    user = get_user_model().objects.create_system_user("svc")
    assert not user.has_usable_password() and not user.can_log_in_interactively
    user.set_password("guessable-password-123")
    user.save()
    assert authenticate(username="svc", password="guessable-password-123") is None


@pytest.mark.django_db
def test_system_user_is_refused_by_the_admin_login(client):
    user = get_user_model().objects.create_system_user("svc-admin")
    user.set_password("guessable-password-123")
    user.is_staff = True
    user.save()
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "svc-admin", "password": "guessable-password-123"},
    )
    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_createsuperuser_makes_an_internal_user(monkeypatch):
    monkeypatch.setenv("DJANGO_SUPERUSER_PASSWORD", "a-long-unguessable-password-42")
    call_command("createsuperuser", "--noinput", username="root", email="root@example.com")
    assert get_user_model().objects.get(username="root").kind == "internal"


@pytest.mark.django_db
def test_saving_a_system_user_in_the_admin_removes_password_and_staff(client, staff_user):
    client.force_login(staff_user)
    user = factories.UserFactory(username="to-be-system")
    response = client.post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "username": "to-be-system",
            "kind": "system",
            "is_staff": "on",
            "is_active": "on",
            "date_joined_0": "2026-01-01",
            "date_joined_1": "00:00:00",
            "initial-date_joined_0": "2026-01-01",
            "initial-date_joined_1": "00:00:00",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert user.kind == "system" and not user.is_staff and not user.has_usable_password()


@pytest.mark.django_db
def test_a_community_user_marked_staff_cannot_sign_in_to_the_admin(client):
    factories.CommunityUserFactory(username="outsider", is_staff=True, is_superuser=True)
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "outsider", "password": factories.DEFAULT_PASSWORD},
    )
    assert response.status_code == 200  # the form again, not a redirect into the admin
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_staff_user_no_longer_internal_loses_the_admin_at_once(client):
    user = factories.StaffUserFactory(username="was-internal")
    client.force_login(user)
    assert client.get("/admin/registry/trustedapplication/").status_code == 200
    user.kind = "community"
    user.save()
    response = client.get("/admin/registry/trustedapplication/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]

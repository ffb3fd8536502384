"""The users admin."""

import re

import pytest
from django.urls import reverse

from trustregistry.accounts.models import User, UserKind

ADD = reverse("admin:accounts_user_add")


def add_form(**overrides):
    data = {
        "username": "svc-robot",
        "usable_password": "true",  # the radio button's default
        "password1": "",
        "password2": "",
        "kind": "system",
    }
    data.update(overrides)
    return data


@pytest.mark.django_db
def test_a_system_user_is_added_without_a_password(client, staff_user):
    # README: "create one under Users with kind System: it gets no password". The add form
    # must not demand one first.
    client.force_login(staff_user)
    response = client.post(ADD, add_form())
    assert response.status_code == 302, response.context["adminform"].form.errors
    user = User.objects.get(username="svc-robot")
    assert user.kind == UserKind.SYSTEM
    assert not user.has_usable_password()
    assert not user.is_staff


@pytest.mark.django_db
def test_an_internal_user_still_needs_a_password(client, staff_user):
    client.force_login(staff_user)
    response = client.post(ADD, add_form(username="person", kind="internal"))
    assert response.status_code == 200
    assert "password1" in response.context["adminform"].form.errors
    assert not User.objects.filter(username="person").exists()


def _app_headings(response) -> dict[str, str]:
    page = response.content.decode()
    return dict(re.findall(r'<a href="/admin/(\w+)/" class="section"[^>]*>([^<]+)</a>', page))


@pytest.mark.django_db
def test_the_index_heads_each_app_with_a_name_in_the_viewers_language(client, staff_user):
    # The consents' app was headed by its label ("Tr_Oauth"), the users' app stayed English.
    client.force_login(staff_user)
    en = _app_headings(client.get(reverse("admin:index")))
    assert en["tr_oauth"] == "OAuth and OpenID Connect" and en["accounts"] == "Users"
    bg = _app_headings(client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="bg"))
    assert bg["tr_oauth"] == "OAuth и OpenID Connect" and bg["accounts"] == "Потребители"


@pytest.mark.django_db
def test_the_admin_is_titled_with_the_products_name(client, staff_user):
    client.force_login(staff_user)
    en = client.get(reverse("admin:index")).content.decode()
    assert '<a href="/admin/">Trust registry</a>' in en and "| Trust registry</title>" in en
    assert "Django administration" not in en and "Django site admin" not in en
    bg = client.get(reverse("admin:index"), HTTP_ACCEPT_LANGUAGE="bg").content.decode()
    assert '<a href="/admin/">Регистър на доверените приложения</a>' in bg


@pytest.mark.django_db
def test_the_system_user_fields_add_link_opens_the_add_form_with_kind_system(client, staff_user):
    from tests.registry.test_admin import ADD as ADD_RECORD

    client.force_login(staff_user)
    page = client.get(ADD_RECORD).content.decode()
    [link] = re.findall(r'id="add_id_system_user"[^>]*href="([^"]+)"', page) or re.findall(
        r'href="([^"]+)"[^>]*id="add_id_system_user"', page
    )
    assert link.startswith(ADD) and "kind=system" in link and "_popup=1" in link
    popup = client.get(link.replace("&amp;", "&")).content.decode()
    assert '<option value="system" selected>' in popup
    # the kind is asked right after the username, before the password choice
    assert popup.index('name="kind"') < popup.index('name="usable_password"')


@pytest.mark.django_db
def test_the_users_admin_shows_the_kind_in_the_viewers_language(client, staff_user):
    from tests import factories

    person = factories.UserFactory(username="bob", kind="community")
    client.force_login(staff_user)
    bg = client.get(
        reverse("admin:accounts_user_change", args=[person.pk]), HTTP_ACCEPT_LANGUAGE="bg"
    )
    page = bg.content.decode()
    assert ">Вид</h2>" in page
    assert '<option value="community" selected>Общност (външен)</option>' in page
    assert "Системен: служебна идентичност" in page  # the help text
    listing = client.get(reverse("admin:accounts_user_changelist"), HTTP_ACCEPT_LANGUAGE="bg")
    assert "Вътрешен (служител на организацията)" in listing.content.decode()


@pytest.mark.django_db
def test_renaming_a_user_to_a_name_taken_in_another_case_is_said_beside_the_field(
    client, staff_user
):
    from tests import factories

    factories.UserFactory(username="eve")
    bob = factories.UserFactory(username="bob")
    client.force_login(staff_user)
    url = reverse("admin:accounts_user_change", args=[bob.pk])
    data = {
        "username": "Eve",
        "kind": "internal",
        "is_active": "on",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert form.errors == {"username": ["A user with that username already exists."]}
    bob.refresh_from_db()
    assert bob.username == "bob"


# A staff member who may change users but is no superuser gives nobody more than he holds
# (as Keycloak's manage-users role maps only the admin roles its holder has).


def _user_manager(*extra: str):  # type: ignore[no-untyped-def]
    from django.contrib.auth.models import Permission

    from tests import factories

    manager = factories.UserFactory(username="manager", is_staff=True)
    codenames = ("view_user", "change_user", "delete_user", *extra)
    manager.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=manager.pk)  # without the cached (empty) permissions


def _change_form(user, **changes):  # type: ignore[no-untyped-def]
    data = {
        "username": user.username,
        "kind": user.kind,
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
        "user_permissions": list(user.user_permissions.values_list("pk", flat=True)),
        "groups": list(user.groups.values_list("pk", flat=True)),
    }
    for flag in ("is_active", "is_staff", "is_superuser"):
        if getattr(user, flag):
            data[flag] = "on"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.django_db
def test_a_user_manager_cannot_make_himself_or_another_a_superuser(client):
    from tests import factories

    manager = _user_manager()
    bob = factories.UserFactory(username="bob", is_staff=True)
    client.force_login(manager)
    for user in (manager, bob):
        url = reverse("admin:accounts_user_change", args=[user.pk])
        client.post(url, _change_form(user, is_superuser="on"))
        user.refresh_from_db()
        assert not user.is_superuser


@pytest.mark.django_db
def test_a_user_manager_grants_only_permissions_and_groups_he_holds(client):
    from django.contrib.auth.models import Group, Permission

    from tests import factories

    manager = _user_manager("view_trustedapplication")
    bob = factories.UserFactory(username="bob", is_staff=True)
    change_apps = Permission.objects.get(codename="change_trustedapplication")
    view_apps = Permission.objects.get(codename="view_trustedapplication")
    editors = Group.objects.create(name="editors")
    editors.permissions.add(change_apps)
    client.force_login(manager)
    for user in (manager, bob):
        url = reverse("admin:accounts_user_change", args=[user.pk])
        response = client.post(url, _change_form(user, user_permissions=[change_apps.pk]))
        assert response.status_code == 200  # refused, said beside the field
        response = client.post(url, _change_form(user, groups=[editors.pk]))
        assert response.status_code == 200
        user.refresh_from_db()
        assert not user.has_perm("registry.change_trustedapplication")
    url = reverse("admin:accounts_user_change", args=[bob.pk])
    response = client.post(url, _change_form(bob, user_permissions=[view_apps.pk]))
    assert response.status_code == 302  # what he holds himself he may give
    assert User.objects.get(pk=bob.pk).has_perm("registry.view_trustedapplication")


@pytest.mark.django_db
def test_a_user_manager_cannot_touch_a_user_who_holds_more_than_he_does(client):
    from django.contrib.auth.models import Permission

    from tests import factories

    manager = _user_manager()
    root = factories.StaffUserFactory(username="root")
    # Inactive, so Django counts none of its permissions: reactivating it would give them back.
    editor = factories.UserFactory(username="editor", is_staff=True, is_active=False)
    editor.user_permissions.add(Permission.objects.get(codename="change_trustedapplication"))
    client.force_login(manager)
    for user in (root, editor):
        password = reverse("admin:auth_user_password_change", args=[user.pk])
        new = "A new pass 12345!"
        response = client.post(
            password, {"password1": new, "password2": new, "usable_password": "true"}
        )
        assert response.status_code == 403
        change = reverse("admin:accounts_user_change", args=[user.pk])
        assert client.get(change).status_code == 200  # shown, read-only
        response = client.post(change, _change_form(user, is_superuser=None, is_active="on"))
        assert response.status_code == 403
        response = client.post(
            reverse("admin:accounts_user_changelist"),
            {"action": "delete_selected", "_selected_action": [user.pk], "post": "yes"},
        )
        assert response.status_code == 403
        user.refresh_from_db()
        assert user.check_password(factories.DEFAULT_PASSWORD)
    root.refresh_from_db()
    editor.refresh_from_db()
    assert root.is_superuser and not editor.is_active


@pytest.mark.django_db
def test_a_superuser_still_manages_everyone(client, staff_user):
    from django.contrib.auth.models import Permission

    from tests import factories

    other = factories.StaffUserFactory(username="other-root")
    change_apps = Permission.objects.get(codename="change_trustedapplication")
    client.force_login(staff_user)
    url = reverse("admin:accounts_user_change", args=[other.pk])
    response = client.post(url, _change_form(other, user_permissions=[change_apps.pk]))
    assert response.status_code == 302
    assert other.user_permissions.filter(pk=change_apps.pk).exists()


@pytest.mark.django_db
def test_a_group_manager_cannot_give_his_group_a_permission_he_does_not_hold(client):
    from django.contrib.auth.models import Group, Permission

    from tests import factories

    manager = factories.UserFactory(username="manager", is_staff=True)
    manager.user_permissions.add(
        *Permission.objects.filter(codename__in=("view_group", "change_group", "add_group"))
    )
    ops = Group.objects.create(name="ops")
    manager.groups.add(ops)
    admins = Group.objects.create(name="admins")
    admins.permissions.add(Permission.objects.get(codename="change_user"))
    change_apps = Permission.objects.get(codename="change_trustedapplication")
    client.force_login(manager)
    url = reverse("admin:auth_group_change", args=[ops.pk])
    response = client.post(url, {"name": "ops", "permissions": [change_apps.pk]})
    assert response.status_code == 200  # refused, said beside the field
    response = client.post(
        reverse("admin:auth_group_add"), {"name": "mine", "permissions": [change_apps.pk]}
    )
    assert response.status_code == 200
    response = client.post(
        reverse("admin:auth_group_change", args=[admins.pk]), {"name": "admins", "permissions": []}
    )
    assert response.status_code == 403  # a group giving more than he holds is read-only to him
    assert not User.objects.get(pk=manager.pk).has_perm("registry.change_trustedapplication")
    assert not Group.objects.filter(name="mine").exists()
    assert admins.permissions.count() == 1

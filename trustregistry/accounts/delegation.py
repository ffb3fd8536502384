"""What a staff member who may change users, but is no superuser, may do to them: nothing that
leaves anyone, himself included, holding more than he holds. Django's own user admin lets the
holder of `change_user` tick *superuser status*, give any permission or group, and reset a
superuser's password, which makes that one permission a superuser's; an identity product's
admin does not (Keycloak's manage-users role maps only the admin roles its holder has).

A user's powers here are the permissions held directly and through groups, read from the
database whether or not the user is active: Django counts none for an inactive user, and
ticking *Active* gives them all back."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission
from django.db.models import Q, QuerySet


def held_permissions(user: Any) -> QuerySet[Permission]:
    if user.pk is None:
        return Permission.objects.none()
    return Permission.objects.filter(Q(user=user) | Q(group__user=user)).distinct()


def grantable_permissions(editor: Any) -> QuerySet[Permission]:
    """The permissions `editor` may give a user: all for a superuser, else those he holds."""
    if editor.is_superuser:
        return Permission.objects.all()
    return Permission.objects.filter(pk__in=held_permissions(editor).values("pk"))


def grantable_groups(editor: Any) -> QuerySet[Group]:
    """The groups `editor` may put a user in: those giving no permission he could not give."""
    if editor.is_superuser:
        return Group.objects.all()
    beyond = Permission.objects.exclude(pk__in=held_permissions(editor).values("pk"))
    return Group.objects.exclude(permissions__in=beyond)


def may_manage(editor: Any, user: Any) -> bool:
    """Whether `editor` may change, delete or set the password of `user`: a superuser may
    anyone; anyone else only a user who is no superuser and holds nothing he does not (so
    the form's permission and group choices, limited to his, hold all the user has)."""
    if editor.is_superuser:
        return True
    if user.is_superuser:
        return False
    return not held_permissions(user).exclude(pk__in=held_permissions(editor).values("pk")).exists()


def may_manage_group(editor: Any, group: Any) -> bool:
    """Whether `editor` may change or delete `group`: one that gives nothing he does not hold."""
    if editor.is_superuser:
        return True
    mine = held_permissions(editor).values("pk")
    return not group.permissions.exclude(pk__in=mine).exists()

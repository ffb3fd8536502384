from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from trustregistry.registry.models import ApplicationName, TrustedApplication
from trustregistry.registry.secrets import hash_secret

DEFAULT_PASSWORD = "correct horse battery staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    kind = "internal"
    # Hashed before the user is created, as a sign-up or createsuperuser does: setting it
    # afterwards would be a password change, which is logged (accounts.models).
    password = factory.django.Password(DEFAULT_PASSWORD)


class StaffUserFactory(UserFactory):
    is_staff = True
    is_superuser = True


class CommunityUserFactory(UserFactory):
    kind = "community"


class SystemUserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"system{n}")
    kind = "system"
    password = "!"  # unusable


class TrustedApplicationFactory(factory.django.DjangoModelFactory):
    """A confidential app; pass `secret="..."` to give it a live secret."""

    class Meta:
        model = TrustedApplication
        skip_postgeneration_save = True

    client_id = factory.Sequence(lambda n: f"example{n}.com/app")
    client_type = "confidential"
    is_enabled = True
    scope = "update"
    login_urls = factory.LazyAttribute(lambda a: [f"https://{a.client_id.split('/')[0]}/callback"])
    logout_urls = factory.LazyAttribute(lambda a: [f"https://{a.client_id.split('/')[0]}/"])
    impersonate_internal_allowed = True

    @factory.post_generation
    def name(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create:
            ApplicationName.objects.create(
                application=obj, language="en", name=extracted or f"App {obj.client_id}"
            )

    @factory.post_generation
    def secret(obj, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        if create and extracted:
            obj.secrets.create(secret_hash=hash_secret(extracted))


class ServiceApplicationFactory(TrustedApplicationFactory):
    impersonate_internal_allowed = False
    login_urls = factory.LazyFunction(list)
    system_user_allowed = True
    system_user = factory.SubFactory(SystemUserFactory)


class PublicApplicationFactory(TrustedApplicationFactory):
    client_type = "public"
    impersonate_community_allowed = True

from django.contrib import admin
from oauth2_provider.models import get_application_model

from trustregistry.registry.models import TrustedApplication

# django-oauth-toolkit registers its own admin for the (swapped) application model; the
# registry's admin replaces it.
if admin.site.is_registered(get_application_model()):
    admin.site.unregister(get_application_model())


@admin.register(TrustedApplication)
class TrustedApplicationAdmin(admin.ModelAdmin):
    list_display = ("client_id", "client_type", "is_enabled", "scope", "source")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "trustregistry.registry"
    label = "registry"
    verbose_name = _("Trusted applications")

    def ready(self) -> None:
        from trustregistry import checks  # noqa: F401  (registers the system checks)

from django.apps import AppConfig


class RegistryConfig(AppConfig):
    name = "trustregistry.registry"
    label = "registry"
    verbose_name = "Trusted applications"

    def ready(self) -> None:
        from trustregistry import checks  # noqa: F401  (registers the system checks)

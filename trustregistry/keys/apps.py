from django.apps import AppConfig


class KeysConfig(AppConfig):
    name = "trustregistry.keys"
    label = "keys"
    verbose_name = "Signing keys"

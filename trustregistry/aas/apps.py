from django.apps import AppConfig


class AasConfig(AppConfig):
    name = "trustregistry.aas"
    label = "tr_aas"

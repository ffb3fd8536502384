from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "trustregistry.api"
    label = "tr_api"

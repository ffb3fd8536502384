from django.apps import AppConfig


class ConnectorConfig(AppConfig):
    name = "connector.django_app"
    label = "connector"
    verbose_name = "Connector"

from django.apps import AppConfig


class OauthConfig(AppConfig):
    name = "trustregistry.oauth"
    label = "tr_oauth"

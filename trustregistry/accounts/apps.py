from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "trustregistry.accounts"
    label = "accounts"
    verbose_name = "Users"

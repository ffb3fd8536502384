from django.apps import AppConfig


class MarketplaceConfig(AppConfig):
    name = "trustregistry.marketplace"
    label = "tr_marketplace"

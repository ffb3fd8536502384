from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AasConfig(AppConfig):
    name = "trustregistry.aas"
    label = "tr_aas"
    verbose_name = _("Application Authorization Service")

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OauthConfig(AppConfig):
    name = "trustregistry.oauth"
    label = "tr_oauth"
    # The admin's index heads the consents with this (without it, the label: "Tr_Oauth").
    verbose_name = _("OAuth and OpenID Connect")

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from trustregistry.oauth import sign_ins

        user_logged_in.connect(sign_ins.remember, dispatch_uid="tr-oauth-sign-in-time")

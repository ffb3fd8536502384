from django.apps import AppConfig


class OauthConfig(AppConfig):
    name = "trustregistry.oauth"
    label = "tr_oauth"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from trustregistry.oauth import sign_ins

        user_logged_in.connect(sign_ins.remember, dispatch_uid="tr-oauth-sign-in-time")

"""SPEC section 3's paths, ERP.net-compatible, under the issuer `<base>/id`. No catch-all:
other apps serve more paths under /id/ (the AAS certificate)."""

from django.urls import path

from trustregistry.oauth.views import account, authorize, endpoints, endsession

app_name = "oauth"

urlpatterns = [
    path(
        ".well-known/openid-configuration",
        endpoints.DiscoveryView.as_view(),
        name="oidc-connect-discovery-info",
    ),
    path(".well-known/openid-configuration/jwks", endpoints.JwksView.as_view(), name="jwks-info"),
    path("connect/authorize", authorize.AuthorizeView.as_view(), name="authorize"),
    path("connect/token", endpoints.RegistryTokenView.as_view(), name="token"),
    path("connect/revocation", endpoints.RevocationView.as_view(), name="revoke-token"),
    path("connect/introspect", endpoints.IntrospectionView.as_view(), name="introspect"),
    path("connect/userinfo", endpoints.RegistryUserInfoView.as_view(), name="user-info"),
    path("connect/endsession", endsession.EndSessionView.as_view(), name="rp-initiated-logout"),
    path("account/login", account.LoginView.as_view(), name="login"),
    path("account/logout", account.LogoutView.as_view(), name="logout"),
    path("account/signup", account.SignupView.as_view(), name="signup"),
]

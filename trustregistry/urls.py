from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from trustregistry.accounts import views as accounts_views
from trustregistry.registry import views as registry_views

# Machine clients get JSON, never an HTML page (trustregistry/common/views.py).
handler400 = "trustregistry.common.views.bad_request"
handler404 = "trustregistry.common.views.page_not_found"
handler500 = "trustregistry.common.views.server_error"

urlpatterns = [
    # The administrator's front door.
    path("", RedirectView.as_view(url="/admin/", permanent=False), name="home"),
    path("healthz", registry_views.healthz, name="healthz"),
    path("readyz", registry_views.readyz, name="readyz"),
    path("sys/tools/sha256", registry_views.sha256_tool, name="sha256-tool"),
    path("id/", include("trustregistry.oauth.urls")),
    path("api/", include("trustregistry.api.urls")),
    path("", include("trustregistry.aas.urls")),
    path("manage/", include("trustregistry.marketplace.urls")),
    path("connector/", include("connector.django_app.urls")),
    # Before the admin's own URLs: its sign-in page, throttled sign-ins answered 429.
    path("admin/login/", accounts_views.admin_login),
    path("admin/", admin.site.urls),
]

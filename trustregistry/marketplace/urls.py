from django.urls import path

from trustregistry.marketplace import views

app_name = "marketplace"

urlpatterns = [
    path("apps/install", views.install, name="install"),
    path("apps/uninstall", views.uninstall, name="uninstall"),
]

from django.urls import path

from connector.django_app import views

app_name = "connector"

urlpatterns = [
    path("authenticate", views.authenticate, name="authenticate"),
    path("mirroring", views.mirroring, name="mirroring"),
]

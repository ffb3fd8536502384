from django.urls import path

from trustregistry.aas import views

urlpatterns = [
    # Reached through the root URLconf after the `id/` include has not matched it.
    path("id/.well-known/aas-certificate.pem", views.aas_certificate, name="aas-certificate"),
]

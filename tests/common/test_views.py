import json

import pytest
from django.test import Client


@pytest.mark.django_db
def test_post_to_unknown_api_path_is_a_json_404_even_with_a_session(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/api/nope", data={})
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


@pytest.mark.parametrize(
    "path", ["/api/trusted-applications/", "/id/connect/token", "/connector/x"]
)
def test_csrf_refusal_on_machine_paths_is_json(rf, path):
    from trustregistry.common.views import csrf_failure

    response = csrf_failure(rf.post(path), reason="CSRF cookie not set.")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert json.loads(response.content)["error"] == "csrf_failed"


@pytest.mark.django_db
def test_csrf_refusal_on_pages_stays_html(staff_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/admin/logout/", data={})
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize("path", ["/id/connect/authorize", "/id/connect/endsession"])
def test_csrf_refusal_of_the_consent_and_logout_forms_is_a_page(rf, path):
    # A person's browser posted these forms (an expired token): not the machines' JSON.
    from trustregistry.common.views import csrf_failure

    response = csrf_failure(rf.post(path), reason="CSRF token missing.")
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")


def test_root_sends_the_administrator_to_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"] == "/admin/"

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustregistry.settings")
application = get_wsgi_application()

# A server never runs Django's system checks: refuse to serve on broken configuration (an empty
# DJANGO_SECRET_KEY, an issuer that is no URL, ...) instead of answering every request 500.
from trustregistry.checks import refuse_configuration_errors  # noqa: E402

refuse_configuration_errors()

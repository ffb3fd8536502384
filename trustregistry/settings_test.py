"""Settings for the test suite: the real settings, with a throwaway secret key."""

import os

os.environ.setdefault("DJANGO_SECRET_KEY", "test-only-not-secret-" + "x" * 40)

from trustregistry.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher"
]  # speed; not a production setting
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False

# Each test process gets its own cache namespace, so counters (throttles) never leak between
# parallel workers or consecutive runs sharing one Redis.
import uuid as _uuid  # noqa: E402

CACHES["default"]["KEY_PREFIX"] = f"test-{_uuid.uuid4().hex[:12]}"  # noqa: F405

# Persistent connections, as production runs them (DJANGO_CONN_MAX_AGE=60): the hot paths'
# prepared statements (trustregistry/common/db.py) are then what every test exercises.
DATABASES["default"]["CONN_MAX_AGE"] = 60  # noqa: F405

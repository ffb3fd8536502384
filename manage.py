#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trustregistry.settings")
    # The app servers' statement timeout (trustregistry/settings.py) keeps a request from
    # waiting on a lock until gunicorn kills it; a command (a migration on a large table, a
    # purge) may run long, so it has none unless the variable is set.
    os.environ.setdefault("DJANGO_DB_STATEMENT_TIMEOUT", "0")
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line
    from django.db import InterfaceError, OperationalError

    try:
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # A variable that cannot be read (trustregistry/settings.py): its name and why, not
        # a traceback.
        sys.stderr.write(f"Configuration error: {exc}\n")
        sys.exit(1)
    except (OperationalError, InterfaceError) as exc:
        # The database cannot be reached: say so in a line; nothing was written (every
        # command's writes are transactions).
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        sys.stderr.write(f"Database error: {first_line}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()

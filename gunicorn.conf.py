"""Production defaults for `gunicorn trustregistry.wsgi` (override with GUNICORN_CMD_ARGS).

The access log prints the path without its query string: query parameters can carry secrets
(`/sys/tools/sha256?secret=...`, authorization codes), and must never reach a log line. The
error log names a request gunicorn could not parse or the application failed on: it goes
through `ServerErrorLogFilter` (no request bytes, secret parameters redacted).
"""

import multiprocessing
import os

from gunicorn.glogging import Logger


class RedactingLogger(Logger):
    def setup(self, cfg):  # type: ignore[no-untyped-def]
        super().setup(cfg)
        # Imported here, not at the top: gunicorn reads this file before it puts its working
        # directory on sys.path, and the app must find the same trustregistry as this does.
        from trustregistry.common.logging import ServerErrorLogFilter

        # On the logger, not a handler: it holds whatever handlers gunicorn sets up or
        # reopens; setting up again does not add a second one.
        if not any(isinstance(f, ServerErrorLogFilter) for f in self.error_log.filters):
            self.error_log.addFilter(ServerErrorLogFilter())


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
timeout = 30
graceful_timeout = 30
keepalive = 5
accesslog = "-"
# The peer address, then X-Forwarded-For as the reverse proxy sent it ("-" without one): behind
# a proxy the peer is the proxy, and the client is in the header.
access_log_format = '%(h)s %({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
logger_class = RedactingLogger
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

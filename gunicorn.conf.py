"""gunicorn settings for production: `gunicorn -c gunicorn.conf.py wsgi:app`; each can be overridden by env."""

import multiprocessing
import os

bind = os.environ.get("GI_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GI_WORKERS", multiprocessing.cpu_count() * 2 + 1))
threads = int(os.environ.get("GI_THREADS", "2"))
# No preload: each worker opens its own database pool after the fork.
preload_app = False
timeout = 60
graceful_timeout = 30
keepalive = 5
# Large PDF sheets stream; the proxy in front should not buffer them either.
accesslog = "-"
# Without the query string, referrer or user agent: a scan's shared place (?lat=&lon=) is stored rounded
# to about 1 km and its address only hashed, and the log must not keep what the database does not.
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
errorlog = "-"
forwarded_allow_ips = os.environ.get("GI_FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server):
    """Refuse to start, once and in one line, without the settings or the schema the app needs, instead
    of every worker booting into the same error (or serving 500s on a database init-db has not migrated).
    The check runs in a child process (gi_registry/startup.py): the master must not import the app."""
    import subprocess
    import sys

    # From the folder gunicorn imports the app from (--chdir, else where it was started), as the workers do.
    check = subprocess.run([sys.executable, "-m", "gi_registry.startup"], cwd=server.cfg.chdir)
    if check.returncode != 0:
        sys.exit(3)

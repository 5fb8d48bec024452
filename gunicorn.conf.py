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
errorlog = "-"
forwarded_allow_ips = os.environ.get("GI_FORWARDED_ALLOW_IPS", "127.0.0.1")

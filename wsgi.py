"""The WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi`."""

import sys

from gi_registry import create_app
from gi_registry.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # a setting to correct, not a bug: one line, no traceback
    sys.exit(f"gi-registry cannot start: {error}")

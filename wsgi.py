"""The WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi`."""

import sys

from gi_registry import create_app
from gi_registry.config import ConfigError

try:
    app = create_app()
except ConfigError as error:  # a setting to correct, not a bug: one line, no traceback
    print(f"gi-registry cannot start: {error}", file=sys.stderr)
    # 3 is gunicorn's "worker failed to boot": it stops the server instead of restarting workers forever.
    sys.exit(3)

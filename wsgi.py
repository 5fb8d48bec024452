"""The WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi`."""

from gi_registry import create_app

app = create_app()

"""The JSON API under /api/v1 (CONTRACT.md)."""

from flask import Blueprint

from ..extensions import csrf

api = Blueprint("api", __name__)
# Bearer tokens, not cookies, authenticate the API, so cross-site forms cannot ride on it.
csrf.exempt(api)

from . import batches_api, consumer_api, openapi, registry_api, regulator_api  # noqa: E402,F401  (routes attach to the blueprint)

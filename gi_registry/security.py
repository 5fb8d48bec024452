"""Security headers on every response: a content security policy that allows no inline script."""

from flask import Flask, abort, g, request
from flask_babel import gettext as _

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def _headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    # The scan page may ask for a coarse place; nothing may use the camera or microphone.
    headers.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
    if request.is_secure or _production():
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    if _signed_in():  # a reporter's phone, a licensee's contact: not for the cache of a shared office PC
        headers.setdefault("Cache-Control", "private, no-store")
    return response


def _signed_in() -> bool:
    """Whether this response was made for a signed-in account: a page's (flask-login keeps the user it
    loaded in g) or an API token's (access.api_user keeps it in g.api_user). Asked of what the view
    loaded, so a response that never looked at the user costs no lookup here."""
    user = g.get("_login_user")
    return (user is not None and user.is_authenticated) or g.get("api_user") is not None


def _production() -> bool:
    from flask import current_app

    return current_app.config.get("GI_ENV") == "production"


# The JSON the API and the scan page's script send is a few kilobytes: a report's 4,000 characters, each
# escaped to six bytes, stay under 30 KB. The request limit (MAX_CONTENT_LENGTH) is a report's photos, and a
# JSON body that large parses into twenty times its size in a worker's memory, before any rate limit counts.
JSON_MAX_BYTES = 1024 * 1024


def _bound_json() -> None:
    """Refuse (413) a JSON body past JSON_MAX_BYTES as it is read, before anything parses it."""
    if request.is_json:
        request.max_content_length = min(JSON_MAX_BYTES, request.max_content_length or JSON_MAX_BYTES)


def _refuse_nul() -> None:
    """No field of the registry has a use for a NUL character, and PostgreSQL's text cannot hold one:
    refuse it at the door, for every route alike, rather than fail deep inside a query."""
    fields = [request.path, *request.args.keys(), *(v for _k, vs in request.args.lists() for v in vs)]
    if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
        fields += [*request.form.keys(), *(v for _k, vs in request.form.lists() for v in vs)]
        # File contents may hold anything; their names reach the audit log (the import's source).
        fields += [*request.files.keys(), *(f.filename or "" for _k, fs in request.files.lists() for f in fs)]
    if request.is_json:
        try:
            fields += _strings(request.get_json(silent=True))  # parsed once; the view reads the cached value
        except RecursionError:  # nested deeper than the parser goes: no client of ours sends that
            _refuse("the request body is not valid JSON", _("The request body is not valid JSON."))
    if any("\x00" in field for field in fields):
        _refuse(
            "the request contains a NUL character, which no field accepts",
            _("The request contains a NUL character, which no field accepts."),
        )


def _refuse(api_message: str, page_message: str) -> None:
    """400: the API speaks English to every client, as its other errors do; a page speaks its language."""
    abort(400, description=api_message if request.path.startswith("/api/") else page_message)


def _strings(value) -> list[str]:
    """Every key and string inside a parsed JSON body, walked without recursion (bodies nest deep)."""
    found, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            found.append(item)
        elif isinstance(item, dict):
            found.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


def init_app(app: Flask) -> None:
    app.before_request(_bound_json)
    app.before_request(_refuse_nul)
    app.after_request(_headers)

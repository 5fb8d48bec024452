"""One error vocabulary: JSON clients get {"error": {...}}, browsers get a page."""

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from .db import get_session
from .domain import DomainError, NotFound
from .domain.reports import MAX_PHOTOS
from .i18n import page_params, same_site_referrer, wait_message

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "rate_limited",
}


def wants_json() -> bool:
    # The scan page's place is shared by its script, which reads JSON whatever the answer (a 429, say).
    return request.path.startswith("/api/") or request.path == "/q/place"


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    """The contract's error shape; `fields` is always there (empty when no field is to blame), so a client
    may read error.fields without checking for it first."""
    return jsonify({"error": {"code": code, "message": message, "fields": fields or {}}}), status


def _page(status: int, message: str):
    return render_template("error.html", status=status, message=message, back=same_site_referrer()), status


def filled(text: str, params: dict) -> str:
    """An untranslated message with its %(name)s placeholders filled, as API clients read it."""
    return text % params if params else text


def _on_domain_error(error: DomainError):
    if wants_json():
        fields = {name: filled(why, error.params) for name, why in error.fields.items()}
        return json_error(error.status, error.code, filled(error.message, error.params), fields)
    if isinstance(error, NotFound):
        return _page(404, _("Page not found."))
    return _page(error.status, _(error.message, **page_params(error.params)))


# The unique columns the forms check before saving, which two people can still fill alike at one moment.
RACED = {"licensee.uscc", "licensee.gtin", "product.code", "product.batch_prefix", "user.email"}
_RACED_INDEXES = {"ix_" + name.replace(".", "_"): name for name in RACED}  # as the migrations name them


def _on_integrity_error(error: IntegrityError):
    """Two requests saved the same unique thing (a USCC, a GTIN, a batch prefix) at the same moment: both
    passed the forms' checks, the database kept the first. The second is told, with nothing of it saved."""
    if _unique_column(error) not in RACED:
        raise error  # any other broken constraint is a bug: a 500, logged with its traceback
    get_session().rollback()
    if wants_json():
        return json_error(409, "conflict", "saved by another request at the same moment; nothing was saved")
    message = _("Someone saved the same thing at the same moment, so nothing was saved. Go back and try again.")
    return _page(409, message)


def _unique_column(error: IntegrityError) -> str:
    """The table.column a unique violation is about, or "" for any other error. PostgreSQL names the index
    (psycopg 3's diagnostics: ix_<table>_<column>), SQLite the column in its message."""
    original = error.orig
    if getattr(original, "sqlstate", None) == "23505":
        index = getattr(original.diag, "constraint_name", None) or ""
        return _RACED_INDEXES.get(index, index)
    message = str(original)
    return message.removeprefix("UNIQUE constraint failed: ") if message.startswith("UNIQUE constraint") else ""


def on_http_error(error: HTTPException):
    status = error.code or 500
    if wants_json():
        message = _json_message(status, error)
        return _with_retry_after(json_error(status, _CODES.get(status, "error"), message), error)
    messages = {
        400: _bad_request_message,
        403: lambda _error: _("You are not allowed to see this page."),
        404: lambda _error: _("Page not found."),
        429: lambda error: wait_message(retry_seconds(error)),
        413: lambda _error: _upload_too_large_message(),
        405: lambda _error: _("This address only takes a form. Open the page again from its link."),
        500: lambda _error: _("Something went wrong on our side. Please try again in a few minutes."),
    }
    message = messages[status](error) if status in messages else error.description or error.name
    return _with_retry_after(_page(status, message), error)


def _json_message(status: int, error: HTTPException) -> str:
    if status == 429:  # the limiter's own text names its internals; say what the client should do
        return f"too many requests; try again in {retry_seconds(error)} seconds"
    return error.description or error.name


def retry_seconds(error: HTTPException) -> int:
    """How long a 429 asks to wait: the app's own Retry-After, else the window of the limit that was hit."""
    if getattr(error, "retry_after", None) is not None:
        return int(error.retry_after)
    item = getattr(getattr(error, "limit", None), "limit", None)  # flask_limiter's RateLimitExceeded
    return item.get_expiry() if item is not None else 60


def _upload_too_large_message() -> str:
    return _(
        "The upload is too large: at most %(count)s photos of %(mb)s MB each. "
        "Go back, choose smaller photos and send again.",
        count=MAX_PHOTOS,
        mb=current_app.config["PHOTO_MAX_BYTES"] // 1048576,
    )


def _bad_request_message(error: HTTPException) -> str:
    if isinstance(error, CSRFError):
        return _("This form has expired or was sent twice. Go back, reload the page and send it again.")
    if error.description != type(error).description:  # the app's own reason, not Werkzeug's stock text
        return error.description
    return _("The request could not be understood.")


def _with_retry_after(answer, error: HTTPException):
    """Keep the Retry-After a 429 raised by the app itself carries (the limiter's own adds it later), and
    the Allow of a 405, which names the methods the address takes."""
    retry_after = getattr(error, "retry_after", None)
    allowed = getattr(error, "valid_methods", None)
    if retry_after is None and not allowed:
        return answer
    body, status = answer
    response = make_response(body, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _on_domain_error)
    app.register_error_handler(HTTPException, on_http_error)
    app.register_error_handler(IntegrityError, _on_integrity_error)

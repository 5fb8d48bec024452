"""Who is asking: sessions for pages, bearer tokens for the API, and the role gates of both."""

from functools import wraps

from flask import abort, g, redirect, request, url_for
from flask.sessions import SecureCookieSessionInterface
from flask_login import LoginManager, current_user

from .db import get_session
from .domain.accounts import user_for_token
from .errors import json_error
from .i18n import split_url
from .models import User


def init_login(manager: LoginManager) -> None:
    manager.login_view = "auth.login"
    manager.session_protection = "strong"
    # Flask-Login's own way flashes an English notice, on Chinese pages too, and drops the language.
    manager.unauthorized_handler(to_login)

    @manager.user_loader
    def _load(login_id: str):
        user_id, _, epoch = login_id.partition(":")
        user = get_session().get(User, int(user_id)) if user_id.isdigit() and epoch.isdigit() else None
        # A cookie from before a logout, a new password or a deactivation carries an older epoch.
        current = user is not None and user.is_active and int(epoch) == user.session_epoch
        return LoginUser(user) if current else None


class SessionCookies(SecureCookieSessionInterface):
    """Flask's signed session cookie; a response marked `for_history` does not vary on it.

    The scan page reads the session (the language chosen), so Flask adds
    `Vary: Cookie`; but the report form then gives a new visitor their first cookie (its CSRF token), and
    Back from the form no longer matched the page the phone keeps: it asked the server again, which is a
    second scan of the buyer's own. The page is private to the browser, so nothing else could be served
    the wrong copy: at worst Back shows the page in the language it had."""

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if getattr(response, "for_history", False):
            response.vary.discard("Cookie")


class LoginUser:
    """Flask-Login's view of an account; keeps the table model free of framework methods."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, user: User):
        self.user = user

    def get_id(self) -> str:
        return f"{self.user.id}:{self.user.session_epoch}"

    def __getattr__(self, name):
        return getattr(self.user, name)


def to_login():
    """The login page, then back to this one, in the language this page was asked for: a `?lang=` on a
    page that only redirects is never read, and the login page would otherwise speak the browser's."""
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?"), lang=request.args.get("lang")))


def page_user() -> User | None:
    return current_user.user if current_user.is_authenticated else None


def roles_required(*roles: str):
    """Gate a page: anonymous users go to the login page, wrong roles get 403."""

    def decorate(view):
        @wraps(view)
        def gated(*args, **kwargs):
            if not current_user.is_authenticated:
                return to_login()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return gated

    return decorate


def api_user() -> User | None:
    """The account behind the request's bearer token, if any."""
    if "api_user" not in g:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        g.api_user = (
            user_for_token(session=get_session(), token=token.strip()) if scheme.lower() == "bearer" and token else None
        )
    return g.api_user


def api_roles(*roles: str):
    """Gate an endpoint: 401 without a valid token, 403 for a wrong role."""

    def decorate(view):
        @wraps(view)
        def gated(*args, **kwargs):
            user = api_user()
            if user is None:
                body, status = json_error(401, "unauthorized", "a valid bearer token is required")
                return body, status, {"WWW-Authenticate": 'Bearer realm="gi-registry"'}  # RFC 6750
            if user.role not in roles:
                return json_error(403, "forbidden", "your role may not do this")
            return view(*args, **kwargs)

        return gated

    return decorate


def safe_next(target: str | None) -> str | None:
    """Follow `next=` only to a path on this site, never to another host."""
    if not target:
        return None
    if any(char < " " or char == "\x7f" for char in target):  # a line break cannot stand in a Location header
        return None
    parts = split_url(target)  # None: "//[::1", no URL at all
    if parts is None or parts.scheme or parts.netloc:
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target

"""gi-registry: a register of Ziyang's geographical-indication brands with QR traceability."""

import logging
from pathlib import Path

from flask import Flask
from flask.logging import default_handler
from werkzeug.routing import IntegerConverter

ROOT = Path(__file__).resolve().parent.parent


def create_app(overrides: dict | None = None) -> Flask:
    """Build the app: config, extensions, blueprints, errors, commands, each a named step."""
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    _configure(app, overrides)
    _bind_extensions(app)
    _register_blueprints(app)
    _register_errors(app)
    _register_commands(app)
    return app


def _configure(app: Flask, overrides: dict | None) -> None:
    from .config import ConfigError, load_config
    from .domain.codes import CodeKeys

    app.config.update(load_config(Path(app.instance_path), overrides))
    app.url_map.converters["id"] = IdConverter
    if app.config["PROXY_COUNT"]:
        from werkzeug.middleware.proxy_fix import ProxyFix

        # Behind nginx the client's address is in X-Forwarded-For; rate limits and scan hashes need it.
        count = app.config["PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)
    try:
        app.extensions["code_keys"] = CodeKeys.from_setting(app.config["GI_CODE_KEY"])
    except ValueError as error:
        raise ConfigError(str(error)) from None


class IdConverter(IntegerConverter):
    """A row id in a URL: up to nine digits, so an absurd number is a plain 404, never a database error.

    The bound lives in the pattern itself: a bound checked after matching makes werkzeug answer 405
    for a path that another method's rule shares."""

    regex = r"[1-9]\d{0,8}"


def _bind_extensions(app: Flask) -> None:
    from . import access, db, i18n, security, static_files
    from .extensions import csrf, limiter, login_manager

    db.init_app(app)
    security.init_app(app)
    static_files.init_app(app)
    csrf.init_app(app)
    limiter.init_app(app)
    _log_limiter_warnings()
    i18n.init_app(app)
    login_manager.init_app(app)
    access.init_login(login_manager)
    app.session_interface = access.SessionCookies()


def _log_limiter_warnings() -> None:
    """Flask-Limiter says when Redis is gone and the limits fall back to each worker's memory, but to a
    logger with no output of its own: it writes where the app's log does."""
    log = logging.getLogger("flask-limiter")
    if default_handler not in log.handlers:
        log.addHandler(default_handler)


def _register_blueprints(app: Flask) -> None:
    from .api import api
    from .web import accounts, admin, auth, consumer, coop, dashboard, paging, public, regulator, transfer

    app.jinja_env.globals["filter_notes"] = paging.filter_notes
    app.register_blueprint(public.bp)
    app.register_blueprint(auth.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(coop.bp)
    app.register_blueprint(consumer.bp)
    app.register_blueprint(regulator.bp)
    app.register_blueprint(dashboard.bp)
    app.register_blueprint(transfer.bp)
    app.register_blueprint(api, url_prefix="/api/v1")


def _register_errors(app: Flask) -> None:
    from . import errors

    errors.init_app(app)


def _register_commands(app: Flask) -> None:
    from . import cli

    cli.init_app(app)

"""Language choice (Chinese first, English on request or by the browser) and shared template helpers."""

from flask import Flask, current_app, request, session, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from .extensions import babel

STATUS_LABELS = {
    "active": _l("active"),
    "suspended": _l("suspended"),
    "revoked": _l("revoked"),
    "expired": _l("expired"),
    "pending": _l("not yet valid"),
    "withdrawn": _l("withdrawn"),
    "recalled": _l("recalled"),
}

KIND_LABELS = {
    "gi_product": _l("GI product"),
    "gi_certification_mark": _l("GI certification mark"),
    "gi_collective_mark": _l("GI collective mark"),
    "public_brand": _l("Regional public brand"),
}

REPORT_STATUS_LABELS = {
    "new": _l("received"),
    "triaged": _l("triaged"),
    "investigating": _l("under investigation"),
    "confirmed": _l("confirmed as counterfeit"),
    "dismissed": _l("dismissed"),
    "closed": _l("closed"),
}


def report_status_label(status: str) -> str:
    return str(REPORT_STATUS_LABELS.get(status, status))


def kind_label(kind: str) -> str:
    return str(KIND_LABELS.get(kind, kind))


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def status_label(status: str) -> str:
    return str(STATUS_LABELS.get(status, status))


def page_url(page: int) -> str:
    """This page's URL with another page number, keeping the filters."""
    args = request.args.to_dict()
    args["page"] = page
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals.update(
        status_label=status_label, kind_label=kind_label, page_url=page_url, report_status_label=report_status_label
    )

    @app.context_processor
    def _language():
        locale = str(get_locale())
        return {
            "lang": locale,
            "html_lang": "zh-CN" if locale == "zh" else "en",
            "other_lang": "en" if locale == "zh" else "zh",
        }

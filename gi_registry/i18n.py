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

# The scan page's words, made once: the page only translates the ones it shows.
VERDICT_HEADLINES = {
    "genuine": _l("Genuine"),
    "warning": _l("Genuine code, but take care"),
    "revoked": _l("Do not trust this product"),
    "invalid": _l("Not a code of this registry"),
}
REASON_TEXTS = {
    "not_issued_by_registry": _l("This code was not issued by the Ziyang GI registry: it may be mistyped or forged."),
    "unknown_batch": _l("This code points to no registered batch."),
    "serial_not_issued": _l("This label number was never issued for its batch."),
    "batch_recalled": _l("The batch was recalled by its producer or by market supervision."),
    "licence_revoked": _l("The producer's right to use this mark was revoked."),
    "licence_suspended": _l("The producer's right to use this mark is suspended."),
    "licence_expired": _l("The producer's licence for this mark has expired."),
    "past_shelf_life": _l("The batch is past its shelf life."),
    "scanned_often": _l("This label has been checked unusually often: it may have been copied."),
    "seen_far_apart": _l("This label was checked at places far apart within a short time: it may have been copied."),
    "batch_code_overscanned": _l("This batch code has been checked more often than the batch has packages."),
}


def verdict_headline(verdict: str) -> str:
    return str(VERDICT_HEADLINES[verdict])


def reason_text(reason: str) -> str:
    return str(REASON_TEXTS.get(reason, reason))


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
        status_label=status_label,
        kind_label=kind_label,
        page_url=page_url,
        report_status_label=report_status_label,
        verdict_headline=verdict_headline,
        reason_text=reason_text,
    )

    @app.context_processor
    def _language():
        locale = str(get_locale())
        return {
            "lang": locale,
            "html_lang": "zh-CN" if locale == "zh" else "en",
            "other_lang": "en" if locale == "zh" else "zh",
        }

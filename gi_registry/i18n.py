"""Language choice (Chinese first, English on request or by the browser) and shared template helpers."""

import os
import tempfile
from datetime import datetime
from pathlib import Path
from urllib.parse import SplitResult, parse_qsl, urlencode, urlsplit

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask, current_app, request, session, url_for
from flask_babel import get_locale, get_translations, gettext, ngettext
from flask_babel import lazy_gettext as _l
from jinja2 import pass_context
from werkzeug.exceptions import HTTPException

from .domain import NotFound, audit
from .domain.registry import CHINA
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
# In the order the account form offers them: the usual new account first, never an admin by default.
ROLE_LABELS = {"cooperative": _l("cooperative"), "regulator": _l("regulator"), "admin": _l("registry admin")}
# The office an official acts for, as a cooperative reads it on its batch's history (not the person).
OFFICE_LABELS = {"regulator": _l("Market supervision"), "admin": _l("The registry office")}
# A licence action as the heading of its form, on the licence page and on a case.
LICENCE_ACTION_TITLES = {
    "suspend": _l("Suspend the licence"),
    "reinstate": _l("Reinstate the licence"),
    "revoke": _l("Revoke the licence"),
}

# Said once the action is done, with what consumers now see.
LICENCE_ACTION_DONE = {
    "suspend": _l("The licence is suspended; every scan of its batches now warns."),
    "reinstate": _l("The licence is reinstated; its batches scan as genuine again."),
    "revoke": _l("The licence is revoked; every scan of its batches now says so."),
}

REPORT_STATUS_LABELS = {
    "new": _l("received"),
    "triaged": _l("triaged"),
    "investigating": _l("under investigation"),
    "confirmed": _l("confirmed as counterfeit"),
    "dismissed": _l("dismissed"),
    "closed": _l("closed"),
}
# The dashboard counts closed cases by the step they were closed from.
REPORT_COUNT_LABELS = {
    **REPORT_STATUS_LABELS,
    "closed:confirmed": _l("closed, counterfeit"),
    "closed:dismissed": _l("closed, dismissed"),
}

# What each outcome means to the consumer who filed the report (the public status page).
REPORT_OUTCOME_TEXTS = {
    "new": _l("The market supervision office will look at it."),
    "triaged": _l("The office has read it and decided to look into it."),
    "investigating": _l("The office is investigating."),
    "confirmed": _l("The office found the product counterfeit and is acting on it."),
    "dismissed": _l("The office found no counterfeit in this case."),
    "closed": _l("The case is closed."),
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
    "unsigned_gs1_link": _l(
        "This link names a registered batch but carries no valid signature of the registry for this label, so "
        "it cannot prove the package genuine: scan the registry's own label on the package."
    ),
    "unknown_batch": _l("This code points to no registered batch."),
    "serial_not_issued": _l("This label number was never issued for its batch."),
    "batch_recalled": _l("The batch was recalled by its producer or by market supervision."),
    "licence_revoked": _l("The producer's right to use this mark was revoked."),
    "licence_suspended": _l("The producer's right to use this mark is suspended."),
    "licence_expired": _l("The producer's licence for this mark has expired."),
    "product_withdrawn": _l("This product has been withdrawn from the register of protected marks."),
    "past_shelf_life": _l("The batch is past its shelf life."),
    "scanned_often": _l("This label has been checked unusually often: it may have been copied."),
    "seen_far_apart": _l("This label was checked at places far apart within a short time: it may have been copied."),
    "batch_code_overscanned": _l("This batch code has been checked more often than the batch has packages."),
}


# A batch's quantity unit as shown after the number; the batch form's choices say more ("jin (0.5 kg)").
UNIT_LABELS = {"kg": _l("kg"), "t": _l("tonnes"), "jin": _l("jin")}

# The browser families a scan records (verification.ua_family); brand names read the same in both languages.
UA_FAMILY_LABELS = {
    "wechat": _l("WeChat"),
    "alipay": _l("Alipay"),
    "dingtalk": _l("DingTalk"),
    "headless": _l("headless browser"),
    "edge": "Edge",
    "chrome": "Chrome",
    "firefox": "Firefox",
    "safari": "Safari",
    "script": _l("script or command-line tool"),
    "other": _l("other browser"),
}

# What the audit log records: the kinds of object (in the audit filter's order) and the actions on them.
ENTITY_LABELS = {
    "licence": _l("Licence"),
    "licensee": _l("Licensee"),
    "product": _l("Product"),
    "batch": _l("Batch"),
    "report": _l("Counterfeit report"),
    "user": _l("User account"),
    "scan": _l("Scan records"),
    "export": _l("Data export"),
}
ACTION_LABELS = {
    "product.create": _l("Product created"),
    "product.update": _l("Product changed"),
    "licensee.create": _l("Licensee created"),
    "licensee.update": _l("Licensee changed"),
    "licence.grant": _l("Licence granted"),
    "licence.suspend": _l("Licence suspended"),
    "licence.reinstate": _l("Licence reinstated"),
    "licence.revoke": _l("Licence revoked"),
    "batch.register": _l("Batch registered"),
    "batch.labels": _l("Unit labels issued"),
    "batch.recall": _l("Batch recalled"),
    "batch.correct": _l("Batch corrected"),
    "batch.clear_copy_warning": _l("Copy warning of a label lifted"),
    "report.file": _l("Report filed"),
    "report.assign": _l("Report assigned"),
    "report.product": _l("Report's product named"),
    "user.create": _l("Account created"),
    "export.reports": _l("Reports exported"),
    "export.scans": _l("Scans exported"),
    "export.licensees": _l("Licensees exported"),
    "user.password": _l("Password changed"),
    "user.deactivate": _l("Account deactivated"),
    "user.activate": _l("Account activated"),
    "retention.scans": _l("Addresses and places of old scans removed"),
    "retention.contacts": _l("Contact details of closed reports removed"),
}
# The fields an audit event's before and after name, as the forms call them; an unlisted one shows as stored.
FIELD_LABELS = {
    "id": _l("Number"),  # the record's own, as the audit filter calls it
    "status": _l("Status"),
    "state": _l("Status"),
    "licence_status": _l("Status"),  # the licensee export's column, which its re-import reads
    "name": _l("Name"),
    "name_en": _l("Name (English)"),
    "code": _l("Code"),
    "kind": _l("Kind"),
    "registration_no": _l("Registration number"),
    "registered_on": _l("Registered on"),
    "standard": _l("Standard"),
    "shelf_life_days": _l("Shelf life (days)"),
    "kg_per_label": _l("Kilograms per unit label"),
    "batch_prefix": _l("Batch number prefix"),
    "area_codes": _l("Protected production area"),
    "serial": _l("Label number"),
    "cleared_count": _l("Scans no longer counted towards the copy warning"),
    "far_apart_at": _l("First seen in places far apart"),
    "description": _l("Description"),
    "uscc": _l("Unified social credit code"),
    "county_code": _l("County"),
    "county": _l("County"),
    "product_code": _l("Product"),
    "address": _l("Address"),
    "contact_name": _l("Contact person"),
    "contact_phone": _l("Contact phone"),
    "gtin": _l("GTIN"),
    "licensee_id": _l("Licensee"),
    "product_id": _l("Product"),
    "licence_id": _l("Licence"),
    "valid_from": _l("Valid from"),
    "valid_to": _l("Valid to"),
    "batch_no": _l("Batch number"),
    "quantity": _l("Quantity"),
    "unit": _l("Unit"),
    "harvested_on": _l("Harvest date"),
    "origin_code": _l("Origin"),
    "grade": _l("Grade"),
    "inspection_cert": _l("Inspection certificate number"),
    "notes": _l("Notes"),
    "labels_issued": _l("Unit labels"),
    "first_serial": _l("From serial"),
    "last_serial": _l("to serial"),
    "recalled_at": _l("Recalled at"),
    "recall_reason": _l("Reason for the recall"),
    "assigned_to": _l("Assigned to"),
    "tracking_no": _l("Tracking number"),
    "photos": _l("Photos"),
    "email": _l("E-mail"),
    "role": _l("Role"),
    "is_active": _l("Active"),
}
# Case-history notes the registry writes itself (no actor); a person's note is shown as written.
SYSTEM_NOTES = {"filed": _l("Report filed")}


def _labels_of(table: dict):
    """A template function naming a stored code in the page's language; an unknown code shows as itself."""

    def label(code: str) -> str:
        return str(table.get(code, code))

    return label


unit_label = _labels_of(UNIT_LABELS)
ua_family_label = _labels_of(UA_FAMILY_LABELS)
entity_label = _labels_of(ENTITY_LABELS)
reason_text = _labels_of(REASON_TEXTS)
report_status_label = _labels_of(REPORT_STATUS_LABELS)
report_count_label = _labels_of(REPORT_COUNT_LABELS)
report_outcome_text = _labels_of(REPORT_OUTCOME_TEXTS)
kind_label = _labels_of(KIND_LABELS)
role_label = _labels_of(ROLE_LABELS)
office_label = _labels_of(OFFICE_LABELS)
licence_action_title = _labels_of(LICENCE_ACTION_TITLES)
licence_action_done = _labels_of(LICENCE_ACTION_DONE)
status_label = _labels_of(STATUS_LABELS)


def action_label(action: str) -> str:
    """An audit action in words; a report's steps (report.<status>) name the status reached."""
    if action in ACTION_LABELS:
        return str(ACTION_LABELS[action])
    kind, _dot, step = action.partition(".")
    if kind == "report" and step in REPORT_STATUS_LABELS:
        return gettext("Report moved to: %(status)s", status=report_status_label(step))
    return action


def actor_label(actor: str, action: str = "") -> str:
    """Who an audit event names: an e-mail address, a consumer (who files without an account), or the
    registry itself."""
    if actor != "system":
        return actor
    return gettext("consumer") if action == "report.file" else gettext("system")


# A field whose meaning depends on what it belongs to: a product's code is its slug, not a label's code.
ENTITY_FIELD_LABELS = {
    ("product", "code"): _l("Code (slug)"),
    # An export's event records what was handed over: the file's format and the scans' period.
    ("export", "format"): _l("File format"),
    ("export", "from"): _l("From"),
    ("export", "to"): _l("To"),
    # What a retention run cleared: how many records, and the time before which they were old enough.
    ("scan", "pruned"): _l("Scans"),
    ("scan", "before"): _l("Made before"),
    ("report", "purged"): _l("Reports concerned"),
    ("report", "closed_before"): _l("Closed before"),
}
# Times an audit event stores under a name without the `_at` of the others: retention's cut-offs.
TIME_FIELDS = {"before", "closed_before"}
# Fields an audit event stores as ids or codes of other records, and the kind of record each names.
REFERENCES = {
    "assigned_to": "user",
    "user_id": "user",
    "licensee_id": "licensee",
    "product_id": "product",
    "origin_code": "area",
    "county_code": "area",
    "area_codes": "area",
}


def field_label(name: str, entity_type: str = "") -> str:
    return str(ENTITY_FIELD_LABELS.get((entity_type, name)) or FIELD_LABELS.get(name, name))


def field_value(entity_type: str, name: str, value, names: dict) -> str:
    """A value an audit event stored (as JSON) in words: states and kinds named, times in China, ids and
    codes of other records by their names (`names`: {"user": {id: e-mail}, "area": {code: name}, …}),
    lists joined."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return gettext("yes") if value else gettext("no")
    if name in REFERENCES:
        known = names.get(REFERENCES[name], {})
        return joined([_named(known, item) for item in value]) if isinstance(value, list) else _named(known, value)
    if isinstance(value, list):
        return joined(value)
    if name in ("status", "state"):
        return report_status_label(value) if entity_type == "report" else status_label(value)
    named = {"kind": kind_label, "role": role_label, "unit": unit_label}
    if name in named:
        return named[name](value)
    if (name.endswith("_at") or name in TIME_FIELDS) and isinstance(value, str):
        try:
            return china_time(datetime.fromisoformat(value))
        except ValueError:
            return value
    if name == "quantity" and isinstance(value, int | float):
        return quantity(value)
    return str(value)


def joined(items: list) -> str:
    return ("、" if str(get_locale()) == "zh" else ", ").join(str(item) for item in items)


def _named(known: dict, key) -> str:
    """A record's name with its id or code beside it (both may be searched for); the bare key if unknown."""
    name = known.get(key)
    return f"{name} ({key})" if name else f"#{key}" if isinstance(key, int) else str(key)


def report_note(event) -> str:
    """A case-history note: the registry's own notes translated, a person's as written."""
    if event.actor_id is None and event.note in SYSTEM_NOTES:
        return str(SYSTEM_NOTES[event.note])
    return event.note


def local_name(obj) -> str:
    """A product's or an area's name in the page's language: the Chinese name unless English is shown."""
    if str(get_locale() or "zh").startswith("zh"):
        return obj.name
    return getattr(obj, "name_en", "") or obj.name


def query_with(**changes) -> str:
    """This page's query string with some arguments set, the others kept (a GS1 link's signature among them)."""
    return _query(request.args.items(multi=True), changes)


def _query(pairs, changes: dict) -> str:
    kept = [(key, value) for key, value in pairs if key not in changes]
    return "?" + urlencode(kept + [(key, value) for key, value in changes.items() if value is not None])


def lang_url(lang: str, **extra) -> str:
    """This page in another language: the query string kept, `lang` (and any `extra` args) set.

    A page drawn for a form sent (a refusal) switches on the page the form came from, as its own address
    takes only forms."""
    if request.method == "GET" or _takes_get(request.path):
        return query_with(lang=lang, **extra)
    came_from = same_site_referrer()
    if came_from is None:
        return url_for("public.home", lang=lang)
    path, _mark, query = came_from.partition("?")
    return path + _query(parse_qsl(query), {"lang": lang})


def same_site_referrer() -> str | None:
    """The page (path and query) the visitor came from, if it is one of ours."""
    referrer = split_url(request.referrer or "")
    if referrer is None or referrer.netloc != request.host:
        return None
    if request.method == "GET" and referrer.path == request.path:
        return None
    # Our host, but a path like //other.example/x is still a link elsewhere (the check of access.safe_next).
    if not referrer.path.startswith("/") or referrer.path.startswith("//") or "\\" in referrer.path:
        return None
    if not _takes_get(referrer.path):  # a form's address, after a refusal drawn there: no page to go back to
        return None
    return referrer.path + (f"?{referrer.query}" if referrer.query else "")


def split_url(text: str) -> SplitResult | None:
    """A URL a client sent (a Referer, an Origin) in its parts; None for one urlsplit cannot read (an
    unclosed IPv6 host, "http://[::1"), which no browser sends and which names no page of ours."""
    try:
        return urlsplit(text)
    except ValueError:
        return None


def _takes_get(path: str) -> bool:
    try:
        current_app.url_map.bind(request.host).match(path, method="GET")
    except HTTPException:  # not found, only for other methods, or a redirect
        return False
    return True


# A recalled batch is the registry's own product withdrawn, not a fake: its headline says what to do.
RECALLED_HEADLINE = _l("Recalled: do not eat or use it")
# A GS1 link naming a registered label without its signature: the batch is the registry's, the link no proof.
UNSIGNED_HEADLINE = _l("This link cannot prove the package genuine")
# A signed code whose label number its batch never reached: the batch is the registry's, the label is not.
UNISSUED_HEADLINE = _l("This label was never issued")


def verdict_headline(verdict: str, reasons=()) -> str:
    if verdict == "revoked" and "batch_recalled" in reasons:
        return str(RECALLED_HEADLINE)
    if verdict == "invalid" and "unsigned_gs1_link" in reasons:
        return str(UNSIGNED_HEADLINE)
    if verdict == "invalid" and "serial_not_issued" in reasons:
        return str(UNISSUED_HEADLINE)
    return str(VERDICT_HEADLINES[verdict])


def waited_text(days: float) -> str:
    """How long a case has waited, as an officer says it: days and hours, never "0.0 days"."""
    hours = int(days * 24)
    if hours < 1:
        return gettext("under an hour")
    whole_days, hours = divmod(hours, 24)
    parts = [ngettext("%(num)d day", "%(num)d days", whole_days)] if whole_days else []
    if hours:
        parts.append(ngettext("%(num)d hour", "%(num)d hours", hours))
    return " ".join(parts)


def wait_message(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    if minutes < 120:
        return ngettext(
            "Too many requests. Please try again in %(num)d minute.",
            "Too many requests. Please try again in %(num)d minutes.",
            minutes,
        )
    hours = -(-minutes // 60)
    return ngettext(
        "Too many requests. Please try again in %(num)d hour.",
        "Too many requests. Please try again in %(num)d hours.",
        hours,
    )


def refusal_text(error) -> str:
    """A domain refusal (DomainError) in the page's language; a missing thing in general words, as its
    message names a model."""
    if isinstance(error, NotFound):
        return gettext("Not found: it may have been removed, or the link is wrong.")
    return as_sentence(gettext(error.message, **page_params(error.params)))


def page_params(params: dict) -> dict:
    """A refusal's values as a page writes them: a count grouped (1,970, as the form's help beside it
    says), a unit in words. A year is a name, not an amount: 2026, never 2,026."""
    return {name: _on_page(name, value) for name, value in params.items()}


def _on_page(name: str, value):
    if name == "unit":
        return unit_label(value)
    if isinstance(value, int) and not isinstance(value, bool) and name != "year":
        return f"{value:,}"
    return value


def as_sentence(text: str) -> str:
    """A refusal's message, written short for the API and beside a field ("the product is withdrawn"), as a
    sentence for a banner: a capital and a full stop in English, a full stop (。) in Chinese."""
    if not text or text[-1] in ".。!！?？":
        return text
    if str(get_locale()) == "zh":
        return f"{text}。"
    return f"{text[0].upper()}{text[1:]}."


def select_locale() -> str:
    languages = current_app.config["LANGUAGES"]
    chosen = request.args.get("lang")
    if chosen in languages:
        session["lang"] = chosen
        return chosen
    if session.get("lang") in languages:
        return session["lang"]
    return request.accept_languages.best_match(languages) or current_app.config["BABEL_DEFAULT_LOCALE"]


def page_url(page: int) -> str:
    """This page's URL with another page number, keeping the filters (every value of each, as given).
    Built from the request's own path, not url_for: a query argument named like one of url_for's own
    (endpoint, _external, _scheme) would be taken as that, or clash with it. The audit log's `verify` is
    a check to run once, not a filter: paging on must not walk the whole chain again on every page."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key not in ("page", "verify")]
    return f"{request.script_root}{request.path}?{urlencode([*args, ('page', page)])}"


def quantity(value: float) -> str:
    """A batch's quantity as people write it: thousands grouped, up to three decimals, never 1e+06."""
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def china_time(moment: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (UTC) time as people in China read it; the `china_time` filter of the templates."""
    return moment.astimezone(CHINA).strftime(fmt) if moment else ""


# flask-babel's template gettext looks the request's catalogue up anew for every string, four context
# lookups each, and a page shows dozens: the context processor below finds it once per page instead.
@pass_context
def _page_gettext(context, string: str) -> str:
    return _catalogue(context).ugettext(string)


@pass_context
def _page_ngettext(context, singular: str, plural: str, num: int) -> str:
    return _catalogue(context).ungettext(singular, plural, num)


@pass_context
def _page_pgettext(context, message_context: str, string: str) -> str:
    return _catalogue(context).upgettext(message_context, string)


@pass_context
def _page_npgettext(context, message_context: str, singular: str, plural: str, num: int) -> str:
    return _catalogue(context).unpgettext(message_context, singular, plural, num)


def _catalogue(context):
    # A macro imported without context has none of the page's variables: it looks the catalogue up itself.
    return context.get("babel_catalogue") or get_translations()


def reason_words(reason: str | None, action: str = "") -> str:
    """A reason in the audit log as the page's language says it: people's own as written, the registry's
    own (audit.IMPORT_REASON, audit.DEMO_REASON) translated; those only come with what an import or the
    demo data makes, so a revocation's reason that merely begins with the same words stays as written."""
    if action not in ("licensee.create", "licence.grant"):
        return reason or ""
    if reason == audit.DEMO_REASON:
        return gettext("Demo data")
    if reason and reason.split(" ", 1)[0] == audit.IMPORT_REASON:
        source = reason[len(audit.IMPORT_REASON) :].strip()
        return gettext("Bulk import of %(file)s", file=source) if source else gettext("Bulk import")
    return reason or ""


def compile_catalogues(directory: str, logger) -> None:
    """Compile each language's catalogue whose .mo is missing or older than its .po. `make` does this; an
    app started some other way (flask run in a fresh clone) would otherwise speak English on every page
    while it says lang="zh-CN". A folder it may not write to is left as it is, with a warning."""
    for po_path in Path(directory).glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        try:
            with po_path.open("rb") as po:
                catalogue = read_po(po, locale=po_path.parent.parent.name)
            # Written beside and moved into place: workers starting together never read half a file.
            with tempfile.NamedTemporaryFile("wb", dir=mo_path.parent, suffix=".tmp", delete=False) as mo:
                write_mo(mo, catalogue)  # fuzzy entries left out, as pybabel compile does
            os.replace(mo.name, mo_path)
        except OSError as error:
            logger.warning("translations: %s is not compiled (%s); run `make translations`", po_path, error)


def init_app(app: Flask) -> None:
    compile_catalogues(app.config["BABEL_TRANSLATION_DIRECTORIES"], app.logger)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.install_gettext_callables(
        _page_gettext, _page_ngettext, newstyle=True, pgettext=_page_pgettext, npgettext=_page_npgettext
    )
    app.jinja_env.filters["china_time"] = china_time
    app.jinja_env.filters["quantity"] = quantity
    app.jinja_env.filters["reason_words"] = reason_words
    app.jinja_env.filters["role_label"] = role_label  # for map(): a list of roles in words
    app.jinja_env.filters["grouped"] = "{:,}".format  # 100,000,000: a long count read at a glance
    app.jinja_env.globals.update(
        status_label=status_label,
        kind_label=kind_label,
        role_label=role_label,
        licence_action_title=licence_action_title,
        page_url=page_url,
        report_status_label=report_status_label,
        verdict_headline=verdict_headline,
        reason_text=reason_text,
        unit_label=unit_label,
        ua_family_label=ua_family_label,
        entity_label=entity_label,
        entity_labels=ENTITY_LABELS,
        action_label=action_label,
        actor_label=actor_label,
        report_note=report_note,
        local_name=local_name,
        lang_url=lang_url,
        wait_message=wait_message,
        field_label=field_label,
        field_value=field_value,
        waited_text=waited_text,
        report_outcome_text=report_outcome_text,
        query_with=query_with,
        joined=joined,
    )

    @app.context_processor
    def _language():
        locale = str(get_locale())
        return {
            "lang": locale,
            "html_lang": "zh-CN" if locale == "zh" else "en",
            "other_lang": "en" if locale == "zh" else "zh",
            "colon": "：" if locale == "zh" else ": ",  # between a label and its value, as each language writes it
            "babel_catalogue": get_translations(),
        }

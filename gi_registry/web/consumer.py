"""The consumer's pages: the scan verdict, the GS1 Digital Link, and counterfeit reports without an account."""

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.exceptions import RequestEntityTooLarge, TooManyRequests

from .. import intake
from ..budgets import report_wait
from ..db import get_session
from ..domain import DomainError, batches, reports, verification
from ..errors import json_error, on_http_error, retry_seconds, wants_json
from ..extensions import code_keys, copy_rules, csrf, report_attempt_limit, verify_limit
from ..i18n import refusal_text, split_url
from .forms import ReportForm, refused

bp = Blueprint("consumer", __name__)
CHINA = ZoneInfo("Asia/Shanghai")


def _place_token(scan_id: int | None) -> str:
    return _signer("scan-place").dumps(scan_id) if scan_id else ""


def _signer(purpose: str) -> URLSafeTimedSerializer:
    """Signed tokens that carry a scan to a later request: its place (scan-place), its page again (scan-seen)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


@dataclass(frozen=True)
class _Seen:
    token: str
    scan_id: int | None  # the scan the page first showed: its place may still be shared


def _seen(code: str) -> _Seen | None:
    """The request's `seen` token if this client scanned this very code in the last 15 minutes.

    The language switch carries it so the page shown again is not a second scan. It is signed for the
    client's address and never renewed, so a link that carries one counts as usual anywhere else: a
    counterfeiter cannot switch copy detection off by sending every buyer to the page with a token."""
    token = request.args.get("seen", "")
    try:
        seen_code, scan_id = _seen_signer().loads(token, max_age=900)
    except (BadSignature, TypeError, ValueError):  # forged, expired, or not the pair it signs
        return None
    return _Seen(token, scan_id) if seen_code == code else None


def _seen_signer() -> URLSafeTimedSerializer:
    """Signs for this client only: its address hash and browser are in the salt, so they are checked but
    never written into the link (a token's payload is readable). The browser too, as phones behind one
    carrier's address share its hash."""
    agent = request.headers.get("User-Agent", "")[:256]
    return _signer(f"scan-seen:{intake.client_digest()}:{agent}")


def _render_scan(result: verification.Result, seen: _Seen | None, report_code: str = ""):
    scan_id = result.scan_id  # the scan just made; shown again, the first one, while its place is unshared
    if seen is not None and verification.place_shareable(session=get_session(), scan_id=seen.scan_id):
        scan_id = seen.scan_id
    response = current_app.make_response(
        render_template(
            "consumer/scan.html",
            result=result,
            place_token=_place_token(scan_id),
            seen_token=seen.token if seen else _seen_signer().dumps([result.code, result.scan_id]),
            first_at=result.first_at.astimezone(CHINA) if result.first_at else None,
            report_code=report_code or (result.code if result.code != "-" else ""),
        )
    )
    # Every open asks the server again (a scan, and the verdict can change), but Back from the report form
    # shows this page from the phone's own cache: no-store would make it a second scan of the buyer's own.
    response.headers["Cache-Control"] = "private, no-cache"
    response.for_history = True  # nor vary on the session cookie, which the report form may set (access.py)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _scan_page(code: str, *, channel: str, refusal: str = "not_issued_by_registry", report_code: str = ""):
    seen = _seen(code)
    result = intake.record_scan(code, channel=channel, record=seen is None, refusal=refusal)
    return _render_scan(result, seen, report_code)


# A trailing slash (some scanner apps and chat apps add one) opens the same scan.
@bp.get("/q/<code>", strict_slashes=False)
@bp.get("/Q/<code>", strict_slashes=False)
@verify_limit
def scan(code: str):
    return _scan_page(code[:64], channel="page")


@bp.get("/01/<gtin>/10/<lot>/21/<id:serial>", strict_slashes=False)
@bp.get("/01/<gtin>/10/<lot>", strict_slashes=False)
@verify_limit
def gs1_link(gtin: str, lot: str, serial: int = 0):
    """A GS1 Digital Link resolves to the verification of the code it stands for (batches.resolve_gs1)."""
    signature = request.args.get(batches.GS1_SIGNATURE_AI, "")
    batch, code = batches.resolve_gs1(
        session=get_session(), gtin=gtin, lot=lot, serial=serial, signature=signature, keys=code_keys()
    )
    # A link that names a registered label without its signature is told apart from one naming nothing.
    refusal = "unsigned_gs1_link" if batch is not None and code is None else "not_issued_by_registry"
    # A report from a link that proves nothing still names what the link claims, as a label prints it.
    claimed = f"{lot} No. {serial}" if serial else lot
    return _scan_page(code or "-", channel="gs1", refusal=refusal, report_code="" if code else claimed[:100])


@bp.post("/q/place")
@csrf.exempt  # authorised by the signed scan token, not by a session
@verify_limit
def share_place():
    """The consumer chose to share a coarse place for the scan they just made."""
    body = request.get_json(silent=True)
    payload = body if isinstance(body, dict) else request.form
    try:
        scan_id = _signer("scan-place").loads(str(payload.get("token", "")), max_age=900)
    except BadSignature:
        return json_error(400, "bad_token", "unknown or expired scan")
    session = get_session()
    shared = verification.share_place(
        session=session,
        scan_id=scan_id,
        latitude=payload.get("lat"),
        longitude=payload.get("lon"),
        rules=copy_rules(),
    )
    session.commit()
    return jsonify({"stored": shared.stored, "warning": shared.seen_far_apart})


@bp.route("/report", methods=["GET", "POST"])
@report_attempt_limit
def report():
    form = ReportForm(code=request.args.get("code", ""))
    # Said before the consumer writes it all down; a report sent past the budget comes back with its words.
    wait = report_wait()
    if request.method == "POST" and wait:
        return _not_sent(form, wait)
    if form.validate_on_submit():
        data = reports.ReportInput(
            description=form.description.data,
            code=form.code.data or "",
            place=form.place.data or "",
            contact=form.contact.data or "",
        )
        try:
            filed = intake.file_report(data, intake.photo_files(form.photos.name))
            return redirect(url_for("consumer.report_status", no=filed.tracking_no, filed=1))
        except TooManyRequests as spent:  # another report from this address was filed meanwhile
            return _not_sent(form, spent.retry_after)
        except DomainError as error:
            if error.code.startswith("photo"):  # said once, under the photos
                form.photos.errors = list(form.photos.errors) + [_photo_problem(form, error)]
            else:
                refused(form, error)
    if form.is_submitted():
        _photos_not_kept(form)
    return _report_page(form, wait=wait, status=422 if form.is_submitted() else 200)


@bp.post("/report/language")
def report_language():
    """The report form again in the language of `?lang=`, with what was typed; nothing is filed. A form sent
    and refused switches language through here (the switch submits it, report.html): a link would draw
    the form empty, the words lost."""
    form = ReportForm()
    form.validate()  # the refusal said again in the language chosen: often why it was chosen
    _photos_not_kept(form)
    return _report_page(form, wait=report_wait())


@bp.errorhandler(TooManyRequests)
@bp.errorhandler(CSRFError)
def _refused_early(error):
    if isinstance(error, TooManyRequests) and request.endpoint in ("consumer.scan", "consumer.gs1_link"):
        return _scan_later(error)
    return _report_refused_early(error)


def _scan_later(error: TooManyRequests):
    """A scan past this address's budget, which phones behind one carrier address share: nothing was
    judged, so the buyer is told that on the scan page's own layout, with the label's address to try again
    (the limiter adds Retry-After)."""
    again = request.full_path.removesuffix("?")
    return render_template("consumer/scan_later.html", wait=retry_seconds(error), again=again), 429


def _report_refused_early(error):
    """A report refused before its view runs (this address's attempts spent; a form expired, or its session
    cookie lost by an in-app browser) comes back with the words typed, not as a bare error page."""
    report_forms = ("consumer.report", "consumer.report_language")
    if request.endpoint not in report_forms or request.method != "POST" or wants_json():
        return on_http_error(error)
    if isinstance(error, CSRFError) and not _sent_from_this_site():
        return on_http_error(error)
    if request.endpoint == "consumer.report_language":  # nothing was being sent: switched, with a fresh token
        return report_language()
    form = ReportForm()
    if isinstance(error, CSRFError):
        _photos_not_kept(form)
        return _report_page(form, wait=report_wait(), status=400, expired=True)
    return _not_sent(form, retry_seconds(error))


@bp.errorhandler(RequestEntityTooLarge)
def _report_too_large(error):
    """Photos past the request's size limit (chosen without JavaScript, which says so before sending): no
    field is read, so the form cannot come back filled in. The browser's Back button shows it as it was
    typed, so the page says to use that, and offers no link back, which would open the form empty."""
    if request.endpoint != "consumer.report" or wants_json():
        return on_http_error(error)
    limits = {"count": reports.MAX_PHOTOS, "mb": current_app.config["PHOTO_MAX_BYTES"] // 1048576}
    return render_template("consumer/report_too_large.html", **limits), 413


def _sent_from_this_site() -> bool:
    """Whether a form came from this site's own page, as the browser says (Sec-Fetch-Site) or names the page
    (Origin, else Referer). Another site's post fails its CSRF check too: drawn again, its words would stand
    on the registry's own report page, under a token of ours, for the visitor to send."""
    fetched_from = request.headers.get("Sec-Fetch-Site")
    if fetched_from:
        return fetched_from == "same-origin"
    page = request.headers.get("Origin") or request.headers.get("Referer") or ""
    parts = split_url(page)
    return parts is not None and bool(page) and parts.netloc == request.host


def _not_sent(form: ReportForm, wait: int):
    """A report past this address's budget: drawn again with its words, and a word under the photos field
    if some were chosen (the banner above the form speaks of the budget, for reports with or without)."""
    _photos_not_kept(form)
    return _report_page(form, wait=wait, not_sent=True)


def _photos_not_kept(form: ReportForm) -> None:
    """A browser never fills a file field again: say so, or the report goes off without its photos (the
    good ones too, when one photo was refused). The language switch sends their names, never their bytes."""
    if intake.photo_files(form.photos.name) or any(request.form.getlist(form.photos.name)):
        form.photos.errors = list(form.photos.errors) + [
            _("Your photos were not kept with the form: choose them again.")
        ]


def _photo_problem(form: ReportForm, error: DomainError) -> str:
    """A refused photo's problem, named by its file when there were several."""
    problem = refusal_text(error)
    files = intake.photo_files(form.photos.name)
    number = error.params.get("photo", 0)
    if len(files) < 2 or not 0 < number <= len(files):
        return problem
    return _("%(file)s: %(problem)s", file=files[number - 1].filename[:80], problem=problem)


def _report_page(form: ReportForm, *, wait: int, not_sent: bool = False, status: int = 200, expired: bool = False):
    limits = {"max_bytes": current_app.config["PHOTO_MAX_BYTES"], "max_photos": reports.MAX_PHOTOS}
    page = render_template("consumer/report.html", form=form, wait=wait, not_sent=not_sent, expired=expired, **limits)
    if not_sent:
        return page, 429, {"Retry-After": str(wait)}
    return page, status


@bp.get("/report/status")
def report_status():
    number = request.args.get("no", "").strip()
    found = None
    if number:
        try:
            found = reports.get_by_tracking_no(session=get_session(), tracking_no=number)
        except DomainError:
            found = None
    return render_template(
        "consumer/report_status.html",
        number=number,
        report=found,
        outcome=reports.outcome(session=get_session(), report=found) if found else None,
        just_filed=request.args.get("filed") == "1",
    ), (404 if number and not found else 200)

"""The consumer's pages: the scan verdict, the GS1 Digital Link, and counterfeit reports without an account."""

from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import intake
from ..budgets import report_budget_checked
from ..db import get_session
from ..domain import DomainError, batches, reports, verification
from ..extensions import code_keys, copy_rules, csrf, report_attempt_limit, verify_limit
from .forms import ReportForm, refused

bp = Blueprint("consumer", __name__)
CHINA = ZoneInfo("Asia/Shanghai")


def _place_token(scan_id: int | None) -> str:
    return _signer("scan-place").dumps(scan_id) if scan_id else ""


def _signer(purpose: str) -> URLSafeTimedSerializer:
    """Signed tokens that carry a scan to a later request: its place (scan-place), its page again (scan-seen)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=purpose)


def _already_seen(code: str) -> bool:
    """Whether this browser scanned this very code in the last 15 minutes (the language switch carries it)."""
    try:
        return _signer("scan-seen").loads(request.args.get("seen", ""), max_age=900) == code
    except BadSignature:
        return False


def _render_scan(result: verification.Result):
    response = current_app.make_response(
        render_template(
            "consumer/scan.html",
            result=result,
            place_token=_place_token(result.scan_id),
            seen_token=_signer("scan-seen").dumps(result.code),
            first_at=result.first_at.astimezone(CHINA) if result.first_at else None,
        )
    )
    response.headers["Cache-Control"] = "no-store"  # every open is a scan, and the verdict can change
    return response


@bp.get("/q/<code>")
@bp.get("/Q/<code>")
@verify_limit
def scan(code: str):
    code = code[:64]
    return _render_scan(intake.record_scan(code, channel="page", record=not _already_seen(code)))


@bp.get("/01/<gtin>/10/<lot>/21/<id:serial>")
@bp.get("/01/<gtin>/10/<lot>")
@verify_limit
def gs1_link(gtin: str, lot: str, serial: int = 0):
    """A GS1 Digital Link resolves to the verification of the code it stands for (batches.resolve_gs1)."""
    signature = request.args.get(batches.GS1_SIGNATURE_AI, "")
    batch, code = batches.resolve_gs1(
        session=get_session(), gtin=gtin, lot=lot, serial=serial, signature=signature, keys=code_keys()
    )
    # A link that names a registered label without its signature is told apart from one naming nothing.
    refusal = "unsigned_gs1_link" if batch is not None and code is None else "not_issued_by_registry"
    code = code or "-"
    return _render_scan(intake.record_scan(code, channel="gs1", record=not _already_seen(code), refusal=refusal))


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
        return jsonify({"error": {"code": "bad_token", "message": "unknown or expired scan"}}), 400
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
@report_budget_checked
def report():
    form = ReportForm(code=request.args.get("code", ""))
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
        except DomainError as error:
            if error.code.startswith("photo"):  # said once, under the photos
                form.photos.errors = list(form.photos.errors) + [_(error.message)]
            else:
                refused(form, error)
    status = 422 if form.is_submitted() else 200
    limits = {"max_bytes": current_app.config["PHOTO_MAX_BYTES"], "max_photos": reports.MAX_PHOTOS}
    return render_template("consumer/report.html", form=form, **limits), status


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
        "consumer/report_status.html", number=number, report=found, just_filed=request.args.get("filed") == "1"
    ), (404 if number and not found else 200)

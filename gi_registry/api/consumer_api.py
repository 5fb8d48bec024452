"""Verification and counterfeit reports: open to anyone, rate limited."""

from flask import request

from .. import intake
from ..budgets import report_budget_checked
from ..db import get_session
from ..domain import DomainError, reports, verification
from ..extensions import report_attempt_limit, verify_limit
from . import api
from .schemas import ReportCreate, ReportFiled, ReportPublicStatus, VerifyPublic, parse_body, place_query, validate


def verify_public(result: verification.Result) -> dict:
    body = {
        "verdict": result.verdict,
        "reasons": list(result.reasons),
        "scans": {"count": result.count, "first_at": result.first_at},
    }
    if result.product is not None:
        body.update(
            product={
                "code": result.product.code,
                "name": result.product.name,
                "name_en": result.product.name_en,
                "kind": result.product.kind,
            },
            licensee={"name": result.licensee.name, "uscc": result.licensee.uscc},
            batch={
                "batch_no": result.batch.batch_no,
                "harvested_on": result.batch.harvested_on,
                "origin": {"code": result.origin.code, "name": result.origin.name},
                "status": result.batch.status,
            },
            serial=result.serial,
        )
    dumped = VerifyPublic.model_validate(body).model_dump(mode="json")
    # An invalid code names no product, licensee or batch; `scans.first_at` stays, null.
    return {key: value for key, value in dumped.items() if value is not None}


@api.get("/verify/<code>")
@verify_limit
def verify(code: str):
    if len(code) > 64:
        raise DomainError("invalid_code", "a code is at most 64 characters", fields={"code": "too long"})
    result = intake.record_scan(code, channel="api", place=place_query())
    return verify_public(result)


@api.post("/reports")
@report_attempt_limit
@report_budget_checked
def file_report():
    if request.mimetype == "multipart/form-data":
        body, uploads = validate(ReportCreate, _multipart_fields()), intake.photo_files()
    else:
        body, uploads = parse_body(ReportCreate), []
    report = intake.file_report(reports.ReportInput(**body.model_dump()), uploads)
    return ReportFiled(tracking_no=report.tracking_no).model_dump(), 201


def _multipart_fields() -> dict:
    """The form's fields, a file under any name but `photos` among them: the model refuses it as the unknown
    field it is, where it was dropped and the report filed without that photo."""
    misplaced = {name: "a file" for name in request.files if name != "photos"}
    return {**request.form.to_dict(), **misplaced}


@api.get("/reports/<tracking_no>")
def report_status(tracking_no: str):
    session = get_session()
    report = reports.get_by_tracking_no(session=session, tracking_no=tracking_no)
    return ReportPublicStatus(
        tracking_no=report.tracking_no,
        status=report.status,
        updated_at=report.updated_at,
        outcome=reports.outcome(session=session, report=report),
    ).model_dump(mode="json")

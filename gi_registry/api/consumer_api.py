"""Verification and counterfeit reports: open to anyone, rate limited."""

from flask import current_app, request
from werkzeug.datastructures import FileStorage

from ..budgets import report_budget_checked, spend_report_budget
from ..db import get_session
from ..domain import DomainError, reports, verification
from ..extensions import code_keys, report_attempt_limit, verify_limit
from ..web.consumer import read_bounded, record_scan
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
    result = record_scan(code, channel="api", place=place_query())
    return verify_public(result)


@api.post("/reports")
@report_attempt_limit
@report_budget_checked
def file_report():
    if request.mimetype == "multipart/form-data":
        body = validate(ReportCreate, request.form.to_dict())
        uploads = [f for f in request.files.getlist("photos") if isinstance(f, FileStorage) and f.filename]
    else:
        body = parse_body(ReportCreate)
        uploads = []
    config = current_app.config
    session = get_session()
    report = reports.file_report(
        session=session,
        keys=code_keys(),
        upload_dir=config["GI_UPLOAD_DIR"],
        max_bytes=config["PHOTO_MAX_BYTES"],
        max_pixels=config["PHOTO_MAX_PIXELS"],
        data=reports.ReportInput(**body.model_dump()),
        photo_uploads=[read_bounded(f, config["PHOTO_MAX_BYTES"]) for f in uploads],
    )
    reports.commit_filed(
        session=session, report=report, upload_dir=config["GI_UPLOAD_DIR"], before_commit=spend_report_budget
    )
    return ReportFiled(tracking_no=report.tracking_no).model_dump(), 201


@api.get("/reports/<tracking_no>")
def report_status(tracking_no: str):
    report = reports.get_by_tracking_no(session=get_session(), tracking_no=tracking_no)
    return ReportPublicStatus(
        tracking_no=report.tracking_no, status=report.status, updated_at=report.updated_at
    ).model_dump(mode="json")

"""Reports with their evidence, and their workflow: regulators (and admins, read-only)."""

from flask import jsonify, request, url_for

from ..db import get_session
from ..domain import reports
from ..models import Report
from ..web.access import api_roles, api_user
from . import api
from .schemas import ReportEventPublic, ReportFull, ReportStep, page_of, page_query, parse_body


def report_full(report: Report) -> dict:
    session = get_session()
    return ReportFull(
        **report.model_dump(include=set(ReportFull.model_fields) - {"photos", "events"}),
        photos=[
            url_for("regulator.photo", name=p.filename, _external=True)
            for p in reports.photos_of(session=session, report=report)
        ],
        events=[
            ReportEventPublic(**e.model_dump(include=set(ReportEventPublic.model_fields)))
            for e in reports.events_of(session=session, report=report)
        ],
    ).model_dump(mode="json")


@api.get("/reports")
@api_roles("regulator", "admin")
def list_reports():
    page, per_page = page_query()
    where = reports.ReportFilter(
        status=request.args.get("status", ""),
        product_code=request.args.get("product", ""),
        county_code=request.args.get("county", ""),
    )
    rows, total = reports.search_reports(session=get_session(), where=where, page=page, per_page=per_page)
    return jsonify(page_of([report_full(row[0]) for row in rows], total=total, page=page, per_page=per_page))


@api.patch("/reports/<tracking_no>")
@api_roles("regulator")
def step_report(tracking_no: str):
    session = get_session()
    report = reports.get_by_tracking_no(session=session, tracking_no=tracking_no)
    body = parse_body(ReportStep)
    reports.transition(session=session, report=report, to_status=body.status, note=body.note, actor=api_user())
    session.commit()
    return report_full(report)

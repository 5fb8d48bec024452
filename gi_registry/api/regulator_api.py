"""Reports with their evidence, and their workflow: regulators (and admins, read-only)."""

from datetime import date, datetime, timedelta

from flask import current_app, jsonify, request, send_from_directory, url_for

from ..access import api_roles, api_user
from ..db import get_session
from ..domain import NotFound, registry, reports
from ..extensions import copy_rules
from ..models import STAFF, Batch, Licensee, Report
from . import api
from .schemas import (
    REPORT_FILTER_STATES,
    CopyWarningLift,
    CopyWarningLifted,
    ReportEventPublic,
    ReportFull,
    ReportProduct,
    ReportStep,
    choice_query,
    county_query,
    date_span_query,
    page_of,
    page_query,
    parse_body,
    product_query,
)


def report_full(
    report: Report, batch: Batch | None = None, product=None, licensee=None, *, photos=None, events=None
) -> dict:
    """A report as the API gives it; the batch, product, licensee, photos and steps are looked up unless the
    caller has them (a list reads those of its whole page at once)."""
    session = get_session()
    photos = reports.photos_of(session=session, report=report) if photos is None else photos
    events = reports.events_of(session=session, report=report) if events is None else events
    if batch is None and report.batch_id is not None:
        batch = session.get(Batch, report.batch_id)
        licensee = session.get(Licensee, batch.licensee_id) if batch else None
    if product is None:
        product = reports.concerned_product(session=session, report=report, batch=batch)
    return ReportFull(
        **report.model_dump(include=set(ReportFull.model_fields) - {"photos", "events"}),
        batch_no=batch.batch_no if batch else None,
        product_code=product.code if product else None,
        licensee_uscc=licensee.uscc if licensee else None,
        county=licensee.county_code if licensee else None,
        photos=[
            url_for("api.report_photo", tracking_no=report.tracking_no, name=p.filename, _external=True) for p in photos
        ],
        events=[ReportEventPublic(**e.model_dump(include=set(ReportEventPublic.model_fields))) for e in events],
    ).model_dump(mode="json")


@api.get("/reports")
@api_roles(*STAFF)
def list_reports():
    page, per_page = page_query()
    first, last = date_span_query()
    where = reports.ReportFilter(
        status=choice_query("status", REPORT_FILTER_STATES),
        product_code=product_query(session=get_session(), also=reports.NO_PRODUCT),
        county_code=county_query(session=get_session()),
        filed_from=_china_midnight(first),
        filed_to=_china_midnight(last, days_after=1),
        tracking_no=request.args.get("q", "")[:24],
        deadlines=current_app.config["REPORT_DEADLINES"],
    )
    session = get_session()
    rows, total = reports.search_reports(session=session, where=where, page=page, per_page=per_page)
    found = [report for report, *_joined in rows]
    photos = reports.photos_of_each(session=session, reports=found)
    events = reports.events_of_each(session=session, reports=found)
    items = [report_full(*row, photos=photos[row[0].id], events=events[row[0].id]) for row in rows]
    return jsonify(page_of(items, total=total, page=page, per_page=per_page))


def _china_midnight(day: date | None, *, days_after: int = 0) -> datetime | None:
    return registry.china_midnight(day + timedelta(days=days_after)) if day else None


@api.patch("/reports/<tracking_no>")
@api_roles("regulator")
def step_report(tracking_no: str):
    session = get_session()
    report = reports.get_by_tracking_no(session=session, tracking_no=tracking_no)
    body = parse_body(ReportStep)
    reports.transition(session=session, report=report, to_status=body.status, note=body.note, actor=api_user())
    session.commit()
    return report_full(report)


@api.put("/reports/<tracking_no>/product")
@api_roles("regulator")
def name_report_product(tracking_no: str):
    """Name the product a report without a registry code concerns (null: not known), as the case page does."""
    session = get_session()
    report = reports.get_by_tracking_no(session=session, tracking_no=tracking_no)
    body = parse_body(ReportProduct)
    product = reports.product_by_code(session=session, code=body.product_code) if body.product_code else None
    reports.name_product(session=session, report=report, product=product, actor=api_user())
    session.commit()
    return report_full(report)


@api.post("/reports/<tracking_no>/copy-warning/lift")
@api_roles("regulator")
def lift_copy_warning(tracking_no: str):
    """Lift the copy warning of the label a report names, found unfounded, as the case page does."""
    session = get_session()
    report = reports.get_by_tracking_no(session=session, tracking_no=tracking_no)
    body = parse_body(CopyWarningLift)
    tally = reports.lift_copy_warning(
        session=session, report=report, reason=body.reason, actor=api_user(), rules=copy_rules()
    )
    session.commit()
    batch_no = session.get(Batch, tally.batch_id).batch_no
    return CopyWarningLifted(batch_no=batch_no, serial=tally.serial, cleared_count=tally.cleared_count).model_dump()


@api.get("/reports/<tracking_no>/photos/<name>")
@api_roles(*STAFF)
def report_photo(tracking_no: str, name: str):
    """A report's photo for API clients with a regulator's or admin's token."""
    report = reports.get_by_tracking_no(session=get_session(), tracking_no=tracking_no)
    if name not in {p.filename for p in reports.photos_of(session=get_session(), report=report)}:
        raise NotFound("photo")
    response = send_from_directory(current_app.config["GI_UPLOAD_DIR"], name, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, no-store"
    return response

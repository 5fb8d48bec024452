"""Counterfeit reports: intake from anyone, a public tracking number, and the workflow of CONTRACT.md."""

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, case, false, or_, update
from sqlmodel import Session, col, func, select

from ..models import (
    REPORT_STATES,
    Batch,
    Licensee,
    Product,
    Report,
    ReportEvent,
    ReportPhoto,
    Scan,
    ScanTally,
    User,
    utcnow,
)
from . import N_, Conflict, DomainError, NotFound, as_printed, audit, photos, registry, verification
from .codes import CodeKeys, code_in, parse_code
from .registry import china_day

MAX_PHOTOS = 3
# The workflow: which status may follow which.
NEXT = {
    "new": {"triaged", "dismissed"},
    "triaged": {"investigating", "dismissed"},
    "investigating": {"confirmed", "dismissed"},
    "confirmed": {"closed"},
    "dismissed": {"closed"},
    "closed": set(),
}
_TRACKING_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O or 1/I to misread over the phone


@dataclass
class ReportInput:
    description: str
    code: str = ""
    place: str = ""
    contact: str = ""


def new_tracking_no(now: datetime) -> str:
    """JB-YYYYMMDD-XXXXXXXX: the day in China for people, 40 random bits so numbers cannot be guessed."""
    tail = "".join(secrets.choice(_TRACKING_ALPHABET) for _ in range(8))
    return f"JB-{china_day(now):%Y%m%d}-{tail}"


# Four characters say it in Chinese (假冒柠檬); the stored description may also hold a pasted URL (file_report).
DESCRIPTION_MIN, DESCRIPTION_MAX, CODE_MAX = 4, 4000, 300
URL_NOTE = "\n\n[URL] "
# A step's note is kept twice: in the case history and as the audit event's reason, which holds 1,000 characters.
NOTE_MAX = 1000


def _check(data: ReportInput) -> dict:
    fields = {}
    if len(data.description.strip()) < DESCRIPTION_MIN:
        fields["description"] = N_("describe what you saw in a few words")
    for name, limit in (("description", DESCRIPTION_MAX), ("code", CODE_MAX), ("place", 200), ("contact", 200)):
        if len(getattr(data, name)) > limit:
            fields[name] = N_("too long")
    if "code" not in fields and len(code_in(data.code)) > 64:
        fields["code"] = N_("too long")
    return fields


# Beside its code a label prints its batch number and "No. 000005" (批次码 on the batch's own): what a
# consumer without a scanner types. The serial counts only as the label writes it, right after the number.
_PRINTED = re.compile(r"(?<![A-Z0-9])([A-Z]{1,6}-\d{4}-\d{6})(?!\d)(?:\s*(?:NO\.?|#|第|-)\s*(\d{1,7})(?!\d))?")


def printed_label(*, session: Session, text: str) -> tuple[int, int | None] | None:
    """The batch and serial (0: the batch code) of a label as read off its print. A serial never issued
    keeps the batch, without a serial: a label numbered past the batch's is evidence of a copy."""
    match = _PRINTED.search(as_printed(text).upper())  # ＡＹ－２０２６… as typed
    batch = session.exec(select(Batch).where(Batch.batch_no == match[1])).first() if match else None
    if batch is None:
        return None
    serial = int(match[2]) if match[2] else 0
    return batch.id, serial if serial <= batch.labels_issued else None


def file_report(
    *,
    session: Session,
    data: ReportInput,
    photo_uploads: list[bytes],
    keys: CodeKeys,
    upload_dir: str,
    max_bytes: int,
    max_pixels: int,
    now: datetime | None = None,
) -> Report:
    """Check everything first, then write the photos and the report; a refusal leaves nothing behind."""
    fields = _check(data)
    if len(photo_uploads) > MAX_PHOTOS:
        fields["photos"] = N_("at most 3 photos")
    if fields:
        raise DomainError("invalid_report", N_("the report cannot be filed"), fields=fields)
    cleaned = []
    for number, raw in enumerate(photo_uploads, 1):
        try:
            cleaned.append(photos.clean_photo(raw, max_bytes=max_bytes, max_pixels=max_pixels))
        except DomainError as error:  # which one, for a form to name its file and an API client its part
            error.params = {**error.params, "photo": number}
            error.fields = {**error.fields, "photos": N_("photo %(photo)s is refused")}
            raise
    code = code_in(data.code)
    parsed = parse_code(code, keys=keys) if code else None
    located = (parsed.batch_id, parsed.serial) if parsed else printed_label(session=session, text=data.code)
    description = data.description.strip()
    if code != data.code.strip().upper():  # a URL was pasted: its host (a lookalike site?) is evidence too
        description += URL_NOTE + data.code.strip()
    now = now or utcnow()
    report = Report(
        tracking_no=new_tracking_no(now),
        code=code,
        batch_id=located[0] if located else None,
        serial=located[1] if located else None,
        description=description,
        place=data.place.strip(),
        contact=data.contact.strip(),
        created_at=now,
        updated_at=now,
    )
    names = photos.store(cleaned, upload_dir=upload_dir)
    try:
        session.add(report)
        session.flush()
        for name, photo in zip(names, cleaned, strict=True):
            session.add(
                ReportPhoto(
                    report_id=report.id, filename=name, width=photo.width, height=photo.height, size=len(photo.jpeg)
                )
            )
        session.add(ReportEvent(report_id=report.id, to_status="new", note="filed", at=now))
        audit.record(
            session=session,
            actor=None,
            action="report.file",
            entity_type="report",
            entity_id=report.id,
            after={"tracking_no": report.tracking_no, "code": code, "photos": len(names)},
        )
        session.flush()
    except Exception:
        photos.remove(names, upload_dir=upload_dir)
        raise
    return report


def commit_filed(*, session: Session, report: Report, upload_dir: str, before_commit=None) -> None:
    """Commit a filed report; if the commit (or `before_commit`, the reporter's budget say) fails, its photos
    are removed with it."""
    names = [photo.filename for photo in photos_of(session=session, report=report)]
    try:
        if before_commit is not None:
            before_commit()
        session.commit()
    except Exception:
        session.rollback()
        photos.remove(names, upload_dir=upload_dir)
        raise


def _compact(tracking_no: str) -> str:
    """A tracking number, or a part of one, without the dashes and spaces people type or leave out.

    As a Chinese keyboard types it too: full-width letters and digits as ASCII (NFKC), and any dash
    (Unicode's Pd: its "－", "—" or "–" for the key marked "-")."""
    return re.sub(r"[\s-]", "", as_printed(tracking_no)).upper()


def tracking_no_as_written(text: str) -> str:
    """A tracking number as printed, from one typed without its dashes or with spaces (JB 20261129 ABCD2345)."""
    compact = _compact(text)
    return (
        f"JB-{compact[2:10]}-{compact[10:]}" if re.fullmatch(r"JB\d{8}[A-Z0-9]{8}", compact) else text.strip().upper()
    )


def get_by_tracking_no(*, session: Session, tracking_no: str) -> Report:
    report = session.exec(select(Report).where(Report.tracking_no == tracking_no_as_written(tracking_no))).first()
    if report is None:
        raise NotFound("report")
    return report


def transition(*, session: Session, report: Report, to_status: str, note: str, actor: User) -> Report:
    """Move a report along the workflow; a step the workflow forbids is a conflict."""
    if to_status not in NEXT:
        raise DomainError("unknown_status", N_("unknown status"), fields={"status": N_("unknown status")})
    if to_status not in NEXT[report.status]:
        raise Conflict("transition_forbidden", N_("the report's status does not allow this step"))
    before = {"status": report.status}
    event = ReportEvent(
        report_id=report.id, from_status=report.status, to_status=to_status, note=note.strip(), actor_id=actor.id
    )
    now = utcnow()
    # Conditional on the status just read: of two regulators acting at once, the second gets the conflict.
    moved = session.exec(
        update(Report)
        .where(Report.id == report.id, Report.status == report.status)
        .values(status=to_status, updated_at=now, closed_at=now if to_status == "closed" else Report.closed_at)
    )
    if moved.rowcount != 1:
        raise Conflict("transition_forbidden", N_("the report's status does not allow this step"))
    session.add(event)
    session.flush()
    session.refresh(report)
    audit.record(
        session=session,
        actor=actor,
        action=f"report.{to_status}",
        entity_type="report",
        entity_id=report.id,
        reason=note.strip(),
        before=before,
        after={"status": to_status},
    )
    return report


def photos_of(*, session: Session, report: Report) -> list[ReportPhoto]:
    return photos_of_each(session=session, reports=[report])[report.id]


def events_of(*, session: Session, report: Report) -> list[ReportEvent]:
    return events_of_each(session=session, reports=[report])[report.id]


def photos_of_each(*, session: Session, reports: list[Report]) -> dict[int, list[ReportPhoto]]:
    """photos_of for a page of reports, by report id, in one query."""
    return _by_report(session, ReportPhoto, reports)


def events_of_each(*, session: Session, reports: list[Report]) -> dict[int, list[ReportEvent]]:
    """events_of for a page of reports, by report id, in one query."""
    return _by_report(session, ReportEvent, reports)


def _by_report(session: Session, model, reports: list[Report]) -> dict:
    found = {report.id: [] for report in reports}
    if found:
        for row in session.exec(select(model).where(col(model.report_id).in_(list(found))).order_by(model.id)):
            found[row.report_id].append(row)
    return found


def outcome(*, session: Session, report: Report) -> str:
    """What the case came to, for the public: its status, or for a closed case the status it closed from
    (confirmed or dismissed), which `closed` alone would hide from the consumer who filed it."""
    if report.status != "closed":
        return report.status
    last = session.exec(
        select(ReportEvent.from_status)
        .where(ReportEvent.report_id == report.id, ReportEvent.to_status == "closed")
        .order_by(col(ReportEvent.id).desc())
    ).first()
    return last or "closed"


def outcome_column():
    """`outcome` in SQL, for lists and counts of many reports."""
    closed_from = (
        select(ReportEvent.from_status)
        .where(ReportEvent.report_id == Report.id, ReportEvent.to_status == "closed")
        .order_by(col(ReportEvent.id).desc())
        .limit(1)
        .scalar_subquery()
    )
    return case((Report.status == "closed", func.coalesce(closed_from, "closed")), else_=Report.status)


# ---- the regulator's queue ---------------------------------------------------------------


@dataclass
class ReportFilter:
    status: str = ""  # a status, OPEN for every one but closed, or OVERDUE (with `deadlines` and `now`)
    product_code: str = ""
    county_code: str = ""
    filed_from: datetime | None = None
    filed_to: datetime | None = None
    tracking_no: str = ""  # a part of the number, as read out over the phone
    assigned_to: int | None = None
    deadlines: dict[str, float] = field(default_factory=dict)  # days per status, as is_overdue takes them
    now: datetime | None = None


OPEN, OVERDUE = "open", "overdue"
FILTER_STATES = (*REPORT_STATES, OPEN, OVERDUE)  # what ReportFilter.status may be, besides "" for all
# As product_code: the reports of no product yet (filed without a registry code, and no product named on
# the case since), which no product filter would ever show.
NO_PRODUCT = "none"


def concerned_product_id():
    """The product a report concerns, as SQL over Report outer-joined with Batch: its batch's, or for a
    report whose code names no batch, the one a regulator named (Report.product_id). Kept in one place
    only, so the two can never disagree."""
    return func.coalesce(Batch.product_id, Report.product_id)


def concerned_product(*, session: Session, report: Report, batch: Batch | None) -> Product | None:
    """concerned_product_id for one report already read, with its batch (None when its code names none)."""
    product_id = batch.product_id if batch else report.product_id
    return session.get(Product, product_id) if product_id else None


def _overdue(where: ReportFilter):
    """The SQL of is_overdue: waited longer in its status than that status's deadline allows."""
    now = where.now or utcnow()
    late = [
        and_(Report.status == status, Report.updated_at < now - timedelta(days=days))
        for status, days in where.deadlines.items()
    ]
    return or_(*late) if late else false()


def search_reports(*, session: Session, where: ReportFilter, page: int, per_page: int):
    """(reports on this page with their batch, product and licensee where known, total); oldest open first."""
    query = (
        select(Report, Batch, Product, Licensee)
        .join(Batch, Batch.id == Report.batch_id, isouter=True)
        .join(Product, Product.id == concerned_product_id(), isouter=True)
        .join(Licensee, Licensee.id == Batch.licensee_id, isouter=True)
    )
    if where.status == OPEN:
        query = query.where(Report.status != "closed")
    elif where.status == OVERDUE:
        query = query.where(_overdue(where))
    elif where.status:
        query = query.where(Report.status == where.status)
    if typed := _compact(where.tracking_no):  # a part, dashes and spaces as the officer typed
        query = query.where(func.replace(Report.tracking_no, "-", "").contains(typed, autoescape=True))
    if where.assigned_to is not None:
        query = query.where(Report.assigned_to == where.assigned_to)
    if where.product_code == NO_PRODUCT:
        query = query.where(col(Report.batch_id).is_(None), col(Report.product_id).is_(None))
    elif where.product_code:
        query = query.where(Product.code == where.product_code)
    if where.county_code:
        query = query.where(Licensee.county_code == where.county_code)
    if where.filed_from:
        query = query.where(Report.created_at >= where.filed_from)
    if where.filed_to:
        query = query.where(Report.created_at < where.filed_to)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    closed_last = case((Report.status == "closed", 1), else_=0)  # open cases first, the oldest on top
    # Overdue cases: the one waiting longest on top.
    order = (col(Report.updated_at), col(Report.id)) if where.status == OVERDUE else (closed_last, col(Report.id))
    rows = session.exec(query.order_by(*order).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total


def waiting_days(report: Report, *, now: datetime) -> float:
    """How long the report has waited in its current status."""
    return (now - report.updated_at).total_seconds() / 86400


def is_overdue(report: Report, *, now: datetime, deadlines: dict[str, float]) -> bool:
    """Past the deadline that its status allows (days, from the settings); closed cases never are."""
    limit = deadlines.get(report.status)
    return limit is not None and waiting_days(report, now=now) > limit


def assign(*, session: Session, report: Report, assignee: User | None, actor: User, seen: int | None = None) -> Report:
    """seen: the assignee's id (0: nobody) as the assigning page showed it; assigned otherwise meanwhile, the
    case is left with whoever took it, rather than taken from them by a page drawn before (None: no check)."""
    # Admins read cases but do not work them (roles_required("regulator") on every step).
    if assignee is not None and (assignee.role != "regulator" or not assignee.is_active):
        raise DomainError("invalid_assignee", N_("only a regulator can take a case"))
    if report.status == "closed":
        raise Conflict("report_closed", N_("the case is closed: there is nothing left to assign"))
    if seen is not None and seen != (report.assigned_to or 0):
        raise Conflict("assigned_meanwhile", N_("the case was assigned meanwhile"))
    before = {"assigned_to": report.assigned_to}
    report.assigned_to = assignee.id if assignee else None
    session.add(report)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="report.assign",
        entity_type="report",
        entity_id=report.id,
        before=before,
        after={"assigned_to": report.assigned_to},
    )
    return report


def product_by_code(*, session: Session, code: str) -> Product:
    """The product a regulator names for a case, by its code; unknown is a field to correct (422)."""
    product = registry.find_product(session=session, code=code)
    if product is None:
        raise DomainError("unknown_product", N_("unknown product"), fields={"product_code": N_("unknown product")})
    return product


def name_product(*, session: Session, report: Report, product: Product | None, actor: User) -> Report:
    """Name the product a report without a batch concerns (None: not known), so the product filter finds it.
    A report whose code names a batch has that batch's product; a closed case is left as it was closed."""
    if report.batch_id is not None:
        raise Conflict("product_from_code", N_("the reported code names the batch, and so the product"))
    if report.status == "closed":
        raise Conflict("report_closed", N_("the case is closed: its product stays as it was"))
    new_id = product.id if product else None
    if new_id == report.product_id:  # named as it was: nothing happened, nothing to log
        return report
    before = {"product_code": _product_code(session, report.product_id)}
    report.product_id = new_id
    session.add(report)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="report.product",
        entity_type="report",
        entity_id=report.id,
        before=before,
        after={"product_code": product.code if product else None},
    )
    return report


def _product_code(session: Session, product_id: int | None) -> str | None:
    product = session.get(Product, product_id) if product_id else None
    return product.code if product else None


def get_report(*, session: Session, report_id: int) -> Report:
    report = session.get(Report, report_id)
    if report is None:
        raise NotFound("report")
    return report


HISTORY_LIMIT = 200


def code_history(*, session: Session, report: Report, limit: int = HISTORY_LIMIT) -> list[Scan]:
    """The verification history of the reported code, newest first."""
    if report.batch_id is None:
        return []
    query = select(Scan).where(*_of_code(report)).order_by(col(Scan.id).desc()).limit(limit)
    return list(session.exec(query))


def count_code_scans(*, session: Session, report: Report) -> int:
    """Every check of the reported code, however many code_history lists."""
    if report.batch_id is None:
        return 0
    return session.exec(select(func.count()).select_from(Scan).where(*_of_code(report))).one()


def _of_code(report: Report) -> tuple:
    return Scan.batch_id == report.batch_id, Scan.serial == report.serial


def _reported_label(session: Session, report: Report) -> tuple[Batch, int] | None:
    """The issued label a report names, as its batch and serial; None if it names none."""
    batch = session.get(Batch, report.batch_id) if report.batch_id else None
    if batch is None or report.serial is None or report.serial > batch.labels_issued:
        return None
    return batch, report.serial


def copy_signs_of(*, session: Session, report: Report, rules: verification.CopyRules) -> tuple[str, ...]:
    """The copy warnings the label a report names carries now, which a regulator may find unfounded."""
    label = _reported_label(session, report)
    if label is None:
        return ()
    batch, serial = label
    return verification.standing_copy_signs(session=session, batch=batch, serial=serial, rules=rules)


def lift_copy_warning(
    *, session: Session, report: Report, reason: str, actor: User, rules: verification.CopyRules
) -> ScanTally:
    """Lift the copy warning of the label the report names, found unfounded (verification.clear_copy_signs).
    The caller commits."""
    label = _reported_label(session, report)
    if label is None:
        raise Conflict("no_copy_warning", N_("the code carries no copy warning to lift"))
    batch, serial = label
    return verification.clear_copy_signs(
        session=session, batch=batch, serial=serial, reason=reason, actor=actor, rules=rules
    )

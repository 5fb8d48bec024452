"""Figures for the dashboard: scans by day, product, county and verdict, warnings and their places, open reports.

Days are China's calendar days (UTC+8, as the licences and batches count them), though the times are stored in
UTC. Every count is one SQL GROUP BY that runs on SQLite and PostgreSQL alike; where the grouped
expression carries a parameter it is computed in a subquery first, so PostgreSQL never compares two differently
numbered parameters in SELECT and GROUP BY.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import Date, Numeric, case, cast, literal_column
from sqlmodel import Session, col, func, select

from ..models import BATCH_UNITS, REPORT_STATES, Area, AuditEvent, Batch, Licensee, Product, Report, Scan, utcnow
from .registry import CHINA, china_midnight
from .reports import NO_PRODUCT, concerned_product_id, outcome_column
from .verification import GENUINE, INVALID, REVOKED, WARNING

VERDICTS = (GENUINE, WARNING, REVOKED, INVALID)
# Open reports by whole days since they were filed: (key, the age in days the bucket stays below).
AGE_BUCKETS = (("0-2", 3), ("3-7", 8), ("8-30", 31), (">30", None))
DEFAULT_DAYS = 30
MAX_DAYS = 731  # two years: a longer range is cut to its last two years


@dataclass(frozen=True)
class DateRange:
    """Whole days in China, both ends included."""

    first: date
    last: date

    @property
    def start(self) -> datetime:
        return china_midnight(self.first)

    @property
    def end(self) -> datetime:
        """The first instant after the range."""
        return china_midnight(self.last + timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Count:
    """A count under a stable key (verdict, product code, area code, status, age bucket) and its names."""

    key: str
    count: int
    name: str = ""
    name_en: str = ""


@dataclass(frozen=True)
class DayCount:
    day: date
    count: int


@dataclass(frozen=True)
class PlaceCount:
    latitude: float
    longitude: float
    count: int


@dataclass(frozen=True)
class BatchCount:
    batch_id: int
    batch_no: str
    product: str
    product_en: str
    count: int


@dataclass(frozen=True)
class QuantityRaise:
    """A correction that raised a batch's quantity once labels were out: room for more labels from one
    harvest. Told in quantities, which mean what they meant then, unlike a quota under today's rule."""

    batch_id: int
    batch_no: str
    at: datetime
    actor: str
    reason: str
    before: tuple[float, str]  # (quantity, unit)
    after: tuple[float, str]
    labels_issued: int  # when the correction was made


@dataclass
class Figures:
    """Everything the dashboard shows for one date range."""

    period: DateRange
    total_scans: int
    per_day: list[DayCount]
    per_product: list[Count]
    per_county: list[Count]
    verdicts: list[Count]
    warning_places: list[PlaceCount]
    warned_batches: list[BatchCount]
    reports_by_status: list[Count]
    reports_by_product: list[Count]
    open_reports_by_age: list[Count]
    quantity_raises: list[QuantityRaise] = field(default_factory=list)

    @property
    def open_reports(self) -> int:
        return sum(bucket.count for bucket in self.open_reports_by_age)


def date_range(*, first: date | None, last: date | None, today: date, days: int = DEFAULT_DAYS) -> DateRange:
    """The range a filter asks for: up to today by default, `days` long when the start is missing."""
    last = last or today
    first = first or last - timedelta(days=days - 1)
    if first > last:
        first, last = last, first
    if (last - first).days >= MAX_DAYS:
        first = last - timedelta(days=MAX_DAYS - 1)
    return DateRange(first, last)


def _in_range(period: DateRange):
    return (Scan.at >= period.start, Scan.at < period.end)


_CHINA_HOURS = int(CHINA.utcoffset(None).total_seconds() // 3600)  # a fixed offset: China keeps no summer time


def _china_day(session: Session, column):
    """The calendar day in China of a timestamp column, as SQL: the UTC time shifted by China's fixed offset."""
    if session.get_bind().dialect.name == "sqlite":
        # SQLite keeps the UTC time as text without an offset; date() shifts it and takes its day.
        # The seconds are cut first: with a modifier, date() rounds to milliseconds, and 15:59:59.9999 UTC
        # would round into the next day in China.
        return func.date(func.substr(column, 1, 19), literal_column(f"'{_CHINA_HOURS:+d} hours'"))
    # A timestamptz cast straight to date takes the session's time zone's day; pin it to China's offset
    # (an interval zone is a fixed offset east of UTC, unlike a POSIX '+08' that counts west).
    return cast(func.timezone(literal_column(f"INTERVAL '{_CHINA_HOURS:+d}:00'"), column), Date)


def scans_per_day(*, session: Session, period: DateRange) -> list[DayCount]:
    """Scans per day in China of the range, with days without scans as zero."""
    days = select(_china_day(session, Scan.at).label("day")).where(*_in_range(period)).subquery()
    rows = session.exec(select(days.c.day, func.count()).group_by(days.c.day))
    counted = {_as_date(day): count for day, count in rows}
    return [DayCount(day, counted.get(day, 0)) for day in (period.first + timedelta(n) for n in range(period.days))]


def _as_date(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def scans_per_product(*, session: Session, period: DateRange) -> list[Count]:
    """Scans of codes that point to a batch, per product; every product listed, most scanned first."""
    rows = session.exec(
        select(Product.id, func.count())
        .join(Batch, Batch.product_id == Product.id)
        .join(Scan, Scan.batch_id == Batch.id)
        .where(*_in_range(period))
        .group_by(Product.id)
    )
    return _per_product(session, dict(rows.all()))


def scans_per_county(*, session: Session, period: DateRange) -> list[Count]:
    """Scans of codes that point to a batch, per county of the batch's licensee; every county listed."""
    rows = session.exec(
        select(Licensee.county_code, func.count())
        .join(Batch, Batch.licensee_id == Licensee.id)
        .join(Scan, Scan.batch_id == Batch.id)
        .where(*_in_range(period))
        .group_by(Licensee.county_code)
    )
    counted = dict(rows.all())
    areas = session.exec(
        select(Area).where(col(Area.code).in_(list(counted)) | (Area.level == "county")).order_by(Area.code)
    )
    return _most_first(Count(a.code, counted.get(a.code, 0), a.name, a.name_en) for a in areas)


def _per_product(session: Session, counted: dict) -> list[Count]:
    """Counts by product id as every product's Count, most first, in the registry's order on a tie."""
    products = session.exec(select(Product).order_by(Product.id))
    return _most_first(Count(p.code, counted.get(p.id, 0), p.name, p.name_en) for p in products)


def _most_first(counts) -> list[Count]:
    return sorted(counts, key=lambda c: -c.count)  # stable: ties keep the registry's order


def verdict_mix(*, session: Session, period: DateRange) -> list[Count]:
    """Scans per verdict, in the order genuine, warning, revoked, invalid, zeros included."""
    rows = session.exec(select(Scan.verdict, func.count()).where(*_in_range(period)).group_by(Scan.verdict))
    counted = dict(rows.all())
    known = [Count(verdict, counted.pop(verdict, 0)) for verdict in VERDICTS]
    return known + [Count(verdict, count) for verdict, count in sorted(counted.items())]


def warning_places(*, session: Session, period: DateRange, digits: int = 2, limit: int = 10) -> list[PlaceCount]:
    """Where warned scans were made, for consumers who shared a place: rounded places, most warnings first."""
    places = (
        select(
            func.round(cast(Scan.latitude, Numeric), digits).label("lat"),
            func.round(cast(Scan.longitude, Numeric), digits).label("lon"),
        )
        .where(*_in_range(period), Scan.verdict == WARNING, col(Scan.latitude).is_not(None))
        .subquery()
    )
    count = func.count().label("n")
    rows = session.exec(
        select(places.c.lat, places.c.lon, count)
        .group_by(places.c.lat, places.c.lon)
        .order_by(count.desc(), places.c.lat, places.c.lon)
        .limit(limit)
    )
    return [PlaceCount(round(float(lat), digits), round(float(lon), digits), n) for lat, lon, n in rows]


def warned_batches(*, session: Session, period: DateRange, limit: int = 10) -> list[BatchCount]:
    """The batches with the most warned scans (with or without a place)."""
    count = func.count().label("n")
    rows = session.exec(
        select(Batch.id, Batch.batch_no, Product.name, Product.name_en, count)
        .join(Scan, Scan.batch_id == Batch.id)
        .join(Product, Product.id == Batch.product_id)
        .where(*_in_range(period), Scan.verdict == WARNING)
        .group_by(Batch.id, Batch.batch_no, Product.name, Product.name_en)
        .order_by(count.desc(), Batch.batch_no)
        .limit(limit)
    )
    return [BatchCount(*row) for row in rows]


def quantity_raises(*, session: Session, period: DateRange, limit: int = 20) -> list[QuantityRaise]:
    """The latest corrections in the period that raised the quantity of a batch with labels already issued:
    the quantity is the cooperative's word, and raising it after printing is worth a look."""
    events = session.exec(
        select(AuditEvent)
        .where(AuditEvent.action == "batch.correct", AuditEvent.at >= period.start, AuditEvent.at < period.end)
        .order_by(AuditEvent.id.desc())
    )
    raised = [event for event in events if _raised_after_labels(event.before or {}, event.after or {})][:limit]
    numbers = {int(event.entity_id) for event in raised}
    batch_nos = (
        dict(session.exec(select(Batch.id, Batch.batch_no).where(col(Batch.id).in_(numbers))).all()) if numbers else {}
    )
    return [
        QuantityRaise(
            batch_id=int(event.entity_id),
            batch_no=batch_nos.get(int(event.entity_id), event.entity_id),
            at=event.at,
            actor=event.actor,
            reason=event.reason,
            before=(event.before["quantity"], event.before["unit"]),
            after=(event.after["quantity"], event.after["unit"]),
            labels_issued=event.before["labels_issued"],
        )
        for event in raised
    ]


def _raised_after_labels(before: dict, after: dict) -> bool:
    try:
        kilograms = [snapshot["quantity"] * BATCH_UNITS[snapshot["unit"]] for snapshot in (before, after)]
        return before["labels_issued"] > 0 and kilograms[1] > kilograms[0]
    except (KeyError, TypeError):  # a record this code did not write
        return False


# The dashboard's report statuses: the workflow's, closed ones by the step they were closed from.
STATUS_KEYS = [*(state for state in REPORT_STATES if state != "closed"), "closed:confirmed", "closed:dismissed"]


def reports_by_status(*, session: Session, period: DateRange | None = None) -> list[Count]:
    """Reports per current status, in workflow order; with a period, only the reports filed in it. Closed
    cases count by how they ended (`closed:confirmed`, `closed:dismissed`), as a month's confirmed
    counterfeits include the cases closed since; one closed without a kept step stays `closed`."""
    status = case((Report.status == "closed", "closed:" + outcome_column()), else_=Report.status)
    query = select(status, func.count()).group_by(status)
    if period is not None:
        query = query.where(Report.created_at >= period.start, Report.created_at < period.end)
    counted = {("closed" if key == "closed:closed" else key): count for key, count in session.exec(query).all()}
    return [Count(key, counted.pop(key, 0)) for key in STATUS_KEYS] + [
        Count(key, count) for key, count in sorted(counted.items())
    ]


def reports_by_product(*, session: Session, period: DateRange) -> list[Count]:
    """Reports filed in the range per product they concern (the code's, or the one a regulator named), most
    reported first, every product listed; those of no known product last, under NO_PRODUCT."""
    concerned = (
        select(concerned_product_id().label("product_id"))
        .select_from(Report)
        .join(Batch, Batch.id == Report.batch_id, isouter=True)
        .where(Report.created_at >= period.start, Report.created_at < period.end)
        .subquery()
    )
    rows = session.exec(select(concerned.c.product_id, func.count()).group_by(concerned.c.product_id))
    counted = dict(rows.all())
    return _per_product(session, counted) + [Count(NO_PRODUCT, counted.get(None, 0))]


def open_reports_by_age(*, session: Session, now: datetime | None = None) -> list[Count]:
    """Reports not yet closed, by whole days since they were filed: 0–2, 3–7, 8–30 and more than 30."""
    now = now or utcnow()
    # Filed less than 3 days ago (2.9 days is "0-2"), less than 8, less than 31, or earlier.
    whens = [(Report.created_at > now - timedelta(days=below), key) for key, below in AGE_BUCKETS if below]
    ages = select(case(*whens, else_=AGE_BUCKETS[-1][0]).label("bucket")).where(Report.status != "closed").subquery()
    counted = dict(session.exec(select(ages.c.bucket, func.count()).group_by(ages.c.bucket)).all())
    return [Count(key, counted.get(key, 0)) for key, _below in AGE_BUCKETS]


def figures(*, session: Session, period: DateRange, now: datetime | None = None) -> Figures:
    """All the dashboard's figures for one range; the open-report ages are as of now, whatever the range."""
    per_verdict = verdict_mix(session=session, period=period)
    return Figures(
        period=period,
        total_scans=sum(v.count for v in per_verdict),
        per_day=scans_per_day(session=session, period=period),
        per_product=scans_per_product(session=session, period=period),
        per_county=scans_per_county(session=session, period=period),
        verdicts=per_verdict,
        warning_places=warning_places(session=session, period=period),
        warned_batches=warned_batches(session=session, period=period),
        reports_by_status=reports_by_status(session=session, period=period),
        reports_by_product=reports_by_product(session=session, period=period),
        open_reports_by_age=open_reports_by_age(session=session, now=now),
        quantity_raises=quantity_raises(session=session, period=period),
    )

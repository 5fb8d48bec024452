"""SQLModel tables. The shapes the API reads and returns live in api/schemas.py."""

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Column, DateTime, Index, TypeDecorator, UniqueConstraint
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """A timestamp that is always timezone-aware UTC in Python, whatever the database hands back.

    SQLite stores no zone and returns naive values; PostgreSQL returns them in the session's zone.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None:
            value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def _created() -> Field:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


PRODUCT_KINDS = ("gi_product", "gi_certification_mark", "gi_collective_mark", "public_brand")
ROLES = ("admin", "regulator", "cooperative")
STAFF = ("admin", "regulator")  # the city's people: they read every licensee's data and work the cases
BATCH_READERS = ("cooperative", *STAFF)  # a cooperative reads its own batches, the staff every one
LICENCE_STATES = ("active", "suspended", "revoked")


class Area(SQLModel, table=True):
    """An administrative area by its GB/T 2260 or statistical division code."""

    code: str = Field(primary_key=True, max_length=12)
    name: str = Field(max_length=64)
    name_en: str = Field(default="", max_length=128)
    parent_code: str | None = Field(default=None, max_length=12, index=True)
    level: str = Field(max_length=16)  # city | county | township
    latitude: float | None = None
    longitude: float | None = None
    source: str = Field(default="", max_length=200)


class Product(SQLModel, table=True):
    """A protected GI name or the regional public brand."""

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, index=True, max_length=64)
    name: str = Field(max_length=64)
    name_en: str = Field(max_length=128)
    kind: str = Field(max_length=32)
    status: str = Field(default="active", max_length=16)  # active | withdrawn
    registration_no: str = Field(default="", max_length=64)
    registered_on: date | None = None
    standard: str = Field(default="", max_length=128)
    shelf_life_days: int | None = None
    # The label quota: at most one unit label per this many kilograms of a batch.
    kg_per_label: float = Field(default=0.5)
    batch_prefix: str = Field(default="GI", max_length=8, unique=True, index=True)
    description: str = Field(default="", max_length=2000)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class ProductArea(SQLModel, table=True):
    """One area of a product's protected production area."""

    product_id: int = Field(foreign_key="product.id", primary_key=True, ondelete="CASCADE")
    area_code: str = Field(foreign_key="area.code", primary_key=True, max_length=12)


class Licensee(SQLModel, table=True):
    """A cooperative or enterprise allowed to use one or more marks."""

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=128, index=True)
    uscc: str = Field(unique=True, index=True, max_length=18)
    county_code: str = Field(foreign_key="area.code", max_length=12)
    address: str = Field(default="", max_length=200)
    contact_name: str = Field(default="", max_length=64)
    contact_phone: str = Field(default="", max_length=32)
    gtin: str | None = Field(default=None, max_length=14, unique=True, index=True)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Licence(SQLModel, table=True):
    """A licensee's right to use one product's mark for a term."""

    id: int | None = Field(default=None, primary_key=True)
    licensee_id: int = Field(foreign_key="licensee.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    valid_from: date
    valid_to: date
    state: str = Field(default="active", max_length=16)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(unique=True, index=True, max_length=254)
    password_hash: str = Field(max_length=256)
    role: str = Field(max_length=16)
    licensee_id: int | None = Field(default=None, foreign_key="licensee.id", index=True)
    is_active: bool = True
    # Part of every login cookie: raising it (logout, a new password, deactivation) ends all of them.
    session_epoch: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _created()


class ApiToken(SQLModel, table=True):
    """A bearer token, stored only as its SHA-256."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(unique=True, index=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    created_at: datetime = _created()
    expires_at: datetime = Field(sa_type=UTCDateTime)


class AuditEvent(SQLModel, table=True):
    """One change of registry state, chained to the previous event by its hash."""

    __table_args__ = (
        UniqueConstraint("prev_hash", name="uq_auditevent_prev_hash"),
        # One record's events (its history), by both: the kind alone has a handful of values.
        Index("ix_auditevent_subject", "entity_type", "entity_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _created()
    actor_id: int | None = Field(default=None, index=True)
    actor: str = Field(default="system", max_length=254)
    action: str = Field(max_length=48)
    entity_type: str = Field(max_length=32)
    entity_id: str = Field(max_length=64, index=True)
    reason: str = Field(default="", max_length=1000)
    before: dict | None = Field(default=None, sa_column=Column(JSON))
    after: dict | None = Field(default=None, sa_column=Column(JSON))
    # The unique constraint makes a forked chain impossible: two events cannot follow the same one.
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


BATCH_UNITS = {"kg": 1.0, "t": 1000.0, "jin": 0.5}  # kilograms per unit; 斤 is half a kilogram


class Batch(SQLModel, table=True):
    """One harvest or production run of a licensed product."""

    id: int | None = Field(default=None, primary_key=True)
    batch_no: str = Field(unique=True, index=True, max_length=32)
    licensee_id: int = Field(foreign_key="licensee.id", index=True)
    product_id: int = Field(foreign_key="product.id", index=True)
    licence_id: int = Field(foreign_key="licence.id")
    quantity: float
    unit: str = Field(max_length=8)
    harvested_on: date = Field(index=True)
    origin_code: str = Field(foreign_key="area.code", max_length=12)
    grade: str = Field(default="", max_length=32)
    notes: str = Field(default="", max_length=1000)
    inspection_cert: str = Field(default="", max_length=64)
    status: str = Field(default="active", max_length=16)  # active | recalled
    recall_reason: str = Field(default="", max_length=1000)
    recalled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Unit labels 1..labels_issued exist; codes are signed, so nothing per label is stored.
    labels_issued: int = Field(default=0)
    # The registration form's one-time token (batches.register_batch): a form sent twice makes one batch.
    form_token: str | None = Field(default=None, max_length=32, unique=True, index=True)
    # The API request an idempotency key came with (batches.KeyedRequest): the key sent again with another
    # request is refused, not taken for a retry.
    request_digest: str | None = Field(default=None, max_length=16)
    created_at: datetime = _created()
    updated_at: datetime = _created()


class LabelIssue(SQLModel, table=True):
    """One issuing of a run of unit labels: a single row however many labels it covers."""

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(foreign_key="batch.id", index=True)
    first_serial: int
    last_serial: int
    key_id: int
    issued_by: int | None = Field(default=None, foreign_key="user.id")
    issued_at: datetime = _created()


class Scan(SQLModel, table=True):
    """One verification of a code, appended; never the raw IP."""

    __table_args__ = (Index("ix_scan_batch_serial", "batch_id", "serial"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int | None = Field(default=None, foreign_key="batch.id")
    serial: int | None = None
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True)
    verdict: str = Field(max_length=16, index=True)
    reasons: list | None = Field(default=None, sa_column=Column(JSON))
    channel: str = Field(default="page", max_length=8)  # page | api | gs1
    ip_hash: str = Field(default="", max_length=64)
    ua_family: str = Field(default="", max_length=32)
    # Only when the consumer shares a place, rounded to about a kilometre.
    latitude: float | None = None
    longitude: float | None = None


REPORT_STATES = ("new", "triaged", "investigating", "confirmed", "dismissed", "closed")


class Report(SQLModel, table=True):
    """A consumer's counterfeit report (举报); filed without an account."""

    id: int | None = Field(default=None, primary_key=True)
    tracking_no: str = Field(unique=True, index=True, max_length=24)
    code: str = Field(default="", max_length=64)
    batch_id: int | None = Field(default=None, foreign_key="batch.id", index=True)
    serial: int | None = None
    # For a report whose code names no batch, the product it concerns as a regulator named it on the case;
    # otherwise unused: the batch says (reports.concerned_product_id).
    product_id: int | None = Field(default=None, foreign_key="product.id", index=True)
    # What the reporter wrote (at most 4,000 characters) and, below it, a label URL they pasted (reports.py).
    description: str = Field(max_length=4400)
    place: str = Field(default="", max_length=200)
    # Personal data: kept only until the case is closed plus the retention period.
    contact: str = Field(default="", max_length=200)
    status: str = Field(default="new", max_length=16, index=True)
    assigned_to: int | None = Field(default=None, foreign_key="user.id")
    created_at: datetime = _created()
    updated_at: datetime = _created()
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ReportPhoto(SQLModel, table=True):
    """A re-encoded JPEG of a report, stored under GI_UPLOAD_DIR by a random name."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    filename: str = Field(unique=True, max_length=64)
    width: int
    height: int
    size: int


class ReportEvent(SQLModel, table=True):
    """One step of a report's workflow, with who, when and the note."""

    id: int | None = Field(default=None, primary_key=True)
    report_id: int = Field(foreign_key="report.id", index=True)
    from_status: str = Field(default="", max_length=16)
    to_status: str = Field(max_length=16)
    note: str = Field(default="", max_length=2000)
    actor_id: int | None = Field(default=None, foreign_key="user.id")
    at: datetime = _created()


class ScanTally(SQLModel, table=True):
    """How often one code has been scanned, and when first: one row per code, bumped by an upsert.

    The scan log could answer this with count(*), but that grows with every scan of a copied label and
    two consumers scanning at once would read the same number; the row lock of the upsert gives each
    scan its own count.
    """

    batch_id: int = Field(foreign_key="batch.id", primary_key=True)
    serial: int = Field(primary_key=True)
    count: int = 0
    first_at: datetime = Field(sa_type=UTCDateTime)
    # When two of its shared places were first found too far apart: the label has been copied, and
    # every later scan says so, with or without a place of its own.
    far_apart_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # A regulator found its copy warning unfounded (verification.clear_copy_signs): the scans counted until
    # then, and the places shared before then, are no evidence any more. The count consumers read stays whole.
    cleared_count: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    cleared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BatchSequence(SQLModel, table=True):
    """The last batch number given under a prefix such as AY-2026-; bumped by an upsert, so no two batches
    get the same number and no savepoint is needed (SQLite's driver would commit a lone savepoint)."""

    prefix: str = Field(primary_key=True, max_length=16)
    last: int = 0

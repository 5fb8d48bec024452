"""The shapes the API reads and returns, separate from the tables."""

import re
from datetime import date, datetime
from typing import Annotated, Literal

from flask import request
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import PydanticCustomError
from sqlmodel import Session

from ..domain import DomainError, registry, reports
from ..domain.accounts import MAX_PASSWORD_LENGTH

_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_day(value: object) -> date:
    """Only a string YYYY-MM-DD: pydantic's own date also takes a Unix time, a datetime string at midnight
    and 20261120, none of which the contract's dates are."""
    if isinstance(value, str) and _ISO_DAY.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:  # 2026-02-30
            pass
    raise PydanticCustomError("iso_date", "a date as YYYY-MM-DD")


# A date in an input: the description still says string, format date, as pydantic describes a date.
IsoDate = Annotated[date, BeforeValidator(_iso_day)]


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenCreate(Input):
    email: str = Field(max_length=254)
    # As typed, spaces and all, as the login form takes it: a space is a character of a password.
    password: Annotated[str, StringConstraints(strip_whitespace=False, max_length=MAX_PASSWORD_LENGTH)]


class LicenseeCreate(Input):
    name: str = Field(min_length=1, max_length=128)
    uscc: str = Field(min_length=1, max_length=40)  # as pasted, in groups: the domain removes the spaces
    county: str = Field(min_length=1, max_length=12)
    address: str = Field(default="", max_length=200)
    contact_name: str = Field(default="", max_length=64)
    contact_phone: str = Field(default="", max_length=32)
    gtin: str | None = Field(default=None, max_length=14)


class LicenceCreate(Input):
    product_code: str = Field(min_length=1, max_length=64)
    valid_from: IsoDate
    valid_to: IsoDate


class LicenceAction(Input):
    reason: str = Field(min_length=1, max_length=1000)


class BatchCreate(Input):
    product_code: str = Field(min_length=1, max_length=64)
    # Strict: true or "100" is no quantity (a JSON integer still is); the domain bounds the label quota.
    quantity: float = Field(gt=0, le=1e9, allow_inf_nan=False, strict=True)
    unit: Literal["kg", "t", "jin"]
    harvested_on: IsoDate
    origin_code: str = Field(min_length=1, max_length=12)
    grade: str = Field(default="", max_length=32)
    notes: str = Field(default="", max_length=1000)
    inspection_cert: str = Field(default="", max_length=64)


def _without_defaults(schema: dict) -> None:
    """The description shows no null default: null is not a value a client may send."""
    for field in schema["properties"].values():
        field.pop("default", None)


class BatchCorrect(Input):
    """The details to correct (those left out stay as they are) and why, for the audit log.

    Defaults are not validated, so a detail left out is None, while one sent as null fails its type: null
    is refused rather than read as "unchanged" (clear a text with "")."""

    model_config = ConfigDict(**Input.model_config, json_schema_extra=_without_defaults)

    reason: str = Field(min_length=1, max_length=1000)
    quantity: float = Field(default=None, gt=0, le=1e9, allow_inf_nan=False, strict=True)
    unit: Literal["kg", "t", "jin"] = None
    harvested_on: IsoDate = None
    origin_code: str = Field(default=None, min_length=1, max_length=12)
    grade: str = Field(default=None, max_length=32)
    notes: str = Field(default=None, max_length=1000)
    inspection_cert: str = Field(default=None, max_length=64)


def _whole_number(value: object) -> object:
    """2.0 as 2: JSON Schema's integer is any number without a fraction (a Python client's json.dumps(4 / 2))."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


# Strict otherwise: true and "2" are no count.
JsonInt = Annotated[int, BeforeValidator(_whole_number)]
OptionalJsonInt = Annotated[int | None, BeforeValidator(_whole_number)]


class LabelsCreate(Input):
    count: JsonInt = Field(ge=1, le=1_000_000, strict=True)
    labels_issued: OptionalJsonInt = Field(
        default=None,
        ge=0,
        le=1_000_000_000,
        strict=True,
        description="The labels issued as the client last saw them: given, labels are issued only if none "
        "were issued since (409 labels_issued_meanwhile), so a retried request cannot issue twice.",
    )


class Recall(Input):
    reason: str = Field(
        min_length=1,
        max_length=1000,
        description="shown to every consumer who scans the batch's labels: no names or case details",
    )


class BatchPublic(BaseModel):
    id: int
    batch_no: str
    status: str
    product_code: str
    licensee_id: int
    quantity: float
    unit: str
    harvested_on: date
    origin_code: str
    grade: str
    notes: str
    inspection_cert: str
    labels_issued: int
    label_quota: int
    scan_count: int
    batch_url: str
    recalled_at: datetime | None = None


class LabelsIssued(BaseModel):
    first_serial: int
    last_serial: int
    count: int


class LabelPublic(BaseModel):
    serial: int
    code: str
    url: str
    gs1_url: str | None = Field(
        default=None, description="the label as a GS1 Digital Link, signed (?8030=code); where the licensee has a GTIN"
    )


class ReportCreate(Input):
    description: str = Field(min_length=reports.DESCRIPTION_MIN, max_length=reports.DESCRIPTION_MAX)
    code: str = Field(
        default="",
        max_length=reports.CODE_MAX,
        description="the label's code (at most 64 characters), or the URL its QR carries",
    )
    place: str = Field(default="", max_length=200)
    contact: str = Field(default="", max_length=200)


class ReportFiled(BaseModel):
    tracking_no: str


class ReportPublicStatus(BaseModel):
    tracking_no: str
    status: str
    updated_at: datetime
    outcome: str = Field(
        description="what the case came to: its status, or for a closed case the status it closed from"
    )


class ReportStep(Input):
    status: Literal["new", "triaged", "investigating", "confirmed", "dismissed", "closed"]
    note: str = Field(min_length=1, max_length=reports.NOTE_MAX)


class CopyWarningLift(Input):
    reason: str = Field(min_length=1, max_length=1000, description="why the warning is found unfounded")


class CopyWarningLifted(BaseModel):
    batch_no: str
    serial: int = Field(description="the label whose warning was lifted (0: the batch code)")
    cleared_count: int = Field(description="its scans so far, no longer counted towards the warning")


class ReportProduct(Input):
    # A product's code, or null: not known. Only for a report whose code names no batch.
    product_code: str | None = Field(min_length=1, max_length=64)


class ReportEventPublic(BaseModel):
    from_status: str
    to_status: str
    note: str
    actor_id: int | None
    at: datetime


class ReportFull(BaseModel):
    """A report with its evidence, for regulators only."""

    tracking_no: str
    status: str
    code: str
    batch_id: int | None
    serial: int | None
    description: str
    place: str
    contact: str
    assigned_to: int | None
    created_at: datetime
    updated_at: datetime
    photos: list[str]
    events: list[ReportEventPublic]
    # What the code points to, as the queue shows it: none for a report whose code names no batch (its
    # product, though, where a regulator has named it).
    batch_no: str | None = None
    product_code: str | None = None
    licensee_uscc: str | None = None
    county: str | None = None


class ScanCount(BaseModel):
    count: int
    first_at: datetime | None


class VerifyProduct(BaseModel):
    code: str
    name: str
    name_en: str
    kind: str


class VerifyLicensee(BaseModel):
    name: str
    uscc: str


class VerifyBatch(BaseModel):
    batch_no: str
    harvested_on: date
    status: str
    origin: "AreaPublic"


class VerifyPublic(BaseModel):
    verdict: Literal["genuine", "warning", "revoked", "invalid"]
    reasons: list[str]
    scans: ScanCount
    product: VerifyProduct | None = None
    licensee: VerifyLicensee | None = None
    batch: VerifyBatch | None = None
    serial: int | None = None


class AreaPublic(BaseModel):
    code: str
    name: str


class ProductPublic(BaseModel):
    code: str
    name: str
    name_en: str
    kind: str
    status: str
    registration_no: str
    standard: str
    production_area: list[AreaPublic]


class LicencePublic(BaseModel):
    id: int
    product_code: str
    status: Literal["active", "suspended", "revoked", "expired"]
    in_force: bool  # active and within its term today (China's day)
    valid_from: date
    valid_to: date


class LicenseePublic(BaseModel):
    id: int
    name: str
    uscc: str
    county: str
    licences: list[LicencePublic]


class TokenPublic(BaseModel):
    token: str
    role: str
    expires_at: datetime


def parse_body(shape: type[Input]) -> Input:
    """The request's JSON body as `shape`, or a 400/415/422 error naming each bad field."""
    if not request.is_json:
        raise DomainError("unsupported_media_type", "send a JSON body (Content-Type: application/json)", status=415)
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise DomainError("bad_request", "the body is not a JSON object", status=400)
    return validate(shape, payload)


def idempotency_key() -> str | None:
    """The request's Idempotency-Key header (IETF httpapi draft; quoted as a structured string or bare),
    None without one; 400 if it is empty, longer than 255 characters or not printable ASCII."""
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]
    if not key or len(key) > 255 or not all(" " <= char <= "~" for char in key):
        why = "an Idempotency-Key is 1 to 255 printable ASCII characters"
        raise DomainError("bad_idempotency_key", why, fields={"Idempotency-Key": why}, status=400)
    return key


def validate(shape: type[Input], payload: dict) -> Input:
    """`payload` as `shape`, or a 422 naming each bad field."""
    try:
        return shape.model_validate(payload)
    except ValidationError as error:
        fields = {".".join(str(part) for part in e["loc"]) or "body": e["msg"] for e in error.errors()}
        raise DomainError("invalid_fields", "some fields are missing or malformed", fields=fields) from None


VerifyBatch.model_rebuild()


# A query's number as the description's integer and number are written: int() and float() also read
# 1_0 as ten, a full-width １, and numbers padded with spaces.
_QUERY_NUMBER = {
    int: re.compile(r"-?[0-9]+"),
    float: re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?"),
}


def _query_number(name: str, kind, *, low=None, high=None):
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        if not _QUERY_NUMBER[kind].fullmatch(raw):
            raise ValueError(raw)
        value = kind(raw)
    except ValueError:
        raise DomainError("invalid_query", f"{name} must be a number", fields={name: "not a number"}) from None
    if (low is not None and value < low) or (high is not None and value > high) or value != value:
        raise DomainError("invalid_query", f"{name} is out of range", fields={name: f"between {low} and {high}"})
    return value


def date_query(name: str) -> date | None:
    """?name=YYYY-MM-DD, strict: a date the API cannot read is refused, not ignored, and so is one Python reads
    but the contract does not write (20261120, 2026-W47-5)."""
    raw = request.args.get(name)
    if raw is None:
        return None
    try:
        day = _iso_day(raw)
    except PydanticCustomError:
        raise DomainError("invalid_query", f"{name} must be a date, YYYY-MM-DD", fields={name: "YYYY-MM-DD"}) from None
    if not registry.FILTER_FIRST_DAY <= day <= registry.FILTER_LAST_DAY:
        span = f"from {registry.FILTER_FIRST_DAY} to {registry.FILTER_LAST_DAY}"
        raise DomainError("invalid_query", f"{name} is out of range", fields={name: span})
    return day


def date_span_query(first: str = "from", last: str = "to") -> tuple[date | None, date | None]:
    """?from=&to= as date_query reads each; a start after the end is refused, not read as an empty span
    (the pages swap the two and say so, which a program would not read)."""
    start, end = date_query(first), date_query(last)
    if start and end and start > end:
        raise DomainError("invalid_query", f"{first} is after {last}", fields={last: f"on or after {first} ({start})"})
    return start, end


def sheet_query() -> dict:
    """?first=&last=&batch_code= of a label sheet: the serials on it and whether the batch code leads."""
    return {
        "first": _query_number("first", int, low=1, high=10**9) or 1,
        "last": _query_number("last", int, low=1, high=10**9),
        "include_batch_code": choice_query("batch_code", ("0", "1")) == "1",
    }


# ?status= of the reports list: a workflow status, every open one, or the overdue ones.
REPORT_FILTER_STATES = reports.FILTER_STATES


def choice_query(name: str, choices: tuple[str, ...]) -> str:
    """?name= as one of `choices`, or "" when absent: a value outside them is refused, not read as "all",
    and so is an empty one (?status=), which the description's enum does not hold either."""
    value = request.args.get(name)
    if value is None:
        return ""
    if value not in choices:
        listed = ", ".join(choices)
        raise DomainError("invalid_query", f"{name} must be one of {listed}", fields={name: listed})
    return value


def product_query(*, session: Session, also: str = "") -> str:
    """?product= as a registered product's code, or "" when absent: an unknown code is refused, not read as a
    filter nothing matches. `also`: a value with a meaning of its own (the reports' none)."""
    code = request.args.get("product", "")
    if code and code != also and registry.find_product(session=session, code=code) is None:
        raise DomainError(
            "invalid_query", "product must be a registered product's code", fields={"product": "unknown product"}
        )
    return code


def county_query(*, session: Session) -> str:
    """?county= as a county's code (512021), or "" when absent: an unknown one is refused, as product_query."""
    code = request.args.get("county", "")
    if code and code not in {county.code for county in registry.counties(session=session)}:
        raise DomainError(
            "invalid_query", "county must be a county's code, such as 512021", fields={"county": code[:12]}
        )
    return code


def page_query(*, max_per_page: int = 200, default_per_page: int = 50) -> tuple[int, int]:
    """?page= and ?per_page= for the API: strict, so a client learns of its mistake instead of a guess."""
    page = _query_number("page", int, low=1, high=10**9) or 1
    per_page = _query_number("per_page", int, low=1, high=max_per_page) or default_per_page
    return page, per_page


def place_query() -> tuple[float, float] | None:
    """?lat=&lon=: both or neither, within the globe."""
    lat = _query_number("lat", float, low=-90, high=90)
    lon = _query_number("lon", float, low=-180, high=180)
    if (lat is None) != (lon is None):
        raise DomainError("invalid_query", "give lat and lon together", fields={"lat": "with lon", "lon": "with lat"})
    return (lat, lon) if lat is not None else None


def page_of(items: list, *, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}

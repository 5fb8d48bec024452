"""The shapes the API reads and returns, separate from the tables."""

from datetime import date, datetime

from flask import request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..domain import DomainError


class Input(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class TokenCreate(Input):
    email: str = Field(max_length=254)
    password: str = Field(max_length=200)


class LicenseeCreate(Input):
    name: str = Field(min_length=1, max_length=128)
    uscc: str = Field(min_length=1, max_length=18)
    county: str = Field(min_length=1, max_length=12)
    address: str = Field(default="", max_length=200)
    contact_name: str = Field(default="", max_length=64)
    contact_phone: str = Field(default="", max_length=32)
    gtin: str | None = Field(default=None, max_length=14)


class LicenceCreate(Input):
    product_code: str = Field(min_length=1, max_length=64)
    valid_from: date
    valid_to: date


class LicenceAction(Input):
    reason: str = Field(min_length=1, max_length=1000)


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
    status: str
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
    try:
        return shape.model_validate(payload)
    except ValidationError as error:
        fields = {".".join(str(part) for part in e["loc"]) or "body": e["msg"] for e in error.errors()}
        raise DomainError("invalid_fields", "some fields are missing or malformed", fields=fields) from None


def page_of(items: list, *, total: int, page: int, per_page: int) -> dict:
    return {"items": items, "total": total, "page": page, "per_page": per_page}

"""The OpenAPI 3.1 description of the API, built from the same pydantic shapes the endpoints use."""

import re
from dataclasses import dataclass, field

from flask import render_template, request
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from ..domain import DomainError, batches
from ..domain.labels import GRIDS
from ..models import BATCH_READERS, ROLES, STAFF
from . import api
from . import schemas as s

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "fields"],
            "properties": {
                "code": {"type": "string", "pattern": "^[a-z_]+$"},
                "message": {"type": "string"},
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}
BODY_ERRORS = (400, 413, 415, 422)
AUTH_ERRORS = (401, 403)
BINARY = {"type": "string", "format": "binary"}


@dataclass(frozen=True)
class Op:
    method: str
    path: str
    summary: str
    ok: int = 200
    answer: type[BaseModel] | dict | None = None
    body: type[BaseModel] | None = None
    roles: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    query: tuple[dict, ...] = ()  # parameters besides the path's: in the query, or a header
    media: str = "application/json"
    tag: str = "registry"
    extra_media: dict = field(default_factory=dict)
    multipart: dict | None = None  # the body's schema as multipart/form-data too (files beside the fields)


def _with_photos(model: type[BaseModel]) -> dict:
    """A form's fields as multipart/form-data, with up to three photo files beside them. One object, not
    an allOf: the model forbids other properties, which an allOf would apply to the photos too."""
    schema = model.model_json_schema()
    file = {
        "type": "string",
        "contentMediaType": "application/octet-stream",
        "description": "a JPEG, HEIC/HEIF, PNG, WebP, GIF or BMP image, kept as a JPEG without its metadata",
    }
    schema["properties"]["photos"] = {"type": "array", "items": file, "maxItems": 3}
    return schema


def _page(model: type[BaseModel]) -> dict:
    return {
        "type": "object",
        "required": ["items", "total", "page", "per_page"],
        "properties": {
            "items": {"type": "array", "items": {"$ref": f"#/components/schemas/{model.__name__}"}},
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 0},
        },
    }


def _q(name: str, schema: dict, description: str = "") -> dict:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _paging(max_per_page: int = 200) -> tuple[dict, ...]:
    return (
        _q("page", {"type": "integer", "minimum": 1, "maximum": 10**9}),
        _q("per_page", {"type": "integer", "minimum": 1, "maximum": max_per_page}),
    )


PAGING = _paging()
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    "description": "Sent again with the same key and body, the request answers with the batch the first one "
    "made (header Idempotent-Replayed: true) and registers none; with another body, 422 idempotency_key_reused.",
}
BATCH = "/batches/{batch_id}"

OPERATIONS = [
    Op(
        "post",
        "/tokens",
        "A bearer token for an account",
        201,
        s.TokenPublic,
        s.TokenCreate,
        errors=(401, 429),
        tag="auth",
    ),
    Op(
        "delete",
        "/tokens/current",
        "Revoke the token presented (the API's logout)",
        answer={"type": "object", "required": ["revoked"], "properties": {"revoked": {"const": True}}},
        roles=ROLES,
        tag="auth",
    ),
    Op("get", "/products", "Products and brands with their areas", answer=_page(s.ProductPublic), query=PAGING),
    Op(
        "get",
        "/licensees",
        "The public directory of licensees",
        answer=_page(s.LicenseePublic),
        query=PAGING
        + (_q("q", {"type": "string"}, "name or USCC"), _q("product", {"type": "string"}, "a product's code")),
    ),
    Op("get", "/licensees/{licensee_id}", "One licensee with its licences", answer=s.LicenseePublic, errors=(404,)),
    Op("post", "/licensees", "Register a licensee", 201, s.LicenseePublic, s.LicenseeCreate, ("admin",), errors=(409,)),
    Op(
        "post",
        "/licensees/{licensee_id}/licences",
        "Grant a licence",
        201,
        s.LicencePublic,
        s.LicenceCreate,
        ("admin",),
        errors=(404, 409),
    ),
    *[
        Op(
            "post",
            f"/licences/{{licence_id}}/{action}",
            f"{action.capitalize()} a licence",
            200,
            s.LicencePublic,
            s.LicenceAction,
            STAFF,
            errors=(404, 409),
        )
        for action in ("suspend", "reinstate", "revoke")
    ],
    Op(
        "post",
        "/batches",
        "Register a batch (GI rules apply)",
        201,
        s.BatchPublic,
        s.BatchCreate,
        ("cooperative",),
        tag="batches",
        query=(IDEMPOTENCY_KEY,),
    ),
    Op(
        "get",
        "/batches",
        "Batches (a cooperative sees its own)",
        answer=_page(s.BatchPublic),
        roles=BATCH_READERS,
        tag="batches",
        query=PAGING
        + (
            _q("product", {"type": "string"}, "a product's code"),
            _q("status", {"type": "string", "enum": list(batches.BATCH_STATES)}),
            _q("q", {"type": "string"}),
        ),
    ),
    Op(
        "get",
        BATCH,
        "One batch",
        answer=s.BatchPublic,
        roles=BATCH_READERS,
        errors=(404,),
        tag="batches",
    ),
    Op(
        "patch",
        BATCH,
        "Correct a batch's details (harvest date, origin and unit only before labels are issued)",
        answer=s.BatchPublic,
        body=s.BatchCorrect,
        roles=("cooperative",),
        errors=(404, 409),
        tag="batches",
    ),
    Op(
        "post",
        f"{BATCH}/labels",
        "Issue unit labels",
        201,
        s.LabelsIssued,
        s.LabelsCreate,
        ("cooperative",),
        errors=(404, 409),
        tag="batches",
    ),
    Op(
        "get",
        f"{BATCH}/labels",
        "The issued labels as JSON, CSV or a PDF sheet",
        answer=_page(s.LabelPublic),
        roles=BATCH_READERS,
        errors=(404, 409, 422),
        tag="batches",
        query=_paging(1000)
        + (
            _q("format", {"type": "string", "enum": ["json", "csv", "pdf"]}),
            _q("grid", {"type": "string", "enum": sorted(GRIDS)}),
            _q("first", {"type": "integer", "minimum": 1, "maximum": 10**9}, "pdf: the first serial on the sheet"),
            _q("last", {"type": "integer", "minimum": 1, "maximum": 10**9}, "pdf: the last serial on the sheet"),
            _q("batch_code", {"type": "string", "enum": ["0", "1"]}, "pdf: 1 starts the sheet with the batch code"),
        ),
        extra_media={"text/csv": BINARY, "application/pdf": BINARY},
    ),
    Op(
        "get",
        f"{BATCH}/qr.png",
        "The batch's own QR code",
        media="image/png",
        answer=BINARY,
        roles=BATCH_READERS,
        errors=(404,),
        tag="batches",
    ),
    Op(
        "get",
        f"{BATCH}/qr.svg",
        "The batch's own QR code",
        media="image/svg+xml",
        answer=BINARY,
        roles=BATCH_READERS,
        errors=(404,),
        tag="batches",
    ),
    Op(
        "get",
        f"{BATCH}/epcis",
        "The batch's events as an EPCIS 2.0 JSON-LD document",
        media="application/ld+json",
        answer={"type": "object", "required": ["@context", "type", "schemaVersion", "epcisBody"]},
        roles=BATCH_READERS,
        errors=(404,),
        tag="batches",
    ),
    Op(
        "post",
        f"{BATCH}/recall",
        "Recall a batch",
        200,
        {
            "type": "object",
            "required": ["id", "status"],
            "properties": {"id": {"type": "integer"}, "status": {"const": "recalled"}},
        },
        s.Recall,
        ("cooperative", "regulator"),
        errors=(404, 409),
        tag="batches",
    ),
    Op(
        "get",
        "/verify/{code}",
        "Verify a code and record the scan",
        answer=s.VerifyPublic,
        errors=(404, 422, 429),
        query=(
            _q("lat", {"type": "number", "minimum": -90, "maximum": 90}),
            _q("lon", {"type": "number", "minimum": -180, "maximum": 180}),
        ),
        tag="consumers",
    ),
    Op(
        "post",
        "/reports",
        "File a counterfeit report (JSON, or multipart with photos)",
        201,
        s.ReportFiled,
        s.ReportCreate,
        errors=(429,),
        multipart=_with_photos(s.ReportCreate),
        tag="consumers",
    ),
    Op(
        "get",
        "/reports/{tracking_no}",
        "A report's public status",
        answer=s.ReportPublicStatus,
        errors=(404,),
        tag="consumers",
    ),
    Op(
        "get",
        "/reports",
        "Reports with their evidence",
        answer=_page(s.ReportFull),
        roles=STAFF,
        query=PAGING
        + (
            _q("status", {"type": "string", "enum": list(s.REPORT_FILTER_STATES)}, "a status, open or overdue"),
            _q("product", {"type": "string"}, "a product's code, or none: the reports of no known product"),
            _q("county", {"type": "string"}, "a county's code, of the licensee"),
            _q("from", {"type": "string", "format": "date"}, "filed on or after this day (China)"),
            _q("to", {"type": "string", "format": "date"}, "filed on or before this day (China); before from is 422"),
            _q("q", {"type": "string"}, "a part of the tracking number (its first 24 characters count)"),
        ),
        tag="regulators",
    ),
    Op(
        "get",
        "/reports/{tracking_no}/photos/{name}",
        "One photo of a report (re-encoded JPEG)",
        media="image/jpeg",
        answer=BINARY,
        roles=STAFF,
        errors=(404,),
        tag="regulators",
    ),
    Op(
        "patch",
        "/reports/{tracking_no}",
        "Move a report along the workflow",
        200,
        s.ReportFull,
        s.ReportStep,
        ("regulator",),
        errors=(404, 409),
        tag="regulators",
    ),
    Op(
        "put",
        "/reports/{tracking_no}/product",
        "Name the product a report without a registry code concerns (null: not known)",
        200,
        s.ReportFull,
        s.ReportProduct,
        ("regulator",),
        errors=(404, 409),
        tag="regulators",
    ),
    Op(
        "post",
        "/reports/{tracking_no}/copy-warning/lift",
        "Lift the copy warning of the label a report names, found unfounded: its scans so far stop counting",
        200,
        s.CopyWarningLifted,
        s.CopyWarningLift,
        ("regulator",),
        errors=(404, 409),
        tag="regulators",
    ),
]

# A text in the path is one segment: an empty one (/reports//product) or a dot segment, which clients
# resolve (/reports/./product), names another address, one that may not take the method (an undocumented 405).
_SEGMENT = r"^(?!\.\.?$)[^/]+$"
_PATH_PARAMS = {
    "licensee_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    "licence_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    "batch_id": {"type": "integer", "minimum": 1, "maximum": 999_999_999},
    "code": {"type": "string", "maxLength": 64, "pattern": _SEGMENT},
    "tracking_no": {"type": "string", "maxLength": 24, "pattern": _SEGMENT},
    "name": {"type": "string", "maxLength": 64, "pattern": _SEGMENT},
}


def _models() -> list[type[BaseModel]]:
    found = []
    for op in OPERATIONS:
        for shape in (op.answer, op.body):
            if isinstance(shape, type) and shape not in found:
                found.append(shape)
    return found + [
        m for m in (s.ProductPublic, s.LicenseePublic, s.BatchPublic, s.LabelPublic, s.ReportFull) if m not in found
    ]


def _schema_of(shape) -> dict:
    if isinstance(shape, type):
        return {"$ref": f"#/components/schemas/{shape.__name__}"}
    return shape or {"type": "object"}


def _responses(op: Op) -> dict:
    content = {op.media: {"schema": _schema_of(op.answer)}}
    content.update({media: {"schema": schema} for media, schema in op.extra_media.items()})
    responses = {str(op.ok): {"description": "success", "content": content}}
    codes = set(op.errors) | (set(BODY_ERRORS) if op.body else set()) | (set(AUTH_ERRORS) if op.roles else set())
    codes.add(400)  # a NUL character anywhere in the request, path and query too (security.py)
    # A malformed or out-of-range query parameter, and on every operation, those declaring none too, one
    # the operation does not know (refuse_unknown_query_parameters).
    codes.add(422)
    for code in sorted(codes):
        responses[str(code)] = {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    return responses


def _operation_id(op: Op) -> str:
    """get_batches_batch_id_qr_png: an identifier every client generator takes (no dots, no braces)."""
    return re.sub(r"\W+", "_", f"{op.method}_{op.path.strip('/')}").strip("_")


def _operation(op: Op) -> dict:
    names = [part[1:-1] for part in op.path.split("/") if part.startswith("{")]
    body = {
        "summary": op.summary,
        "operationId": _operation_id(op),
        "tags": [op.tag],
        "parameters": [{"name": n, "in": "path", "required": True, "schema": _PATH_PARAMS[n]} for n in names]
        + list(op.query),
        "responses": _responses(op),
    }
    if op.body is not None:
        content = {"application/json": {"schema": _schema_of(op.body)}}
        if op.multipart is not None:
            content["multipart/form-data"] = {"schema": op.multipart}
        body["requestBody"] = {"required": True, "content": content}
    if op.roles:
        body["security"] = [{"bearerAuth": []}]
        body["description"] = "Roles: " + ", ".join(op.roles)
    return body


def build_spec() -> dict:
    _, definitions = models_json_schema(
        [(m, "validation") for m in _models()], ref_template="#/components/schemas/{model}"
    )
    components = dict(definitions.get("$defs", {}))
    components["Error"] = ERROR
    paths: dict = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "gi-registry API",
            "version": "1.0.0",
            "description": "Ziyang geographical-indication registry: register, batches, labels, "
            "verification and counterfeit reports (CONTRACT.md).",
        },
        "servers": [{"url": "/api/v1"}],
        "paths": paths,
        "components": {"schemas": components, "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


@api.get("/openapi.json")
def openapi_json():
    return build_spec()


def docs_page():
    """A human page listing every operation; no script, no CDN."""
    return render_template("api_docs.html", spec=build_spec(), operations=OPERATIONS)


_RULE_PART = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def declared_query(rule: str, method: str, view_args: dict) -> set[str] | None:
    """The query parameters the description declares for this route, or None for a route it does not describe."""
    path = _RULE_PART.sub(lambda m: f"{{{m.group(1)}}}", rule.removeprefix("/api/v1"))
    # Routes with a fixed choice (e.g. the licence action) are described once per choice.
    path = path.format(
        **{name: (value if name not in _PATH_PARAMS else f"{{{name}}}") for name, value in view_args.items()}
    )
    for op in OPERATIONS:
        if op.path == path and op.method == method.lower():
            return {param["name"] for param in op.query}
    return None


@api.before_request
def refuse_unknown_query_parameters():
    """A parameter the API does not know is a client's mistake (a typo in `per_page`, say), and so is one given
    twice: say so."""
    if request.url_rule is None:
        return None
    known = declared_query(request.url_rule.rule, request.method, request.view_args or {})
    unknown = sorted(set(request.args) - known) if known is not None else []
    if unknown:
        raise DomainError(
            "unknown_query_parameter",
            "unknown query parameter: " + ", ".join(unknown)[:200],
            fields={name[:40]: "unknown" for name in unknown[:5]},
        )
    # None takes several values: the first was used and the others dropped, so an order decided the answer.
    repeated = sorted(name for name, values in request.args.lists() if len(values) > 1)
    if repeated:
        raise DomainError(
            "repeated_query_parameter",
            "query parameter given more than once: " + ", ".join(repeated)[:200],
            fields={name[:40]: "given more than once" for name in repeated[:5]},
        )
    return None

"""What consumers send in, bound to the request: a scan to verify and record, a counterfeit report to file.

Shared by the scan pages (web/consumer.py) and the JSON API (api/consumer_api.py), so both record the
same scan and spend the same report budget.
"""

from flask import current_app, request
from werkzeug.datastructures import FileStorage

from .budgets import spend_report_budget
from .db import get_session
from .domain import reports, verification
from .extensions import client_key, code_keys, copy_rules
from .models import Report


def client_digest() -> str:
    """The client's address (an IPv6 address's /64, extensions.client_key) as a keyed hash: repeat scans
    can be told apart, the address is never kept. Made once per request: the scan page signs its language
    token with it as well as recording it."""
    environ = request.environ  # the request's own, unlike g, which an outer app context can share
    if "gi.client_digest" not in environ:
        environ["gi.client_digest"] = verification.ip_digest(client_key(), salt=current_app.config["SECRET_KEY"])
    return environ["gi.client_digest"]


def counts_as_scan() -> bool:
    """A GET from a person's browser or app counts; a HEAD, a crawler or a chat app's link preview does not,
    or every shared link would push a genuine label towards the copy warning."""
    return request.method == "GET" and not verification.is_crawler(request.headers.get("User-Agent", ""))


def record_scan(
    code: str, *, channel: str, place=None, record: bool = True, refusal: str = "not_issued_by_registry"
) -> verification.Result:
    """Verify a code and append the scan, unless `record` is off or the request is no scan (counts_as_scan)."""
    session = get_session()
    result = verification.verify(
        session=session,
        code=code,
        keys=code_keys(),
        rules=copy_rules(),
        place=place,
        channel=channel,
        record=record and counts_as_scan(),
        refusal=refusal,
        ip_hash=client_digest(),
        ua=request.headers.get("User-Agent", ""),
    )
    session.commit()
    return result


def photo_files(name: str = "photos") -> list[FileStorage]:
    """The files chosen in a multipart field; a field left empty sends one nameless part, which is no photo."""
    return [f for f in request.files.getlist(name) if isinstance(f, FileStorage) and f.filename]


def file_report(data: reports.ReportInput, uploads: list[FileStorage]) -> Report:
    """File a report with its photos and spend the filer's report budget in the same commit.

    Raises DomainError (nothing written, no photo left behind) for a report that cannot be filed."""
    config = current_app.config
    session = get_session()
    try:
        filed = reports.file_report(
            session=session,
            keys=code_keys(),
            upload_dir=config["GI_UPLOAD_DIR"],
            max_bytes=config["PHOTO_MAX_BYTES"],
            max_pixels=config["PHOTO_MAX_PIXELS"],
            data=data,
            photo_uploads=[_read_bounded(f, config["PHOTO_MAX_BYTES"]) for f in uploads],
        )
    except Exception:
        session.rollback()
        raise
    # It rolls back and removes the photos itself when the budget or the commit fails.
    reports.commit_filed(
        session=session, report=filed, upload_dir=config["GI_UPLOAD_DIR"], before_commit=spend_report_budget
    )
    return filed


def _read_bounded(upload: FileStorage, limit: int) -> bytes:
    """Read at most one byte past the limit, so an oversized file is refused without reading it all."""
    return upload.stream.read(limit + 1)

"""The files of a batch (QR images, label lists, the print sheet), shared by the portal pages and the API."""

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator
from datetime import date

from flask import Response, current_app, stream_with_context

from .db import get_session
from .domain import N_, DomainError, batches, labels, outlines, registry
from .domain import epcis as epcis_document
from .extensions import code_keys
from .models import Area, Batch, Licensee, Product, utcnow


def batch_url(batch: Batch) -> str:
    """The URL the batch's own QR code carries (serial 0)."""
    return batches.label_for(batch=batch, serial=0, keys=code_keys(), base_url=current_app.config["GI_BASE_URL"]).url


def label_font() -> outlines.OutlineFont | None:
    """The font that outlines label text; without one the sheet names fonts the printer must have."""
    font = outlines.load(outlines.find_font(current_app.config["GI_LABEL_FONT"]))
    if font is None:
        current_app.logger.warning("no label font (GI_LABEL_FONT, fonts-wqy-microhei): the PDF names its fonts")
    return font


def check_grid(grid: str) -> None:
    """Refuse a label grid the sheet does not know, naming the ones it does."""
    if grid not in labels.GRIDS:
        raise DomainError("invalid_grid", N_("unknown label grid"), fields={"grid": ", ".join(labels.GRIDS)})


def _attachment(name: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{_header_safe(name)}"', "Cache-Control": "private, no-store"}


def _header_safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)  # batch numbers are plain; a header takes nothing else


def qr_png(batch: Batch) -> Response:
    return Response(labels.qr_png(batch_url(batch)), mimetype="image/png", headers=_qr_headers(batch, "png"))


def qr_svg(batch: Batch) -> Response:
    return Response(labels.qr_svg(batch_url(batch)), mimetype="image/svg+xml", headers=_qr_headers(batch, "svg"))


def _qr_headers(batch: Batch, kind: str) -> dict:
    # Inline, as the batch page shows it; saved, it is named for its batch rather than every one "qr.png".
    name = _header_safe(f"{batch.batch_no}-qr.{kind}")
    return {"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "private, max-age=3600"}


def labels_of(batch: Batch, first: int = 1, last: int | None = None):
    """The batch's issued labels, each with its GS1 Digital Link where the licensee has a GTIN."""
    return batches.issued_labels(
        batch=batch,
        keys=code_keys(),
        base_url=current_app.config["GI_BASE_URL"],
        first=first,
        last=last,
        gtin=get_session().get(Licensee, batch.licensee_id).gtin,
    )


def labels_csv(batch: Batch) -> Response:
    """All issued labels as CSV, streamed: a 100,000-row file never sits in memory."""

    def rows():
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["batch_no", "serial", "code", "url", "gs1_url"])
        for label in labels_of(batch):
            writer.writerow([batch.batch_no, label.serial, label.code, label.url, label.gs1_url or ""])
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(rows()), mimetype="text/csv", headers=_attachment(f"{batch.batch_no}-labels.csv")
    )


def sheet_pdf(
    batch: Batch,
    product: Product,
    *,
    grid: str,
    include_batch_code: bool = False,
    first: int = 1,
    last: int | None = None,
) -> Response:
    """The print-ready A4 sheet of the batch's unit labels (optionally led by the batch code), streamed."""
    check_grid(grid)
    if batch.labels_issued == 0 and not include_batch_code:
        raise DomainError("no_labels", N_("issue labels before printing them"), status=409)
    if last is not None and last < first:
        raise DomainError(
            "empty_range",
            N_("the range runs backwards: the first serial comes after the last"),
            status=422,
            fields={"first": N_("from 1 to the last label issued, first before last")},
        )
    last_wanted = batch.labels_issued if last is None else min(last, batch.labels_issued)
    if not include_batch_code and first > last_wanted:
        # A reversed range, or one past the last label issued, would print a blank sheet.
        raise DomainError(
            "empty_range",
            N_("no issued labels in that serial range"),
            status=422,
            fields={"first": N_("from 1 to the last label issued, first before last")},
        )
    wanted, mark = [], registry.KIND_MARKS.get(product.kind, "")
    if include_batch_code:
        wanted.append(labels.Label(batch_url(batch), product.name, batch.batch_no, serial=0, mark=mark))
    units = (
        labels.Label(label.url, product.name, batch.batch_no, serial=label.serial, mark=mark)
        for label in labels_of(batch, first, last)
    )
    title = f"{product.name} {batch.batch_no} {registry.registry_today().isoformat()}"
    font = label_font()

    def sheet():
        yield from labels.label_sheet_pdf(itertools.chain(wanted, units), grid=grid, title=title, font=font)

    return Response(
        stream_with_context(sheet()), mimetype="application/pdf", headers=_attachment(f"{batch.batch_no}-{grid}.pdf")
    )


def _corrected_harvests(batch: Batch) -> tuple[epcis_document.Harvest, ...]:
    """The harvests as recorded before each correction that changed them, from the audit log."""
    session, harvests = get_session(), []
    for event in batches.history(session=session, batch=batch, action="batch.correct"):
        before, after = event.before or {}, event.after or {}
        was = {name: before.get(name, after.get(name)) for name in epcis_document.HARVEST_FIELDS}
        if all(was[name] == after.get(name) for name in epcis_document.HARVEST_FIELDS):
            continue  # the notes, the grade or the certificate: not in the event
        origin = session.get(Area, was["origin_code"])
        if origin is None or None in was.values():
            continue  # a record this code did not write: no harvest to tell
        harvests.append(
            epcis_document.Harvest(
                quantity=was["quantity"],
                unit=was["unit"],
                harvested_on=date.fromisoformat(str(was["harvested_on"])),
                origin=origin,
                corrected_at=event.at,
            )
        )
    return tuple(harvests)


def epcis(batch: Batch) -> Response:
    """The batch's events as EPCIS 2.0 JSON-LD, for a buyer's traceability system."""
    session = get_session()
    document = epcis_document.batch_document(
        batch=batch,
        product=session.get(Product, batch.product_id),
        licensee=session.get(Licensee, batch.licensee_id),
        origin=session.get(Area, batch.origin_code),
        issues=batches.label_issues(session=session, batch=batch),
        base_url=current_app.config["GI_BASE_URL"],
        now=utcnow(),
        earlier=_corrected_harvests(batch),
    )
    return Response(
        stream_with_context(json_chunks(document)),
        mimetype="application/ld+json",
        headers=_attachment(f"{batch.batch_no}-epcis.jsonld"),
    )


def json_chunks(value, *, run: int = 2000) -> Iterator[str]:
    """`value` as JSON text, piece by piece: dicts, lists and scalars as json.dumps writes them, and an
    iterable of another kind (epcis.UnitIds) as an array written `run` items at a time, never whole."""
    if isinstance(value, dict):
        yield "{"
        for number, (key, item) in enumerate(value.items()):
            yield ("," if number else "") + json.dumps(key, ensure_ascii=False) + ":"
            yield from json_chunks(item, run=run)
        yield "}"
    elif isinstance(value, list | tuple):
        yield "["
        for number, item in enumerate(value):
            if number:
                yield ","
            yield from json_chunks(item, run=run)
        yield "]"
    elif isinstance(value, epcis_document.UnitIds):
        yield "["
        items = iter(value)
        first = True
        while piece := list(itertools.islice(items, run)):
            yield ("" if first else ",") + ",".join(json.dumps(item, ensure_ascii=False) for item in piece)
            first = False
        yield "]"
    else:
        yield json.dumps(value, ensure_ascii=False)

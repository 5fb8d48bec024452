"""Staff exports of reports, scans and licensees as CSV or XLSX; personal data stays in the case pages."""

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlmodel import Session, select

from ..models import Batch, Licence, Licensee, Product, Report, Scan
from . import ascii_digits
from .registry import CHINA, china_midnight, licence_status, registry_today
from .reports import concerned_product_id, outcome_column

# A cell starting with one of these is a formula to Excel, LibreOffice and WPS; tab and CR act the same way.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Excel (WPS too) reads a CSV cell of digits as a number: past 15 significant digits its end turns to zeros
# (an all-digit USCC shows as 9.15E+17), and a leading zero is dropped. A leading tab keeps the cell text.
EXCEL_DIGITS = 15
XLSX_MAX_ROWS = 1_048_576  # per sheet, the header included; longer exports continue on another sheet
_YIELD_PER = 1000
# The offset as literal text after the time: "2026-11-29 00:30:00+08:00", as the CSV writes it.
XLSX_TIME_FORMAT = f'yyyy-mm-dd hh:mm:ss"{datetime(2000, 1, 1, tzinfo=CHINA).isoformat()[-6:]}"'

REPORT_COLUMNS = (
    "tracking_no",
    "status",
    "outcome",  # a closed case's confirmed or dismissed, which "closed" alone hides from a monthly count
    "created_at",
    "updated_at",
    "code",
    "batch_no",
    "product_code",
    "licensee_name",
    "place",
    "description",
)
# The batch's product and its licensee's county, as the dashboard counts scans per product and per county.
SCAN_COLUMNS = (
    "at",
    "verdict",
    "reasons",
    "batch_no",
    "serial",
    "product_code",
    "licensee_county_code",
    "channel",
    "ua_family",
    "latitude",
    "longitude",
)
LICENSEE_COLUMNS = (
    "name",
    "uscc",
    "county_code",
    "address",
    "product_code",
    "licence_status",
    "valid_from",
    "valid_to",
)


@dataclass
class Export:
    """One table to download: a sheet name, its column names and its rows (an iterator, read once)."""

    name: str
    header: tuple[str, ...]
    rows: Iterable[tuple]


def reports(*, session: Session, start: date | None = None, end: date | None = None) -> Export:
    """Reports filed from the start of `start` to the end of `end` (days in China, both optional), as the
    dashboard counts them, with what they point to; the reporter's contact is never selected."""
    query = (
        select(
            Report.tracking_no,
            Report.status,
            outcome_column(),
            Report.created_at,
            Report.updated_at,
            Report.code,
            Batch.batch_no,
            Product.code,
            Licensee.name,
            Report.place,
            Report.description,
        )
        .join(Batch, Batch.id == Report.batch_id, isouter=True)
        .join(Product, Product.id == concerned_product_id(), isouter=True)
        .join(Licensee, Licensee.id == Batch.licensee_id, isouter=True)
        .where(*_within(Report.created_at, start, end))
        .order_by(Report.id)
        .execution_options(yield_per=_YIELD_PER)
    )

    def rows():  # run when the download is read, not when it is made
        for row in session.exec(query):
            yield tuple(row)

    return Export("reports", REPORT_COLUMNS, rows())


def _within(moment, start: date | None, end: date | None) -> list:
    """The conditions for a time from the start of `start` to the end of `end`, days in China."""
    conditions = [] if start is None else [moment >= china_midnight(start)]
    return conditions if end is None else [*conditions, moment < china_midnight(end + timedelta(days=1))]


def scans(*, session: Session, start: date | None = None, end: date | None = None) -> Export:
    """Scans from the start of `start` to the end of `end` (days in China, both optional); never the IP hash."""
    query = (
        select(
            Scan.at,
            Scan.verdict,
            Scan.reasons,
            Batch.batch_no,
            Scan.serial,
            Product.code,
            Licensee.county_code,
            Scan.channel,
            Scan.ua_family,
            Scan.latitude,
            Scan.longitude,
        )
        .join(Batch, Batch.id == Scan.batch_id, isouter=True)
        .join(Product, Product.id == Batch.product_id, isouter=True)
        .join(Licensee, Licensee.id == Batch.licensee_id, isouter=True)
    )
    query = query.where(*_within(Scan.at, start, end)).order_by(Scan.id).execution_options(yield_per=_YIELD_PER)

    def rows():
        for at, verdict, reasons, *rest in session.exec(query):
            yield (at, verdict, "; ".join(str(reason) for reason in reasons or ()), *rest)

    return Export("scans", SCAN_COLUMNS, rows())


def licensees(*, session: Session, today: date | None = None) -> Export:
    """One row per licence (one without licence columns for a licensee that holds none); no contact person."""
    today = today or registry_today()
    query = (
        select(Licensee.name, Licensee.uscc, Licensee.county_code, Licensee.address, Product.code, Licence)
        .join(Licence, Licence.licensee_id == Licensee.id, isouter=True)
        .join(Product, Product.id == Licence.product_id, isouter=True)
        .order_by(Licensee.name, Licensee.id, Licence.id)
        .execution_options(yield_per=_YIELD_PER)
    )

    def rows():
        for name, uscc, county_code, address, product_code, licence in session.exec(query):
            if licence is None:
                yield (name, uscc, county_code, address, None, None, None, None)
            else:
                status = licence_status(licence, today=today)
                yield (name, uscc, county_code, address, product_code, status, licence.valid_from, licence.valid_to)

    return Export("licensees", LICENSEE_COLUMNS, rows())


# ---- writing -----------------------------------------------------------------------------


def neutralise(value: str) -> str:
    """Text a spreadsheet would run as a formula, made plain text by a leading apostrophe."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def unneutralise(value: str) -> str:
    """A CSV cell as it was before neutralise: the licensee import reads the licensees export back."""
    return value[1:] if value.startswith("'") and value[1:].startswith(FORMULA_STARTS) else value


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):  # in China time, as the export's days are; the offset says so
        return value.astimezone(CHINA).isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return _keep_digits(neutralise(value))
    return str(value)


def _keep_digits(value: str) -> str:
    """Digits Excel would change as a number, led by a tab; the licensee import strips it as it reads."""
    if ascii_digits(value) and (len(value) > EXCEL_DIGITS or (value[0] == "0" and len(value) > 1)):
        return "\t" + value
    return value


def csv_chunks(export: Export, *, chunk_size: int = 64_000) -> Iterator[bytes]:
    """The export as UTF-8 CSV with a byte-order mark (so Excel reads the Chinese right), in chunks."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow(export.header)
    for row in export.rows:
        writer.writerow([_csv_cell(value) for value in row])
        if buffer.tell() > chunk_size:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_cell(sheet, value):
    if isinstance(value, datetime):
        # Excel has no time zones: the sheet is in China time, the time the registry's people read, and each
        # cell says so as it shows (the CSV's +08:00), while it stays a date that sorts and counts.
        cell = WriteOnlyCell(sheet, value=value.astimezone(CHINA).replace(tzinfo=None))
        cell.number_format = XLSX_TIME_FORMAT
        return cell
    if isinstance(value, str):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)  # openpyxl refuses control characters
        if value.startswith(FORMULA_STARTS):
            # openpyxl would store "=…" as a live formula; a cell typed as text keeps it as written, where
            # CSV, which has no types, needs the apostrophe.
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"
            return cell
    return value


def write_xlsx(export: Export, target: IO[bytes]) -> None:
    """The export as a workbook written row by row (openpyxl's write-only mode), into `target`."""
    workbook = Workbook(write_only=True)
    sheet, used, part = None, XLSX_MAX_ROWS, 0
    for row in export.rows:
        if used >= XLSX_MAX_ROWS:
            part += 1
            sheet = workbook.create_sheet(export.name if part == 1 else f"{export.name} {part}")
            sheet.append(export.header)
            used = 1
        sheet.append([_xlsx_cell(sheet, value) for value in row])
        used += 1
    if sheet is None:
        workbook.create_sheet(export.name).append(export.header)
    workbook.save(target)

"""A licensee list as a file: read a .csv or .xlsx upload into rows, whatever an office's spreadsheet holds
around its table (a title, a running-number column, notes under it), or refuse the file as a whole.

The rows are checked against the register and written by imports.py.
"""

import csv
import io
import re
import zipfile
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from datetime import date, datetime
from itertools import chain, islice

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.utils.datetime import from_excel

from . import N_, DomainError
from .exports import unneutralise

MAX_BYTES = 2 * 1024 * 1024
MAX_ROWS = 5000
# An .xlsx is a zip: a small upload may inflate enormously, so the unpacked size is bounded too. 5,000
# licensees in a dozen columns unpack to about 3 MB; reading costs several times the unpacked size in memory
# and about a second for every 2 MB (64 MB of shared strings, a 150 KB upload, took 400 MB and 37 s).
MAX_XLSX_UNPACKED_MB = 16
# How far right a workbook's rows are read (A to CV); a licensee list has a dozen columns. openpyxl gives a
# row as wide as its last cell, and one shaded or typed in column XFD gave every row 16,384 values to look
# at one by one: a 2 MB workbook of such rows held a worker for half an hour.
XLSX_COLUMNS = 100
ENCODINGS = ("utf-8-sig", "gb18030")  # utf-8-sig reads UTF-8 with or without the byte-order mark

REQUIRED = ("name", "uscc", "county")
OPTIONAL = ("address", "contact_name", "contact_phone", "product_code", "valid_from", "valid_to", "licence_status")
# An office's list has its title, a blank row or a date line above the header: the header is looked for
# among the first rows, no further, so that a sheet without one is refused rather than searched through.
HEADER_ROWS = 10
# A column the import reads past: an office's list numbers its rows (序号) in its first column. Only these
# headers, which name nothing but a row's place: 编号 or 序列号 may be a certificate's or a label's number,
# which the import does not keep, so they stay unknown columns rather than be dropped unsaid.
RUNNING_NUMBER = "running_number"
# A remarks column (备注), which nearly every office's list ends in: the register keeps no remarks, so its
# values are left out, and the dry run names the column, so none is dropped unsaid.
REMARKS = "remarks"
READ_PAST = (RUNNING_NUMBER, REMARKS)
# A line under (or within) the table that is no licensee's: a tally or a sign-off, as offices end their lists
# ("合计：3家", "填表人（签字）：张三", "备注：…"). Read past only on a row without a code, and only after these
# words, which begin no licensee's name; any other row of one value and no code is a row problem, not skipped.
_NOTE = re.compile(
    r"^(?:合计|总计|小计|共计|(?:备注|说明|注|填表人|填报人|制表人|制表|审核人|审核|负责人|单位负责人|经办人|联系人"
    r"|联系电话|填表日期|填报日期|日期|填报单位|填表单位)\s*(?:（[^）]*）|\([^)]*\))?\s*(?:[:：]|$))"
)
NOTE_LENGTH = 80  # of a note or a lone value, as the dry run quotes it
# Other names a column goes by: the licensee export's, and the Chinese an office's own sheet would use.
ALIASES = {
    "county_code": "county",
    "名称": "name",
    "企业名称": "name",
    "用标企业": "name",
    "用标单位": "name",
    "统一社会信用代码": "uscc",
    "信用代码": "uscc",
    "区县": "county",
    "区县代码": "county",
    "所在区县": "county",
    "地址": "address",
    "联系人": "contact_name",
    "联系电话": "contact_phone",
    "电话": "contact_phone",
    "产品代码": "product_code",
    "产品": "product_code",
    "许可起始日期": "valid_from",
    "起始日期": "valid_from",
    "许可截止日期": "valid_to",
    "截止日期": "valid_to",
    "许可状态": "licence_status",
    "序号": RUNNING_NUMBER,
    "no.": RUNNING_NUMBER,
    "no": RUNNING_NUMBER,
    "#": RUNNING_NUMBER,
    "备注": REMARKS,
    "remarks": REMARKS,
}
DATE_COLUMNS = ("valid_from", "valid_to")


class ImportRefused(DomainError):
    """A file or rows that cannot be imported; `params` fill the message's placeholders."""

    def __init__(self, code: str, message: str, *, params: dict | None = None, problems=None):
        super().__init__(code, message, fields={"file": message})
        self.params = params or {}
        self.problems = problems or []


@dataclass
class Row:
    """One data row as read, every value a stripped string; `line` is its row number in the sheet."""

    line: int
    name: str = ""
    uscc: str = ""
    county: str = ""
    address: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    product_code: str = ""
    valid_from: str = ""
    valid_to: str = ""
    licence_status: str = ""
    unnamed: str = ""  # the letter of the first column with a value but no header (_unnamed_column)
    lone: str = ""  # the row's only value, on a row without a code: a title, note or signature line, mostly


@dataclass(frozen=True)
class Note:
    """A line read past as no licensee's (_NOTE), with its row number and its text."""

    line: int
    text: str


@dataclass
class Table:
    """A file as the import reads it: its data rows, the row its header was read from, the notes read past."""

    rows: list[Row]
    header_line: int = 1
    notes: list[Note] = field(default_factory=list)
    remarks: list[str] = field(default_factory=list)  # the remarks columns' headers, as the file writes them


# ---- reading the file --------------------------------------------------------------------


def read_table(*, filename: str, content: bytes) -> Table:
    """Read a .csv or .xlsx upload; a file that cannot be read is refused as a whole."""
    if len(content) > MAX_BYTES:
        raise ImportRefused("file_too_large", N_("The file is larger than %(mb)s MB."), params={"mb": 2})
    suffix = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    if suffix == "csv":
        return _table(_csv_table(content))
    if suffix == "xlsx":
        with closing(_xlsx_table(content)) as table:
            return _table(table)
    raise ImportRefused("wrong_file_type", N_("Only .csv and .xlsx files can be imported."))


def parse_rows(*, filename: str, content: bytes) -> list[Row]:
    return read_table(filename=filename, content=content).rows


def _csv_table(content: bytes) -> Iterator:
    for encoding in ENCODINGS:
        try:
            # GB18030 has a byte-order mark of its own, which decodes to U+FEFF: no part of the first header cell.
            text = content.decode(encoding).removeprefix("\ufeff")
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRefused("unreadable_file", N_("The CSV file is neither UTF-8 nor GB18030 text."))
    if "\x00" in text:
        raise ImportRefused("unreadable_file", N_("The file is not a readable CSV file."))
    # A CSV has no text type: the export guards a formula-like cell with an apostrophe, which is no part of it.
    cells_of = csv.reader(io.StringIO(text, newline=""), delimiter=_separator(text))
    return ([unneutralise(cell) for cell in cells] for cells in cells_of)


def _separator(text: str) -> str:
    """The separator the header row uses: a comma; else the semicolon Excel writes under a European region's
    settings, or the tab of a table copied out of a spreadsheet, which read as one unknown column. Found by
    the header it splits out, as a title above it need hold none; without a header, by the first line."""
    marks = (",", ";", "\t")
    for mark in marks:
        try:
            top = list(islice(csv.reader(io.StringIO(text, newline=""), delimiter=mark), HEADER_ROWS))
        except csv.Error:  # _table says it of the file
            continue
        if _header_index(top) is not None:
            return mark
    first = text.partition("\n")[0]
    return next((mark for mark in marks if mark in first), ",")


def _xlsx_table(content: bytes) -> Iterator:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            unpacked = sum(member.file_size for member in archive.infolist())
        if unpacked > MAX_XLSX_UNPACKED_MB * 1024 * 1024:
            raise ImportRefused(
                "file_too_large",
                N_("The workbook unpacks to more than %(mb)s MB."),
                params={"mb": MAX_XLSX_UNPACKED_MB},
            )
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except ImportRefused:
        raise
    except Exception:  # openpyxl raises many kinds of error on a damaged or foreign file
        raise ImportRefused("unreadable_file", N_("The file is not a readable .xlsx workbook.")) from None
    try:
        sheet = _table_sheet(workbook)
        for values in sheet.iter_rows(max_col=XLSX_COLUMNS, values_only=True):
            if values.count(None) == len(values):  # a blank row (or one left out of the file), told at C speed
                yield ()
                continue
            yield [_ExcelNumber(value, workbook.epoch) if _whole_number(value) else value for value in values]
    except Exception:
        raise ImportRefused("unreadable_file", N_("The file is not a readable .xlsx workbook.")) from None
    finally:
        workbook.close()


def _table_sheet(workbook):
    """The sheet that holds the table: the first with a header row naming the required columns. An office's
    workbook may open with a sheet of notes, or keep its list on Sheet2 behind an empty Sheet1. Without
    such a sheet, the first one, whose header the refusal then names."""
    for sheet in workbook.worksheets:
        # Read-only mode reads only the used range the file declares, and some writers declare "A1" or an
        # older, smaller range: the rest of the sheet was missing columns ("Missing columns") or rows (left
        # out of a clean dry run, and of the import). The cells themselves say where the sheet ends.
        sheet.reset_dimensions()
        top = sheet.iter_rows(max_row=HEADER_ROWS, max_col=XLSX_COLUMNS, values_only=True)
        if _header_index(list(top)) is not None:
            return sheet
    return workbook.worksheets[0]


def _whole_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


class _ExcelNumber(int):
    """A whole number from a workbook cell. In a date column it is Excel's day number: Chinese Excel and WPS
    save their built-in 年月日 formats without a format code openpyxl knows, so the date arrives bare."""

    # Day numbers of 1990–2100 only: a year typed alone (2026) stays an error, not a day in 1905.
    DAYS = range(32874, 73416)

    def __new__(cls, value, epoch: datetime):
        number = super().__new__(cls, int(value))
        number.epoch = epoch  # the workbook's date system: 1900, or 1904 from old Mac Excel
        return number

    def as_date(self) -> str | None:
        return from_excel(int(self), epoch=self.epoch).date().isoformat() if self in self.DAYS else None


def _cell_text(column: str, value) -> str:
    if isinstance(value, _ExcelNumber) and column in DATE_COLUMNS and (day := value.as_date()):
        return day
    return _text(value)


def _text(value) -> str:
    """A cell's value as the text a person typed: whole numbers without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _column_names(header: list[str]) -> list[str | None]:
    """The header's cells as the import's column names (aliases read); None for a blank cell."""
    names = []
    for cell in header:
        name = re.sub(r"[\s-]+", "_", cell.strip().lower())
        # A form spaces a short Chinese header out to align it ("序  号", "名　称") and wraps a long one in its
        # cell ("统一社会\n信用代码"): the Chinese names are read without their spaces.
        compact = re.sub(r"\s+", "", cell.lower())
        names.append(ALIASES.get(name) or ALIASES.get(compact, name) or None)
    return names


def _header_index(top: list) -> int | None:
    """The index of the first of a file's top rows that names the required columns, if one does."""
    for index, values in enumerate(top):
        if set(REQUIRED) <= set(_column_names([_text(value) for value in values])):
            return index
    return None


def _refused_header_index(top: list) -> int:
    """Of top rows without a header, the one the refusal names: the row naming most of the import's columns,
    rather than a title above it; else the first that holds anything (a file's header is its first row)."""

    def standing(index: int) -> tuple:
        texts = [_text(value).strip() for value in top[index]]
        known = set(_column_names(texts)) & set(REQUIRED + OPTIONAL)
        return len(known), any(texts), -index

    return max(range(len(top)), key=standing)


def _columns(header: list[str]) -> list[str | None]:
    names = _column_names(header)
    known = [name for name in names if name and name not in READ_PAST]
    unknown = [name for name in known if name not in REQUIRED + OPTIONAL]
    if unknown:
        raise ImportRefused(
            "unknown_columns", N_("Unknown columns: %(columns)s."), params={"columns": ", ".join(unknown)}
        )
    doubled = sorted({name for name in known if known.count(name) > 1})
    if doubled:
        raise ImportRefused(
            "duplicate_columns", N_("Columns named twice: %(columns)s."), params={"columns": ", ".join(doubled)}
        )
    missing = [name for name in REQUIRED if name not in known]
    if missing:
        raise ImportRefused(
            "missing_columns", N_("Missing columns: %(columns)s."), params={"columns": ", ".join(missing)}
        )
    return names


def _table(table) -> Table:
    try:
        table = iter(table)
        top = list(islice(table, HEADER_ROWS))
        if not top:
            raise ImportRefused("empty_file", N_("The file is empty."))
        header = _header_index(top)
        if header is None:
            header = _refused_header_index(top)
        headers = [_text(cell) for cell in top[header]]
        names = _columns(headers)
        remarks = [text.strip() for text, name in zip(headers, names, strict=False) if name == REMARKS]
        read = Table(rows=[], header_line=header + 1, remarks=remarks)
        # Rows above the header are read past; every row keeps its number in the file, as Excel shows it.
        for line, values in enumerate(chain(top[header + 1 :], table), start=header + 2):
            _read_row(read, line, names, list(values))
    except csv.Error:
        raise ImportRefused("unreadable_file", N_("The file is not a readable CSV file.")) from None
    if not read.rows:
        raise ImportRefused("empty_file", N_("The file has no data rows."))
    return read


def _read_row(table: Table, line: int, names: list[str | None], values: list) -> None:
    """Add a row to the table, as a licensee's or as a note; a blank one is read past."""
    texts = _texts(names, values)
    if not texts:
        return  # spreadsheets often end in blank rows, and a template may number rows ahead of its data
    cells = {
        name: _cell_text(name, value).strip()
        for name, value in zip(names, values, strict=False)
        if name in REQUIRED + OPTIONAL  # not a blank header cell, nor the running number
    }
    has_code = bool(cells.get("uscc"))
    if len(table.rows) + len(table.notes) == MAX_ROWS:
        raise ImportRefused("too_many_rows", N_("The file has more than %(rows)s rows."), params={"rows": MAX_ROWS})
    if not has_code and _NOTE.match(texts[0]):
        table.notes.append(Note(line=line, text=" ".join(texts)[:NOTE_LENGTH]))
        return
    lone = texts[0][:NOTE_LENGTH] if len(texts) == 1 and not has_code else ""
    table.rows.append(Row(line=line, unnamed=_unnamed_column(names, values), lone=lone, **cells))


def _texts(names: list[str | None], values: list) -> list[str]:
    """A row's values as text, the empty ones, its running number and its remark left out. A line merged across
    the sheet holds its text in the first cell, under 序号 most often: that text is a value, and not read past."""
    texts = []
    for index, value in enumerate(values):
        text = _text(value).strip()
        name = names[index] if index < len(names) else None
        if text and not (name == RUNNING_NUMBER and text.isdigit()) and name != REMARKS:
            texts.append(text)
    return texts


def _unnamed_column(names: list[str | None], values: list) -> str:
    """The letter of the first column holding a value that no header names, or "". In a CSV it is mostly a
    comma typed inside a value saved without quotes: the rest of the row moved one column on, and what
    spilt past the header would otherwise be dropped without a word."""
    for index, value in enumerate(values):
        if (index >= len(names) or names[index] is None) and _text(value).strip():
            return get_column_letter(index + 1)
    return ""

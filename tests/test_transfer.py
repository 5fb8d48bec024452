"""Exports and the bulk licensee import: who may use them, what leaves the register, and all-or-nothing writes."""

import csv
import io
import os
import re
import time
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.styles import PatternFill
from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900
from sqlmodel import func, select

from gi_registry.domain import accounts, exports, imports, licensee_files, registry, reports, verification
from gi_registry.models import AuditEvent, Licence, Licensee, Product
from tests.conftest import PASSWORD

SAMPLE = Path(__file__).parent / "data" / "licensees-import.csv"
IMPORT_URL = "/transfer/licensees/import?lang=en"
CONTACT = "13911112222"
IP_HASH = "c0ffee" * 10 + "beef"
HEADER = "name,uscc,county,address,contact_name,contact_phone,product_code,valid_from,valid_to"
# Valid codes (check characters computed with domain.uscc) not used by the world fixture.
USCC_C = "93512021MA6AY1A01N"
USCC_D = "93512022MA6L01B02F"
USCC_E = "93512002MA6Y11C03T"

EXPORTS = [f"/transfer/{table}.{suffix}" for table in ("reports", "scans", "licensees") for suffix in ("csv", "xlsx")]
ROUTES = [("GET", "/transfer/", {"admin", "regulator"})]
ROUTES += [("GET", url, {"admin", "regulator"}) for url in EXPORTS]
ROUTES += [("GET", "/transfer/licensees/import", {"admin"}), ("POST", "/transfer/licensees/import", {"admin"})]


def counts(db) -> tuple[int, int, int]:
    """Licensees, licences and audit events in the database (the commit ends the snapshot SQLite's WAL holds)."""
    db.commit()
    return tuple(db.exec(select(func.count()).select_from(model)).one() for model in (Licensee, Licence, AuditEvent))


def read_csv(response) -> list[dict]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.data.startswith(b"\xef\xbb\xbf"), "Excel needs the byte-order mark to read UTF-8"
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def read_xlsx(response) -> list[list]:
    assert response.status_code == 200 and response.mimetype == exports_mimetype()
    workbook = load_workbook(io.BytesIO(response.data))
    return [list(row) for sheet in workbook.worksheets for row in sheet.iter_rows(values_only=True)]


def exports_mimetype() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def upload(client, content: bytes, filename: str = "licensees.csv", *, run_import: bool = False, **extra):
    data = {"file": (io.BytesIO(content), filename), **extra}
    data["run_import" if run_import else "dry_run"] = "y"
    return client.post(IMPORT_URL, data=data, content_type="multipart/form-data")


def csv_file(*lines: str, encoding: str = "utf-8") -> bytes:
    return "\r\n".join((HEADER, *lines)).encode(encoding)


# ---- who may ----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES)
@pytest.mark.parametrize("who", [None, "coop", "regulator", "admin"])
def test_each_transfer_route_lets_only_its_roles_in(login_as, method, path, allowed, who):
    client = login_as(who)
    response = client.open(path, method=method, data={})
    response.get_data()  # read a streamed export to its end, as a server would
    response.close()
    if who is None:
        assert response.status_code == 302 and "/login?next=" in response.location
    elif who not in allowed:
        assert response.status_code == 403
    elif method == "POST":
        assert response.status_code == 422  # no file: the form says so and nothing happens
    else:
        assert response.status_code == 200


def test_the_index_offers_the_import_only_to_admins(login_as):
    assert "/transfer/licensees/import" not in login_as("regulator").get("/transfer/").text
    page = login_as("admin").get("/transfer/").text
    assert "/transfer/licensees/import" in page and "/transfer/scans.xlsx" in page


# ---- exports ----------------------------------------------------------------------------


@pytest.fixture
def report(labelled, file_report):
    _, codes = labelled
    return file_report(
        reports.ReportInput(description='=HYPERLINK("http://evil")假冒柠檬', code=codes[3], contact=CONTACT)
    )


@pytest.fixture
def scans(db, labelled, keys):
    """Three scans of serial 1: on 1, 2 and 3 March 2026 (UTC), the middle one with a shared place."""
    _, codes = labelled
    for day in (1, 2, 3):
        verification.verify(
            session=db,
            code=codes[1],
            keys=keys,
            rules=verification.CopyRules(),
            place=(30.1234, 105.3456) if day == 2 else None,
            ip_hash=IP_HASH,
            ua="Mozilla/5.0 MicroMessenger/8.0",
            now=datetime(2026, 3, day, 12, 0, tzinfo=UTC),
        )
    db.commit()


def test_the_reports_export_has_the_case_but_not_the_reporters_contact(login_as, report, labelled):
    batch, _ = labelled
    client = login_as("regulator")
    csv_response = client.get("/transfer/reports.csv")
    (row,) = read_csv(csv_response)
    assert list(row) == list(exports.REPORT_COLUMNS)
    assert row["tracking_no"] == report.tracking_no and (row["status"], row["outcome"]) == ("new", "new")
    assert row["batch_no"] == batch.batch_no and row["product_code"] == "anyue-lemon"
    assert row["licensee_name"] == "安岳柠檬合作社"
    assert row["description"] == '\'=HYPERLINK("http://evil")假冒柠檬'
    assert row["created_at"].endswith("+08:00")
    xlsx_response = client.get("/transfer/reports.xlsx")
    header, values = read_xlsx(xlsx_response)
    assert dict(zip(header, values, strict=True))["tracking_no"] == report.tracking_no
    for response in (csv_response, xlsx_response):
        assert CONTACT.encode() not in response.data
        assert "attachment" in response.headers["Content-Disposition"]
        assert "no-store" in response.headers["Cache-Control"]
    assert CONTACT not in str(read_xlsx(xlsx_response))


def test_the_reports_export_says_what_a_closed_case_came_to(login_as, db, report, world):
    """A monthly count of confirmed counterfeits must not lose the cases closed since."""
    from gi_registry.domain import reports

    officer = world["users"]["regulator"]
    for step in ("triaged", "investigating", "confirmed", "closed"):
        reports.transition(session=db, report=report, to_status=step, note="n", actor=officer)
    db.commit()
    (row,) = read_csv(login_as("regulator").get("/transfer/reports.csv"))
    assert (row["status"], row["outcome"]) == ("closed", "confirmed")


def test_the_reports_export_takes_the_reports_filed_in_a_period_of_days_in_china(login_as, world, file_report):
    """As the dashboard counts them: one filed at 16:30 UTC on 28 November was filed on the 29th in Ziyang."""
    from gi_registry.domain import reports

    late = file_report(
        reports.ReportInput(description="半夜买到的假柠檬"), now=datetime(2026, 11, 28, 16, 30, tzinfo=UTC)
    )
    early = file_report(
        reports.ReportInput(description="白天买到的假柠檬"), now=datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    )
    client = login_as("regulator")
    numbers = [row["tracking_no"] for row in read_csv(client.get("/transfer/reports.csv?from=2026-11-29"))]
    assert numbers == [late.tracking_no]
    numbers = [row["tracking_no"] for row in read_csv(client.get("/transfer/reports.csv?to=2026-11-28"))]
    assert numbers == [early.tracking_no]
    assert len(read_csv(client.get("/transfer/reports.csv"))) == 2
    assert client.get("/transfer/reports.xlsx?from=nonsense").status_code == 400  # not every report instead
    assert 'action="/transfer/reports.csv"' in client.get("/transfer/").text


def test_the_scans_export_has_no_ip_hash_and_honours_the_dates(login_as, scans, labelled):
    batch, _ = labelled
    client = login_as("admin")
    rows = read_csv(client.get("/transfer/scans.csv"))
    assert [row["at"][:10] for row in rows] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    assert list(rows[0]) == list(exports.SCAN_COLUMNS)
    assert {row["batch_no"] for row in rows} == {batch.batch_no} and rows[0]["serial"] == "1"
    assert rows[0]["ua_family"] == "wechat" and rows[0]["latitude"] == "" and rows[1]["latitude"] != ""
    middle = read_csv(client.get("/transfer/scans.csv?from=2026-03-02&to=2026-03-02"))
    assert [row["at"][:10] for row in middle] == ["2026-03-02"]
    assert len(read_csv(client.get("/transfer/scans.csv?from=2026-03-02"))) == 2
    assert len(read_csv(client.get("/transfer/scans.csv?to=2026-03-01"))) == 1
    assert client.get("/transfer/scans.csv?from=nonsense").status_code == 400  # not all scans instead
    too_early = client.get("/transfer/scans.csv?from=0001-01-01&lang=en")
    assert too_early.status_code == 400 and "from 1900-01-01 to 2999-12-31" in too_early.text
    xlsx = client.get("/transfer/scans.xlsx?from=2026-03-02")
    header, *values = read_xlsx(xlsx)
    assert header[0] == "at" and [row[0] for row in values] == [datetime(2026, 3, 2, 20), datetime(2026, 3, 3, 20)]
    for response in (client.get("/transfer/scans.csv"), xlsx):
        assert IP_HASH.encode() not in response.data


def _scan_at_half_past_midnight_in_china(db, code: str, keys) -> None:
    """A scan at 16:30 UTC on 28 November: 00:30 on the 29th in Ziyang."""
    verification.verify(
        session=db,
        code=code,
        keys=keys,
        rules=verification.CopyRules(),
        ip_hash=IP_HASH,
        ua="",
        now=datetime(2026, 11, 28, 16, 30, tzinfo=UTC),
    )
    db.commit()


def test_the_scans_export_counts_its_dates_as_days_in_china(login_as, db, labelled, keys):
    """A scan at 16:30 UTC on 28 November is one of the 29th in Ziyang, and written as 00:30 on the 29th."""
    _, codes = labelled
    _scan_at_half_past_midnight_in_china(db, codes[1], keys)
    client = login_as("regulator")
    (row,) = read_csv(client.get("/transfer/scans.csv?from=2026-11-29&to=2026-11-29"))
    assert row["at"] == "2026-11-29T00:30:00+08:00"
    assert read_csv(client.get("/transfer/scans.csv?to=2026-11-28")) == []
    assert read_csv(client.get("/transfer/scans.csv?from=2026-11-30")) == []


def test_an_export_of_a_period_is_named_after_its_period(login_as, monkeypatch):
    """October's and November's scans, both taken on 29 November, were both scans-20261129.xlsx: saved over
    one another, and Excel will not open two workbooks of one name side by side."""
    monkeypatch.setattr(registry, "registry_today", lambda: date(2026, 11, 29))
    client = login_as("regulator")

    def name(url: str) -> str:
        return re.search(r'filename="([^"]+)"', client.get(url).headers["Content-Disposition"])[1]

    assert name("/transfer/scans.xlsx?from=2026-10-01&to=2026-10-31") == "scans-20261001-20261031.xlsx"
    assert name("/transfer/reports.csv?from=2026-11-01&to=2026-11-30") == "reports-20261101-20261130.csv"
    assert name("/transfer/scans.csv?from=2026-11-01") == "scans-20261101-20261129.csv"  # up to today
    assert name("/transfer/scans.csv?to=2026-10-31") == "scans-20261031.csv"  # everything up to that day
    assert name("/transfer/scans.csv") == "scans-20261129.csv"  # as taken today
    assert name("/transfer/licensees.xlsx?from=2026-10-01") == "licensees-20261129.xlsx"  # takes no period


def test_the_excel_exports_times_say_they_are_china_time(login_as, db, labelled, keys, report):
    """Excel keeps no time zone: a cell showing 00:30 must say it is 00:30 in China, as the CSV's +08:00 does."""
    _, codes = labelled
    _scan_at_half_past_midnight_in_china(db, codes[1], keys)
    client = login_as("regulator")
    for table, column in (("scans", "at"), ("reports", "created_at"), ("reports", "updated_at")):
        sheet = load_workbook(io.BytesIO(client.get(f"/transfer/{table}.xlsx").data)).active
        header = [cell.value for cell in sheet[1]]
        cell = sheet.cell(row=2, column=header.index(column) + 1)
        assert isinstance(cell.value, datetime) and cell.value.tzinfo is None  # a date Excel can sort and count
        assert cell.number_format.endswith('"+08:00"'), f"{table}.{column} shows {cell.number_format}"
    scans = load_workbook(io.BytesIO(client.get("/transfer/scans.xlsx").data)).active
    assert scans["A2"].value == datetime(2026, 11, 29, 0, 30)


def test_the_licensees_export_has_one_row_per_licence_with_its_status(login_as, db, world):
    registry.change_licence_state(session=db, licence=world["licence_b"], action="suspend", reason="r", actor=None)
    ended = registry.grant_licence(
        session=db,
        licensee=world["coop_a"],
        product_code="lezhi-cocoon",
        valid_from=date(2020, 1, 1),
        valid_to=date(2049, 1, 1),
        actor=None,
    )
    ended.valid_to = date(2021, 1, 1)  # a licence that has run out since
    db.add(ended)
    world["coop_a"].contact_name, world["coop_a"].contact_phone = "赵联系", CONTACT
    db.add(world["coop_a"])
    registry.save_licensee(
        session=db, actor=None, data=registry.LicenseeInput(name="无证合作社", uscc=USCC_C, county_code="512002")
    )
    db.commit()
    client = login_as("regulator")
    rows = read_csv(client.get("/transfer/licensees.csv"))
    found = {(row["uscc"], row["product_code"], row["licence_status"], row["valid_to"]) for row in rows}
    assert found == {
        (world["coop_a"].uscc, "anyue-lemon", "active", "2049-12-31"),
        (world["coop_a"].uscc, "lezhi-cocoon", "expired", "2021-01-01"),
        (world["coop_b"].uscc, "lezhi-cocoon", "suspended", "2049-12-31"),
        (USCC_C, "", "", ""),
    }
    assert rows[0]["county_code"] and "address" in rows[0]
    xlsx = client.get("/transfer/licensees.xlsx")
    header, *values = read_xlsx(xlsx)
    assert header[:2] == ["name", "uscc"] and len(values) == 4
    assert date(2049, 12, 31) in [row[7].date() if row[7] else None for row in values]
    for response in (client.get("/transfer/licensees.csv"), xlsx):
        assert CONTACT.encode() not in response.data and "赵联系".encode() not in response.data


@pytest.mark.parametrize("name", ["=1+2", "+SUM(A1)", "-2+3", "@SUM(A1)", "=cmd|' /C calc'!A0"])
def test_formula_injection_is_neutralised_in_csv_and_xlsx(login_as, db, world, name):
    registry.save_licensee(
        session=db, actor=None, data=registry.LicenseeInput(name=name, uscc=USCC_C, county_code="512002")
    )
    db.commit()
    client = login_as("admin")
    names = {row["name"] for row in read_csv(client.get("/transfer/licensees.csv"))}
    assert "'" + name in names and name not in names
    workbook = load_workbook(io.BytesIO(client.get("/transfer/licensees.xlsx").data))
    cells = [row[0] for row in workbook.active.iter_rows(min_row=2)]
    guarded = [cell for cell in cells if cell.value == name]  # as written: a text cell needs no apostrophe
    assert len(guarded) == 1 and guarded[0].data_type == "s"  # text, not a formula
    assert all(cell.data_type != "f" for cell in cells)


def test_an_empty_export_still_has_its_header(login_as):
    client = login_as("admin")
    assert read_csv(client.get("/transfer/reports.csv")) == []
    assert read_xlsx(client.get("/transfer/reports.xlsx")) == [list(exports.REPORT_COLUMNS)]


def test_a_long_export_continues_on_another_sheet(monkeypatch):
    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 3)
    target = io.BytesIO()
    exports.write_xlsx(exports.Export("scans", ("a", "b"), iter([(i, "x\x07y") for i in range(5)])), target)
    workbook = load_workbook(target)
    assert workbook.sheetnames == ["scans", "scans 2", "scans 3"]
    assert [row[0] for sheet in workbook for row in sheet.iter_rows(min_row=2, values_only=True)] == [0, 1, 2, 3, 4]
    assert workbook["scans"]["B2"].value == "xy"  # control characters Excel refuses are dropped


# ---- the import: the domain rules ---------------------------------------------------------


GOOD = {"name": "新合作社", "uscc": USCC_C, "county": "512021"}


@pytest.mark.parametrize(
    ("changes", "column", "message"),
    [
        ({"name": ""}, "name", "the name is missing"),
        ({"name": "长" * 129}, "name", "longer than %(limit)s characters"),
        ({"contact_phone": "1" * 33}, "contact_phone", "longer than %(limit)s characters"),
        (
            {"contact_phone": "找李经理"},
            "contact_phone",
            "digits of a phone number (spaces, +, - and brackets may be kept)",
        ),
        ({"uscc": ""}, "uscc", "the unified social credit code is missing"),
        ({"uscc": USCC_C[:-1] + "A"}, "uscc", "check character does not match"),
        ({"uscc": "93512021MA6AY1A01"}, "uscc", "must be 18 characters of 0-9 and A-Y without I, O, S, V, Z"),
        ({"uscc": "93512021MA6AY0L018"}, "uscc", "a licensee with this code is already registered"),
        ({"county": ""}, "county", "the county is missing"),  # not "unknown": a merged cell below its first row
        ({"county": "512021126"}, "county", "unknown county: use a code like 512021 or a name like 安岳县"),
        ({"county": "成都市"}, "county", "unknown county: use a code like 512021 or a name like 安岳县"),
        (
            {"product_code": "nope", "valid_from": "2026-01-01", "valid_to": "2027-01-01"},
            "product_code",
            "unknown product",
        ),
        ({"valid_from": "2026-01-01", "valid_to": "2027-01-01"}, "product_code", "a licence needs a product code"),
        ({"product_code": "anyue-lemon", "valid_to": "2027-01-01"}, "valid_from", "a licence needs this date"),
        (
            {"product_code": "anyue-lemon", "valid_from": "2026-13-01", "valid_to": "2027-01-01"},
            "valid_from",
            "not a date: write YYYY-MM-DD",
        ),
        (
            {"product_code": "anyue-lemon", "valid_from": "1.1.2026", "valid_to": "2027-01-01"},
            "valid_from",
            "not a date: write YYYY-MM-DD",
        ),
        (
            {"product_code": "anyue-lemon", "valid_from": "2027-01-01", "valid_to": "2026-01-01"},
            "valid_to",
            "the end precedes the start",
        ),
    ],
)
def test_each_row_rule_names_its_column(db, world, changes, column, message):
    row = licensee_files.Row(line=2, **{**GOOD, **changes})
    problems = imports.check_rows(session=db, rows=[row])
    assert [(p.line, p.column, p.message) for p in problems] == [(2, column, message)]


def test_a_full_width_code_in_the_file_is_imported_as_its_ascii_code(db, world):
    full_width = USCC_C.translate({code: code + 0xFEE0 for code in range(ord("0"), ord("Z") + 1)})
    rows = [licensee_files.Row(line=2, **{**GOOD, "uscc": full_width})]
    assert imports.check_rows(session=db, rows=rows) == []
    imports.import_rows(session=db, rows=rows, actor=None)
    assert db.exec(select(Licensee).where(Licensee.uscc == USCC_C)).one().name == GOOD["name"]


@pytest.mark.parametrize("county", ["512021", "安岳县", "Anyue County", "anyue county"])
def test_a_county_is_known_by_code_or_name(db, world, county):
    assert imports.check_rows(session=db, rows=[licensee_files.Row(line=2, **{**GOOD, "county": county})]) == []


def test_a_uscc_twice_in_the_file_without_another_licence_points_at_the_first_row(db, world):
    rows = [
        licensee_files.Row(line=2, **GOOD, **LEMON),
        licensee_files.Row(line=3, **{**GOOD, "uscc": GOOD["uscc"].lower()}),
    ]
    (problem,) = imports.check_rows(session=db, rows=rows)
    assert (problem.line, problem.column, problem.params) == (3, "uscc", {"line": 2})
    assert problem.message == (
        "the same code is already on row %(line)s: a licensee's further rows each add a licence, and this one has none"
    )


LEMON = {"product_code": "anyue-lemon", "valid_from": "2026-01-01", "valid_to": "2027-01-01"}
COCOON = {"product_code": "lezhi-cocoon", "valid_from": "2026-03-01", "valid_to": "2029-02-28"}


def test_rows_repeating_a_code_with_the_same_licensee_are_one_licensee_with_a_licence_each(db, world):
    licensees, licences, events = counts(db)
    rows = [
        licensee_files.Row(line=2, **GOOD, **LEMON),
        licensee_files.Row(line=3, **{**GOOD, "county": "安岳县"}, **COCOON),  # the county by name is the same county
    ]
    assert imports.check_rows(session=db, rows=rows) == []
    assert imports.import_rows(session=db, rows=rows, actor=None, source="x.csv") == 1
    assert counts(db) == (licensees + 1, licences + 2, events + 3)
    licensee = db.exec(select(Licensee).where(Licensee.uscc == USCC_C)).one()
    held = {
        (product.code, licence.valid_to) for licence, product in registry.licences_of(session=db, licensee=licensee)
    }
    assert held == {("anyue-lemon", date(2027, 1, 1)), ("lezhi-cocoon", date(2029, 2, 28))}


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "另一合作社"},
        {"county": "512022"},
        {"address": "安岳县另一路1号"},
        {"contact_name": "李四"},
        {"contact_phone": "13800000009"},
    ],
)
def test_a_repeated_code_with_other_licensee_details_points_at_the_first_row(db, world, changes):
    rows = [licensee_files.Row(line=2, **GOOD, **LEMON), licensee_files.Row(line=3, **{**GOOD, **changes}, **COCOON)]
    problems = imports.check_rows(session=db, rows=rows)
    (column,) = changes
    message = "differs from row %(line)s, which has the same code: a licensee's rows must agree"
    assert [(p.line, p.column, p.message, p.params) for p in problems] == [(3, column, message, {"line": 2})]


def test_a_repeated_code_with_a_product_already_licensed_on_its_first_row_is_refused(db, world):
    rows = [
        licensee_files.Row(line=2, **GOOD, **COCOON),
        licensee_files.Row(line=3, **GOOD, **LEMON),
        licensee_files.Row(line=4, **GOOD, **{**LEMON, "valid_from": "2027-01-02", "valid_to": "2028-01-01"}),
    ]
    (problem,) = imports.check_rows(session=db, rows=rows)
    assert (problem.line, problem.column, problem.params) == (4, "product_code", {"line": 3})
    assert problem.message == "this licensee's licence for this product is already on row %(line)s"


def test_the_licensees_export_of_a_licensee_with_two_licences_imports_as_one_licensee(login_as, db, world, grant):
    grant("lezhi-cocoon")
    client = login_as("admin")
    exported = client.get("/transfer/licensees.csv").data.decode("utf-8-sig")
    # The same licensees as another registry would first receive them: codes it does not hold yet.
    exported = exported.replace(world["coop_a"].uscc, USCC_C).replace(world["coop_b"].uscc, USCC_D)
    licensees, licences, _events = counts(db)
    response = upload(client, exported.encode(), run_import=True)
    assert response.status_code == 303
    assert counts(db)[:2] == (licensees + 2, licences + 3)
    assert "Licensees imported: 2." in client.get("/admin/licensees?lang=en").text
    twice = db.exec(select(Licensee).where(Licensee.uscc == USCC_C)).one()
    held = {product.code for _licence, product in registry.licences_of(session=db, licensee=twice)}
    assert held == {"anyue-lemon", "lezhi-cocoon"}


def test_a_withdrawn_product_cannot_be_licensed(db, world):
    product = db.exec(select(Product).where(Product.code == "lezhi-cocoon")).one()
    product.status = "withdrawn"
    db.add(product)
    db.commit()
    row = licensee_files.Row(
        line=2, **GOOD, product_code="lezhi-cocoon", valid_from="2026-01-01", valid_to="2027-01-01"
    )
    assert [p.message for p in imports.check_rows(session=db, rows=[row])] == ["the product is withdrawn"]


def test_import_rows_refuses_everything_when_one_row_is_bad(db, world):
    before = counts(db)
    rows = [licensee_files.Row(line=2, **GOOD), licensee_files.Row(line=3, **{**GOOD, "uscc": USCC_D, "county": "?"})]
    with pytest.raises(licensee_files.ImportRefused) as refused:
        imports.import_rows(session=db, rows=rows, actor=None)
    assert [p.line for p in refused.value.problems] == [3]
    db.commit()  # not a rollback: anything the refusal left behind would be written
    assert counts(db) == before


# ---- the import: reading files ------------------------------------------------------------


def test_a_value_beyond_the_headers_columns_is_a_row_problem_not_dropped(login_as, db):
    # An address typed with a comma and saved without quotes spills into a column the header does not name:
    # imported, the address would be cut at the comma and the rest lost without a word.
    content = f"name,uscc,county,address\r\n甲合作社,{USCC_C},安岳县,安岳县,岳阳镇示例路1号\r\n".encode()
    before = counts(db)
    page = upload(login_as("admin"), content)
    assert page.status_code == 422
    assert (
        "a value in column E, which the header row does not name (in a CSV, a value holding a comma needs quotes)"
        in page.text
    )
    assert upload(login_as("admin"), content, run_import=True).status_code == 422
    assert counts(db) == before


def test_empty_cells_beyond_the_header_and_under_a_blank_header_are_read_past():
    content = f"name,uscc,,county\r\n甲合作社,{USCC_C},,安岳县,,\r\n".encode()
    (row,) = licensee_files.parse_rows(filename="x.csv", content=content)
    assert (row.name, row.county, row.unnamed) == ("甲合作社", "安岳县", "")


def test_a_value_under_a_blank_header_cell_is_a_row_problem(db, world):
    content = f"name,uscc,,county\r\n甲合作社,{USCC_C},备注,安岳县\r\n".encode()
    rows = licensee_files.parse_rows(filename="x.csv", content=content)
    problems = imports.check_rows(session=db, rows=rows)
    assert [(p.line, p.column, p.params) for p in problems] == [(2, "", {"column": "C"})]


def test_the_sample_file_parses_with_its_line_numbers():
    rows = licensee_files.parse_rows(filename="licensees-import.csv", content=SAMPLE.read_bytes())
    assert [row.line for row in rows] == [2, 3, 4, 5]
    assert rows[1].county == "512022" and rows[1].valid_from == "2026/3/1" and rows[2].product_code == ""


@pytest.mark.parametrize("name_column", ["企业名称", "用标单位", "用标企业"])
def test_a_sheet_with_chinese_headers_reads_the_same(name_column):
    header = f"{name_column},统一社会信用代码,所在区县,产品代码,许可起始日期,许可截止日期"
    content = f"{header}\n甲合作社,{USCC_C},安岳县,anyue-lemon,2026-01-01,2027-01-01\n"
    (row,) = licensee_files.parse_rows(filename="x.csv", content=content.encode("gb18030"))
    read = (row.name, row.uscc, row.county, row.product_code, row.valid_from, row.valid_to)
    assert read == ("甲合作社", USCC_C, "安岳县", "anyue-lemon", "2026-01-01", "2027-01-01")


def test_the_licensees_export_reads_back_through_the_imports_columns(login_as, db, world):
    exported = login_as("admin").get("/transfer/licensees.csv").data
    rows = licensee_files.parse_rows(filename="licensees.csv", content=exported)
    assert {row.uscc for row in rows} == {world["coop_a"].uscc, world["coop_b"].uscc}
    assert {row.county for row in rows} == {world["coop_a"].county_code, world["coop_b"].county_code}


@pytest.mark.parametrize("text", ["=1+2", "-", "+86 路", "@合作社"])
def test_a_name_the_csv_export_guarded_with_an_apostrophe_reads_back_as_it_was(login_as, db, world, text):
    registry.save_licensee(
        session=db, actor=None, data=registry.LicenseeInput(name=text, uscc=USCC_C, county_code="512002", address=text)
    )
    db.commit()
    exported = login_as("admin").get("/transfer/licensees.csv").data
    read = next(
        row for row in licensee_files.parse_rows(filename="licensees.csv", content=exported) if row.uscc == USCC_C
    )
    assert (read.name, read.address) == (text, text)  # not "'=1+2": the apostrophe was only for the spreadsheet


DIGITS_USCC = "915120212019065071"  # a valid code of digits alone, as many an older enterprise's is


def test_a_code_of_digits_too_long_for_excels_numbers_stays_whole_in_the_csv(login_as, db, world):
    """Excel reads a cell of digits as a number of 15 significant digits: 915120212019065071 would show as
    9.15E+17 and be kept as 915120212019065000. A leading tab keeps the cell text, as Excel and WPS read it."""
    registry.save_licensee(
        session=db, actor=None, data=registry.LicenseeInput(name="丙合作社", uscc=DIGITS_USCC, county_code="512002")
    )
    db.commit()
    exported = login_as("admin").get("/transfer/licensees.csv")
    assert {row["uscc"] for row in read_csv(exported)} >= {"\t" + DIGITS_USCC, world["coop_a"].uscc}
    rows = licensee_files.parse_rows(filename="licensees.csv", content=exported.data)
    assert DIGITS_USCC in {row.uscc for row in rows}  # the tab is no part of the code


@pytest.mark.parametrize(("value", "written"), [("0123", "\t0123"), ("123456789012345", "123456789012345"), ("0", "0")])
def test_digits_excel_would_change_are_kept_as_text_and_others_left_alone(value, written):
    export = exports.Export("codes", ("code",), [(value,)])
    text = b"".join(exports.csv_chunks(export)).decode("utf-8-sig")
    assert list(csv.reader(io.StringIO(text))) == [["code"], [written]]


def test_an_apostrophe_before_no_formula_is_part_of_the_text():
    content = f"name,uscc,county\n'Ziyang' Lemon,{USCC_C},512021\n".encode()
    assert licensee_files.parse_rows(filename="a.csv", content=content)[0].name == "'Ziyang' Lemon"


EXPORT_HEADER = ",".join(exports.LICENSEE_COLUMNS)
CANNOT_GRANT = (
    "an import grants only licences in force or yet to begin, not one that is %(status)s: "
    "leave the licence columns empty to import the licensee alone"
)


def export_row(status: str, uscc: str = USCC_C) -> str:
    return f"新合作社,{uscc},512021,,anyue-lemon,{status},2026-01-01,2027-01-01"


@pytest.mark.parametrize("status", ["revoked", "suspended", "expired", "Revoked", "已撤销", "已暂停", "已过期", "lost"])
def test_a_licence_the_export_shows_out_of_force_is_not_granted_again(db, world, status):
    content = "\n".join((EXPORT_HEADER, export_row(status))).encode()
    problems = imports.check_rows(session=db, rows=licensee_files.parse_rows(filename="x.csv", content=content))
    assert [(p.line, p.column, p.message, p.params) for p in problems] == [
        (2, "licence_status", CANNOT_GRANT, {"status": status})
    ]


@pytest.mark.parametrize("status", ["active", "pending", "", "有效", "未生效"])
def test_a_licence_in_force_or_yet_to_begin_is_granted(db, world, status):
    content = "\n".join((EXPORT_HEADER, export_row(status))).encode()
    assert imports.check_rows(session=db, rows=licensee_files.parse_rows(filename="x.csv", content=content)) == []


def test_a_row_without_its_licence_imports_the_licensee_whatever_state_it_kept(db, world):
    content = "\n".join((EXPORT_HEADER, f"新合作社,{USCC_C},512021,,,revoked,,")).encode()
    assert imports.check_rows(session=db, rows=licensee_files.parse_rows(filename="x.csv", content=content)) == []


def test_a_suspended_licence_in_the_licensees_export_is_a_row_problem_of_its_re_import(db, world):
    registry.change_licence_state(session=db, licence=world["licence_b"], action="suspend", reason="r", actor=None)
    exported = b"".join(exports.csv_chunks(exports.licensees(session=db)))
    rows = licensee_files.parse_rows(filename="licensees.csv", content=exported)
    suspended = next(row for row in rows if row.uscc == world["coop_b"].uscc)
    status_problems = [p for p in imports.check_rows(session=db, rows=rows) if p.column == "licence_status"]
    assert [(p.line, p.params) for p in status_problems] == [(suspended.line, {"status": "suspended"})]


@pytest.mark.parametrize("separator", [";", "\t"])
def test_a_csv_separated_by_semicolons_or_tabs_reads_the_same(separator):
    # Excel set to a European region saves its CSV with semicolons; a table copied out of a spreadsheet
    # into a text editor keeps its tabs. A comma in a value is then text.
    lines = ["name", "uscc", "county", "address"], ["甲合作社", USCC_C, "安岳县", "岳阳镇示例路1号,2号"]
    content = "\r\n".join(separator.join(cells) for cells in lines).encode()
    (row,) = licensee_files.parse_rows(filename="x.csv", content=content)
    assert (row.name, row.uscc, row.county, row.address) == ("甲合作社", USCC_C, "安岳县", "岳阳镇示例路1号,2号")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding_reads_the_same(encoding):
    content = SAMPLE.read_text(encoding="utf-8").encode(encoding)
    rows = licensee_files.parse_rows(filename="x.CSV", content=content)
    assert rows[0].name == "岳阳柠檬专业合作社（示例）" and rows[0].county == "安岳县"


@pytest.mark.parametrize(("mark", "encoding"), [(b"\xef\xbb\xbf", "utf-8"), (b"\x84\x31\x95\x33", "gb18030")])
def test_a_csv_with_a_byte_order_mark_reads_its_first_header_cell(mark, encoding):
    # Windows tools that save "GB18030 with BOM" start the file with GB18030's own byte-order mark, which
    # decodes to U+FEFF: the first column's name was read as "\ufeff企业名称", an unknown column.
    content = mark + f"企业名称,统一社会信用代码,所在区县\r\n甲合作社,{USCC_C},安岳县\r\n".encode(encoding)
    (row,) = licensee_files.parse_rows(filename="x.csv", content=content)
    assert (row.line, row.name, row.uscc, row.county) == (2, "甲合作社", USCC_C, "安岳县")


def test_an_xlsx_reads_numbers_and_dates_as_people_typed_them():
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Name", "USCC", "County Code", "Contact Phone", "product_code", "valid_from", "valid_to", None])
    sheet.append(["新合作社", USCC_C, 512021, 13800000001, "anyue-lemon", datetime(2026, 1, 1), date(2027, 1, 1), None])
    sheet.append([None] * 7)
    target = io.BytesIO()
    workbook.save(target)
    (row,) = licensee_files.parse_rows(filename="x.xlsx", content=target.getvalue())
    assert (row.county, row.contact_phone, row.valid_from, row.valid_to) == (
        "512021",
        "13800000001",
        "2026-01-01",
        "2027-01-01",
    )


def _as_chinese_excel_saves_it(workbook_bytes: bytes) -> bytes:
    """The workbook as Chinese Excel or WPS stores a 年月日 date: built-in format 31, no format code."""
    source, out = zipfile.ZipFile(io.BytesIO(workbook_bytes)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/styles.xml":
                styles = re.sub(r"<numFmts.*?</numFmts>", "", data.decode()).replace('numFmtId="164"', 'numFmtId="31"')
                data = styles.encode()
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("first_sheet", [["填写说明：名单在“名单”表中"], None])
def test_an_xlsx_is_read_from_the_sheet_that_holds_the_table(first_sheet):
    # An office's workbook may open with its notes, or keep the list on a second sheet behind an empty one.
    workbook = Workbook()
    if first_sheet:
        workbook.active.append(first_sheet)
    listed = workbook.create_sheet("名单")
    listed.append(["企业名称", "统一社会信用代码", "所在区县"])
    listed.append(["甲合作社", USCC_C, "安岳县"])
    target = io.BytesIO()
    workbook.save(target)
    (row,) = licensee_files.parse_rows(filename="x.xlsx", content=target.getvalue())
    assert (row.line, row.name, row.uscc) == (2, "甲合作社", USCC_C)


def test_an_xlsx_without_the_tables_columns_on_any_sheet_is_refused_for_its_first_sheets_header():
    workbook = Workbook()
    workbook.active.append(["名称", "地址"])
    workbook.create_sheet("其他").append(["备注"])
    target = io.BytesIO()
    workbook.save(target)
    with pytest.raises(licensee_files.ImportRefused) as refused:
        licensee_files.parse_rows(filename="x.xlsx", content=target.getvalue())
    assert refused.value.code == "missing_columns" and refused.value.params == {"columns": "uscc, county"}


# An office's list as Excel saves it: a title (a merged cell: its value in the first cell, the rest empty),
# a blank row and a date line above the header row, which is row 4.
TITLED = (
    "资阳市地理标志用标单位名单,,",
    ",,",
    "填报日期：2026年11月,,",
    "企业名称,统一社会信用代码,所在区县",
    f"甲合作社,{USCC_C},安岳县",
    f"乙合作社,{USCC_D},乐至县",
)


def titled_xlsx(*rows: list, title_rows: int = 3) -> bytes:
    """TITLED's workbook: the title merged across the table, a blank row, the date line, then `rows`."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "资阳市地理标志用标单位名单"
    sheet.merge_cells("A1:C1")
    sheet["A3"] = "填报日期：2026年11月"
    for number, values in enumerate(rows, start=title_rows + 1):
        for column, value in enumerate(values, start=1):
            sheet.cell(number, column, value)
    target = io.BytesIO()
    workbook.save(target)
    return target.getvalue()


def test_a_csv_with_a_title_above_its_header_is_read_from_the_header_with_the_files_row_numbers():
    table = licensee_files.read_table(filename="x.csv", content="\r\n".join(TITLED).encode("gb18030"))
    assert table.header_line == 4
    assert [(row.line, row.name, row.uscc, row.county) for row in table.rows] == [
        (5, "甲合作社", USCC_C, "安岳县"),
        (6, "乙合作社", USCC_D, "乐至县"),
    ]


def test_an_xlsx_with_a_merged_title_above_its_header_is_read_from_the_header_with_the_sheets_row_numbers():
    content = titled_xlsx(["企业名称", "统一社会信用代码", "所在区县"], ["甲合作社", USCC_C, "安岳县"])
    table = licensee_files.read_table(filename="x.xlsx", content=content)
    assert table.header_line == 4
    assert [(row.line, row.name, row.uscc) for row in table.rows] == [(5, "甲合作社", USCC_C)]


def test_an_xlsx_is_read_from_the_sheet_whose_header_is_under_a_title():
    workbook = Workbook()
    workbook.active.append(["填写说明：名单在“名单”表中"])
    listed = workbook.create_sheet("名单")
    listed.append(["资阳市地理标志用标单位名单"])
    listed.append(["企业名称", "统一社会信用代码", "所在区县"])
    listed.append(["甲合作社", USCC_C, "安岳县"])
    target = io.BytesIO()
    workbook.save(target)
    (row,) = licensee_files.parse_rows(filename="x.xlsx", content=target.getvalue())
    assert (row.line, row.name) == (3, "甲合作社")


def test_a_tab_separated_csv_under_a_title_without_tabs_finds_its_separator_in_the_header():
    content = f"资阳市地理标志用标单位名单\nname\tuscc\tcounty\n甲合作社\t{USCC_C}\t安岳县\n".encode()
    (row,) = licensee_files.parse_rows(filename="x.csv", content=content)
    assert (row.line, row.name, row.county) == (3, "甲合作社", "安岳县")


def test_a_header_further_down_than_the_first_ten_rows_is_not_looked_for():
    content = "\r\n".join(["名单,,"] * 10 + ["name,uscc,county", f"甲合作社,{USCC_C},安岳县"]).encode()
    with pytest.raises(licensee_files.ImportRefused) as refused:
        licensee_files.parse_rows(filename="x.csv", content=content)
    assert refused.value.code == "unknown_columns" and refused.value.params == {"columns": "名单"}


def test_a_header_under_a_title_that_lacks_a_column_is_refused_for_its_own_columns_not_the_titles():
    content = f"资阳市地理标志用标单位名单,,\r\n企业名称,统一社会信用代码,地址\r\n甲合作社,{USCC_C},安岳县\r\n"
    with pytest.raises(licensee_files.ImportRefused) as refused:
        licensee_files.parse_rows(filename="x.csv", content=content.encode())
    assert refused.value.code == "missing_columns" and refused.value.params == {"columns": "county"}


def test_a_dry_run_of_a_titled_file_says_its_header_row_and_each_problems_real_row(login_as, db):
    bad = (*TITLED[:-1], f"乙合作社,{USCC_D[:-1]}A,乐至县")
    before = counts(db)
    page = upload(login_as("admin"), "\r\n".join(bad).encode())
    assert page.status_code == 422
    assert "The header was read from row 4; the rows above it were read past." in page.text
    assert '<td data-label="Row">6</td>' in page.text and "check character does not match" in page.text
    assert upload(login_as("admin"), "\r\n".join(bad).encode(), run_import=True).status_code == 422
    assert counts(db) == before


def test_a_titled_xlsx_imports_every_row(login_as, db):
    content = titled_xlsx(
        ["企业名称", "统一社会信用代码", "所在区县"], ["甲合作社", USCC_C, "安岳县"], ["乙合作社", USCC_D, "乐至县"]
    )
    client = login_as("admin")
    dry = upload(client, content, "名单.xlsx")
    assert dry.status_code == 200 and "The header was read from row 4" in dry.text
    assert "No problems found in 名单.xlsx (rows checked: 2)" in dry.text
    licensees = counts(db)[0]
    assert upload(client, content, "名单.xlsx", run_import=True).status_code == 303
    assert counts(db)[0] == licensees + 2


def test_a_chinese_header_spaced_out_or_wrapped_in_its_cell_reads_as_its_name():
    # A form spaces a two-character header out to the width of the others, with spaces or a full-width one,
    # and wraps a long one in its cell (Alt+Enter): "序  号", "名　称", "统一社会\n信用代码".
    workbook = Workbook()
    workbook.active.append(["序  号", "企业　名称", "统一社会\n信用代码", "区 县"])
    workbook.active.append([1, "甲合作社", USCC_C, "安岳县"])
    target = io.BytesIO()
    workbook.save(target)
    (row,) = licensee_files.parse_rows(filename="x.xlsx", content=target.getvalue())
    assert (row.name, row.uscc, row.county, row.unnamed) == ("甲合作社", USCC_C, "安岳县", "")


@pytest.mark.parametrize("number", ["序号", "No.", "NO", "#"])
def test_a_running_number_column_is_read_past(db, world, number):
    content = (
        f"{number},企业名称,统一社会信用代码,所在区县\r\n1,甲合作社,{USCC_C},安岳县\r\n2,乙合作社,{USCC_D},乐至县\r\n"
    )
    rows = licensee_files.parse_rows(filename="x.csv", content=content.encode())
    assert [(row.line, row.name, row.uscc, row.county, row.unnamed) for row in rows] == [
        (2, "甲合作社", USCC_C, "安岳县", ""),
        (3, "乙合作社", USCC_D, "乐至县", ""),
    ]
    assert imports.check_rows(session=db, rows=rows) == []


@pytest.mark.parametrize("remarks", ["备注", "备  注", "Remarks"])
def test_a_remarks_column_is_read_past_and_the_check_says_it_is_not_imported(login_as, db, world, remarks):
    """An office's list nearly always ends in a 备注 column; the register keeps no remarks, so the file was
    refused for an unknown column. Its values are now left out, and the dry run says so."""
    content = (
        f"序号,企业名称,统一社会信用代码,所在区县,{remarks}\r\n1,甲合作社,{USCC_C},安岳县,新申请\r\n2,,,,待补材料\r\n"
    ).encode()
    table = licensee_files.read_table(filename="x.csv", content=content)
    assert [(row.line, row.name, row.lone) for row in table.rows] == [(2, "甲合作社", "")]
    assert table.remarks == [remarks]
    page = upload(login_as("admin"), content).text
    assert f"The column “{remarks}” is not imported: the register keeps no remarks." in page
    assert imports.check_rows(session=db, rows=table.rows) == []


@pytest.mark.parametrize("column", ["编号", "序列号", "id"])
def test_a_column_that_may_hold_a_number_of_record_is_not_taken_for_a_running_number(column):
    # 编号 may be a certificate's or licence's number, which the import does not keep: refused, not dropped.
    content = f"{column},name,uscc,county\r\nZY-001,甲合作社,{USCC_C},安岳县\r\n".encode()
    with pytest.raises(licensee_files.ImportRefused) as refused:
        licensee_files.parse_rows(filename="x.csv", content=content)
    assert refused.value.code == "unknown_columns" and refused.value.params == {"columns": column.lower()}


def test_an_office_template_numbered_ahead_reads_only_its_filled_rows(login_as, db):
    # The template came with 序号 1–5 typed in; three rows were left empty but for their number.
    numbered = [
        [number, *cells]
        for number, cells in enumerate([["甲合作社", USCC_C, "安岳县"], ["乙合作社", USCC_D, "乐至县"]], 1)
    ]
    content = titled_xlsx(["序号", "企业名称", "统一社会信用代码", "所在区县"], *numbered, [3], [4], [5])
    assert [row.line for row in licensee_files.parse_rows(filename="x.xlsx", content=content)] == [5, 6]
    licensees = counts(db)[0]
    assert upload(login_as("admin"), content, "名单.xlsx", run_import=True).status_code == 303
    assert counts(db)[0] == licensees + 2


FOOTERS = (",,", "合计：2家,,", "填表人（签字）：张三,,审核人：李四")


def test_a_tally_or_sign_off_under_the_table_is_read_past_as_a_note_and_said(db, world):
    table = licensee_files.read_table(filename="x.csv", content="\r\n".join(TITLED + FOOTERS).encode())
    assert [row.line for row in table.rows] == [5, 6]
    assert [(note.line, note.text) for note in table.notes] == [
        (8, "合计：2家"),
        (9, "填表人（签字）：张三 审核人：李四"),
    ]
    assert imports.check_rows(session=db, rows=table.rows) == []


@pytest.mark.parametrize("name", ["合计", "备注：见附件", "注：甲合作社"])
def test_a_row_with_a_code_is_a_licensee_whatever_its_first_cell_says(name):
    table = licensee_files.read_table(
        filename="x.csv", content=f"name,uscc,county\r\n{name},{USCC_C},安岳县\r\n".encode()
    )
    assert [(row.line, row.name) for row in table.rows] == [(2, name)] and table.notes == []


@pytest.mark.parametrize("line", ["以上名单经资阳市市场监督管理局审核", "甲合作社"])
def test_a_row_of_one_value_and_no_code_is_one_problem_that_quotes_it(db, world, line):
    # Under a 序号 column, a line merged across the sheet holds its text in the running number's cell.
    content = f"序号,name,uscc,county\r\n1,乙合作社,{USCC_D},乐至县\r\n{line},,,\r\n".encode()
    rows = licensee_files.parse_rows(filename="x.csv", content=content)
    (problem,) = imports.check_rows(session=db, rows=rows)
    assert (problem.line, problem.column, problem.params) == (3, "", {"text": line})


def test_the_import_pages_lists_are_written_as_each_language_writes_a_list(login_as, db):
    client = login_as("admin")
    english = client.get("/transfer/licensees/import?lang=en").text
    assert "begins with 合计, 备注, 说明" in english and "work too: 企业名称, 统一社会信用代码, 所在区县" in english
    assert "、" not in english
    chinese = client.get("/transfer/licensees/import?lang=zh").text
    assert "序号、No.、#" in chinese and "合计、备注、说明" in chinese
    client.get("/transfer/licensees/import?lang=zh")  # the language sticks for the upload below
    content = "\r\n".join((*TITLED, *FOOTERS)).encode("gb18030")
    page = client.post("/transfer/licensees/import", data={"file": (io.BytesIO(content), "x.csv"), "dry_run": "y"}).text
    assert "第 8 行 “合计：2家”；第 9 行" in page


def test_a_row_of_a_name_alone_is_one_problem_too(db, world):
    rows = licensee_files.parse_rows(filename="x.csv", content="name,uscc,county\r\n甲合作社,,\r\n".encode())
    (problem,) = imports.check_rows(session=db, rows=rows)
    assert problem.message == (
        "“%(text)s” is the only value on this row, which has no unified social credit code: "
        "delete a title, note or signature line from the file, or complete the row"
    )
    assert problem.params == {"text": "甲合作社"}


def test_a_dry_run_says_the_notes_it_read_past_and_the_row_of_a_lone_line(login_as, db):
    client = login_as("admin")
    content = "\r\n".join((*TITLED, *FOOTERS, "以上名单经市局审核,,")).encode("gb18030")
    before = counts(db)
    page = upload(client, content)
    assert page.status_code == 422
    assert (
        "Read past as notes, not licensees: row 8 “合计：2家”; row 9 “填表人（签字）：张三 审核人：李四”." in page.text
    )
    assert '<td data-label="Row">10</td>' in page.text
    assert "“以上名单经市局审核” is the only value on this row, which has no unified social credit code" in page.text
    assert upload(client, content, run_import=True).status_code == 422
    assert counts(db) == before
    signed = "\r\n".join(TITLED + FOOTERS).encode("gb18030")
    assert upload(client, signed).status_code == 200
    assert upload(client, signed, run_import=True).status_code == 303
    assert counts(db)[0] == before[0] + 2


def test_an_xlsx_footer_merged_across_the_sheet_is_a_note(login_as, db):
    content = titled_xlsx(
        ["序号", "企业名称", "统一社会信用代码", "所在区县"],
        [1, "甲合作社", USCC_C, "安岳县"],
        [],
        ["填表人：张三"],
    )
    table = licensee_files.read_table(filename="x.xlsx", content=content)
    assert [row.line for row in table.rows] == [5]
    assert [(note.line, note.text) for note in table.notes] == [(7, "填表人：张三")]


def _with_dimension(workbook_bytes: bytes, ref: str) -> bytes:
    """The workbook with the used range its sheet declares set to `ref`, as some writers leave it (openpyxl's
    documentation warns of them): "A1", or the range of an earlier, shorter sheet."""
    source, out = zipfile.ZipFile(io.BytesIO(workbook_bytes)), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = re.sub(rb'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{ref}"/>'.encode(), data)
            target.writestr(item, data)
    return out.getvalue()


@pytest.mark.parametrize("ref", ["A1", "A1:C2"])
def test_an_xlsx_whose_declared_used_range_is_too_small_is_read_whole(ref):
    workbook = Workbook()
    for values in (["name", "uscc", "county"], ["甲合作社", USCC_C, "安岳县"], ["乙合作社", USCC_D, "乐至县"]):
        workbook.active.append(values)
    target = io.BytesIO()
    workbook.save(target)
    rows = licensee_files.parse_rows(filename="x.xlsx", content=_with_dimension(target.getvalue(), ref))
    assert [(row.line, row.uscc, row.county) for row in rows] == [(2, USCC_C, "安岳县"), (3, USCC_D, "乐至县")]


@pytest.mark.parametrize("epoch", [CALENDAR_WINDOWS_1900, CALENDAR_MAC_1904])
def test_an_xlsx_from_chinese_excel_reads_its_dates(db, world, epoch):
    workbook = Workbook()
    workbook.epoch = epoch  # 1904: the date system of old Mac Excel, four years and a day apart
    sheet = workbook.active
    sheet.append(["name", "uscc", "county", "product_code", "valid_from", "valid_to", "contact_phone"])
    sheet.append(["新合作社", USCC_C, "512021", "anyue-lemon", date(2026, 1, 1), date(2028, 12, 31), 46023])
    for cell in ("E2", "F2"):
        sheet[cell].number_format = 'yyyy"年"m"月"d"日"'
    target = io.BytesIO()
    workbook.save(target)
    (row,) = licensee_files.parse_rows(filename="zh.xlsx", content=_as_chinese_excel_saves_it(target.getvalue()))
    assert (row.valid_from, row.valid_to, row.contact_phone) == ("2026-01-01", "2028-12-31", "46023")
    assert imports.check_rows(session=db, rows=[row]) == []


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2026-01-01", date(2026, 1, 1)),
        ("2026/3/1", date(2026, 3, 1)),
        ("2026年3月1日", date(2026, 3, 1)),
    ],
)
def test_a_date_as_people_and_spreadsheets_write_it(text, day):
    assert imports.parse_date(text) == day


# A bare number in a CSV is no date: only a workbook cell is known to hold Excel's day number.
@pytest.mark.parametrize("text", ["2026", "20260101", "2026年3月", "46023", "1/3/2026"])
def test_a_year_alone_a_bare_number_or_a_date_in_another_order_is_not_a_date(text):
    with pytest.raises(ValueError):
        imports.parse_date(text)


@pytest.mark.parametrize(
    ("filename", "content", "code"),
    [
        ("x.txt", b"name,uscc,county\r\na,b,c", "wrong_file_type"),
        ("x.xls", b"\xd0\xcf\x11\xe0", "wrong_file_type"),
        ("x", b"name,uscc,county", "wrong_file_type"),
        ("x.xlsx", b"PK\x03\x04 not really a zip", "unreadable_file"),
        ("x.xlsx", b"name,uscc,county\r\n", "unreadable_file"),
        ("x.csv", b"\x00\x01\x02PK", "unreadable_file"),
        ("x.csv", b"", "empty_file"),
        ("x.csv", HEADER.encode(), "empty_file"),
        ("x.csv", b"name,uscc\r\na,b", "missing_columns"),
        ("x.csv", b"name,uscc,county,fax\r\na,b,c,d", "unknown_columns"),
        ("x.csv", b"name,uscc,county,county_code\r\na,b,c,d", "duplicate_columns"),
        ("x.csv", b"name,uscc,county\r\n" + b"x" * (2 * 1024 * 1024), "file_too_large"),
        ("x.csv", (HEADER + "\r\n" + "a,b,c,,,,,,\r\n" * 5001).encode(), "too_many_rows"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_whole(filename, content, code):
    with pytest.raises(licensee_files.ImportRefused) as refused:
        licensee_files.parse_rows(filename=filename, content=content)
    assert refused.value.code == code


def test_a_file_of_too_many_rows_is_told_the_limit_as_people_write_it(login_as):
    content = (HEADER + "\r\n" + "a,b,c,,,,,,\r\n" * 5001).encode()
    page = upload(login_as("admin"), content, lang="en")
    assert page.status_code == 422 and "The file has more than 5,000 rows." in page.text


def test_five_thousand_rows_are_allowed():
    content = (HEADER + "\r\n" + "a,b,c,,,,,,\r\n" * 5000).encode()
    assert len(licensee_files.parse_rows(filename="x.csv", content=content)) == 5000


# ---- the import: the page -----------------------------------------------------------------


BAD_ROWS = (
    f"好合作社,{USCC_C},安岳县,,,,,,",
    f"坏校验码合作社,{USCC_D[:-1]}A,乐至县,,,,,,",
    f"未知区县合作社,{USCC_E},成都市,,,,anyue-nothing,2026-01-01,2025-01-01",
    f",{USCC_C},512021,,,,,,",
    "已登记合作社,93512021MA6AY0L018,512021,,,,anyue-lemon,2026-02-30,",
)


def test_a_dry_run_lists_every_problem_of_every_row_and_writes_nothing(login_as, db):
    client = login_as("admin")
    before = counts(db)
    response = upload(client, csv_file(*BAD_ROWS))
    assert response.status_code == 422
    page = response.text
    for expected in (
        "check character does not match",
        "unknown county",
        "unknown product",
        "the end precedes the start",
        "the name is missing",
        "the same code is already on row 2",
        "a licensee with this code is already registered",
        "not a date: write YYYY-MM-DD",
        "a licence needs this date",
        "Rows: 5; with problems: 4.",
        "Rows with problems: 4 of 5, listed below.",
        "1 row without problems is not shown.",
    ):
        assert expected in page, expected
    assert "好合作社" not in page  # the clean row is counted, not listed
    assert 'Unified social credit code <code class="muted">uscc</code>: ' in page  # as the forms name it
    assert "disabled" in page.split('id="run_import"')[0].rsplit("<input", 1)[1]  # fix the file first
    assert counts(db) == before


def test_a_clean_dry_run_writes_nothing_and_offers_the_import(login_as, db):
    client = login_as("admin")
    before = counts(db)
    response = upload(client, SAMPLE.read_bytes())
    assert response.status_code == 200
    assert "No problems found in licensees.csv (rows checked: 4). The file is kept" in response.text
    assert "disabled" not in response.text.split('id="run_import"')[0].rsplit("<input", 1)[1]
    # The checked file's result comes first: Import is the main button, and the format notes fold away.
    assert 'class="secondary" id="dry_run"' in response.text and '<details class="format">' in response.text
    assert counts(db) == before


def test_a_clean_file_imports_every_row_with_its_licence_and_audit(login_as, db):
    client = login_as("admin")
    licensees, licences, events = counts(db)
    response = upload(client, SAMPLE.read_bytes(), "licensees-import.csv", run_import=True)
    assert response.status_code == 303 and response.location.endswith("/admin/licensees")
    assert counts(db) == (licensees + 4, licences + 3, events + 7)
    cocoon = db.exec(select(Licensee).where(Licensee.uscc == USCC_D)).one()
    assert (cocoon.county_code, cocoon.contact_name) == ("512022", "李示例")
    ((licence, product),) = registry.licences_of(session=db, licensee=cocoon)
    assert (product.code, licence.valid_from, licence.valid_to) == ("lezhi-cocoon", date(2026, 3, 1), date(2029, 2, 28))
    grant = db.exec(
        select(AuditEvent).where(AuditEvent.action == "licence.grant").order_by(AuditEvent.id.desc())
    ).first()
    assert grant.actor == "admin@test.cn" and grant.reason == "批量导入 licensees-import.csv"
    assert "Licensees imported: 4." in client.get("/admin/licensees?lang=en").text
    # The log keeps the office's Chinese; a page in English says it in English.
    assert "<td>Bulk import of licensees-import.csv</td>" in client.get(f"/admin/licences/{licence.id}").text
    assert "<td>批量导入 licensees-import.csv</td>" in client.get(f"/admin/licences/{licence.id}?lang=zh").text


def test_an_imported_licensee_is_logged_with_the_file_it_came_from(db, world):
    imports.import_rows(session=db, rows=[licensee_files.Row(line=2, **GOOD)], actor=None, source="名单.csv")
    licensee = db.exec(select(Licensee).where(Licensee.uscc == USCC_C)).one()
    created = db.exec(
        select(AuditEvent).where(AuditEvent.action == "licensee.create", AuditEvent.entity_id == str(licensee.id))
    ).one()
    assert created.reason == "批量导入 名单.csv"


def test_one_bad_row_means_nothing_is_imported_even_when_import_is_pressed(login_as, db):
    client = login_as("admin")
    before = counts(db)
    content = SAMPLE.read_bytes() + f"坏行合作社,{USCC_E[:-1]}A,安岳县,,,,,,\r\n".encode()
    response = upload(client, content, run_import=True)
    assert response.status_code == 422
    assert "check character does not match" in response.text and "nothing was imported" in response.text
    assert counts(db) == before


def test_an_xlsx_upload_imports_too(login_as, db):
    workbook = Workbook()
    workbook.active.append(HEADER.split(","))
    workbook.active.append(
        ["新合作社", USCC_C, "安岳县", "", "", "", "anyue-lemon", date(2026, 1, 1), date(2027, 1, 1)]
    )
    target = io.BytesIO()
    workbook.save(target)
    client = login_as("admin")
    assert upload(client, target.getvalue(), "list.xlsx", run_import=True).status_code == 303
    assert db.exec(select(Licensee).where(Licensee.uscc == USCC_C)).one().name == "新合作社"


def test_the_import_takes_only_the_file_that_was_checked(login_as, db):
    client = login_as("admin")
    dry = upload(client, csv_file(f"甲合作社,{USCC_C},安岳县,,,,,,"))
    assert dry.status_code == 200 and 'name="checked"' in dry.text
    digest = dry.text.split('name="checked" type="hidden" value="')[1].split('"')[0]
    before = counts(db)
    other = upload(client, csv_file(f"乙合作社,{USCC_D},乐至县,,,,,,"), run_import=True, checked=digest)
    assert other.status_code == 422 and "not the file that was checked" in other.text
    assert counts(db) == before
    same = upload(client, csv_file(f"甲合作社,{USCC_C},安岳县,,,,,,"), run_import=True, checked=digest)
    assert same.status_code == 303 and counts(db)[0] == before[0] + 1


def checked_digest(page: str) -> str:
    return page.split('name="checked" type="hidden" value="')[1].split('"')[0]


def import_checked(client, digest: str, button: str = "run_import"):
    """Press Import (or Check) with no file chosen, as the page does after a clean dry run."""
    data = {"checked": digest, button: "y"}
    return client.post(IMPORT_URL, data=data, content_type="multipart/form-data")


def press_import(client, page: str):
    """Press the page's Import button with no file chosen: the form sends its hidden fields."""
    hidden = dict(re.findall(r'<input id="\w+" name="(\w+)" type="hidden" value="([^"]*)">', page))
    return client.post(IMPORT_URL, data={**hidden, "run_import": "y"}, content_type="multipart/form-data")


def staged(app) -> list[Path]:
    folder = Path(app.config["IMPORT_STAGING_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_after_a_clean_dry_run_import_takes_the_checked_file_without_choosing_it_again(app, login_as, db):
    client = login_as("admin")
    before = counts(db)
    checked = upload(client, SAMPLE.read_bytes(), "licensees-import.csv").text
    assert [path.read_bytes() for path in staged(app)] == [b"licensees-import.csv\n" + SAMPLE.read_bytes()]
    assert 'name="checked_name"' not in checked  # the name the audit log records is the server's
    response = press_import(client, checked)
    assert response.status_code == 303 and counts(db)[:2] == (before[0] + 4, before[1] + 3)
    grant = db.exec(select(AuditEvent).where(AuditEvent.action == "licence.grant")).all()[-1]
    assert "licensees-import.csv" in grant.reason
    assert staged(app) == []  # its names and phones are not kept once imported


def test_import_without_a_file_or_a_kept_one_asks_for_a_file_and_writes_nothing(app, login_as, db):
    client = login_as("admin")
    before = counts(db)
    nothing = client.post(IMPORT_URL, data={"run_import": "y"}, content_type="multipart/form-data")
    assert nothing.status_code == 422 and "Choose a file." in nothing.text
    for forged in ("0" * 64, "0" * 64 + "\n", "../" * 3 + "etc/passwd"):
        answer = import_checked(client, forged)
        assert answer.status_code == 422 and "no longer kept; choose it again" in answer.text
    assert counts(db) == before


def test_checking_again_without_a_file_checks_the_kept_one_and_keeps_it(app, login_as, db):
    client = login_as("admin")
    digest = checked_digest(upload(client, SAMPLE.read_bytes(), "licensees-import.csv").text)
    again = import_checked(client, digest, button="dry_run")
    assert again.status_code == 200 and "No problems found in licensees-import.csv (rows checked: 4)" in again.text
    assert checked_digest(again.text) == digest and len(staged(app)) == 1


def test_another_admin_cannot_import_the_file_one_admin_checked(app, login_as, db, world):
    client = login_as("admin")
    digest = checked_digest(upload(client, SAMPLE.read_bytes()).text)
    accounts.create_user(session=db, email="admin2@test.cn", password=PASSWORD, role="admin")
    db.commit()
    client.post("/logout")
    assert client.post("/login", data={"email": "admin2@test.cn", "password": PASSWORD}).status_code == 302
    before = counts(db)
    refused = import_checked(client, digest)
    assert refused.status_code == 422 and "no longer kept" in refused.text
    assert counts(db) == before


def test_a_checked_file_that_turned_bad_is_refused_and_not_kept(app, login_as, db):
    client = login_as("admin")
    digest = checked_digest(upload(client, csv_file(f"甲合作社,{USCC_C},安岳县,,,,,,")).text)
    # Meanwhile the same licensee is registered another way.
    registry.save_licensee(
        session=db, actor=None, data=registry.LicenseeInput(name="甲合作社", uscc=USCC_C, county_code="512021")
    )
    before = counts(db)
    refused = import_checked(client, digest)
    assert refused.status_code == 422 and "already registered" in refused.text
    assert counts(db) == before and staged(app) == []


def test_a_second_dry_run_replaces_the_kept_file_and_old_ones_expire(app, login_as, monkeypatch):
    client = login_as("admin")
    first = checked_digest(upload(client, csv_file(f"甲合作社,{USCC_C},安岳县,,,,,,")).text)
    data = {"file": (io.BytesIO(csv_file(f"乙合作社,{USCC_D},乐至县,,,,,,")), "b.csv"), "checked": first}
    second = checked_digest(client.post(IMPORT_URL, data={**data, "dry_run": "y"}).text)
    assert [path.name.split("-", 1)[1] for path in staged(app)] == [second]
    # A kept file older than a form lasts is pruned at the next dry run and cannot be imported.
    app.config["WTF_CSRF_TIME_LIMIT"] = 1
    (old,) = staged(app)
    os.utime(old, (0, 0))
    assert import_checked(client, second).status_code == 422
    upload(client, SAMPLE.read_bytes())
    assert old not in staged(app)


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("big.csv", b"x" * (2 * 1024 * 1024 + 1), "larger than 2 MB"),
        ("list.xls", b"\xd0\xcf\x11\xe0" + b"\x00" * 100, "Only .csv and .xlsx files can be imported."),
        ("list.xlsx", b"not a workbook", "not a readable .xlsx workbook"),
    ],
)
def test_oversize_or_wrong_files_are_refused_and_write_nothing(login_as, db, filename, content, message):
    client = login_as("admin")
    before = counts(db)
    response = upload(client, content, filename, run_import=True)
    assert response.status_code == 422 and message in response.text
    assert counts(db) == before


def test_the_import_form_needs_its_csrf_token(make_app, world):
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    login = client.get("/login")
    token = login.text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/login", data={"email": "admin@test.cn", "password": "correct-horse-42", "csrf_token": token})
    response = upload(client, SAMPLE.read_bytes(), run_import=True)
    assert response.status_code == 400
    assert client.get(IMPORT_URL).status_code == 200


@pytest.mark.parametrize("url", EXPORTS)
def test_a_streamed_export_gives_its_connection_back(app, login_as, scans, report, url):
    response = login_as("regulator").get(url)
    assert response.status_code == 200 and len(response.get_data()) > 100
    response.close()
    assert app.extensions["db_engine"].pool.checkedout() == 0


def test_a_nul_in_the_uploaded_files_name_is_refused_and_nothing_imported(login_as, db):
    # The file's name goes into the audit reason, and PostgreSQL's text cannot hold a NUL.
    before = counts(db)
    sample = csv_file("name,uscc,county", "雁江蜜柑合作社,93512002MA6Y10M03N,512002")
    response = upload(login_as("admin"), sample, "a\x00b.csv", run_import=True)
    assert response.status_code == 400
    assert counts(db) == before


def test_each_export_is_in_the_audit_log_with_who_and_what(login_as, db, world):
    client = login_as("regulator")
    assert client.get("/transfer/scans.csv?from=2026-03-01&to=2026-03-31").status_code == 200
    assert client.get("/transfer/licensees.xlsx").status_code == 200
    db.commit()
    events = db.exec(select(AuditEvent).where(AuditEvent.entity_type == "export").order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor, e.after["format"]) for e in events] == [
        ("export.scans", "reg@test.cn", "csv"),
        ("export.licensees", "reg@test.cn", "xlsx"),
    ]
    assert (events[0].after["from"], events[0].after["to"]) == ("2026-03-01", "2026-03-31")


@pytest.mark.parametrize("suffix", ["csv", "xlsx"])
def test_a_head_request_for_an_export_hands_over_nothing_and_logs_nothing(login_as, db, world, monkeypatch, suffix):
    """A download manager asks HEAD first: logged, an export that never happened was in the audit log, and an
    Excel file (a minute's work for two years of scans) was written for nothing."""
    written = []
    monkeypatch.setattr(exports, "write_xlsx", lambda export, out: written.append(export))
    response = login_as("regulator").head(f"/transfer/scans.{suffix}?from=2026-03-01&to=2026-03-31")
    assert response.status_code == 200 and response.data == b""
    assert 'filename="scans-20260301-20260331.' in response.headers["Content-Disposition"]
    assert written == []
    db.commit()
    assert db.exec(select(AuditEvent).where(AuditEvent.entity_type == "export")).all() == []


def test_an_export_reads_in_the_audit_log_as_what_was_handed_over(login_as, db, world):
    client = login_as("regulator")
    client.get("/transfer/scans.csv?from=2026-03-01&to=2026-03-31")
    page = client.get("/admin/audit?entity_type=export&lang=zh").text
    assert "<summary>导出内容</summary>" in page and "改动" not in page
    shown = page.split('<dl class="changes">')[1].split("</dl>")[0]
    assert "<dt>文件格式</dt><dd>csv</dd>" in shown and "<dt>起始日期</dt><dd>2026-03-01</dd>" in shown
    assert "<dt>截止日期</dt><dd>2026-03-31</dd>" in shown


def test_a_period_given_the_wrong_way_round_is_exported_the_right_way(login_as, db, world):
    client = login_as("regulator")
    assert client.get("/transfer/scans.csv?from=2026-03-31&to=2026-03-01").status_code == 200
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "export.scans")).one()
    assert (event.after["from"], event.after["to"]) == ("2026-03-01", "2026-03-31")


@pytest.mark.parametrize(
    ("valid_from", "valid_to", "column", "message"),
    [
        ("0026-01-01", "2026-12-31", "valid_from", "before 2000-01-01: check the year"),
        ("2026-01-01", "2099-12-31", "valid_to", "a licence runs at most 30 years"),
    ],
)
def test_an_imported_licence_term_meets_the_same_plausibility_rules(db, world, valid_from, valid_to, column, message):
    row = licensee_files.Row(line=2, **GOOD, product_code="anyue-lemon", valid_from=valid_from, valid_to=valid_to)
    assert [(p.column, p.message) for p in imports.check_rows(session=db, rows=[row])] == [(column, message)]


def test_a_dry_run_says_why_a_revoked_licence_in_the_file_is_refused(login_as, db):
    before = counts(db)
    content = "\n".join((EXPORT_HEADER, export_row("revoked"))).encode()
    response = upload(login_as("admin"), content, run_import=True)
    assert response.status_code == 422
    assert (
        'Status <code class="muted">licence_status</code>: an import grants only licences in force or yet to '
        "begin, not one that is revoked: leave the licence columns empty to import the licensee alone"
    ) in response.text
    assert counts(db) == before


def test_a_dry_run_shows_each_row_as_it_would_be_written(login_as):
    page = upload(
        login_as("admin"), csv_file(f"甲合作社,{USCC_C},anyue county,,,,anyue-lemon,2026/3/1,2029年2月28日")
    ).text
    assert 'Anyue County <span class="muted">(512021)</span>' in page
    assert "Anyue Lemon 2026-03-01 – 2029-02-28" in page
    nameless = upload(login_as("admin"), csv_file(f",{USCC_D},乐至县,,,,,,")).text
    # An English label that is its column's name is not said twice; another is, with the column beside it.
    assert "Name: the name is missing" in nameless and "Name <code" not in nameless


def test_a_workbook_formatted_out_to_its_last_column_reads_at_once():
    # A sheet shaded across to column XFD (or a stray value there) gave every row 16,384 values to look at,
    # one by one: a 2 MB workbook of such rows held a worker for half an hour. A licensee list has a dozen.
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["name", "uscc", "county"])
    sheet.append(["甲合作社", USCC_C, "安岳县"])
    for number in range(3, 2003):
        sheet.cell(number, 16384).fill = PatternFill("solid", fgColor="FFFF00")
    target = io.BytesIO()
    workbook.save(target)
    started = time.perf_counter()
    (row,) = licensee_files.parse_rows(filename="x.xlsx", content=target.getvalue())
    assert time.perf_counter() - started < 2
    assert (row.line, row.uscc) == (2, USCC_C)


def test_a_workbook_that_unpacks_far_past_any_licensee_list_is_refused_unread():
    # 5,000 licensees in a dozen columns unpack to about 3 MB. Text repeated compresses a thousandfold, and a
    # 150 KB upload of 3.5 million shared strings (64 MB unpacked, the bound before) took a worker 37 s and
    # 400 MB to read.
    workbook = Workbook()
    workbook.active.append(["name", "uscc", "county"])
    workbook.active.append(["甲合作社", USCC_C, "安岳县"])
    target = io.BytesIO()
    workbook.save(target)
    source, out = zipfile.ZipFile(io.BytesIO(target.getvalue())), io.BytesIO()
    main = b"http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    strings = b'<sst xmlns="' + main + b'">' + b"<si><t>a</t></si>" * 1_200_000 + b"</sst>"
    kind = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
    relation = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as inflated:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "[Content_Types].xml":
                override = b'<Override PartName="/xl/sharedStrings.xml" ContentType="' + kind + b'"/>'
                data = data.replace(b"</Types>", override + b"</Types>")
            if item.filename == "xl/_rels/workbook.xml.rels":
                link = b'<Relationship Id="rIdStrings" Type="' + relation + b'" Target="sharedStrings.xml"/>'
                data = data.replace(b"</Relationships>", link + b"</Relationships>")
            inflated.writestr(item.filename, data)
        inflated.writestr("xl/sharedStrings.xml", strings)
    assert len(out.getvalue()) < 200_000
    with pytest.raises(licensee_files.ImportRefused) as refused:
        licensee_files.read_table(filename="x.xlsx", content=out.getvalue())
    assert refused.value.code == "file_too_large" and refused.value.params == {"mb": 16}

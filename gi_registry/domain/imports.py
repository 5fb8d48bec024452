"""Bulk import of licensees (and their licences), as licensee_files.py reads them from CSV or XLSX: check every
row, then write all or nothing.

A row is a licensee with at most one licence; a licensee with several licences takes a row per licence, its
details the same on each, as the licensee export writes it.
"""

import re
from dataclasses import dataclass, field
from datetime import date

from sqlmodel import Session, col, select

from ..models import Licence, Licensee, Product, User
from . import N_, audit, registry
from .licensee_files import DATE_COLUMNS, ImportRefused, Row
from .uscc import normalise, uscc_problem

# The licensee export's states (and the pages' Chinese for them) of a licence an import may grant: one in force,
# or one whose term is yet to begin. The import works the state out from the dates, so these say nothing more;
# any other (revoked, suspended, expired) would come back in force, so it is a row problem.
GRANTABLE_STATES = {"", "active", "pending", "有效", "未生效"}
LICENCE_COLUMNS = ("product_code", "valid_from", "valid_to")
# What a licensee's rows must agree on: each is read as the same licensee, so it cannot have two names.
LICENSEE_COLUMNS = ("name", "county", "address", "contact_name", "contact_phone")
_DATE = re.compile(r"^(\d{4})(?:[-/.]|年)(\d{1,2})(?:[-/.]|月)(\d{1,2})日?$")


@dataclass(frozen=True)
class RowProblem:
    line: int
    column: str
    message: str
    params: dict = field(default_factory=dict)


def parse_date(value: str) -> date:
    """YYYY-MM-DD, or YYYY/M/D and YYYY年M月D日 as Excel in China writes them."""
    match = _DATE.match(value)
    if not match:
        raise ValueError(value)
    return date(*(int(part) for part in match.groups()))


def _county_codes(session: Session) -> dict[str, str]:
    """Every way a row may name a county (code, Chinese name, English name in lower case) → its code."""
    codes = {}
    for county in registry.counties(session=session):
        codes.update({county.code: county.code, county.name: county.code, county.name_en.lower(): county.code})
    return codes


def _registered(session: Session, usccs: set[str]) -> set[str]:
    found, pending = set(), sorted(usccs)
    for start in range(0, len(pending), 500):
        chunk = pending[start : start + 500]
        found.update(session.exec(select(Licensee.uscc).where(col(Licensee.uscc).in_(chunk))))
    return found


@dataclass(frozen=True)
class Reading:
    """A row's county and licence as the import reads them (None where it cannot): what it would write."""

    county_code: str | None
    product: Product | None
    valid_from: date | None
    valid_to: date | None


def readings(*, session: Session, rows: list[Row]) -> dict[int, Reading]:
    """How each row is read, by its line: a dry run shows it, so "2026/3/1" is seen to mean 1 March."""
    counties = _county_codes(session)
    products = {product.code: product for product in registry.list_products(session=session)}
    return {
        row.line: Reading(
            county_code=counties.get(row.county.lower()),
            product=products.get(row.product_code),
            valid_from=_date_or_none(row.valid_from),
            valid_to=_date_or_none(row.valid_to),
        )
        for row in rows
    }


def _date_or_none(value: str) -> date | None:
    try:
        return parse_date(value)
    except ValueError:  # also a date that does not exist, 2026-02-30
        return None


def check_rows(*, session: Session, rows: list[Row]) -> list[RowProblem]:
    """Every problem of every row, in row order; an empty list means the rows can be imported."""
    counties = _county_codes(session)
    products = {product.code: product for product in registry.list_products(session=session)}
    registered = _registered(session, {normalise(row.uscc) for row in rows})
    earlier: dict[str, list[Row]] = {}  # by code, the rows before this one that name that licensee
    problems = []
    for row in rows:
        if row.lone:  # no licensee's row, most likely: said as one problem, not as every missing column
            message = N_(
                "“%(text)s” is the only value on this row, which has no unified social credit code: "
                "delete a title, note or signature line from the file, or complete the row"
            )
            problems.append(RowProblem(row.line, "", message, {"text": row.lone}))
            continue
        found = []
        uscc = normalise(row.uscc)
        if not row.name:
            found.append(("name", N_("the name is missing"), {}))
        if problem := registry.phone_problem(row.contact_phone):
            found.append(("contact_phone", problem, {}))
        for name, limit in registry.LICENSEE_LIMITS.items():
            if len(getattr(row, name)) > limit:
                found.append((name, N_("longer than %(limit)s characters"), {"limit": limit}))
        code_problems = _uscc_problems(uscc, registered)
        found.extend(code_problems)
        if not row.county:  # said as missing, not as unknown: a merged cell holds its value in its first row only
            found.append(("county", N_("the county is missing"), {}))
        elif row.county.lower() not in counties:
            found.append(("county", N_("unknown county: use a code like 512021 or a name like 安岳县"), {}))
        found.extend(_licence_problems(row, products))
        found.extend(_status_problems(row))
        if row.unnamed:  # of no column: the page says it without a column's name
            message = N_(
                "a value in column %(column)s, which the header row does not name "
                "(in a CSV, a value holding a comma needs quotes)"
            )
            found.append(("", message, {"column": row.unnamed}))
        if not code_problems:  # a licensee new to the registry, named on this row and maybe on others
            found.extend(_repeat_problems(row, earlier.setdefault(uscc, []), counties, found))
            earlier[uscc].append(row)
        problems.extend(RowProblem(row.line, column, message, params) for column, message, params in found)
    return problems


def _uscc_problems(uscc: str, registered: set[str]) -> list[tuple]:
    if not uscc:
        return [("uscc", N_("the unified social credit code is missing"), {})]
    if problem := uscc_problem(uscc):
        return [("uscc", problem, {})]
    if uscc in registered:
        return [("uscc", N_("a licensee with this code is already registered"), {})]
    return []


def _repeat_problems(row: Row, earlier: list[Row], counties: dict[str, str], found: list[tuple]) -> list[tuple]:
    """A further row of a licensee adds a licence: for another product, with the licensee's details unchanged."""
    if not earlier:
        return []
    first = earlier[0]
    flagged = {column for column, _message, _params in found}  # a missing name is said once, not twice
    problems = [
        (
            name,
            N_("differs from row %(line)s, which has the same code: a licensee's rows must agree"),
            {"line": first.line},
        )
        for name in LICENSEE_COLUMNS
        if name not in flagged and _detail(row, name, counties) != _detail(first, name, counties)
    ]
    licensed = next((other for other in earlier if other.product_code == row.product_code), None)
    if not row.product_code:
        message = N_(
            "the same code is already on row %(line)s: a licensee's further rows each add a licence, "
            "and this one has none"
        )
        problems.append(("uscc", message, {"line": first.line}))
    elif licensed is not None:
        message = N_("this licensee's licence for this product is already on row %(line)s")
        problems.append(("product_code", message, {"line": licensed.line}))
    return problems


def _detail(row: Row, name: str, counties: dict[str, str]) -> str:
    """A licensee's detail as the import would write it: a county by its code, however the row names it."""
    value = getattr(row, name)
    return counties.get(value.lower(), value) if name == "county" else value


def _licence_problems(row: Row, products: dict[str, Product]) -> list[tuple]:
    if not any(getattr(row, name) for name in LICENCE_COLUMNS):
        return []
    found = []
    product = products.get(row.product_code)
    if not row.product_code:
        found.append(("product_code", N_("a licence needs a product code"), {}))
    elif product is None:
        found.append(("product_code", N_("unknown product"), {}))
    elif product.status != "active":
        found.append(("product_code", N_("the product is withdrawn"), {}))
    term = {}
    for name in DATE_COLUMNS:
        value = getattr(row, name)
        try:
            term[name] = parse_date(value)
        except ValueError:
            message = N_("not a date: write YYYY-MM-DD") if value else N_("a licence needs this date")
            found.append((name, message, {}))
    if len(term) == 2:
        problems = registry.licence_term_problems(**term)
        found.extend((name, why, {}) for name, why in problems.items())
    return found


def _status_problems(row: Row) -> list[tuple]:
    # A state beside no licence grants nothing, so it is read past: a row whose licence columns were emptied
    # to import the licensee alone may keep its old state.
    has_licence = any(getattr(row, name) for name in LICENCE_COLUMNS)
    if not has_licence or row.licence_status.lower() in GRANTABLE_STATES:
        return []
    message = N_(
        "an import grants only licences in force or yet to begin, not one that is %(status)s: "
        "leave the licence columns empty to import the licensee alone"
    )
    return [("licence_status", message, {"status": row.licence_status[:40]})]


# ---- writing -----------------------------------------------------------------------------


def import_rows(*, session: Session, rows: list[Row], actor: User | None, source: str = "") -> int:
    """Save the rows' licensees and licences in the caller's transaction, and return how many licensees;
    refuse all if any row has a problem.

    The caller commits, or rolls back on any exception, so a half-imported file never exists.
    """
    problems = check_rows(session=session, rows=rows)
    if problems:
        raise ImportRefused(
            "rows_refused",
            N_("Rows with problems: %(count)s; nothing was imported."),
            params={"count": len({problem.line for problem in problems})},
            problems=problems,
        )
    counties = _county_codes(session)
    products = {product.code: product for product in registry.list_products(session=session)}
    # check_rows has applied every rule save_licensee and grant_licence would, to all rows at once,
    # so the rows are written in two statements instead of a dozen round trips each.
    first_rows: dict[str, Row] = {}
    for row in rows:
        first_rows.setdefault(normalise(row.uscc), row)  # check_rows has made the others agree with it
    licensees = {
        uscc: Licensee(
            name=row.name,
            uscc=uscc,
            county_code=counties[row.county.lower()],
            address=row.address,
            contact_name=row.contact_name,
            contact_phone=row.contact_phone,
        )
        for uscc, row in first_rows.items()
    }
    session.add_all(licensees.values())
    session.flush()
    licences = {
        row.line: Licence(
            licensee_id=licensees[normalise(row.uscc)].id,
            product_id=products[row.product_code].id,
            valid_from=parse_date(row.valid_from),
            valid_to=parse_date(row.valid_to),
        )
        for row in rows
        if row.product_code
    }
    session.add_all(licences.values())
    session.flush()
    reason = f"{audit.IMPORT_REASON} {source[:200]}".strip()
    for row in rows:
        licensee = licensees[normalise(row.uscc)]
        if first_rows[licensee.uscc] is row:
            registry.audit_licensee(session=session, licensee=licensee, actor=actor, before=None, reason=reason)
        if row.line in licences:
            registry.audit_grant(session=session, licence=licences[row.line], actor=actor, reason=reason)
    return len(licensees)

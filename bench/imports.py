"""Bulk licensee import: rows per second of the import's write, against saving row by row.

    .venv/bin/python bench/imports.py [--rows 5000] [--db sqlite|postgres|both]

For each database (a SQLite file in a temp dir; a fresh PostgreSQL database, dropped
afterwards, when a server answers) two fresh copies are loaded with the demo data.  The
same generated file (every row a new licensee with a licence for anyue-lemon) goes
into one through `imports.import_rows` (checked as a whole, written in a few
statements) and into the other through the loop a form would run, `save_licensee` and
`grant_licence` per row.  Both commit once and both leave an intact audit chain, which
is verified after each.  Printed: seconds, rows/s and the ratio, from one run.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import _server

sys.path.insert(0, str(_server.ROOT))

from gi_registry import create_app  # noqa: E402
from gi_registry.db import session_scope  # noqa: E402
from gi_registry.domain import audit, imports, licensee_files, registry  # noqa: E402
from gi_registry.domain.uscc import check_character  # noqa: E402


def sample_file(rows: int) -> bytes:
    rng = random.Random(7)
    lines = ["name,uscc,county,contact_name,product_code,valid_from,valid_to"]
    for number in range(rows):
        body = "9351" + "".join(rng.choice("0123456789") for _ in range(13))
        lines.append(
            f"安岳柠檬合作社{number},{body}{check_character(body)},安岳县,张三,anyue-lemon,2026-01-01,2028-12-31"
        )
    return "\n".join(lines).encode()


def bulk(session, rows) -> None:
    imports.import_rows(session=session, rows=rows, actor=None, source="bench.csv")


def row_by_row(session, rows) -> None:
    for row in rows:
        licensee = registry.save_licensee(
            session=session,
            actor=None,
            data=registry.LicenseeInput(
                name=row.name, uscc=row.uscc, county_code="512021", contact_name=row.contact_name
            ),
        )
        registry.grant_licence(
            session=session,
            licensee=licensee,
            product_code=row.product_code,
            valid_from=imports.parse_date(row.valid_from),
            valid_to=imports.parse_date(row.valid_to),
            actor=None,
        )


def timed(database_url: str, tmp: Path, content: bytes, write: Callable) -> float:
    env = _server.app_env(database_url=database_url, tmp=tmp, port=0)
    _server.prepare_schema(env, tmp)
    os.environ.update(env)
    app = create_app()
    try:
        with app.app_context():
            rows = licensee_files.parse_rows(filename="bench.csv", content=content)
            started = time.perf_counter()
            with session_scope() as session:
                write(session, rows)
            seconds = time.perf_counter() - started
            with session_scope() as session:
                problems = audit.verify_chain(session=session)
            if problems:
                raise _server.BenchError(f"the audit chain is broken after {write.__name__}: {problems[:3]}")
    finally:
        app.extensions["db_engine"].dispose()
    return seconds


def measure(kind: str, rows: int) -> None:
    content = sample_file(rows)
    database = _server.sqlite_database if kind == "sqlite" else lambda _tmp: _server.postgres_database()
    results = {}
    for write in (bulk, row_by_row):
        with tempfile.TemporaryDirectory() as tmp_name, database(Path(tmp_name)) as url:
            results[write.__name__] = timed(url, Path(tmp_name), content, write)
    fast, slow = results["bulk"], results["row_by_row"]
    print(f"{kind:8} {rows} rows  import {fast:6.2f} s ({rows / fast:7.0f} rows/s)", end="  ")
    print(f"row by row {slow:6.2f} s ({rows / slow:6.0f} rows/s)  ratio {slow / fast:.1f}x")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=licensee_files.MAX_ROWS)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    if not 1 <= args.rows <= licensee_files.MAX_ROWS:  # the import refuses a larger file; there is nothing to time
        parser.error(f"--rows must be between 1 and {licensee_files.MAX_ROWS}, the most one import file may hold")
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    for kind in kinds:
        if kind == "postgres" and (why := _server.postgres_unavailable()):
            print(f"postgres skipped: {why}")
            continue
        measure(kind, args.rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The app at a city's scale: load a registry of realistic size, then time every list and page.

    .venv/bin/python bench/scale.py load    DATABASE_URL [--scans 1000000] [--uploads DIR]
    .venv/bin/python bench/scale.py measure DATABASE_URL [--repeat 3] [--only SUBSTRING]

`load` brings an empty database to the newest schema, seeds the demo (products, areas, accounts, with the
password below) and then writes in bulk: 2,000 licensees with their licences, 20,000 batches (a few with
100,000+ labels, 3,000 of them the demo lemon cooperative's), about a million scans over two years with
their tallies (one code scanned 30,000 times), 20,000 reports with their workflow steps and a few photos,
and 200,000 audit events on an intact hash chain. `measure` logs in as each role with the Flask test
client and prints, for each page, the median time of `--repeat` requests, the SQL statements one request
ran (a `before_cursor_execute` listener) and the bytes it sent. Nothing is asserted: the figures are read.
`measure` points the first report at the most scanned code, so that its case page shows that code's history;
a measured database is no longer the one `load` wrote. Rate limits are off; the exports write audit events.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import event, func, insert, select, text  # noqa: E402

from gi_registry import create_app, migrate  # noqa: E402
from gi_registry.db import session_scope  # noqa: E402
from gi_registry.domain import audit  # noqa: E402
from gi_registry.domain.uscc import check_character  # noqa: E402
from gi_registry.models import (  # noqa: E402
    AuditEvent,
    Batch,
    BatchSequence,
    LabelIssue,
    Licence,
    Licensee,
    Product,
    Report,
    ReportEvent,
    ReportPhoto,
    Scan,
    User,
)
from gi_registry.seed import demo  # noqa: E402

PASSWORD = "scale-bench-Horse-42!"
COUNTIES = {"anyue-lemon": "512021", "lezhi-cocoon": "512022", "yanjiang-mandarin": "512002", "ziwei": "512000"}
NOW = datetime.now(UTC)
TWO_YEARS = timedelta(days=730)
CHUNK = 20_000
BIG_LABELS = (100_000, 150_000, 200_000, 120_000, 500_000)  # the big batches' label counts; the first is the coop's
HOT_SCANS = 30_000  # scans of one label of the coop's big batch


def app_for(url: str, uploads: str | None = None):
    overrides = {"DATABASE_URL": url, "RATELIMIT_ENABLED": False, "WTF_CSRF_ENABLED": False}
    if uploads:
        overrides["GI_UPLOAD_DIR"] = uploads
    return create_app(overrides)


def chunks(rows, size=CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def bulk(session, model, rows) -> None:
    for part in chunks(rows):
        session.execute(insert(model.__table__), part)


def random_moment(rng, *, within=TWO_YEARS) -> datetime:
    return NOW - timedelta(seconds=rng.randrange(int(within.total_seconds())))


# ---- load --------------------------------------------------------------------------------


def load(url: str, *, scans: int, uploads: str | None) -> None:
    rng = random.Random(20261130)
    migrate.upgrade(url)
    app = app_for(url, uploads)
    started = time.perf_counter()
    with app.app_context():
        with session_scope() as session:
            emails = [email for email, _role, _uscc in demo.ACCOUNTS]
            demo.seed(session=session, passwords=dict.fromkeys(emails, PASSWORD))
        with session_scope() as session:
            products = {p.code: p for p in session.exec(select(Product)).scalars()}
            licensee_ids, licences = load_licensees(session, rng, products)
        print(f"licensees: {len(licensee_ids)} ({time.perf_counter() - started:.0f} s)", flush=True)
        with session_scope() as session:
            batch_rows = load_batches(session, rng, products, licences)
        print(f"batches: {len(batch_rows)} ({time.perf_counter() - started:.0f} s)", flush=True)
        with session_scope() as session:
            load_scans(session, rng, batch_rows, scans)
        print(f"scans: {scans} ({time.perf_counter() - started:.0f} s)", flush=True)
        with session_scope() as session:
            load_reports(session, rng, batch_rows, app.config["GI_UPLOAD_DIR"])
        print(f"reports ({time.perf_counter() - started:.0f} s)", flush=True)
        with session_scope() as session:
            load_audit(session, rng, batch_rows)
        print(f"audit ({time.perf_counter() - started:.0f} s)", flush=True)
        if url.startswith("postgresql"):
            with session_scope() as session:
                session.execute(text("ANALYZE"))
    app.extensions["db_engine"].dispose()


def load_licensees(session, rng, products):
    """2,000 licensees, each licensed for its county's product and half of them for 资味 too."""
    first = session.execute(select(func.max(Licensee.id))).scalar() or 0
    rows, codes = [], set()
    counties = list(COUNTIES.items())[:3]
    for number in range(2000):
        while True:
            body = "9351" + "".join(rng.choice("0123456789") for _ in range(13))
            uscc = body + check_character(body)
            if uscc not in codes:
                codes.add(uscc)
                break
        product_code, county = counties[number % 3]
        rows.append(
            {
                "name": f"{['安岳', '乐至', '雁江'][number % 3]}县第{number}号专业合作社",
                "uscc": uscc,
                "county_code": county,
                "address": "资阳市",
                "contact_name": "张三",
                "contact_phone": "13800000000",
                "created_at": NOW,
                "updated_at": NOW,
            }
        )
    bulk(session, Licensee, rows)
    ids = list(session.execute(select(Licensee.id).where(Licensee.id > first).order_by(Licensee.id)).scalars())
    licence_rows = []
    for index, licensee_id in enumerate(ids):
        product_code = list(COUNTIES)[index % 3]
        for code in (product_code, "ziwei") if index % 2 else (product_code,):
            licence_rows.append(
                {
                    "licensee_id": licensee_id,
                    "product_id": products[code].id,
                    "valid_from": date(2023, 1, 1),
                    "valid_to": date(2029, 12, 31),
                    "state": rng.choice(["active"] * 18 + ["suspended", "revoked"]),
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            )
    bulk(session, Licence, licence_rows)
    licences = [
        (row.id, row.licensee_id, row.product_id)
        for row in session.execute(select(Licence.id, Licence.licensee_id, Licence.product_id))
    ]
    return ids, licences


def load_batches(session, rng, products, licences):
    """20,000 batches: 3,000 of the demo lemon cooperative, the rest spread; a few of 100,000+ labels."""
    by_id = {p.id: p for p in products.values()}
    coop = session.execute(select(Licensee.id).where(Licensee.uscc == demo.ACCOUNTS[2][2])).scalar()
    coop_lemon = next(lic for lic in licences if lic[1] == coop and by_id[lic[2]].code == "anyue-lemon")
    others = [lic for lic in licences if lic[1] != coop]
    sequences: dict[str, int] = {}
    for row in session.execute(select(BatchSequence)).scalars():
        sequences[row.prefix] = row.last
    rows = []
    for number in range(20_000):
        licence = coop_lemon if number < 3000 else rng.choice(others)
        product = by_id[licence[2]]
        harvested = (NOW - timedelta(days=rng.randrange(730))).date()
        prefix = f"{product.batch_prefix}-{harvested.year}-"
        sequences[prefix] = sequences.get(prefix, 0) + 1
        labels = rng.choice([0, 0, 20, 50, 100, 200, 500, 1000])
        big = number in (7, 3001, 5001, 7001, 9001)
        if big:
            labels = BIG_LABELS[[7, 3001, 5001, 7001, 9001].index(number)]
        rows.append(
            {
                "batch_no": f"{prefix}{sequences[prefix]:06d}",
                "licensee_id": licence[1],
                "product_id": product.id,
                "licence_id": licence[0],
                "quantity": max(labels * product.kg_per_label, 100.0) * (1 + rng.random()),
                "unit": "kg",
                "harvested_on": harvested,
                "origin_code": COUNTIES[product.code],
                "grade": "一级",
                "notes": "",
                "inspection_cert": "",
                "status": "recalled" if rng.random() < 0.02 else "active",
                "recall_reason": "",
                "labels_issued": labels,
                "created_at": datetime.combine(harvested, datetime.min.time(), UTC) + timedelta(hours=10),
                "updated_at": NOW,
            }
        )
    first = session.execute(select(func.max(Batch.id))).scalar() or 0
    bulk(session, Batch, rows)
    for prefix, last in sequences.items():
        session.merge(BatchSequence(prefix=prefix, last=last))
    made = session.execute(select(Batch.id, Batch.labels_issued).where(Batch.id > first).order_by(Batch.id)).all()
    issues = [
        {"batch_id": bid, "first_serial": 1, "last_serial": n, "key_id": 1, "issued_at": NOW} for bid, n in made if n
    ]
    bulk(session, LabelIssue, issues)
    return [(bid, n) for bid, n in made]


def load_scans(session, rng, batch_rows, scans):
    """About a million scans over two years, then the per-code tallies the scan path keeps."""
    labelled = [(bid, n) for bid, n in batch_rows if n]
    hot_batch = labelled[[n for _bid, n in labelled].index(BIG_LABELS[0])][0]
    first_id = session.execute(select(func.max(Scan.id))).scalar() or 0
    # Scans are appended as they happen: the log's row order is its time order, as in a live registry.
    moments = sorted(random_moment(rng) for _ in range(scans))
    rows = []

    def flush():
        session.execute(insert(Scan.__table__), rows)
        rows.clear()

    for number in range(scans):
        if number % (scans // HOT_SCANS) == 0:
            batch_id, serial, verdict = hot_batch, 7, "warning" if number >= 20 * (scans // HOT_SCANS) else "genuine"
        elif rng.random() < 0.03:
            batch_id, serial, verdict = None, None, "invalid"
        else:
            batch_id, issued = rng.choice(labelled)
            serial, verdict = rng.randint(0, issued), rng.choice(["genuine"] * 30 + ["warning", "revoked"])
        shared = rng.random() < 0.05
        rows.append(
            {
                "batch_id": batch_id,
                "serial": serial,
                "at": moments[number],
                "verdict": verdict,
                "reasons": [] if verdict == "genuine" else ["scanned_often"],
                "channel": rng.choice(["page"] * 8 + ["api", "gs1"]),
                "ip_hash": hashlib.sha256(str(rng.random()).encode()).hexdigest(),
                "ua_family": rng.choice(["WeChat", "Safari", "Chrome", "Alipay"]),
                "latitude": round(30.1 + rng.random(), 2) if shared else None,
                "longitude": round(104.6 + rng.random(), 2) if shared else None,
            }
        )
        if len(rows) >= CHUNK:
            flush()
    if rows:
        flush()
    session.execute(
        text(
            "INSERT INTO scantally (batch_id, serial, count, first_at, cleared_count)"
            " SELECT batch_id, serial, count(*), min(at), 0 FROM scan WHERE batch_id IS NOT NULL AND id > :first"
            " GROUP BY batch_id, serial"
        ),
        {"first": first_id},
    )


STEPS = ["new", "triaged", "investigating", "confirmed", "closed"]


def load_reports(session, rng, batch_rows, upload_dir):
    """20,000 reports over two years, most of them closed, with their steps; five with a photo each."""
    regulator = session.execute(select(User.id).where(User.role == "regulator")).scalar()
    labelled = [(bid, n) for bid, n in batch_rows if n]
    alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
    rows, seen = [], set()
    for created in sorted(random_moment(rng) for _ in range(20_000)):
        while (tail := "".join(rng.choice(alphabet) for _ in range(8))) in seen:
            pass
        seen.add(tail)
        batch_id, serial = rng.choice(labelled) if rng.random() < 0.6 else (None, None)
        if batch_id is not None:
            serial = rng.randint(0, serial)
        old = created < NOW - timedelta(days=60)
        status = rng.choice(["closed"] * 8 + ["dismissed"]) if old else rng.choice(STEPS[:4] + ["dismissed"])
        rows.append(
            {
                "tracking_no": f"JB-{created + timedelta(hours=8):%Y%m%d}-{tail}",
                "code": "",
                "batch_id": batch_id,
                "serial": serial,
                "description": "假冒柠檬，包装粗糙",
                "place": "成都",
                "contact": "13900000000",
                "status": status,
                "assigned_to": regulator if status != "new" else None,
                "created_at": created,
                "updated_at": created + timedelta(days=3),
                "closed_at": created + timedelta(days=3) if status == "closed" else None,
            }
        )
    first = session.execute(select(func.max(Report.id))).scalar() or 0
    bulk(session, Report, rows)
    made = session.execute(select(Report.id, Report.status, Report.created_at).where(Report.id > first)).all()
    events = []
    for report_id, status, created in made:
        path = STEPS[: STEPS.index(status) + 1] if status in STEPS else ["new", "dismissed"]
        for step, (before, after) in enumerate(zip(["", *path], path, strict=False)):
            events.append(
                {
                    "report_id": report_id,
                    "from_status": before,
                    "to_status": after,
                    "note": "",
                    "actor_id": regulator if step else None,
                    "at": created + timedelta(hours=step),
                }
            )
    bulk(session, ReportEvent, events)
    os.makedirs(upload_dir, exist_ok=True)
    jpeg = _tiny_jpeg()
    for index, (report_id, _status, _created) in enumerate(made[:5]):
        name = f"scale{index:02d}{hashlib.sha256(str(index).encode()).hexdigest()[:20]}.jpg"
        Path(upload_dir, name).write_bytes(jpeg)
        session.add(ReportPhoto(report_id=report_id, filename=name, width=8, height=8, size=len(jpeg)))


def _tiny_jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "yellow").save(out, "JPEG")
    return out.getvalue()


def load_audit(session, rng, batch_rows, count=200_000):
    """200,000 events on an intact chain, linked to whatever the seed already wrote."""
    head = audit.chain_head(session=session)
    prev = head.hash if head else audit.GENESIS
    regulator = session.execute(select(User.id, User.email).where(User.role == "regulator")).one()
    moments = sorted(random_moment(rng) for _ in range(count))
    rows = []
    kinds = [("batch", "register"), ("batch", "issue_labels"), ("report", "transition"), ("licence", "suspend")]
    for at in moments:
        kind, action = rng.choice(kinds)
        entity = rng.choice(batch_rows)[0] if kind == "batch" else rng.randrange(1, 20_000)
        event = AuditEvent(
            at=at,
            actor_id=regulator.id,
            actor=regulator.email,
            action=action,
            entity_type=kind,
            entity_id=str(entity),
            reason="",
            before={"status": "active"},
            after={"status": "active", "n": rng.randrange(100)},
            prev_hash=prev,
            hash="",
        )
        event.hash = prev = audit.event_hash(event)
        rows.append(event.model_dump(exclude={"id"}))
    bulk(session, AuditEvent, rows)


# ---- measure -----------------------------------------------------------------------------


class Counter:
    def __init__(self, engine):
        self.statements = 0
        event.listen(engine, "before_cursor_execute", self.count)

    def count(self, *_args):
        self.statements += 1


def measure(url: str, *, repeat: int, only: str) -> None:
    app = app_for(url)
    engine = app.extensions["db_engine"]
    counter = Counter(engine)
    with engine.connect() as conn:
        coop_batches = conn.execute(
            text(
                "SELECT b.id FROM batch b JOIN licensee l ON l.id = b.licensee_id"
                " WHERE l.uscc = :u ORDER BY b.labels_issued DESC LIMIT 1"
            ),
            {"u": demo.ACCOUNTS[2][2]},
        ).scalar()
        hot_report = conn.execute(
            text("SELECT r.id FROM report r ORDER BY r.id LIMIT 1"),
        ).scalar()
        conn.execute(
            text("UPDATE report SET batch_id = :b, serial = 7 WHERE id = :r"), {"b": coop_batches, "r": hot_report}
        )
        conn.commit()
        coop_count = conn.execute(
            text("SELECT count(*) FROM batch b JOIN licensee l ON l.id = b.licensee_id WHERE l.uscc = :u"),
            {"u": demo.ACCOUNTS[2][2]},
        ).scalar()
        audit_count = conn.execute(text("SELECT count(*) FROM auditevent")).scalar()
    big = coop_batches
    today = date.today()
    pages = {
        None: ["/", "/products", "/licensees", "/licensees?page=100", "/licensees?product=ziwei&q=合作社"],
        "coop": [
            "/coop/",
            "/coop/batches",
            f"/coop/batches?page={coop_count // 20 + 1}",
            "/coop/batches?product=anyue-lemon&status=recalled",
            f"/coop/batches/{big}",
            f"/coop/batches/{big}/labels.csv",
            f"/coop/batches/{big}/labels.pdf?grid=a4-65&first=1&last=1000",
            f"/coop/batches/{big}/epcis.jsonld",
            f"/api/v1/batches/{big}/labels?format=json&page=1&per_page=200",
            f"/api/v1/batches/{big}/labels?format=json&page=500&per_page=200",
            "/api/v1/batches?page=1&per_page=50",
            f"/api/v1/batches?page={coop_count // 50 + 1}&per_page=50",
        ],
        "regulator": [
            "/regulator/reports",
            "/regulator/reports?status=open",
            "/regulator/reports?status=overdue",
            "/regulator/reports?status=closed&page=800",
            "/regulator/reports?product=anyue-lemon",
            "/regulator/reports?product=none",
            "/regulator/reports?county=512021",
            f"/regulator/reports?from={today - timedelta(days=30)}&to={today}",
            "/regulator/reports?q=JB-2026",
            f"/regulator/reports/{hot_report}",
            "/admin/audit",
            f"/admin/audit?page={audit_count // 50}",
            "/admin/audit?entity_type=batch",
            "/admin/audit?action=issue",
            "/admin/audit?actor=regulator",
            "/dashboard/",
            f"/dashboard/?from={today - timedelta(days=29)}&to={today}",
            f"/dashboard/?from={today - timedelta(days=364)}&to={today}",
            "/coop/batches",
            "/coop/batches?page=1000",
            "/coop/batches?licensee=5&product=ziwei",
            f"/coop/batches/{big}",
            "/transfer/",
            f"/transfer/scans.csv?from={today - timedelta(days=365)}&to={today}",
            "/transfer/reports.csv",
            "/transfer/licensees.csv",
            "/transfer/scans.xlsx?from=" + str(today - timedelta(days=30)),
            "/api/v1/reports?page=1&per_page=50",
            "/api/v1/reports?status=open&page=1&per_page=50",
            "/api/v1/licensees?page=1&per_page=50",
            "/api/v1/licensees?page=40&per_page=50",
            "/api/v1/batches?page=1&per_page=50",
            "/api/v1/batches?page=400&per_page=50",
            "/api/v1/products",
            "/admin/licensees",
            "/admin/licensees?page=100",
            "/admin/products",
        ],
    }
    logins = {"coop": demo.ACCOUNTS[2][0], "regulator": demo.ACCOUNTS[1][0]}
    print(f"{'page':72} {'ms':>8} {'SQL':>5} {'KB':>8}")
    for who, paths in pages.items():
        client = app.test_client()
        headers = {}
        if who:
            response = client.post("/login", data={"email": logins[who], "password": PASSWORD})
            assert response.status_code == 302, response.status_code
            token = client.post("/api/v1/tokens", json={"email": logins[who], "password": PASSWORD}).json["token"]
            headers = {"Authorization": f"Bearer {token}"}
        for path in paths:
            if only not in path:
                continue
            times, size, statements, status = [], 0, 0, 0
            for _ in range(repeat):
                counter.statements = 0
                started = time.perf_counter()
                response = client.get(path, headers=headers if path.startswith("/api/") else {})
                size = sum(len(part) for part in response.response)
                times.append((time.perf_counter() - started) * 1000)
                statements, status = counter.statements, response.status_code
                response.close()
            note = "" if status == 200 else f"  [{status}]"
            print(
                f"{(who or 'anyone') + ' ' + path:72.72} {statistics.median(times):8.1f} {statements:5} "
                f"{size / 1024:8.0f}{note}",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    loading = sub.add_parser("load")
    loading.add_argument("url")
    loading.add_argument("--scans", type=int, default=1_000_000)
    loading.add_argument("--uploads")
    measuring = sub.add_parser("measure")
    measuring.add_argument("url")
    measuring.add_argument("--repeat", type=int, default=3)
    measuring.add_argument("--only", default="")
    args = parser.parse_args()
    if args.command == "load":
        load(args.url, scans=args.scans, uploads=args.uploads)
    else:
        measure(args.url, repeat=args.repeat, only=args.only)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Fixtures: an app on a fresh database per test, on SQLite or (GI_TEST_DB=postgres) PostgreSQL."""

import os
import shutil
import uuid
from datetime import date, timedelta

import pytest
from argon2 import PasswordHasher
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import create_engine, text
from sqlmodel import Session, SQLModel

from gi_registry import create_app, migrate
from gi_registry.domain import accounts, registry
from gi_registry.extensions import limiter
from gi_registry.seed.areas import load_areas

PG_ADMIN_URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BACKEND = os.environ.get("GI_TEST_DB", "sqlite")
LONG_TERM = {"valid_from": date(2020, 1, 1), "valid_to": date(2049, 12, 31)}  # the world's licences' term
PASSWORD = "correct-horse-42"
USCC_A = "93512021MA6AY0L018"
USCC_B = "93512022MA6L00C02X"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 at its production cost makes every account fixture slow; the scheme stays the same."""
    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture(scope="session")
def schema_template(tmp_path_factory):
    """Migrate once per run; each test then starts from a copy (SQLite) or a truncated schema (PostgreSQL)."""
    if BACKEND == "postgres":
        name = f"gi_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
        migrate.upgrade(url)
        yield url
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("schema") / "template.db"
        migrate.upgrade(f"sqlite:///{path}")
        yield path


def _fresh_database_url(template, tmp_path) -> str:
    if BACKEND == "postgres":
        engine = create_engine(template)
        tables = ", ".join(f'"{t.name}"' for t in SQLModel.metadata.sorted_tables)
        with engine.begin() as connection:
            connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        engine.dispose()
        return template
    path = tmp_path / "test.db"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def database_url(schema_template, tmp_path) -> str:
    return _fresh_database_url(schema_template, tmp_path)


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build the test app on a fresh database, with config overrides; rate limits and CSRF off unless asked."""
    apps = []

    def make(**overrides):
        app = create_app({**_test_config(database_url, tmp_path), **overrides})
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["db_engine"].dispose()
    if limiter.enabled:  # a test turned limits on: leave no counts behind for the next one
        try:
            limiter.reset()
        except RedisConnectionError:  # a storage gone on purpose (Redis down) holds nothing to reset
            pass


@pytest.fixture
def app(make_app):
    return make_app()


def _test_config(database_url, tmp_path) -> dict:
    return {
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret",
        "GI_CODE_KEY": "2:test-code-key-two,1:test-code-key-one",
        "GI_UPLOAD_DIR": str(tmp_path / "uploads"),
        "IMPORT_STAGING_DIR": str(tmp_path / "checked-imports"),
        "GI_DEMO_ACCOUNTS_FILE": str(tmp_path / "demo-accounts.txt"),
        "WTF_CSRF_ENABLED": False,
        "RATELIMIT_ENABLED": False,
        "GI_BASE_URL": "http://gi.test",
    }


@pytest.fixture
def db(app):
    """A session on the test's database, for arranging data and checking what was written.

    It holds no app context open, so each test request gets its own, as in production.
    """
    with Session(app.extensions["db_engine"], expire_on_commit=False) as session:
        yield session


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def world(db):
    """Areas, two products, two licensees with licences, and one account per role."""
    load_areas(session=db)
    lemon = registry.save_product(
        session=db,
        actor=None,
        data=registry.ProductInput(
            code="anyue-lemon",
            name="安岳柠檬",
            name_en="Anyue Lemon",
            kind="gi_product",
            area_codes=["512021"],
            # No shelf life: make_batch harvests on a fixed day, which one would leave behind as the
            # calendar moves on, and every scan expected genuine would then warn. Tests of it set one.
            batch_prefix="AY",
        ),
    )
    cocoon = registry.save_product(
        session=db,
        actor=None,
        data=registry.ProductInput(
            code="lezhi-cocoon",
            name="乐至蚕茧",
            name_en="Lezhi Cocoon",
            kind="gi_certification_mark",
            area_codes=["512022"],
            kg_per_label=1.0,
            batch_prefix="LZ",
        ),
    )
    coop_a = registry.save_licensee(
        session=db,
        actor=None,
        data=registry.LicenseeInput(name="安岳柠檬合作社", uscc=USCC_A, county_code="512021", gtin="06901234000016"),
    )
    coop_b = registry.save_licensee(
        session=db, actor=None, data=registry.LicenseeInput(name="乐至蚕桑合作社", uscc=USCC_B, county_code="512022")
    )
    term = {**LONG_TERM, "actor": None}
    licence_a = registry.grant_licence(session=db, licensee=coop_a, product_code="anyue-lemon", **term)
    licence_b = registry.grant_licence(session=db, licensee=coop_b, product_code="lezhi-cocoon", **term)
    users = {
        "admin": accounts.create_user(session=db, email="admin@test.cn", password=PASSWORD, role="admin"),
        "regulator": accounts.create_user(session=db, email="reg@test.cn", password=PASSWORD, role="regulator"),
        "coop": accounts.create_user(
            session=db, email="coop@test.cn", password=PASSWORD, role="cooperative", licensee_uscc=USCC_A
        ),
        "coop_b": accounts.create_user(
            session=db, email="coopb@test.cn", password=PASSWORD, role="cooperative", licensee_uscc=USCC_B
        ),
    }
    db.commit()
    return {
        "lemon": lemon,
        "cocoon": cocoon,
        "coop_a": coop_a,
        "coop_b": coop_b,
        "licence_a": licence_a,
        "licence_b": licence_b,
        "users": users,
    }


@pytest.fixture
def grant(db, world):
    """Grant a world licensee (coop_a unless named) a licence for another product, over the world's term."""

    def licence(product_code: str, licensee: str = "coop_a"):
        granted = registry.grant_licence(
            session=db, licensee=world[licensee], product_code=product_code, actor=None, **LONG_TERM
        )
        db.commit()
        return granted

    return licence


@pytest.fixture
def login_as(client, world):
    """Log the test client in as one of the world's accounts (or out, with None)."""

    def login(who: str | None):
        client.post("/logout")
        if who is not None:
            response = client.post("/login", data={"email": world["users"][who].email, "password": PASSWORD})
            assert response.status_code == 302, "login failed"
        return client

    return login


@pytest.fixture
def token_for(client, world):
    """A bearer header for one of the world's accounts."""

    def token(who: str) -> dict:
        response = client.post("/api/v1/tokens", json={"email": world["users"][who].email, "password": PASSWORD})
        assert response.status_code == 201
        return {"Authorization": f"Bearer {response.json['token']}"}

    return token


@pytest.fixture
def make_batch(db, world):
    """Register a batch for a world licensee through the domain, with sensible defaults."""
    from gi_registry.domain import batches

    def make(licensee="coop_a", **changes):
        values = {
            "product_code": "anyue-lemon",
            "quantity": 100.0,
            "unit": "kg",
            "harvested_on": date(2026, 10, 1),
            "origin_code": "512021126",
        }
        if licensee == "coop_b":
            values.update(product_code="lezhi-cocoon", origin_code="512022")
        values.update(changes)
        batch = batches.register_batch(
            session=db, licensee=world[licensee], data=batches.BatchInput(**values), actor=None
        )
        db.commit()
        return batch

    return make


@pytest.fixture
def keys(app):
    return app.extensions["code_keys"]


@pytest.fixture
def file_report(app, db, keys):
    """File a counterfeit report as the consumer pages do (photos as uploaded bytes), and commit it."""
    from gi_registry.domain import reports

    def file(data, *, photos=(), **extra):
        filed = reports.file_report(
            session=db,
            data=data,
            photo_uploads=list(photos),
            keys=keys,
            upload_dir=app.config["GI_UPLOAD_DIR"],
            max_bytes=10**7,
            max_pixels=10**7,
            **extra,
        )
        db.commit()
        return filed

    return file


@pytest.fixture
def labelled(db, make_batch, keys):
    """A lemon batch with 10 issued labels; returns (batch, [codes of serial 0..10])."""
    from gi_registry.domain import batches

    batch = make_batch()
    batches.issue_labels(session=db, batch=batch, count=10, keys=keys, actor=None)
    db.commit()
    codes = [batches.label_for(batch=batch, serial=s, keys=keys, base_url="").code for s in range(11)]
    return batch, codes


@pytest.fixture
def edit_lemon(login_as, world):
    """Post the lemon's product form as the admin, with some fields changed (None leaves a field out)."""

    def post(**changes):
        data = {
            "code": "anyue-lemon",
            "name": "安岳柠檬",
            "name_en": "Anyue Lemon",
            "kind": "gi_product",
            "status": "active",
            "kg_per_label": "0.5",
            "batch_prefix": "AY",
            "area_codes": ["512021"],
            **changes,
        }
        data = {name: value for name, value in data.items() if value is not None}
        return login_as("admin").post(f"/admin/products/{world['lemon'].id}/edit", data=data)

    return post


@pytest.fixture
def renewed_licence(db, world):
    """The lemon cooperative's licence ran out yesterday and was renewed from today; returns the renewal."""
    today = registry.registry_today()
    world["licence_a"].valid_to = today - timedelta(days=1)
    db.add(world["licence_a"])
    return registry.grant_licence(
        session=db,
        licensee=world["coop_a"],
        product_code="anyue-lemon",
        valid_from=today,
        valid_to=date(2049, 1, 1),
        actor=None,
    )


@pytest.fixture
def statements(app):
    """The SQL statements the app's engine runs while a block runs: `with statements() as ran: …; len(ran)`."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        ran = []

        def note(_conn, _cursor, statement, *_rest):
            ran.append(statement)

        engine = app.extensions["db_engine"]
        event.listen(engine, "before_cursor_execute", note)
        try:
            yield ran
        finally:
            event.remove(engine, "before_cursor_execute", note)

    return counting

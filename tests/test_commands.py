"""The flask commands of CONTRACT.md: init-db, seed-demo, create-user."""

import csv
import re
from pathlib import Path

import pytest
from sqlmodel import select

from gi_registry.models import Area, Batch, Licence, Licensee, Product, ProductArea, User

SHARED_COUNTIES = Path(__file__).resolve().parents[1] / "gi_registry/seed/areas.csv"


NEW_REGULATOR = ["--email", "new-reg@test.cn", "--password", "Lemon-picking_in_Anyue", "--role", "regulator"]


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_init_db_is_safe_to_run_again(app):
    assert run(app, "init-db").exit_code == 0
    assert run(app, "init-db").exit_code == 0


def test_init_db_loads_the_reference_areas_a_production_register_chooses_from(app, db):
    assert db.exec(select(Area)).first() is None  # a fresh database, no demo data
    result = run(app, "init-db")
    counties = {a.code: a.name for a in db.exec(select(Area).where(Area.level == "county"))}
    assert counties == {"512002": "雁江区", "512021": "安岳县", "512022": "乐至县"}
    assert f"reference areas: {len(db.exec(select(Area)).all())}" in result.output


def test_seed_demo_loads_the_four_marks_with_real_area_codes_once(app, db):
    first = run(app, "seed-demo")
    assert first.exit_code == 0, first.output
    passwords = set(re.findall(r"password: (\S+)", first.output))
    assert len(passwords) == 4
    second = run(app, "seed-demo")
    assert second.exit_code == 0 and "exists" in second.output
    assert set(re.findall(r"password: (\S+)", second.output)) == passwords  # shown again, not changed
    products = {p.code: p for p in db.exec(select(Product))}
    assert set(products) == {"anyue-lemon", "lezhi-cocoon", "yanjiang-mandarin", "ziwei"}
    assert products["ziwei"].kind == "public_brand"
    areas = {
        (p.code, link.area_code)
        for p in products.values()
        for link in db.exec(select(ProductArea).where(ProductArea.product_id == p.id))
    }
    assert areas == {
        ("anyue-lemon", "512021"),
        ("lezhi-cocoon", "512022"),
        ("yanjiang-mandarin", "512002"),
        ("ziwei", "512000"),
    }
    assert len(db.exec(select(Licensee)).all()) == 3 and len(db.exec(select(Licence)).all()) == 5
    assert {u.role for u in db.exec(select(User))} == {"admin", "regulator", "cooperative"}
    sample = re.search(r"try a scan: (\S+)", first.output).group(1)
    assert sample.startswith("HTTP://GI.TEST/Q/")
    assert f"exists; try a scan: {sample}" in second.output  # the demo batch is made once, named again
    assert len(db.exec(select(Batch)).all()) == 1


def test_the_demo_label_scans_genuine(app, client):
    output = run(app, "seed-demo").output
    code = re.search(r"try a scan: \S+/Q/(\S+)", output).group(1)
    assert client.get(f"/api/v1/verify/{code}").json["verdict"] == "genuine"


def test_the_seeded_areas_match_the_verified_county_codes(app, db):
    run(app, "seed-demo")
    assert db.get(Area, "512021").name == "安岳县" and db.get(Area, "512002").name == "雁江区"
    assert db.get(Area, "512021126").name == "南薰镇"  # the township code the reference data names
    with SHARED_COUNTIES.open(encoding="utf-8") as handle:
        townships = [row for row in csv.DictReader(handle) if row["level"] == "township"]
    assert townships and all(row["code"][:6] == row["parent_code"] and len(row["code"]) == 9 for row in townships)
    assert all(row["source"] for row in townships)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (["--email", "admin@test.cn", "--password", "another-pass-9", "--role", "admin"], "already exists"),
        (
            [
                "--email",
                "x@test.cn",
                "--password",
                "another-pass-9",
                "--role",
                "cooperative",
                "--licensee",
                "91110000802100433B",
            ],
            "licensee",
        ),
        (["--email", "x@test.cn", "--password", "another-pass-9", "--role", "cooperative"], "licensee: required"),
        (["--email", "x@test.cn", "--password", "short1", "--role", "regulator"], "weak password"),
        (["--email", "x@test.cn", "--password", "aaaaaaaaaaaa", "--role", "regulator"], "weak password"),
        (["--email", "x@test.cn", "--password", "password123", "--role", "regulator"], "too easy to guess"),
        (["--email", "x@test.cn", "--password", "qwerty12345", "--role", "regulator"], "too easy to guess"),
    ],
)
def test_create_user_exits_nonzero_with_a_one_line_reason(app, world, args, reason):
    result = run(app, "create-user", *args)
    assert result.exit_code != 0
    assert reason in result.output and result.output.strip().count("\n") == 0


def test_create_user_makes_a_cooperative_account_for_its_licensee(app, world, db):
    result = run(
        app,
        "create-user",
        "--email",
        "New@Test.cn",
        "--password",
        "another-pass-9",
        "--role",
        "cooperative",
        "--licensee",
        world["coop_b"].uscc,
    )
    assert result.exit_code == 0, result.output
    user = db.exec(select(User).where(User.email == "new@test.cn")).one()
    assert user.licensee_id == world["coop_b"].id and user.password_hash.startswith("$argon2")


def test_seed_demo_on_an_empty_database_makes_its_schema_and_keeps_one_password_per_account(make_app, tmp_path):
    if not make_app().config["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("an empty SQLite file stands for a fresh database")
    record = tmp_path / "accounts.txt"
    for name in ("first.db", "second.db"):  # two fresh databases seeded in turn, one record
        fresh = make_app(DATABASE_URL=f"sqlite:///{tmp_path / name}", GI_DEMO_ACCOUNTS_FILE=str(record))
        seeded = run(fresh, "seed-demo")
        assert seeded.exit_code == 0, seeded.output
        fresh.extensions["db_engine"].dispose()
    lines = record.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and lines[0].split()[-1] in seeded.output  # the second database's passwords only


@pytest.mark.parametrize(
    ("revision", "reason"),
    [(None, "no schema yet: run `flask init-db` first"), ("0009", "at revision 0009, this code needs")],
)
@pytest.mark.parametrize("command", [["audit-verify"], ["retention"], ["create-user", *NEW_REGULATOR]])
def test_a_command_on_a_database_not_migrated_says_to_run_init_db(make_app, tmp_path, revision, reason, command):
    from gi_registry import migrate

    url = f"sqlite:///{tmp_path / 'behind.db'}"
    if revision:
        migrate.upgrade(url, revision)
    app = make_app(DATABASE_URL=url)
    result = run(app, *command)
    assert result.exit_code == 1 and reason in result.output and result.output.strip().count("\n") == 0
    assert run(app, "init-db").exit_code == 0
    assert run(app, *command).exit_code == 0


@pytest.mark.parametrize("command", [["init-db"], ["seed-demo"], ["audit-verify"]])
def test_a_database_that_does_not_answer_is_said_in_one_line(make_app, command):
    app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/nowhere")  # nothing listens on port 1
    result = run(app, *command)
    assert result.exit_code == 1 and "cannot reach the database of DATABASE_URL" in result.output
    assert result.output.strip().count("\n") == 0


def test_a_database_url_of_no_known_kind_stops_the_start(make_app):
    from gi_registry.config import ConfigError

    with pytest.raises(ConfigError, match="DATABASE_URL names no database this app can use"):
        make_app(DATABASE_URL="bogus://x")


def test_seed_demo_that_cannot_keep_its_passwords_says_so_in_one_line_after_showing_them(make_app, tmp_path):
    """The accounts were made and their passwords shown once, then a traceback; a second run shows none."""
    (tmp_path / "a-file").write_text("")
    record = tmp_path / "a-file" / "x"
    app = make_app(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.db'}", GI_DEMO_ACCOUNTS_FILE=str(record))
    result = run(app, "seed-demo")
    assert result.exit_code == 0 and "Traceback" not in result.output and result.exception is None
    assert result.output.count("password: gi-") == 4
    assert f"cannot keep the demo passwords in {record}" in result.output


def test_seed_demo_does_not_run_in_production(make_app, db):
    result = run(make_app(GI_ENV="production"), "seed-demo")
    assert result.exit_code == 1 and "does not run with GI_ENV=production" in result.output
    assert db.exec(select(User)).first() is None


def test_each_database_keeps_its_demo_passwords_in_a_file_of_its_own(monkeypatch, tmp_path):
    from gi_registry.config import load_config

    monkeypatch.delenv("GI_DEMO_ACCOUNTS_FILE", raising=False)
    files = set()
    for url in (None, "postgresql+psycopg://postgres@127.0.0.1/a", "postgresql+psycopg://postgres@127.0.0.1/b"):
        if url:
            monkeypatch.setenv("DATABASE_URL", url)
        else:
            monkeypatch.delenv("DATABASE_URL", raising=False)
        files.add(load_config(tmp_path)["GI_DEMO_ACCOUNTS_FILE"])
    assert len(files) == 3 and str(tmp_path / "demo-accounts.txt") in files


@pytest.fixture
def newer_database(tmp_path) -> str:
    """A database a newer version of the app migrated (revision 0099), as code rolled back after it finds it."""
    from sqlalchemy import create_engine, text

    from gi_registry import migrate

    url = f"sqlite:///{tmp_path / 'newer.db'}"
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    return url


def test_a_database_newer_than_the_code_is_told_as_such_not_sent_to_init_db(make_app, newer_database):
    result = run(make_app(DATABASE_URL=newer_database), "audit-verify")
    assert result.exit_code == 1 and "at revision 0099, newer than this code knows" in result.output
    assert "init-db" not in result.output


@pytest.mark.parametrize("command", ["init-db", "seed-demo"])
def test_init_db_on_a_database_newer_than_the_code_says_so_in_one_line(make_app, newer_database, command):
    """A deployment rolled back re-runs init-db: Alembic's "Can't locate revision" came as a traceback."""
    result = run(make_app(DATABASE_URL=newer_database), command)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "error: the database schema is at revision 0099, newer than this code knows" in result.output
    assert result.output.strip().count("\n") == 0

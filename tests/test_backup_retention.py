"""Backup and restore round trip; data retention of scans and reporters' contacts."""

import io
import json
import os
import sqlite3
import tarfile
import time
import uuid
from contextlib import closing
from datetime import timedelta

import pytest
from PIL import Image
from sqlalchemy import create_engine, text
from sqlmodel import select

from gi_registry import backup, migrate, staging
from gi_registry.domain import reports, retention
from gi_registry.i18n import china_time
from gi_registry.models import Licensee, Report, ReportPhoto, Scan, utcnow
from tests.conftest import BACKEND, PG_ADMIN_URL
from tests.old_schema import register_at_0009


def _photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (9, 9, 9)).save(out, format="PNG")
    return out.getvalue()


def _file_report(file_report, **changes):
    return file_report(
        reports.ReportInput(description="可疑的包装", contact="13800000000", **changes), photos=[_photo()]
    )


def test_backup_and_restore_round_trip_the_database_and_the_photos(app, db, world, file_report, tmp_path):
    report = _file_report(file_report)
    photo = db.exec(select(ReportPhoto)).one()
    runner = app.test_cli_runner()
    made = runner.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    archive = made.output.split("backup written: ")[1].splitlines()[0].strip()
    head = made.output.split("audit head: ")[1].strip()
    assert os.stat(archive).st_mode & 0o077 == 0  # password hashes and contacts: the owner's eyes only

    # Damage both halves after the backup: a new licensee row, a lost photo, a photo of a later report.
    db.add(Licensee(name="后来加的", uscc="91110000802100433B", county_code="512002"))
    db.commit()
    os.remove(os.path.join(app.config["GI_UPLOAD_DIR"], photo.filename))
    open(os.path.join(app.config["GI_UPLOAD_DIR"], "0" * 32 + ".jpg"), "wb").close()
    # A file the app never wrote (GI_UPLOAD_DIR set to a shared folder by mistake) is not the restore's.
    open(os.path.join(app.config["GI_UPLOAD_DIR"], "README.txt"), "wb").close()
    db.close()

    restored = runner.invoke(args=["restore", archive, "--yes"])
    assert restored.exit_code == 0, restored.output
    db.expire_all()
    names = sorted(x.name for x in db.exec(select(Licensee)))
    assert "后来加的" not in names and len(names) == 2
    assert db.exec(select(Report)).one().tracking_no == report.tracking_no
    assert sorted(os.listdir(app.config["GI_UPLOAD_DIR"])) == sorted([photo.filename, "README.txt"])
    assert runner.invoke(args=["audit-verify", "--head", head]).exit_code == 0


def test_a_restore_under_other_label_keys_is_refused_before_anything_is_replaced(make_app, db, world, tmp_path):
    """Keys are never in a backup: restored under others, every printed label would scan as forged."""
    app = make_app()
    archive = _backup(app, tmp_path)
    with tarfile.open(archive) as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
    assert set(manifest["code_keys"]) == {"1", "2"} and "test-code-key" not in json.dumps(manifest)
    db.add(Licensee(name="后来加的", uscc="91110000802100433B", county_code="512002"))
    db.commit()
    other = make_app(GI_CODE_KEY="2:another-code-key-two,1:test-code-key-one").test_cli_runner()
    refused = other.invoke(args=["restore", archive, "--yes"])
    assert refused.exit_code != 0 and "does not hold key id(s) 2 as they were" in refused.output
    assert "后来加的" in [x.name for x in db.exec(select(Licensee))]  # nothing replaced
    db.close()  # no open transaction of the test's may hold the tables a restore replaces
    rotated = make_app(GI_CODE_KEY="3:a-newer-code-key-three,2:test-code-key-two,1:test-code-key-one")
    assert rotated.test_cli_runner().invoke(args=["restore", archive, "--yes"]).exit_code == 0  # a rotation keeps them
    assert other.invoke(args=["restore", archive, "--yes", "--other-keys"]).exit_code == 0  # said, and meant


def test_restore_refuses_a_damaged_archive(app, tmp_path, world):
    bad = tmp_path / "bad.tar.gz"
    bad.write_bytes(b"not a tarball")
    result = app.test_cli_runner().invoke(args=["restore", str(bad), "--yes"])
    assert result.exit_code != 0


def test_old_scans_lose_their_hash_and_place_but_still_count(client, db, labelled):
    _, codes = labelled
    client.get(f"/api/v1/verify/{codes[1]}?lat=30.1&lon=104.6")
    client.get(f"/api/v1/verify/{codes[1]}?lat=30.1&lon=104.6")
    old = db.exec(select(Scan)).first()
    old.at = utcnow() - timedelta(days=400)
    db.add(old)
    db.commit()
    assert retention.prune_scans(session=db, older_than_days=365, now=utcnow()) == 1
    db.commit()
    scans = db.exec(select(Scan).order_by(Scan.id)).all()
    assert (scans[0].ip_hash, scans[0].latitude) == ("", None)
    assert scans[1].ip_hash and scans[1].latitude == 30.1
    assert client.get(f"/api/v1/verify/{codes[1]}").json["scans"]["count"] == 3


def test_contacts_go_once_a_case_has_been_closed_long_enough(app, db, world, file_report):
    closed_long_ago = _file_report(file_report)
    closed_recently = _file_report(file_report)
    still_open = _file_report(file_report)
    for report, days in ((closed_long_ago, 200), (closed_recently, 10)):
        report.status, report.closed_at = "closed", utcnow() - timedelta(days=days)
        db.add(report)
    db.commit()
    result = app.test_cli_runner().invoke(args=["retention"])
    assert result.exit_code == 0 and "removed 1 contacts" in result.output
    db.expire_all()
    assert db.get(Report, closed_long_ago.id).contact == ""
    assert db.get(Report, closed_recently.id).contact == "13800000000"
    assert db.get(Report, still_open.id).contact == "13800000000"


def test_retention_deletes_api_tokens_past_their_expiry(app, db, token_for):
    """They unlock nothing more, yet each kept who asked for one and when."""
    from gi_registry.models import ApiToken

    token_for("coop"), token_for("regulator")
    tokens = db.exec(select(ApiToken).order_by(ApiToken.id)).all()
    tokens[0].expires_at = utcnow() - timedelta(minutes=1)
    db.add(tokens[0])
    db.commit()
    result = app.test_cli_runner().invoke(args=["retention"])
    assert result.exit_code == 0 and "1 expired API tokens" in result.output
    db.expire_all()
    assert [token.id for token in db.exec(select(ApiToken)).all()] == [tokens[1].id]


def test_retention_removes_checked_import_files_nobody_imported_in_time(app, world):
    folder = app.config["IMPORT_STAGING_DIR"]
    fresh = staging.keep(folder, owner=1, name="fresh.csv", content=b"fresh")
    stale = staging.keep(folder, owner=1, name="stale.csv", content=b"stale")
    stale_path = os.path.join(folder, f"1-{stale}")
    other = os.path.join(folder, "photo-of-a-case.jpg")  # the folder set to one that holds other files
    open(other, "wb").close()
    for path in (stale_path, other):
        os.utime(path, (time.time() - 9 * 3600,) * 2)  # past the 8 hours a form lasts
    result = app.test_cli_runner().invoke(args=["retention"])
    assert result.exit_code == 0 and "and 1 checked import files not imported in time" in result.output
    assert not os.path.exists(stale_path) and os.path.exists(other)
    assert staging.take(folder, owner=1, digest=fresh, max_age_seconds=3600) == ("fresh.csv", b"fresh")


def _backup(app, tmp_path) -> str:
    made = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    return made.output.split("backup written: ")[1].splitlines()[0].strip()


def test_a_stray_file_in_the_uploads_does_not_spoil_the_backup(app, db, world, file_report, tmp_path):
    _file_report(file_report)
    open(os.path.join(app.config["GI_UPLOAD_DIR"], ".gitkeep"), "wb").close()
    archive = _backup(app, tmp_path)
    with tarfile.open(archive) as tar:
        assert [n for n in tar.getnames() if n.startswith("uploads/")] == [
            f"uploads/{db.exec(select(ReportPhoto)).one().filename}"
        ]
    db.close()
    restored = app.test_cli_runner().invoke(args=["restore", archive, "--yes"])
    assert restored.exit_code == 0, restored.output


def test_an_archive_missing_a_listed_photo_is_refused_before_the_database_is_touched(
    app, db, world, file_report, tmp_path
):
    _file_report(file_report)
    archive = _backup(app, tmp_path)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            if not member.name.startswith("uploads/"):
                target.addfile(member, source.extractfile(member))
    db.add(Licensee(name="后来加的", uscc="91110000802100433B", county_code="512002"))
    db.commit()
    db.close()
    refused = app.test_cli_runner().invoke(args=["restore", str(damaged), "--yes"])
    assert refused.exit_code != 0 and "lacks 1 of the photos" in refused.output
    assert "后来加的" in {x.name for x in db.exec(select(Licensee))}  # the database as it was


def test_an_archive_whose_database_is_no_database_is_refused_with_a_reason(app, db, world, tmp_path):
    archive = _backup(app, tmp_path)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            content = source.extractfile(member).read()
            if member.name not in ("manifest.json",) and not member.name.startswith("uploads/"):
                content = b"not a database at all" * 100
            member.size = len(content)
            target.addfile(member, io.BytesIO(content))
    refused = app.test_cli_runner().invoke(args=["restore", str(damaged), "--yes"])
    assert refused.exit_code == 1 and "error: the backup's database file" in refused.output
    assert len(db.exec(select(Licensee)).all()) == 2


def test_the_audit_head_a_backup_prints_is_one_its_archive_holds(app, db, world, tmp_path, monkeypatch):
    from gi_registry import backup as backups
    from gi_registry.domain import registry

    dump = backups._dump_database

    def dump_then_busy(*args):  # the app goes on changing things while the archive is written
        written = dump(*args)
        registry.change_licence_state(session=db, licence=world["licence_a"], action="suspend", reason="r", actor=None)
        db.commit()
        return written

    monkeypatch.setattr(backups, "_dump_database", dump_then_busy)
    made = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backups")])
    archive = made.output.split("backup written: ")[1].splitlines()[0].strip()
    head = made.output.split("audit head: ")[1].strip()
    db.close()
    assert app.test_cli_runner().invoke(args=["restore", archive, "--yes"]).exit_code == 0
    assert app.test_cli_runner().invoke(args=["audit-verify", "--head", head.upper()]).exit_code == 0


def test_the_database_password_never_goes_on_a_command_line():
    url = "postgresql+psycopg://gi:s3cret@db.internal:5432/gi"
    assert backup._libpq_url(url) == "postgresql://gi@db.internal:5432/gi"
    assert backup._libpq_env(url)["PGPASSWORD"] == "s3cret"


def _archive(path, members: dict[str, bytes]) -> str:
    with tarfile.open(path, "w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return str(path)


def _manifest(**changes) -> bytes:
    fields = {
        "format": 1,
        "created_at": "20261101T000000Z",
        "database": "sqlite",
        "database_file": "database.sqlite3",
        "uploads": [],
    }
    return json.dumps({**fields, **changes}).encode()


def _sqlite_file(path, *statements) -> bytes:
    with closing(sqlite3.connect(path)) as database, database:
        for statement in statements:
            database.execute(statement)
    return path.read_bytes()


@pytest.fixture
def sqlite_app(make_app, tmp_path):
    """An app on a SQLite file of its own, whatever the suite's backend: these archives hold SQLite."""
    url = f"sqlite:///{tmp_path / 'live.db'}"
    app = make_app(DATABASE_URL=url)
    assert app.test_cli_runner().invoke(args=["init-db"]).exit_code == 0
    return app


def test_a_restore_into_a_folder_that_does_not_exist_says_so_in_one_line(sqlite_app, make_app, tmp_path):
    archive = _backup(sqlite_app, tmp_path)
    missing = make_app(DATABASE_URL=f"sqlite:///{tmp_path}/no-such-folder/restored.db")
    result = missing.test_cli_runner().invoke(args=["restore", archive, "--yes"])
    assert result.exit_code != 0 and "cannot write the database" in result.output and "Traceback" not in result.output


def test_a_restore_whose_photo_folder_cannot_be_written_says_so_before_the_database_is_replaced(
    sqlite_app, make_app, tmp_path
):
    """The database went back, then the photos failed with a traceback: a registry half restored."""
    archive = _backup(sqlite_app, tmp_path)
    created = sqlite_app.test_cli_runner().invoke(
        args=["create-user", "--email", "later@example.cn", "--password", "Correct-horse-battery-9", "--role", "admin"]
    )
    assert created.exit_code == 0, created.output
    (tmp_path / "a-file").write_text("not a folder")
    blocked = make_app(DATABASE_URL=sqlite_app.config["DATABASE_URL"], GI_UPLOAD_DIR=str(tmp_path / "a-file" / "up"))
    result = _restore(blocked, archive)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot write the photos" in result.output and result.output.strip().count("\n") == 0
    path = sqlite_app.config["DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as database:
        assert database.execute("SELECT email FROM user WHERE email = 'later@example.cn'").fetchone()


def _restore(app, archive):
    return app.test_cli_runner().invoke(args=["restore", archive, "--yes"])


def _live_tables(app) -> set[str]:
    path = app.config["DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as database:
        return {row[0] for row in database.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


@pytest.mark.parametrize(
    ("members", "reason"),
    [
        (None, "is not a backup archive this app wrote"),
        ({"database.sqlite3": b""}, "the archive has no manifest.json"),
        ({"manifest.json": b"{not json"}, "the archive's manifest.json cannot be read"),
        ({"manifest.json": b'{"format": 1}'}, "lacks or garbles: created_at, database, database_file, uploads"),
        ({"manifest.json": b"[1]"}, "unknown backup format"),
    ],
)
def test_an_archive_that_is_no_backup_is_refused_in_one_line_and_nothing_changes(sqlite_app, tmp_path, members, reason):
    path = tmp_path / "odd.tar.gz"
    if members is None:
        path.write_bytes(b"not gzip at all")
    else:
        _archive(path, members)
    result = _restore(sqlite_app, str(path))
    assert result.exit_code == 1 and reason in result.output and result.output.strip().count("\n") == 0
    assert "licensee" in _live_tables(sqlite_app)


def test_a_sqlite_file_that_holds_no_registry_is_refused_before_the_database_is_replaced(sqlite_app, tmp_path):
    foreign = _sqlite_file(tmp_path / "foreign.db", "CREATE TABLE foo (x)")
    archive = _archive(tmp_path / "foreign.tar.gz", {"manifest.json": _manifest(), "database.sqlite3": foreign})
    result = _restore(sqlite_app, archive)
    assert result.exit_code == 1 and "holds no gi-registry schema" in result.output
    assert "licensee" in _live_tables(sqlite_app) and "foo" not in _live_tables(sqlite_app)


def test_a_backup_from_a_newer_version_of_the_app_is_refused(sqlite_app, tmp_path):
    newer = _sqlite_file(
        tmp_path / "newer.db",
        "CREATE TABLE alembic_version (version_num)",
        "INSERT INTO alembic_version VALUES ('0099')",
    )
    archive = _archive(tmp_path / "newer.tar.gz", {"manifest.json": _manifest(), "database.sqlite3": newer})
    result = _restore(sqlite_app, archive)
    assert result.exit_code == 1 and "revision 0099, which this version of the app does not know" in result.output


@pytest.fixture
def old_database(tmp_path):
    """A database of the suite's kind, fresh, to hold a register at an older schema revision."""
    if BACKEND != "postgres":
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"gi_old_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_a_backup_of_an_older_schema_is_restored_with_its_data_and_brought_to_this_ones(
    app, db, world, old_database, tmp_path
):
    register_at_0009(old_database)
    # As an older version wrote it: its manifest names no revision.
    archive = backup.backup(database_url=old_database, upload_dir=str(tmp_path / "none"), out_dir=str(tmp_path))
    db.close()
    result = _restore(app, str(archive))
    assert result.exit_code == 0 and "schema at head" in result.output, result.output
    assert migrate.schema_problem(app.extensions["db_engine"], app.config["DATABASE_URL"]) is None
    assert [licensee.name for licensee in db.exec(select(Licensee))] == ["老合作社"]  # the backup's, not the world's
    where = reports.ReportFilter(product_code="anyue-lemon")
    rows, _total = reports.search_reports(session=db, where=where, page=1, per_page=10)
    assert [report.tracking_no for report, *_ in rows] == ["R1"]


def test_new_code_backs_up_an_older_schema_before_init_db_migrates_it(make_app, old_database, tmp_path):
    """An upgrade's order: the new code deployed, a backup, then init-db."""
    register_at_0009(old_database)
    older = make_app(DATABASE_URL=old_database).test_cli_runner()
    assert "run `flask init-db` first" in older.invoke(args=["retention"]).output  # others still refuse
    made = older.invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    with tarfile.open(made.output.split("backup written: ")[1].splitlines()[0].strip()) as tar:
        assert json.load(tar.extractfile("manifest.json"))["revision"] == "0009"


def test_a_backup_into_a_folder_that_cannot_be_made_says_so_in_one_line(app, tmp_path):
    (tmp_path / "a-file").write_text("")
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "a-file" / "backups")])
    assert result.exit_code == 1 and "cannot write the backup into" in result.output
    assert result.output.strip().count("\n") == 0


def _unreadable(real, forbidden: str):
    """`real` (a Path method) refusing `forbidden` as an account that may not read the service's folder would."""

    def refuse(self, *args, **kwargs):
        if str(self).startswith(forbidden):
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    return refuse


def test_a_photo_folder_the_backup_cannot_read_stops_it_instead_of_leaving_the_photos_out(
    app, db, world, file_report, tmp_path, monkeypatch
):
    """Run by an account that may not list GI_UPLOAD_DIR (mode 700, the service's), the backup was written
    without a photo and said nothing; restoring it would then delete every photo."""
    from pathlib import Path

    _file_report(file_report)
    uploads = app.config["GI_UPLOAD_DIR"]
    monkeypatch.setattr(Path, "iterdir", _unreadable(Path.iterdir, uploads))
    glob = Path.glob  # and Path.glob reads such a folder as empty, without a word
    monkeypatch.setattr(Path, "glob", lambda self, *a, **k: iter(()) if str(self) == uploads else glob(self, *a, **k))
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"cannot read the photos in {uploads}" in result.output
    assert not list((tmp_path / "backups").glob("*"))


def test_a_photo_the_backup_cannot_read_stops_it_in_one_line_leaving_no_partial_file(
    app, db, world, file_report, tmp_path, monkeypatch
):
    _file_report(file_report)
    add = tarfile.TarFile.add

    def refuse_photos(self, name, arcname=None, **kwargs):
        if str(arcname).startswith("uploads/"):
            raise PermissionError(13, "Permission denied", str(name))
        return add(self, name, arcname, **kwargs)

    monkeypatch.setattr(tarfile.TarFile, "add", refuse_photos)
    result = app.test_cli_runner().invoke(args=["backup", "--to", str(tmp_path / "backups")])
    assert result.exit_code == 1 and "Traceback" not in result.output and "Permission denied" in result.output
    assert result.output.strip().count("\n") == 0
    assert not list((tmp_path / "backups").glob("*"))


def test_a_backup_names_its_schema_revision(app, tmp_path):
    with tarfile.open(_backup(app, tmp_path)) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["revision"] == migrate.head_revision(app.config["DATABASE_URL"])


def test_a_manifest_with_a_garbled_revision_is_refused_in_one_line(sqlite_app, tmp_path):
    archive = _archive(tmp_path / "odd.tar.gz", {"manifest.json": _manifest(revision=[1]), "database.sqlite3": b""})
    result = _restore(sqlite_app, archive)
    assert result.exit_code == 1 and "lacks or garbles: revision" in result.output


def test_a_restore_whose_schema_cannot_be_brought_to_head_says_the_data_is_back(sqlite_app, tmp_path, monkeypatch):
    old = tmp_path / "old.db"
    migrate.upgrade(f"sqlite:///{old}", "0009")
    archive = _archive(tmp_path / "old.tar.gz", {"manifest.json": _manifest(), "database.sqlite3": old.read_bytes()})

    def refused(url):
        raise RuntimeError("product.batch_prefix is not unique: AY")  # as migration 0008 refuses duplicates

    monkeypatch.setattr(migrate, "upgrade", refused)
    result = _restore(sqlite_app, archive)
    assert result.exit_code == 1 and result.output.strip().count("\n") == 1  # restored …, then the one error
    assert "data is restored, but its schema could not be brought to head: product.batch_prefix" in result.output


def test_two_backups_in_the_same_second_are_both_kept(app, world, tmp_path, monkeypatch):
    """Both were named for the second they were taken in, and the second quietly replaced the first."""
    from datetime import UTC, datetime
    from pathlib import Path

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 29, 16, 0, 0, tzinfo=UTC)

    monkeypatch.setattr(backup, "datetime", Frozen)
    first = Path(_backup(app, tmp_path))
    second = Path(_backup(app, tmp_path))
    assert first != second and first.name == "gi-registry-20261129T160000Z.tar.gz"
    assert second.name == "gi-registry-20261129T160000Z-2.tar.gz"
    assert {p.name for p in first.parent.iterdir()} == {first.name, second.name}  # no partial file left
    with tarfile.open(first) as tar:
        assert json.load(tar.extractfile("manifest.json"))["created_at"] == "20261129T160000Z"


def test_backups_onto_a_disk_without_hard_links_are_written_and_kept_side_by_side(app, world, tmp_path, monkeypatch):
    """A FAT or exFAT disk (a USB drive carried off site) or an SMB share refuses a hard link (EPERM): the
    backup, named by a link, failed there with a traceback and left its partial file behind."""
    from datetime import UTC, datetime
    from pathlib import Path

    class Frozen(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 11, 29, 16, 0, 0, tzinfo=UTC)

    def no_links(source, target, *args, **kwargs):
        raise PermissionError(1, "Operation not permitted", str(source), None, str(target))

    monkeypatch.setattr(backup, "datetime", Frozen)
    monkeypatch.setattr(os, "link", no_links)
    first = Path(_backup(app, tmp_path))
    second = Path(_backup(app, tmp_path))
    assert (first.name, second.name) == ("gi-registry-20261129T160000Z.tar.gz", "gi-registry-20261129T160000Z-2.tar.gz")
    assert {p.name for p in first.parent.iterdir()} == {first.name, second.name}  # no partial file left
    for archive in (first, second):
        with tarfile.open(archive) as tar:
            assert json.load(tar.extractfile("manifest.json"))["created_at"] == "20261129T160000Z"


def test_the_audit_log_names_what_retention_removed_in_words_and_china_time(login_as, db, world, file_report):
    report = _file_report(file_report)
    report.status, report.closed_at = "closed", utcnow() - timedelta(days=200)
    db.add(report)
    db.commit()
    now = utcnow()
    assert retention.purge_contacts(session=db, days_after_close=180, now=now) == 1
    db.commit()
    page = login_as("admin").get("/admin/audit?entity_type=report&action=retention.contacts&lang=en").text
    changed = page.split('<dl class="changes">')[1].split("</dl>")[0]
    assert "<dt>Reports concerned</dt><dd>1</dd>" in changed
    cutoff = china_time(now - timedelta(days=180))
    assert f"<dt>Closed before</dt><dd>{cutoff}</dd>" in changed  # not the stored UTC time
    assert "closed_before" not in changed and "purged" not in changed


def test_the_audit_log_names_a_records_own_number(login_as, db, world):
    page = login_as("admin").get("/admin/audit?entity_type=licensee&lang=en").text
    changed = page.split('<dl class="changes">')[1].split("</dl>")[0]
    assert "<dt>Number</dt>" in changed and "<dt>id</dt>" not in changed

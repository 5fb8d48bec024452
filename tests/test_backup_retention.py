"""Backup and restore round trip; data retention of scans and reporters' contacts."""

import io
import os
import tarfile
from datetime import timedelta

from PIL import Image
from sqlmodel import select

from gi_registry import backup
from gi_registry.domain import reports, retention
from gi_registry.models import Licensee, Report, ReportPhoto, Scan, utcnow


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

    # Damage both halves after the backup: a new licensee row, a lost photo, a stray file.
    db.add(Licensee(name="后来加的", uscc="91110000802100433B", county_code="512002"))
    db.commit()
    os.remove(os.path.join(app.config["GI_UPLOAD_DIR"], photo.filename))
    open(os.path.join(app.config["GI_UPLOAD_DIR"], "stray.jpg"), "wb").close()
    db.close()

    restored = runner.invoke(args=["restore", archive, "--yes"])
    assert restored.exit_code == 0, restored.output
    db.expire_all()
    names = sorted(x.name for x in db.exec(select(Licensee)))
    assert "后来加的" not in names and len(names) == 2
    assert db.exec(select(Report)).one().tracking_no == report.tracking_no
    assert sorted(os.listdir(app.config["GI_UPLOAD_DIR"])) == [photo.filename]
    assert runner.invoke(args=["audit-verify", "--head", head]).exit_code == 0


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

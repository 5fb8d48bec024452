"""Backup and restore of the database and the report photos as one archive.

SQLite is copied with its online backup API (safe while the app runs); PostgreSQL with pg_dump in the
custom format, restored by pg_restore's SQL through psql in one transaction. The archive holds
manifest.json, the database file and uploads/.
"""

import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

from .domain import photos

FORMAT = 1


class BackupError(RuntimeError):
    pass


def _kind(database_url: str) -> str:
    backend = make_url(database_url).get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise BackupError(f"cannot back up a {backend} database")
    return backend


def _libpq_url(database_url: str) -> str:
    """The URL as pg_dump understands it (without SQLAlchemy's +driver), without its password: a command
    line is readable by every local user (ps), so the password goes in the environment (_run)."""
    url = make_url(database_url)._replace(drivername="postgresql", password=None)  # set() keeps a None unchanged
    return url.render_as_string(hide_password=False)


def _libpq_env(database_url: str) -> dict:
    password = make_url(database_url).password
    return {**os.environ, "PGPASSWORD": str(password)} if password else dict(os.environ)


def _dump_database(database_url: str, into: Path) -> str:
    kind = _kind(database_url)
    if kind == "sqlite":
        source = sqlite3.connect(make_url(database_url).database)
        target = sqlite3.connect(into / "database.sqlite3")
        with target:
            source.backup(target)
        source.close()
        target.close()
        return "database.sqlite3"
    _run(
        ["pg_dump", "--format=custom", "--no-owner", "--file", str(into / "database.pgdump"), _libpq_url(database_url)],
        env=_libpq_env(database_url),
    )
    return "database.pgdump"


def _run(command: list[str], *, env: dict) -> None:
    if shutil.which(command[0]) is None:
        raise BackupError(f"{command[0]} is not installed (Debian: postgresql-client)")
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    if result.returncode != 0:
        raise BackupError(f"{command[0]} failed: {result.stderr.strip()[:500]}")


def backup(
    *, database_url: str, upload_dir: str, out_dir: str, revision: str | None = None, code_keys: dict | None = None
) -> Path:
    """Write one .tar.gz with the database and the uploads (and its schema `revision`, and the fingerprints
    of the `code_keys` its labels are signed with); return its path."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    archive = Path(out_dir) / f"gi-registry-{stamp}.tar.gz"
    try:
        archive.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"cannot write the backup into {out_dir} ({error.strerror})") from None
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        database_file = _dump_database(database_url, work)
        uploads = Path(upload_dir)
        names = _photo_names(uploads)
        manifest = {
            "format": FORMAT,
            "created_at": stamp,
            "database": _kind(database_url),
            "database_file": database_file,
            "uploads": names,
            "revision": revision,
            "code_keys": code_keys,
        }
        (work / "manifest.json").write_text(json.dumps(manifest, indent=2))
        # Readable by its owner only (mkstemp's mode): it holds password hashes and reporters' contacts. Its own
        # name, so a backup run beside this one never writes into it.
        handle, partial_name = tempfile.mkstemp(dir=archive.parent, prefix=f".{archive.name}.", suffix=".partial")
        os.close(handle)
        partial = Path(partial_name)
        try:
            with tarfile.open(partial, "w:gz") as tar:
                tar.add(work / "manifest.json", arcname="manifest.json")
                tar.add(work / database_file, arcname=database_file)
                for name in names:
                    tar.add(uploads / name, arcname=f"uploads/{name}")
        except OSError as error:  # a photo this account may not read, a disk full
            partial.unlink(missing_ok=True)
            raise BackupError(f"cannot write the backup ({error.strerror}: {error.filename})") from None
        return _keep(partial, archive)  # a crash mid-write never leaves a file that looks complete


def _keep(partial: Path, archive: Path) -> Path:
    """Give the finished archive its name, or name-2, -3 …: a second backup within the same second (the names'
    precision) is kept beside the first, never over it."""
    name, number = archive, 1
    while True:
        try:
            _take_name(partial, name)
            return name
        except FileExistsError:
            number += 1
            name = archive.with_name(archive.name.removesuffix(".tar.gz") + f"-{number}.tar.gz")
        except OSError as error:
            partial.unlink(missing_ok=True)
            raise BackupError(f"cannot write the backup ({error.strerror}: {name})") from None


def _take_name(partial: Path, name: Path) -> None:
    """Move `partial` to `name`, or FileExistsError where the name is taken. A hard link, as it fails where a
    name is taken; a FAT or exFAT disk (a USB drive carried off site) and some network shares make none, so
    there the name is first claimed as an empty file, which the archive then replaces."""
    try:
        os.link(partial, name)
    except FileExistsError:
        raise
    except OSError:
        with open(name, "xb"):
            pass
        try:
            os.replace(partial, name)
        except OSError:
            name.unlink(missing_ok=True)  # no empty file left under a backup's name
            raise
        return
    partial.unlink()


def _photo_names(uploads: Path) -> list[str]:
    """The photos the app wrote there (none while the folder is not made yet). A folder this account may not
    list stops the backup: Path.glob reads it as empty, and a restore deletes the photos a backup lacks."""
    try:
        entries = list(uploads.iterdir())
    except FileNotFoundError:
        return []
    except OSError as error:
        raise BackupError(f"cannot read the photos in {uploads} ({error.strerror})") from None
    # Only the photos the app wrote: a stray file there would make the archive one restore refuses.
    return sorted(p.name for p in entries if p.is_file() and photos.NAME.match(p.name))


def restore(
    *, archive: str, database_url: str, upload_dir: str, revisions: set[str], code_keys: dict | None = None
) -> dict:
    """Replace the database and the uploads with the archive's; return its manifest.

    `revisions` are the schema revisions this code knows: a backup from a newer one is refused, an older
    one is the caller's to migrate. `code_keys`: the fingerprints of the keys the app now signs and checks
    labels with; a backup made under others is refused (None: not checked)."""
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        _unpack(archive, work)
        manifest = _read_manifest(work)
        if manifest["database"] != _kind(database_url):
            target = _kind(database_url)
            raise BackupError(f"the backup holds a {manifest['database']} database; the target is {target}")
        dump = work / Path(manifest["database_file"]).name  # a name inside the archive, never a path
        _check_contents(work, dump, manifest)  # all of it before anything is replaced
        _check_revision(manifest, dump, revisions)
        _check_code_keys(manifest, code_keys)
        _check_writable(Path(upload_dir))
        _restore_database(database_url, dump)
        _restore_uploads(work / "uploads", Path(upload_dir), manifest["uploads"])
    return manifest


def _unpack(archive: str, into: Path) -> None:
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")  # the data filter refuses absolute paths and ../ tricks
    except (tarfile.TarError, EOFError, OSError) as error:
        raise BackupError(f"{archive} is not a backup archive this app wrote ({error})") from None


_MANIFEST_FIELDS = {"format": int, "created_at": str, "database": str, "database_file": str, "uploads": list}


def _read_manifest(work: Path) -> dict:
    """The archive's manifest.json, with every field restore reads, of its type."""
    try:
        manifest = json.loads((work / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise BackupError("the archive has no manifest.json: it is no backup of this app") from None
    except (ValueError, OSError) as error:
        raise BackupError(f"the archive's manifest.json cannot be read ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("unknown backup format")
    wrong = [name for name, kind in _MANIFEST_FIELDS.items() if not isinstance(manifest.get(name), kind)]
    if wrong:
        raise BackupError(f"the archive's manifest.json lacks or garbles: {', '.join(wrong)}")
    return manifest


def _check_revision(manifest: dict, dump: Path, revisions: set[str]) -> None:
    """The backup is of this registry's schema, at a revision this code knows (the same or older).
    Backups since revision 0010 name it in the manifest; a SQLite file of an older one is asked."""
    revision = manifest.get("revision")
    if not isinstance(revision, str | None):
        raise BackupError("the archive's manifest.json lacks or garbles: revision")
    if revision is None and manifest["database"] == "sqlite":
        revision = _sqlite_revision(dump)
    if revision is not None and revision not in revisions:
        raise BackupError(f"the backup's schema is at revision {revision}, which this version of the app does not know")


def _check_code_keys(manifest: dict, code_keys: dict | None) -> None:
    """The label keys of the backup (their fingerprints; backups before these name none) are the app's now."""
    recorded = manifest.get("code_keys")
    if code_keys is None or not isinstance(recorded, dict):
        return
    other = sorted(key_id for key_id, fingerprint in recorded.items() if code_keys.get(key_id) != fingerprint)
    if other:
        raise BackupError(
            f"GI_CODE_KEY does not hold key id(s) {', '.join(other)} as they were when the backup was made: every"
            " label they signed would scan as invalid. Set GI_CODE_KEY as it was (backups never hold keys), or"
            " restore anyway with --other-keys"
        )


def _read_only(dump: Path):
    """The archive's SQLite file opened for reading only, closed when the `with` ends."""
    return closing(sqlite3.connect(f"{dump.as_uri()}?mode=ro", uri=True))


def _sqlite_revision(dump: Path) -> str:
    with _read_only(dump) as database:
        try:
            row = database.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError:
            row = None
    if row is None:
        raise BackupError("the backup's database file holds no gi-registry schema")
    return row[0]


def _check_contents(work: Path, dump: Path, manifest: dict) -> None:
    """The archive holds the database and every photo its manifest lists, under names this app makes."""
    if not dump.is_file():
        raise BackupError("the backup has no database file")
    _check_dump(manifest["database"], dump)
    # The manifest is data from a file; only names this app makes may be written.
    if not all(isinstance(name, str) and photos.NAME.match(name) for name in manifest["uploads"]):
        raise BackupError("the backup lists an unexpected photo name")
    missing = [name for name in manifest["uploads"] if not (work / "uploads" / name).is_file()]
    if missing:
        raise BackupError(f"the backup lacks {len(missing)} of the photos it lists")


def _check_dump(kind: str, dump: Path) -> None:
    """The database file reads as a database of its kind (pg_restore --list reads a dump's table of contents)."""
    if kind != "sqlite":
        try:
            _run(["pg_restore", "--list", str(dump)], env=dict(os.environ))
        except BackupError as error:
            raise BackupError(f"the backup's database file is not a PostgreSQL dump ({error})") from None
        return
    try:
        with _read_only(dump) as database:
            if database.execute("PRAGMA quick_check").fetchone() != ("ok",):
                raise BackupError("the backup's database file is damaged")
    except sqlite3.DatabaseError:
        raise BackupError("the backup's database file is not a SQLite database") from None


def _restore_database(database_url: str, dump: Path) -> None:
    if _kind(database_url) == "sqlite":
        path = make_url(database_url).database
        try:
            with closing(sqlite3.connect(dump)) as source, closing(sqlite3.connect(path)) as target:
                with target:
                    source.backup(target)
        except sqlite3.Error as error:  # a folder that does not exist, a file not writable: nothing replaced
            raise BackupError(f"cannot write the database {path} ({error})") from None
        return
    # pg_restore --clean drops only what the dump holds, and a newer schema's additions (a foreign key
    # of a later migration) keep those from being dropped. So every table and sequence goes first, in the
    # same transaction as the dump's own SQL: a restore that fails leaves the database as it was.
    script = dump.with_suffix(".sql")
    _run(["pg_restore", "--no-owner", "--file", str(script), str(dump)], env=dict(os.environ))
    clear = dump.with_name("clear.sql")
    clear.write_text(_CLEAR_PUBLIC_SCHEMA)
    _run(
        ["psql", "--no-psqlrc", "--quiet", "--single-transaction", "--set", "ON_ERROR_STOP=1"]
        + ["--file", str(clear), "--file", str(script), _libpq_url(database_url)],
        env=_libpq_env(database_url),
    )


_CLEAR_PUBLIC_SCHEMA = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP
        EXECUTE format('DROP TABLE IF EXISTS public.%I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = 'public' LOOP
        EXECUTE format('DROP SEQUENCE IF EXISTS public.%I CASCADE', item.sequence_name);
    END LOOP;
END $$;
"""


def _check_writable(target: Path) -> None:
    """The photo folder takes files (made if missing), asked before the database is replaced: failing only
    at the photos would leave the backup's database beside today's photos, and a traceback."""
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target):
            pass
    except OSError as error:
        raise BackupError(f"cannot write the photos into {target} ({error.strerror}); nothing was replaced") from None


def _restore_uploads(source: Path, target: Path, names: list[str]) -> None:
    try:
        # Only photos this app wrote: a folder set by mistake to a shared one loses nothing else.
        for stale in target.glob("*"):
            if stale.is_file() and photos.NAME.match(stale.name) and stale.name not in names:
                stale.unlink()
        for name in names:
            shutil.copy2(source / name, target / name)
    except OSError as error:  # a disk that filled meanwhile: the database is back already, so say that too
        raise BackupError(
            f"the backup's database is restored, but not its photos ({error.strerror} in {target}); "
            "restore again once the folder can take them"
        ) from None

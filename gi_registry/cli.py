"""flask commands: init-db, seed-demo, create-user, audit-verify, backup, restore, retention."""

import functools
import sys
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import InterfaceError, OperationalError

from . import migrate
from .db import error_line, session_scope
from .domain import DomainError, accounts, audit
from .extensions import code_keys
from .models import ROLES


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


@contextmanager
def _reaching_database():
    """A database that does not answer (down, unknown, refused) is said in one line, not a driver's traceback."""
    try:
        yield
    except (OperationalError, InterfaceError) as error:
        _fail(f"cannot reach the database of DATABASE_URL: {error_line(error)}")


def needs_schema(command=None, *, older_will_do: bool = False):
    """Say in one line that the database needs `init-db`, instead of a traceback of a missing table.
    `older_will_do`: any revision this code knows serves (a backup taken before init-db migrates)."""

    def wrap(command):
        @functools.wraps(command)
        def checked(*args, **kwargs):
            engine, url = current_app.extensions["db_engine"], current_app.config["DATABASE_URL"]
            with _reaching_database():
                problem = migrate.schema_problem(engine, url, older_will_do=older_will_do)
            if problem:
                _fail(problem)
            return command(*args, **kwargs)

        return checked

    return wrap(command) if command else wrap


def _upgrade() -> None:
    """The schema to the newest migration, or one line saying why not (no database, one newer than the code)."""
    engine, url = current_app.extensions["db_engine"], current_app.config["DATABASE_URL"]
    with _reaching_database():
        problem = migrate.upgrade_problem(engine, url)
        if problem:
            _fail(problem)
        migrate.upgrade(url)


@click.command("init-db")
@with_appcontext
def init_db() -> None:
    """Bring the schema to the newest migration and load the reference areas (safe to run again)."""
    from .seed.areas import load_areas

    _upgrade()
    click.echo("schema at head")
    with session_scope() as session:
        click.echo(f"reference areas: {load_areas(session=session)}")


@click.command("seed-demo")
@with_appcontext
def seed_demo() -> None:
    """Load the Ziyang products, the 资味 brand, demo licensees and accounts (safe to run again)."""
    from .seed.demo import seed, seed_batch

    if current_app.config["GI_ENV"] == "production":
        _fail("seed-demo makes demo accounts whose passwords it prints; it does not run with GI_ENV=production")
    _upgrade()  # a fresh database gets its schema first
    with session_scope() as session:
        created = seed(session=session)
        created += seed_batch(
            session=session, keys=current_app.extensions["code_keys"], base_url=current_app.config["GI_BASE_URL"]
        )
    for line in created:
        click.echo(line)
    # Passwords are random and shown once; keep them beside the database so a re-run can show them again.
    record = Path(current_app.config["GI_DEMO_ACCOUNTS_FILE"])
    new_accounts = [line for line in created if "password:" in line]
    if new_accounts:
        try:
            _keep_demo_accounts(record, new_accounts)
        except OSError as error:  # the accounts are made and shown above: say where they could not be kept
            why = f"cannot keep the demo passwords in {record} ({error.strerror}): note them now"
            click.echo(f"warning: {why}", err=True)
            return
    if record.exists():
        click.echo(f"demo accounts (kept in {record}):")
        click.echo(record.read_text(encoding="utf-8").rstrip())


def _keep_demo_accounts(record: Path, lines: list[str]) -> None:
    """One line per account: a database seeded afresh replaces the passwords of the one before."""
    kept = record.read_text(encoding="utf-8").splitlines() if record.exists() else []
    by_email = {line.split()[2]: line for line in kept + lines if len(line.split()) > 2}
    record.parent.mkdir(parents=True, exist_ok=True)
    record.write_text("\n".join(by_email.values()) + "\n", encoding="utf-8")
    record.chmod(0o600)


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--licensee", "licensee_uscc", default=None, help="USCC of the cooperative's licensee")
@needs_schema
def create_user(email: str, password: str, role: str, licensee_uscc: str | None) -> None:
    """Create an account; a cooperative account belongs to the licensee with that USCC."""
    try:
        with session_scope() as session:
            user = accounts.create_user(
                session=session, email=email, password=password, role=role, licensee_uscc=licensee_uscc
            )
            click.echo(f"created {user.role} {user.email}")
    except DomainError as error:
        details = "; ".join(f"{name}: {why}" for name, why in (error.fields or {}).items())
        _fail(f"{error.message} ({details})" if details else error.message)


@click.command("audit-verify")
@click.option("--head", "known_head", default=None, help="a head an earlier run printed: it must still be there")
@with_appcontext
@needs_schema
def audit_verify(known_head: str | None) -> None:
    """Check the audit log's hash chain; name every edited or removed event.

    It prints the chain's head: keep it outside the database and pass it with --head next time, as only
    that finds the newest events cut off (their removal breaks no link)."""
    try:
        head = audit.Head.parse(known_head) if known_head else None
    except ValueError as error:
        _fail(str(error))
    with session_scope() as session:
        problems = audit.verify_chain(session=session, known_head=head)
        newest = audit.chain_head(session=session)
    if not problems:
        click.echo("audit chain intact")
        click.echo(f"head: {newest or 'none (no events yet)'}")
        return
    for problem in problems:
        click.echo(f"event {problem.event_id}: {problem.problem}", err=True)
    sys.exit(1)


@click.command("backup")
@click.option("--to", "out_dir", default="backups", show_default=True, help="folder for the archive")
@with_appcontext
@needs_schema(older_will_do=True)
def backup_command(out_dir: str) -> None:
    """Write the database and the report photos into one .tar.gz archive."""
    from .backup import BackupError, backup

    with session_scope() as session:
        head = audit.chain_head(session=session)  # before the copy, so the archive surely holds it
    try:
        archive = backup(
            database_url=current_app.config["DATABASE_URL"],
            upload_dir=current_app.config["GI_UPLOAD_DIR"],
            out_dir=out_dir,
            revision=migrate.current_revision(current_app.extensions["db_engine"]),
            code_keys=code_keys().fingerprints(),
        )
    except BackupError as error:
        _fail(str(error))
    click.echo(f"backup written: {archive}")
    if head:  # written down with the backup, for audit-verify --head
        click.echo(f"audit head: {head}")


@click.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="do not ask before replacing the current data")
@click.option("--other-keys", is_flag=True, help="restore though GI_CODE_KEY differs from the backup's keys")
@with_appcontext
def restore_command(archive: str, yes: bool, other_keys: bool) -> None:
    """Replace the database and the report photos with those of a backup archive."""
    from .backup import BackupError, restore

    if not yes:
        click.confirm("This replaces the current database and photos. Continue?", abort=True)
    url = current_app.config["DATABASE_URL"]
    current_app.extensions["db_engine"].dispose()  # no pooled connection may hold the old data
    try:
        manifest = restore(
            archive=archive,
            database_url=url,
            upload_dir=current_app.config["GI_UPLOAD_DIR"],
            revisions=migrate.known_revisions(url),
            code_keys=None if other_keys else code_keys().fingerprints(),
        )
    except BackupError as error:
        _fail(str(error))
    click.echo(f"restored the backup of {manifest['created_at']} ({len(manifest['uploads'])} photos)")
    try:
        migrate.upgrade(url)  # a backup of an older version is brought to this code's schema
    except Exception as error:  # the data is back; say so, and what still stands in the way
        _fail(f"the backup's data is restored, but its schema could not be brought to head: {error_line(error)}")
    click.echo("schema at head")


@click.command("retention")
@with_appcontext
@needs_schema
def retention_command() -> None:
    """Prune scans' hashes and places past their age, closed cases' contact details, unimported files and
    expired API tokens."""
    from . import staging
    from .domain import retention
    from .models import utcnow

    config, now = current_app.config, utcnow()
    with session_scope() as session:
        scans = retention.prune_scans(session=session, older_than_days=config["SCAN_RETENTION_DAYS"], now=now)
        contacts = retention.purge_contacts(session=session, days_after_close=config["CONTACT_RETENTION_DAYS"], now=now)
        tokens = retention.drop_expired_tokens(session=session, now=now)
    files = staging.prune(config["IMPORT_STAGING_DIR"], staging.lifetime(config))
    click.echo(
        f"pruned {scans} scans older than {config['SCAN_RETENTION_DAYS']} days; "
        f"removed {contacts} contacts of cases closed over {config['CONTACT_RETENTION_DAYS']} days ago "
        f"and {files} checked import files not imported in time; deleted {tokens} expired API tokens"
    )


def init_app(app: Flask) -> None:
    for command in (init_db, seed_demo, create_user, audit_verify, backup_command, restore_command, retention_command):
        app.cli.add_command(command)

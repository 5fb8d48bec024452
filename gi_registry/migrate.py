"""Alembic, driven from the app: the schema always comes from the migrations."""

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from . import ROOT


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(ROOT / "migrations"))
    # ConfigParser treats % as interpolation; URLs may contain it.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


def _scripts(url: str) -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config(url))


def head_revision(url: str) -> str:
    return _scripts(url).get_current_head()


def known_revisions(url: str) -> set[str]:
    return {script.revision for script in _scripts(url).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


NO_SCHEMA = "the database has no schema yet: run `flask init-db` first"


def schema_problem(engine: Engine, url: str, *, older_will_do: bool = False) -> str | None:
    """Why the database cannot serve this code (no schema yet, or an older one), or None when at head;
    `older_will_do` for a command that reads any revision this code knows (a backup before init-db)."""
    current = current_revision(engine)
    scripts = _scripts(url)  # the migration files, read once
    head = scripts.get_current_head()
    if current == head:
        return None
    if current is None:
        return NO_SCHEMA
    if current not in {script.revision for script in scripts.walk_revisions()}:  # newer: init-db cannot go back
        return f"the database schema is at revision {current}, newer than this code knows ({head}): run the newer code"
    if older_will_do:
        return None
    return f"the database schema is at revision {current}, this code needs {head}: run `flask init-db` first"


def upgrade_problem(engine: Engine, url: str) -> str | None:
    """Why `upgrade` cannot bring this database to head, or None: a schema newer than this code (the code was
    rolled back after a newer one migrated), from which Alembic knows no way and says so in a traceback."""
    problem = schema_problem(engine, url, older_will_do=True)
    return None if problem == NO_SCHEMA else problem

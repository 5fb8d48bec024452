"""The engine and a database session per request."""

from contextlib import contextmanager

from flask import Flask, current_app, g
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError
from sqlmodel import Session, create_engine


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # pool_recycle instead of pool_pre_ping: a ping is one more round trip on every request, the scan page included.
    # Timestamps are read and written as UTC; the server's own zone must not leak into them.
    return create_engine(url, pool_recycle=300, connect_args={"options": "-c timezone=UTC"})


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets the scan page read while a writer appends; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # In WAL mode NORMAL survives an app crash; only a power cut may lose the last commits. Production is PostgreSQL.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def error_line(error: Exception) -> str:
    """A database error in one line for a command's output: the driver's own first line (SQLAlchemy's
    wrapping adds the statement and a link), at most 300 characters."""
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [""])[0][:300]


def init_app(app: Flask) -> None:
    from .config import ConfigError

    try:
        app.extensions["db_engine"] = make_engine(app.config["DATABASE_URL"])
    except (ArgumentError, ImportError, ValueError) as error:  # a typo (scheme, port), or a driver not installed
        raise ConfigError(f"DATABASE_URL names no database this app can use ({error})") from None
    app.teardown_appcontext(_close_session)


def engine() -> Engine:
    return current_app.extensions["db_engine"]


def get_session() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        g.db_session = Session(engine(), expire_on_commit=False)
    return g.db_session


def _close_session(_exc) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def session_scope():
    """A session for commands and scripts that commits on success and rolls back on error."""
    with Session(engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except Exception:
            session.rollback()
            raise

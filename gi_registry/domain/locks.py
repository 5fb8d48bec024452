"""Row locks that hold on both databases until the transaction commits."""

from sqlalchemy import update
from sqlmodel import Session


def hold_rows(session: Session, column, *where) -> int:
    """Lock the rows `where` picks by a write that sets `column` to itself, and say how many it picked.

    Not SELECT ... FOR UPDATE: SQLite ignores it (and reads outside any transaction), but lets one writer at a
    time, so a second caller waits here until the first commits, and then reads what the first wrote."""
    model = column.class_
    statement = update(model).where(*where).values({column: column}).execution_options(synchronize_session=False)
    return session.exec(statement).rowcount

"""Data retention: personal data is kept only as long as its purpose needs it."""

from datetime import datetime, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col

from ..models import ApiToken, Report, Scan
from . import audit


def prune_scans(*, session: Session, older_than_days: int, now: datetime) -> int:
    """Blank the address hash and the shared place of scans older than the retention age; counts stay."""
    cutoff = now - timedelta(days=older_than_days)
    result = session.exec(
        update(Scan)
        .where(Scan.at < cutoff)
        .where((Scan.ip_hash != "") | col(Scan.latitude).is_not(None))
        .values(ip_hash="", latitude=None, longitude=None)
    )
    if result.rowcount:
        audit.record(
            session=session,
            actor=None,
            action="retention.scans",
            entity_type="scan",
            entity_id="*",
            after={"pruned": result.rowcount, "before": cutoff.isoformat()},
        )
    return result.rowcount


def purge_contacts(*, session: Session, days_after_close: int, now: datetime) -> int:
    """Remove reporters' contact details once their case has been closed for the retention period."""
    cutoff = now - timedelta(days=days_after_close)
    result = session.exec(
        update(Report)
        .where(
            Report.status == "closed",
            col(Report.closed_at).is_not(None),
            Report.closed_at < cutoff,
            Report.contact != "",
        )
        .values(contact="")
    )
    if result.rowcount:
        audit.record(
            session=session,
            actor=None,
            action="retention.contacts",
            entity_type="report",
            entity_id="*",
            after={"purged": result.rowcount, "closed_before": cutoff.isoformat()},
        )
    return result.rowcount


def drop_expired_tokens(*, session: Session, now: datetime) -> int:
    """Delete API tokens past their expiry: they unlock nothing more, yet each kept who asked for one and when."""
    return session.exec(delete(ApiToken).where(ApiToken.expires_at < now)).rowcount

"""The hash-chained audit log: every change of registry state, detectable if edited or removed."""

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import and_, or_, text
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from ..models import AuditEvent, User, utcnow
from . import N_, ascii_digits

GENESIS = "0" * 64
# Reasons the registry writes itself, in Chinese, the office's own language: the chain fixes a reason once
# written, so a page in another language translates these as it shows them (i18n.reason_words).
IMPORT_REASON = "批量导入"  # followed by the file's name
DEMO_REASON = "演示数据"
_HEAD = "audit_chain_head"  # session.info key: the hash the transaction's next event links to


def _canonical_time(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def event_hash(event: AuditEvent) -> str:
    """The SHA-256 over the event's content and its predecessor's hash."""
    body = {
        "at": _canonical_time(event.at),
        "actor_id": event.actor_id,
        "actor": event.actor,
        "action": event.action,
        "entity_type": event.entity_type,
        "entity_id": event.entity_id,
        "reason": event.reason,
        "before": event.before,
        "after": event.after,
        "prev_hash": event.prev_hash,
    }
    encoded = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def record(
    *,
    session: Session,
    actor: User | None,
    action: str,
    entity_type: str,
    entity_id,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEvent:
    """Append an event to the chain inside the caller's transaction."""
    event = AuditEvent(
        at=utcnow(),
        actor_id=actor.id if actor else None,
        actor=actor.email if actor else "system",
        action=action,
        entity_type=entity_type,
        entity_id=str(entity_id),
        reason=reason,
        before=_jsonable(before),
        after=_jsonable(after),
        prev_hash=_chain_head(session),
        hash="",
    )
    event.hash = event_hash(event)
    session.add(event)
    session.info[_HEAD] = event.hash
    return event


def _chain_head(session: Session) -> str:
    """The hash the next event links to: read once per transaction, then carried forward in memory,
    so a transaction that appends thousands of events (a bulk import) does not query for each."""
    head = session.info.get(_HEAD)
    if head is None:
        if session.get_bind().dialect.name == "postgresql":
            # Serialise appends so two transactions never read the same chain head.
            session.exec(text("SELECT pg_advisory_xact_lock(471100)"))
        head = session.exec(select(AuditEvent.hash).order_by(col(AuditEvent.id).desc()).limit(1)).first() or GENESIS
    return head


@sa_event.listens_for(OrmSession, "after_transaction_end")
def _forget_head(session: OrmSession, transaction) -> None:
    # A commit publishes the head, a rollback (of a savepoint too) may discard it: read it afresh next time.
    session.info.pop(_HEAD, None)


def _jsonable(values: dict | None) -> dict | None:
    if values is None:
        return None
    return json.loads(json.dumps(values, default=str))


@dataclass(frozen=True)
class ChainProblem:
    event_id: int
    message: str  # in English with %(name)s placeholders, marked for the audit page to translate
    params: dict = field(default_factory=dict)

    @property
    def problem(self) -> str:
        return self.message % self.params


@dataclass(frozen=True)
class Head:
    """The newest event: write it down outside the database to find a cut-off end later."""

    event_id: int
    hash: str

    def __str__(self) -> str:
        return f"{self.event_id}:{self.hash}"

    @classmethod
    def parse(cls, text: str) -> "Head":
        event_id, _colon, digest = text.strip().lower().partition(":")
        if not (ascii_digits(event_id) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise ValueError("a head is written <event id>:<64 hex digits>, as audit-verify prints it")
        return cls(int(event_id), digest)


def actors(*, session: Session, events: list[AuditEvent]) -> dict[int, User]:
    """The accounts that made these events, by id."""
    ids = {event.actor_id for event in events if event.actor_id is not None}
    return {user.id: user for user in session.exec(select(User).where(col(User.id).in_(ids)))} if ids else {}


def changes(event: AuditEvent) -> list[tuple[str, object, object]]:
    """(field, before, after) for each field the event changed or set, in field order; what a reviewer reads."""
    before, after = event.before or {}, event.after or {}
    names = list(dict.fromkeys([*before, *after]))
    return [(name, before.get(name), after.get(name)) for name in names if before.get(name) != after.get(name)]


def verify_chain(*, session: Session, known_head: Head | None = None) -> list[ChainProblem]:
    """Walk the chain and name every event whose content or link does not add up.

    A chain proves its own middle; its end it cannot, as deleting the newest events breaks no link.
    `known_head`, a head written down earlier, must still be in the chain with the same hash."""
    problems = []
    expected_prev, previous_id, seen_head = GENESIS, 0, None
    # Read in slices (a server-side cursor on PostgreSQL): a registry's log runs to millions of events.
    for event in session.exec(select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=1000)):
        if event.prev_hash != expected_prev:
            problems.append(_broken_link(previous_id, event.id))
        if event_hash(event) != event.hash:
            problems.append(ChainProblem(event.id, N_("content edited: hash does not match")))
        if known_head is not None and event.id == known_head.event_id:
            seen_head = event.hash
        expected_prev, previous_id = event.hash, event.id
    if known_head is not None and seen_head != known_head.hash:
        if seen_head is None:
            problem = N_("the head written down earlier is deleted: the log was cut off")
        else:
            problem = N_("the head written down earlier is changed")
        problems.append(ChainProblem(known_head.event_id, problem))
    return problems


def _broken_link(previous_id: int, event_id: int) -> ChainProblem:
    if event_id - previous_id > 1:
        missing = f"{previous_id + 1}" if event_id - previous_id == 2 else f"{previous_id + 1}–{event_id - 1}"
        # A gap alone is no proof (a PostgreSQL transaction rolled back burns an id); with a broken link it is.
        message = N_("link broken: event %(missing)s before it is missing (deleted), or an earlier hash was edited")
        return ChainProblem(event_id, message, {"missing": missing})
    message = N_("link broken: event %(previous)s before it, or this link, was edited")
    return ChainProblem(event_id, message, {"previous": previous_id})


def chain_head(*, session: Session) -> Head | None:
    newest = session.exec(select(AuditEvent).order_by(col(AuditEvent.id).desc()).limit(1)).first()
    return Head(newest.id, newest.hash) if newest else None


def about(*, session: Session, subjects: list[tuple[str, object]], since: datetime) -> list[AuditEvent]:
    """The events on any of these (kind, id) objects since a moment, oldest first."""
    on_any = or_(*(and_(AuditEvent.entity_type == kind, AuditEvent.entity_id == str(key)) for kind, key in subjects))
    return list(session.exec(select(AuditEvent).where(on_any, AuditEvent.at >= since).order_by(AuditEvent.id)))


def history(*, session: Session, entity_type: str, entity_id) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.id)
    )
    return list(session.exec(query))


def last_event(*, session: Session, entity_type: str, entity_id, action: str) -> AuditEvent | None:
    """The newest event of one action on one object."""
    query = (
        select(AuditEvent)
        .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == str(entity_id))
        .where(AuditEvent.action == action)
        .order_by(col(AuditEvent.id).desc())
        .limit(1)
    )
    return session.exec(query).first()


def search(
    *,
    session: Session,
    entity_type: str = "",
    entity_id: str = "",
    action: str = "",
    actor: str = "",
    since: datetime | None = None,
    before: datetime | None = None,
    page: int,
    per_page: int,
):
    """(events on this page, newest first, total)."""
    query = select(AuditEvent)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if entity_id:  # one record's events, by the number the log names it with
        query = query.where(AuditEvent.entity_id == entity_id)
    if action:
        query = query.where(col(AuditEvent.action).startswith(action))
    if actor:
        query = query.where(col(AuditEvent.actor).icontains(actor, autoescape=True))
    if since:
        query = query.where(AuditEvent.at >= since)
    if before:
        query = query.where(AuditEvent.at < before)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(col(AuditEvent.id).desc()).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total

"""Verification: one pure judgement of (code, state, scan history), and the scan record around it."""

import hashlib
import hmac
import math
import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from sqlalchemy import bindparam, or_, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from ..models import Area, Batch, Licence, Licensee, Product, Scan, ScanTally, User, utcnow
from . import N_, Conflict, DomainError, audit, registry
from .batches import label_quota
from .codes import CodeKeys, ParsedCode, parse_code
from .locks import hold_rows

GENUINE, WARNING, REVOKED, INVALID = "genuine", "warning", "revoked", "invalid"
_RANK = {GENUINE: 0, WARNING: 1, REVOKED: 2, INVALID: 3}


@dataclass(frozen=True)
class CopyRules:
    """When a genuine code starts to look copied (settings GI_COPY_*; README explains them)."""

    max_serial_scans: int = 20  # a unit label scanned more often than this looks copied
    far_km: float = 100.0  # two shared places further apart than this …
    far_hours: float = 6.0  # … within this many hours cannot be one package
    batch_scans_per_label: float = 2.0  # a batch code: scans beyond this × the batch's label quota


@dataclass(frozen=True)
class Place:
    at: datetime
    latitude: float
    longitude: float
    client: str = ""  # the scanning client's address hash, where known


@dataclass(frozen=True)
class History:
    """The code's scans before this one."""

    count: int = 0
    first_at: datetime | None = None
    recent_places: tuple[Place, ...] = ()
    far_apart_at: datetime | None = None  # the code was seen in places too far apart before
    cleared_count: int = 0  # scans a regulator's lifting of the warning took out of the evidence
    cleared_at: datetime | None = None


@dataclass(frozen=True)
class CodeState:
    """What the register says about the batch a code points to; None where there is no such batch."""

    batch: Batch | None = None
    product: Product | None = None
    licence: Licence | None = None
    licensee: Licensee | None = None
    origin: Area | None = None


@dataclass(frozen=True)
class Verdict:
    verdict: str
    reasons: tuple[str, ...] = field(default_factory=tuple)


def judge(
    *,
    parsed: ParsedCode | None,
    state: CodeState,
    history: History,
    here: Place | None,
    rules: CopyRules,
    today: date,
    refusal: str = "not_issued_by_registry",
) -> Verdict:
    """The verdict on one scan; a pure function, so every rule is tested without a database.

    `refusal` is the reason a code that is not the registry's is given (a GS1 link without its signature)."""
    if parsed is None:
        return Verdict(INVALID, (refusal,))
    batch, product, licence = state.batch, state.product, state.licence
    if batch is None or product is None or licence is None:
        return Verdict(INVALID, ("unknown_batch",))
    if parsed.serial > batch.labels_issued:
        return Verdict(INVALID, ("serial_not_issued",))
    findings = []
    if batch.status == "recalled":
        findings.append((REVOKED, "batch_recalled"))
    status = registry.licence_status(licence, today=today)
    if status == "revoked":
        findings.append((REVOKED, "licence_revoked"))
    elif status in ("suspended", "expired"):
        findings.append((WARNING, f"licence_{status}"))
    if product.status == "withdrawn":  # its protection ended; goods made before may still be on shelves
        findings.append((WARNING, "product_withdrawn"))
    if product.shelf_life_days and today > batch.harvested_on + timedelta(days=product.shelf_life_days):
        findings.append((WARNING, "past_shelf_life"))
    findings += [(WARNING, reason) for reason in _copy_signs(parsed, batch, product, history, here, rules)]
    if not findings:
        return Verdict(GENUINE)
    worst = max((verdict for verdict, _ in findings), key=_RANK.__getitem__)
    return Verdict(worst, tuple(reason for _, reason in findings))


def _copy_signs(parsed, batch, product, history, here, rules) -> list[str]:
    scans = history.count + 1 - history.cleared_count  # this scan included; none a regulator cleared
    signs = []
    if parsed.serial == 0:
        if scans > rules.batch_scans_per_label * max(label_quota(batch=batch, product=product), 1):
            signs.append("batch_code_overscanned")
        return signs
    if scans > rules.max_serial_scans:
        signs.append("scanned_often")
    if history.far_apart_at is not None or (
        here and any(_far_apart(here, seen, rules) for seen in history.recent_places)
    ):
        signs.append("seen_far_apart")
    return signs


def _far_apart(here: Place, seen: Place, rules: CopyRules) -> bool:
    """Two packages with one code. Not two places sent from one client: one phone is not in two cities
    hours apart, so such a pair is someone typing coordinates to brand a genuine label as copied."""
    if here.client and here.client == seen.client:
        return False
    close_in_time = abs((here.at - seen.at).total_seconds()) <= rules.far_hours * 3600
    return close_in_time and distance_km(here, seen) > rules.far_km


def distance_km(a: Place, b: Place) -> float:
    """Great-circle distance (haversine)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(h, 1.0)))


# ---- the scan around the judgement -------------------------------------------------------


def coarse_place(latitude, longitude, *, at: datetime, client: str = "") -> Place | None:
    """A place the consumer chose to share, rounded to 0.01° (about a kilometre); None if not a place (0, 0 neither).
    Numbers, or their text as a form sends them; never true or false, which float() reads as 1 and 0."""
    if isinstance(latitude, bool) or isinstance(longitude, bool):
        return None
    try:
        lat, lon = float(latitude), float(longitude)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer too long for a float
        return None
    if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    lat, lon = round(lat, 2), round(lon, 2)
    if lat == 0 and lon == 0:  # an app's "no fix yet" (the Gulf of Guinea), which would mark any label copied
        return None
    return Place(at=at, latitude=lat, longitude=lon, client=client)


def ip_digest(ip: str, *, salt: str) -> str:
    """A keyed hash of the address: enough to tell repeat scans apart, never the address itself."""
    return hmac.new(salt.encode(), (ip or "").encode(), hashlib.sha256).hexdigest()[:32]


# Crawlers and the link previews chat apps fetch when a scan page's address is shared: known names, the
# words crawlers use, and their "+http://…" info link. Not any "bot": it ends phone models (CUBOT P50).
# WhatsApp has no browser of its own (links open in the phone's): an agent that starts with its name is
# its preview.
_CRAWLER = re.compile(
    r"\b(?:googlebot|bingbot|yandexbot|applebot|duckduckbot|twitterbot|telegrambot|slackbot|discordbot"
    r"|linkedinbot|petalbot|semrushbot|ahrefsbot|mj12bot|dotbot|sogou|slurp|facebookexternalhit|embedly"
    r"|feedfetcher|iframely)|^whatsapp/|spider|crawler|preview|linkexpanding|compatible;\s*\w*bot|\+https?://",
    re.IGNORECASE,
)


def is_crawler(user_agent: str) -> bool:
    return bool(user_agent) and _CRAWLER.search(user_agent) is not None


def ua_family(user_agent: str) -> str:
    agent = (user_agent or "").lower()
    for needle, family in (
        ("micromessenger", "wechat"),
        ("alipay", "alipay"),
        ("dingtalk", "dingtalk"),
        ("headlesschrome", "headless"),
        ("edg/", "edge"),
        ("chrome", "chrome"),
        ("firefox", "firefox"),
        ("safari", "safari"),
        ("python", "script"),
        ("curl", "script"),
    ):
        if needle in agent:
            return family
    return "other"


@dataclass(frozen=True)
class Result:
    """Everything a page or the API shows about one scan."""

    code: str
    verdict: str
    reasons: tuple[str, ...]
    scan_id: int | None
    count: int
    first_at: datetime | None
    serial: int | None = None
    batch: Batch | None = None
    product: Product | None = None
    licensee: Licensee | None = None
    origin: Area | None = None
    licence: Licence | None = None


# Built once: constructing a statement costs more than running it on the scan page's hot path.
_STATE = (
    select(Batch, Product, Licence, Licensee, Area)
    .join(Product, Product.id == Batch.product_id)
    .join(Licence, Licence.id == Batch.licence_id)
    .join(Licensee, Licensee.id == Batch.licensee_id)
    .join(Area, Area.code == Batch.origin_code)
    .where(Batch.id == bindparam("batch_id"))
)
_PLACES = (
    select(Scan.at, Scan.latitude, Scan.longitude, Scan.ip_hash)
    .where(Scan.batch_id == bindparam("batch_id"), Scan.serial == bindparam("serial"), Scan.at >= bindparam("since"))
    .where(col(Scan.latitude).is_not(None))
    .order_by(col(Scan.id).desc())
    .limit(200)
)


# The tally and the scan log are written as Core statements on the session's connection: the ORM's
# unit of work (flush, identity map, bulk persistence) cost more than the statements themselves.
def _tally_statement(insert):
    return (
        insert(ScanTally)
        .values(batch_id=bindparam("batch_id"), serial=bindparam("serial"), count=1, first_at=bindparam("now"))
        .on_conflict_do_update(index_elements=["batch_id", "serial"], set_={"count": ScanTally.count + 1})
        .returning(
            ScanTally.count, ScanTally.first_at, ScanTally.far_apart_at, ScanTally.cleared_count, ScanTally.cleared_at
        )
    )


_TALLY = {"sqlite": _tally_statement(sqlite_insert), "postgresql": _tally_statement(postgresql_insert)}
_SCAN_LOG = Scan.__table__.insert().returning(Scan.__table__.c.id)


def load_state(*, session: Session, batch_id: int) -> CodeState:
    """The batch a code points to with its product, licence, licensee and origin, in one query."""
    row = session.exec(_STATE, params={"batch_id": batch_id}).first()
    if row is None:
        return CodeState()
    batch, product, licence, licensee, origin = row
    licence = registry.governing_licence(session=session, licence=licence, today=registry.registry_today())
    return CodeState(batch=batch, product=product, licence=licence, licensee=licensee, origin=origin)


def bump_tally(*, session: Session, batch_id: int, serial: int, now: datetime) -> History:
    """Count this scan of the code and return what came before it; the row lock orders concurrent scans."""
    statement = _TALLY[session.get_bind().dialect.name]
    count, first_at, far_apart_at, cleared_count, cleared_at = (
        session.connection().execute(statement, {"batch_id": batch_id, "serial": serial, "now": now}).one()
    )
    return History(
        count=count - 1,
        first_at=first_at if count > 1 else None,
        far_apart_at=far_apart_at,
        cleared_count=cleared_count,
        cleared_at=cleared_at,
    )


def peek_tally(*, session: Session, batch_id: int, serial: int) -> History:
    """The code's count as it stands, for showing a scan again without counting it twice."""
    tally = session.get(ScanTally, (batch_id, serial))
    if tally is None:
        return History()
    return History(
        count=tally.count - 1,
        first_at=tally.first_at,
        far_apart_at=tally.far_apart_at,
        cleared_count=tally.cleared_count,
        cleared_at=tally.cleared_at,
    )


def recent_places(
    *, session: Session, batch_id: int, serial: int, now: datetime, rules: CopyRules, cleared_at: datetime | None
) -> tuple:
    """The code's shared places within the window before `now`, none from before its warning was lifted."""
    since = now - timedelta(hours=rules.far_hours)
    if cleared_at is not None:
        since = max(since, cleared_at)
    rows = session.exec(_PLACES, params={"batch_id": batch_id, "serial": serial, "since": since})
    return tuple(Place(at, latitude, longitude, client or "") for at, latitude, longitude, client in rows)


def verify(
    *,
    session: Session,
    code: str,
    keys: CodeKeys,
    rules: CopyRules,
    place=None,
    ip_hash: str = "",
    ua: str = "",
    channel: str = "page",
    now: datetime | None = None,
    record: bool = True,
    refusal: str = "not_issued_by_registry",
) -> Result:
    """Judge a scanned code and append the scan; the caller commits.

    With record=False the code is judged as it stands and nothing is written: the same consumer's
    page shown again (in another language, say) is not a second scan."""
    now = now or utcnow()
    parsed = parse_code(code, keys=keys)
    state = load_state(session=session, batch_id=parsed.batch_id) if parsed else CodeState()
    issued = state.batch is not None and parsed.serial <= state.batch.labels_issued
    here = coarse_place(*place, at=now, client=ip_hash) if place else None
    history = History()
    if issued:
        if record:
            history = bump_tally(session=session, batch_id=parsed.batch_id, serial=parsed.serial, now=now)
        else:
            history = peek_tally(session=session, batch_id=parsed.batch_id, serial=parsed.serial)
        if here is not None:  # distances only matter when this scan has a place to compare
            places = recent_places(
                session=session,
                batch_id=parsed.batch_id,
                serial=parsed.serial,
                now=now,
                rules=rules,
                cleared_at=history.cleared_at,
            )
            history = replace(history, recent_places=places)
    today = now.astimezone(registry.CHINA).date()
    verdict = judge(parsed=parsed, state=state, history=history, here=here, rules=rules, today=today, refusal=refusal)
    scan_id = None
    if record:
        scan_id = append_scan(
            session=session,
            batch_id=parsed.batch_id if issued else None,
            serial=parsed.serial if issued else None,
            at=now,
            verdict=verdict.verdict,
            reasons=list(verdict.reasons),
            channel=channel,
            ip_hash=ip_hash,
            ua_family=ua_family(ua),
            latitude=here.latitude if here else None,
            longitude=here.longitude if here else None,
        )
        if "seen_far_apart" in verdict.reasons and history.far_apart_at is None:
            mark_far_apart(session=session, batch_id=parsed.batch_id, serial=parsed.serial, at=now)
    if verdict.verdict == INVALID:
        return Result(code=code, verdict=INVALID, reasons=verdict.reasons, scan_id=scan_id, count=0, first_at=None)
    return Result(
        code=code,
        verdict=verdict.verdict,
        reasons=verdict.reasons,
        scan_id=scan_id,
        count=history.count + 1,
        first_at=history.first_at or now,
        serial=parsed.serial,
        batch=state.batch,
        product=state.product,
        licence=state.licence,
        licensee=state.licensee,
        origin=state.origin,
    )


def append_scan(*, session: Session, **row) -> int:
    """Append one row to the scan log (the columns of Scan) and return its id."""
    return session.connection().execute(_SCAN_LOG, row).scalar_one()


def mark_far_apart(*, session: Session, batch_id: int, serial: int, at: datetime) -> None:
    """Remember on the code's tally that it was seen too far apart; the first time is kept. Not for a scan
    from before its warning was lifted: a place shared while a regulator lifted it was judged against the
    places the lifting ruled out (the tally was read unlocked), and must not bring the warning back."""
    session.execute(
        update(ScanTally)
        .where(ScanTally.batch_id == batch_id, ScanTally.serial == serial, col(ScanTally.far_apart_at).is_(None))
        .where(or_(col(ScanTally.cleared_at).is_(None), col(ScanTally.cleared_at) <= at))
        .values(far_apart_at=at)
    )


@dataclass(frozen=True)
class Shared:
    stored: bool
    seen_far_apart: bool = False


def place_shareable(*, session: Session, scan_id: int | None) -> bool:
    """Whether a place may still be shared for this scan: it exists and has none yet."""
    scan = session.get(Scan, scan_id) if scan_id else None
    return scan is not None and scan.latitude is None


def share_place(*, session: Session, scan_id: int, latitude, longitude, rules: CopyRules) -> Shared:
    """Attach a place the consumer chose to share to their scan, coarsened, and judge it against the
    code's other recent places: the page could not, as the place comes after the scan."""
    scan = session.get(Scan, scan_id)
    place = coarse_place(latitude, longitude, at=utcnow())
    if scan is None or place is None or scan.latitude is not None:
        return Shared(stored=False)
    far = False
    tally = None
    if scan.batch_id is not None:
        # The code's tally row, held until commit, orders this with the code's scans and other shared places,
        # as bump_tally does: two places far apart shared at once would each miss the other, still uncommitted.
        hold_rows(session, ScanTally.count, ScanTally.batch_id == scan.batch_id, ScanTally.serial == scan.serial)
        tally = session.get(ScanTally, (scan.batch_id, scan.serial))
    scan.latitude, scan.longitude = place.latitude, place.longitude
    # A scan from before its warning was lifted is no new evidence, wherever it was made. Nor is a batch code's
    # place: it hangs on displays and cartons in many towns, and judge() never reads its places either.
    if scan.serial and tally is not None and (tally.cleared_at is None or scan.at >= tally.cleared_at):
        here = replace(place, at=scan.at, client=scan.ip_hash or "")
        seen = recent_places(
            session=session,
            batch_id=scan.batch_id,
            serial=scan.serial,
            now=scan.at,
            rules=rules,
            cleared_at=tally.cleared_at,
        )
        far = any(_far_apart(here, other, rules) for other in seen)
    if far and scan.verdict in (GENUINE, WARNING) and "seen_far_apart" not in (scan.reasons or []):
        scan.verdict, scan.reasons = WARNING, [*(scan.reasons or []), "seen_far_apart"]
    if far:
        mark_far_apart(session=session, batch_id=scan.batch_id, serial=scan.serial, at=scan.at)
    session.add(scan)
    return Shared(stored=True, seen_far_apart=far)


# ---- lifting a copy warning found unfounded ------------------------------------------------------


def standing_copy_signs(*, session: Session, batch: Batch, serial: int, rules: CopyRules) -> tuple[str, ...]:
    """The copy warnings the code's next scan would get from its tally alone (no place of its own)."""
    product = session.get(Product, batch.product_id)
    history = peek_tally(session=session, batch_id=batch.id, serial=serial)
    parsed = ParsedCode(key_id=0, batch_id=batch.id, serial=serial)
    return tuple(_copy_signs(parsed, batch, product, history, None, rules))


def clear_copy_signs(
    *, session: Session, batch: Batch, serial: int, reason: str, actor: User, rules: CopyRules, now=None
) -> ScanTally:
    """A regulator found a code's copy warning unfounded (a shop's display label scanned over and over,
    or scans made to brand a rival's genuine label as copied): the scans counted so far and the places
    shared so far stop counting as evidence. Later ones count again, so a label that is copied after all
    warns again; the count consumers read stays whole. The caller commits."""
    if not reason.strip():
        raise DomainError("reason_required", N_("a reason is required"), fields={"reason": N_("required")})
    tally = session.get(ScanTally, (batch.id, serial))
    # No tally, no scan to lift: a batch code under GI_COPY_BATCH_SCANS_PER_LABEL below 1 warns without one.
    if tally is None or not standing_copy_signs(session=session, batch=batch, serial=serial, rules=rules):
        raise Conflict("no_copy_warning", N_("the code carries no copy warning to lift"))
    before = {"cleared_count": tally.cleared_count, "far_apart_at": tally.far_apart_at}  # the serial: after
    now = now or utcnow()
    # The count as it stands when the row is written: a scan made meanwhile is cleared too, not lost.
    session.execute(
        update(ScanTally)
        .where(ScanTally.batch_id == batch.id, ScanTally.serial == serial)
        .values(cleared_count=ScanTally.count, cleared_at=now, far_apart_at=None)
    )
    session.refresh(tally)
    audit.record(
        session=session,
        actor=actor,
        action="batch.clear_copy_warning",
        entity_type="batch",
        entity_id=batch.id,
        before=before,
        after={"serial": serial, "cleared_count": tally.cleared_count, "far_apart_at": None},
        reason=reason.strip(),
    )
    return tally

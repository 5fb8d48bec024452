"""Accounts, password hashing and API tokens."""

import hashlib
import re
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete
from sqlmodel import Session, col, func, select
from zxcvbn import zxcvbn

from ..models import ROLES, ApiToken, Licensee, User, utcnow
from . import N_, Conflict, DomainError, audit
from .locks import hold_rows
from .uscc import normalise, uscc_problem

_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown e-mail as slow as one for a known e-mail.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 200  # the login form and POST /api/v1/tokens take no more: a longer one could never log in


# A name, one "@" and a domain of dotted parts, without spaces: the address is the account's login name and
# cannot be changed, so one cut short ("li.ming@") or mistyped ("li ming@x.cn") is refused, not made for good.
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")

# zxcvbn's scale of 0 to 4: 3 is "safely unguessable" against an online attack and a slow hash offline.
MIN_PASSWORD_SCORE = 3
# zxcvbn refuses longer input (its matching grows fast with length); the rest of a longer one only adds.
_JUDGED_LENGTH = 72


def password_problem(password: str, *, email: str = "") -> str | None:
    """Why a password is too weak, or None. The account's own e-mail inside it first, then length and a mix,
    then zxcvbn's estimate of the guesses it takes (common passwords, words, names, keyboard runs, dates,
    the e-mail and its parts)."""
    address = email.strip().lower()
    # The address is no secret (it is the login name and shows on every page): no length of it hides it.
    if address and address in password.lower():
        return N_("must not contain the account's e-mail address")
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("at least 10 characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        return N_("at most 200 characters")
    if password.isdigit() or password.isalpha():
        return N_("mix letters with digits or symbols")
    if len(set(password)) < 5:
        return N_("at least 5 different characters")
    if zxcvbn(password[:_JUDGED_LENGTH], user_inputs=_own_words(address))["score"] < MIN_PASSWORD_SCORE:
        return N_("too easy to guess: avoid common passwords, words, names, dates and keyboard runs")
    return None


def _own_words(address: str) -> list[str]:
    """What zxcvbn should count as known to an attacker: the whole address, its local part ("li.jianguo",
    which its pieces alone do not give away) and those pieces, and the registry's own names."""
    pieces = [part for part in re.split(r"[@.]", address) if part]
    whole = [address, address.partition("@")[0]] if address else []
    return whole + pieces + ["ziyang", "gi-registry"]


def create_user(
    *,
    session: Session,
    email: str,
    password: str,
    role: str,
    licensee_uscc: str | None = None,
    actor: User | None = None,
) -> User:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.fullmatch(email):
        raise DomainError(
            "invalid_email", N_("not an e-mail address"), fields={"email": N_("write an address like name@example.cn")}
        )
    if role not in ROLES:
        raise DomainError("invalid_role", f"role must be one of {', '.join(ROLES)}", fields={"role": N_("invalid")})
    problem = password_problem(password, email=email)
    if problem:
        raise DomainError("weak_password", N_("weak password"), fields={"password": problem})
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(
            "duplicate_email", N_("an account with this e-mail already exists"), fields={"email": N_("taken")}
        )
    licensee_id = None
    if role == "cooperative":
        uscc = normalise(licensee_uscc or "")
        licensee = session.exec(select(Licensee).where(Licensee.uscc == uscc)).first()
        if licensee is None:
            # A mistyped code is told as such, as the licensee form tells it; a valid one is unregistered.
            why = (uscc_problem(uscc) if uscc else N_("required")) or N_("unknown")
            raise DomainError(
                "unknown_licensee",
                N_("a cooperative account needs a registered licensee's USCC"),
                fields={"licensee": why},
            )
        licensee_id = licensee.id
    elif licensee_uscc:  # staff act for the registry, not for a licensee: said, not silently dropped
        raise DomainError(
            "licensee_not_for_role",
            N_("only a cooperative account belongs to a licensee"),
            fields={"licensee": N_("leave empty for this role")},
        )
    user = User(email=email, password_hash=_hasher.hash(password), role=role, licensee_id=licensee_id)
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.id,
        after={"email": email, "role": role, "licensee_id": licensee_id},
    )
    return user


def authenticate(*, session: Session, email: str, password: str) -> User | None:
    user = session.exec(select(User).where(User.email == email.strip().lower())).first()
    if user is None or not user.is_active:
        _verify(_DUMMY_HASH, password)
        return None
    if not _verify(user.password_hash, password):
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
        session.add(user)
    return user


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(*, session: Session, user: User, hours: int) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    expires_at = utcnow() + timedelta(hours=hours)
    session.add(ApiToken(token_hash=_token_digest(token), user_id=user.id, expires_at=expires_at))
    return token, expires_at


def user_for_token(*, session: Session, token: str) -> User | None:
    row = session.exec(select(ApiToken).where(ApiToken.token_hash == _token_digest(token))).first()
    if row is None:
        return None
    if row.expires_at < utcnow():
        return None
    user = session.get(User, row.user_id)
    return user if user and user.is_active else None


def revoke_token(*, session: Session, token: str) -> bool:
    """Forget one bearer token (the API's logout); whether it existed."""
    done = session.execute(delete(ApiToken).where(ApiToken.token_hash == _token_digest(token)))
    return bool(done.rowcount)


def end_sessions(*, session: Session, user: User, tokens: bool) -> None:
    """End every browser login of the account (their cookies carry the old epoch) and, with tokens,
    its API tokens too. A logout spares the tokens: scripts of the same account keep running."""
    user.session_epoch += 1
    session.add(user)
    if tokens:
        session.execute(delete(ApiToken).where(ApiToken.user_id == user.id))


def new_password() -> str:
    """A password to hand over once (a new account, a reset): letters and digits, about 96 bits."""
    return f"gi-{secrets.token_urlsafe(12)}-{secrets.randbelow(900) + 100}"


def set_password(*, session: Session, user: User, password: str, actor: User | None) -> None:
    """A new password (the user's own choice, or a reset by an admin); every earlier login ends."""
    problem = password_problem(password, email=user.email)
    if problem:
        raise DomainError("weak_password", N_("weak password"), fields={"password": problem})
    user.password_hash = _hasher.hash(password)
    end_sessions(session=session, user=user, tokens=True)
    # Who changed whose password and when; never the password or its hash.
    audit.record(session=session, actor=actor, action="user.password", entity_type="user", entity_id=user.id)


def change_own_password(*, session: Session, user: User, current: str, new: str) -> None:
    if not _verify(user.password_hash, current):
        raise DomainError(
            "wrong_password", N_("the current password is wrong"), status=403, fields={"current": N_("wrong")}
        )
    set_password(session=session, user=user, password=new, actor=user)


def set_active(*, session: Session, user: User, active: bool, reason: str, actor: User) -> None:
    """Deactivate an account (it can no longer log in, and every login ends) or activate it again."""
    if user.id == actor.id and not active:
        raise Conflict("own_account", N_("you cannot deactivate your own account"))
    if user.is_active == active:
        raise Conflict("unchanged", N_("the account already is in that state"))
    if not active and user.role == "admin":
        # Held, so two admins deactivating each other at once cannot leave the registry without one.
        active_admins = (User.role == "admin", User.is_active)
        hold_rows(session, User.role, *active_admins)
        admins = session.exec(select(User.id).where(*active_admins)).all()
        if actor.id not in admins or not set(admins) - {user.id}:
            raise Conflict("last_admin", N_("the registry must keep at least one other active admin"))
    user.is_active = active
    if not active:
        end_sessions(session=session, user=user, tokens=True)
    session.add(user)
    audit.record(
        session=session,
        actor=actor,
        action="user.activate" if active else "user.deactivate",
        entity_type="user",
        entity_id=user.id,
        reason=reason,
        before={"is_active": not active},
        after={"is_active": active},
    )


def search_users(*, session: Session, q: str = "", role: str = "", page: int = 1, per_page: int = 20):
    """(accounts on this page, by e-mail, total)."""
    query = select(User)
    if q.strip():
        # autoescape, as the licensee directory's: "_" is common in e-mail names, and "%" no wildcard to type.
        query = query.where(col(User.email).icontains(q.strip().lower(), autoescape=True))
    if role in ROLES:
        query = query.where(User.role == role)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(User.email).offset((page - 1) * per_page).limit(per_page))
    return list(rows), total

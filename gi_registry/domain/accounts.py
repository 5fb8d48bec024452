"""Accounts, password hashing and API tokens."""

import hashlib
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlmodel import Session, select

from ..models import ROLES, ApiToken, Licensee, User, utcnow
from . import N_, Conflict, DomainError, audit
from .uscc import normalise

_hasher = PasswordHasher()
# Verifying against this keeps a login for an unknown e-mail as slow as one for a known e-mail.
_DUMMY_HASH = _hasher.hash("not-a-real-password")
MIN_PASSWORD_LENGTH = 10


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return N_("at least 10 characters")
    if password.isdigit() or password.isalpha() or len(set(password)) < 5:
        return "mix letters with digits or symbols"
    return None


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
    if "@" not in email or len(email) > 254:
        raise DomainError("invalid_email", N_("not an e-mail address"), fields={"email": N_("invalid")})
    if role not in ROLES:
        raise DomainError("invalid_role", f"role must be one of {', '.join(ROLES)}", fields={"role": N_("invalid")})
    problem = password_problem(password)
    if problem:
        raise DomainError("weak_password", f"weak password: {problem}", fields={"password": problem})
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict("duplicate_email", f"an account for {email} already exists", fields={"email": N_("taken")})
    licensee_id = None
    if role == "cooperative":
        licensee = session.exec(select(Licensee).where(Licensee.uscc == normalise(licensee_uscc or ""))).first()
        if licensee is None:
            raise DomainError(
                "unknown_licensee",
                N_("a cooperative account needs a registered licensee's USCC"),
                fields={"licensee": N_("unknown")},
            )
        licensee_id = licensee.id
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

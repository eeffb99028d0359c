"""Organisations, users, passwords, API tokens, sessions and login lock-out.

Secrets are never stored: passwords as argon2id hashes, API tokens and session cookies as SHA-256 digests
(they are long random values, so a fast hash is enough and lets us look them up).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.store.prepared import fetch
from corridor.store.tables import ApiToken, Organisation, User, WebSession
from corridor.store.visibility import ROLES, Viewer

_hasher = PasswordHasher()
TOKEN_PREFIX = "cor_"
SCOPES = ("read", "write", "admin")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_TTL = timedelta(hours=12)


class IdentityError(ValueError):
    """A request the identity service refuses, with a reason fit to show."""


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def add_org(session: Session, name: str, kind: str = "company") -> Organisation:
    if session.scalar(sa.select(Organisation).where(Organisation.name == name)):
        raise IdentityError(f"organisation {name!r} exists already")
    org = Organisation(name=name, kind=kind, created_at=now())
    session.add(org)
    session.flush()
    return org


def find_org(session: Session, name_or_id: str) -> Organisation:
    org = session.scalar(
        sa.select(Organisation).where(sa.or_(Organisation.name == name_or_id, Organisation.id == name_or_id))
    )
    if org is None:
        raise IdentityError(f"no organisation {name_or_id!r}")
    return org


def add_user(
    session: Session, org: Organisation, username: str, role: str, password: str | None, display_name: str | None = None
) -> User:
    if role not in ROLES:
        raise IdentityError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    if session.scalar(sa.select(User).where(User.username == username)):
        raise IdentityError(f"user {username!r} exists already")
    if password is not None and len(password) < 10:
        raise IdentityError("password must have at least 10 characters")
    user = User(
        org_id=org.id,
        username=username,
        role=role,
        display_name=display_name,
        password_hash=_hasher.hash(password) if password else None,
        active=True,
        failed_logins=0,
        created_at=now(),
    )
    session.add(user)
    session.flush()
    return user


def viewer_of(user: User, scopes: frozenset[str] = frozenset()) -> Viewer:
    return Viewer(user_id=user.id, org_id=user.org_id, role=user.role, scopes=scopes)


def authenticate(session: Session, username: str, password: str) -> User:
    """Check a password; five failures lock the account for 15 minutes (the reply does not say which).

    The user's row stays locked until the caller's transaction ends (PostgreSQL; SQLite's write transactions
    run one at a time anyway): concurrent guesses at one account are counted one after another, none lost."""
    user = session.scalar(sa.select(User).where(User.username == username).with_for_update())
    stamp = now()
    if user is None or not user.active or user.password_hash is None:
        _hasher.hash(password)  # same work whether or not the user exists
        raise IdentityError("invalid username or password")
    if user.locked_until and user.locked_until > stamp:
        raise IdentityError("account locked after repeated failures; try again later")
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = stamp + LOCKOUT
            user.failed_logins = 0
        raise IdentityError("invalid username or password") from None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


@dataclass
class IssuedToken:
    token: str  # shown once
    record: ApiToken


def create_token(
    session: Session, user: User, name: str, scopes: list[str], expires_in: timedelta | None
) -> IssuedToken:
    bad = [s for s in scopes if s not in SCOPES]
    if bad or not scopes:
        raise IdentityError(f"scopes must be some of {', '.join(SCOPES)}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    rec = ApiToken(
        user_id=user.id,
        name=name,
        token_hash=digest(secret),
        prefix=secret[:12],
        scopes=sorted(scopes),
        created_at=now(),
        expires_at=now() + expires_in if expires_in else None,
    )
    session.add(rec)
    session.flush()
    return IssuedToken(secret, rec)


@dataclass(frozen=True)
class Grant:
    """What a valid bearer token grants: who it speaks for, and the token's own id and last use."""

    viewer: Viewer
    token_id: str
    last_used_at: datetime | None


# built once: SQLAlchemy keys a statement for its compiled cache once per object, not once per request. Plain
# columns, not ORM objects: this runs on every API request and needs nothing an ApiToken or a User object adds.
_GRANT = (
    sa.select(
        ApiToken.id,
        ApiToken.scopes,
        ApiToken.expires_at,
        ApiToken.revoked_at,
        ApiToken.last_used_at,
        User.id.label("user_id"),
        User.org_id,
        User.role,
        User.active,
    )
    .join(User, User.id == ApiToken.user_id)
    .where(ApiToken.token_hash == sa.bindparam("token_hash"))
)


def token_grant(conn: sa.Connection, token: str) -> Grant | None:
    """Who a bearer token speaks for (one statement; it runs on every API request), or None for an unknown,
    expired or revoked token or a deactivated user. Nothing is changed here: the caller records the token's last
    use, at most once a minute."""
    rows = fetch(conn, _GRANT, {"token_hash": digest(token)})
    rec = rows[0] if rows else None
    if rec is None or rec.revoked_at is not None or (rec.expires_at and rec.expires_at <= now()) or not rec.active:
        return None
    viewer = Viewer(user_id=rec.user_id, org_id=rec.org_id, role=rec.role, scopes=frozenset(rec.scopes))
    return Grant(viewer, rec.id, rec.last_used_at)


def revoke_token(session: Session, token_id: str, by: User | None = None) -> ApiToken:
    rec = session.get(ApiToken, token_id)
    if rec is None or (by is not None and rec.user.org_id != by.org_id):
        raise IdentityError(f"no token {token_id!r}")
    rec.revoked_at = rec.revoked_at or now()
    return rec


def start_session(session: Session, user: User) -> tuple[str, str]:
    """A new browser session: returns (cookie value, CSRF token)."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    session.add(
        WebSession(
            id=digest(cookie), user_id=user.id, csrf_token=csrf, created_at=now(), expires_at=now() + SESSION_TTL
        )
    )
    session.flush()
    return cookie, csrf


def session_user(session: Session, cookie: str) -> tuple[WebSession, User] | None:
    ws = session.get(WebSession, digest(cookie))
    if ws is None or ws.expires_at <= now() or not ws.user.active:
        return None
    return ws, ws.user


def end_session(session: Session, cookie: str) -> None:
    ws = session.get(WebSession, digest(cookie))
    if ws is not None:
        session.delete(ws)


def expires(ts: datetime | None) -> str:
    return ts.isoformat() if ts else "never"

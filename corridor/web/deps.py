"""Request dependencies: the store session, who is calling (API token or browser session + CSRF), and the
access rule of the route."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.identity.service import session_user, token_grant, viewer_of
from corridor.store.db import Store
from corridor.store.tables import ApiToken, User
from corridor.store.visibility import Viewer
from corridor.web.access import Access
from corridor.web.problems import Problem

SESSION_COOKIE = "corridor_session"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def db(request: Request) -> AsyncIterator[Session]:
    """A read session (SQLite: readers never wait for writers).

    Made and closed in the event loop: a session opens no connection until its first statement, and closing
    one that holds none does no I/O; one that still holds a connection is closed in the thread pool (the routes
    on the hot path, show and list, hand theirs back themselves). Two thread-pool round trips fewer a request."""
    session = get_store(request).sessions()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


def db_write(store: Store = Depends(get_store)) -> Iterator[Session]:
    """A write session: the route commits; on SQLite it holds the write lock from its first statement."""
    with store.write_sessions() as session:
        yield session


@dataclass
class Principal:
    viewer: Viewer
    via: str  # token | session
    session: Session  # the request's session, to load the user when a route needs the whole record
    _user: User | None = None

    @property
    def user(self) -> User:
        """The caller's user record (loaded on first use: most routes need only the viewer)."""
        if self._user is None:
            found = self.session.get(User, self.viewer.user_id)
            if found is None:  # deleted since the token was checked
                raise Problem(401, "Unauthorized", "the user of this token no longer exists")
            self._user = found
        return self._user


def principal(request: Request, session: Session = Depends(db)) -> Principal:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        store = get_store(request)
        with store.read_engine.connect() as conn:  # its own short read: the route's session stays untouched
            grant = token_grant(conn, auth[7:].strip())
        if grant is None:
            raise Problem(
                401,
                "Unauthorized",
                "invalid, expired or revoked token",
                headers={"WWW-Authenticate": 'Bearer realm="corridor"'},
            )
        _touch_token(store, grant.token_id, grant.last_used_at)
        return Principal(grant.viewer, "token", session)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        got = session_user(session, cookie)
        if got is None:
            raise Problem(401, "Unauthorized", "session expired; log in again")
        ws, user = got
        if request.method in UNSAFE and not hmac.compare_digest(request.headers.get(CSRF_HEADER, ""), ws.csrf_token):
            raise Problem(403, "Forbidden", f"missing or wrong {CSRF_HEADER} header", kind="csrf")
        return Principal(viewer_of(user), "session", session, user)
    raise Problem(
        401, "Unauthorized", "log in or send an API token", headers={"WWW-Authenticate": 'Bearer realm="corridor"'}
    )


def _touch_token(store: Store, token_id: str, last: datetime | None) -> None:
    """Record a token's last use without turning every read into a write (at most once a minute)."""
    stamp = now()
    if last is not None and stamp - last < timedelta(minutes=1):
        return
    with store.transaction() as s:
        s.execute(sa.update(ApiToken).where(ApiToken.id == token_id).values(last_used_at=stamp))


def authorizer(rule: Access) -> Callable[..., Awaitable[Principal]]:
    async def check(request: Request, who: Principal = Depends(principal)) -> Principal:
        if who.viewer.role not in rule.roles:
            raise Problem(403, "Forbidden", f"role {who.viewer.role!r} may not do this", kind="role")
        if not who.viewer.can(rule.scope):
            raise Problem(403, "Forbidden", f"token lacks scope {rule.scope!r}", kind="scope")
        request.state.viewer = who.viewer
        return who

    return check


async def viewer(who: Principal = Depends(principal)) -> Viewer:
    return who.viewer


async def current_user(who: Principal = Depends(principal)) -> User:
    return who.user

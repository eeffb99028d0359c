"""Login (browser session + CSRF token), logout, who am I; API tokens."""

from __future__ import annotations

import time
from collections import defaultdict, deque
from datetime import timedelta

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from corridor.identity.service import (
    IdentityError,
    authenticate,
    create_token,
    end_session,
    revoke_token,
    start_session,
)
from corridor.store import audit
from corridor.store.tables import ApiToken, User, WebSession
from corridor.web.access import ADMINS, ALL, access
from corridor.web.deps import SESSION_COOKIE, Principal, db, db_write, principal
from corridor.web.problems import Problem
from corridor.web.schemas import Login, Me, TokenCreate, TokenOut

router = APIRouter(prefix="/api/v1", tags=["auth"])

# Failed logins per client address and per username in a sliding window, kept per app (in-process; the
# account lock-out in the store holds across processes).
WINDOW_S = 60.0
MAX_FAILURES = 10


class LoginLimiter:
    def __init__(self) -> None:
        self.failures: dict[str, deque[float]] = defaultdict(deque)

    def _recent(self, key: str) -> deque[float]:
        q = self.failures[key]
        t = time.monotonic()
        while q and t - q[0] > WINDOW_S:
            q.popleft()
        return q

    def check(self, *keys: str) -> None:
        if any(len(self._recent(k)) >= MAX_FAILURES for k in keys):
            raise Problem(
                429,
                "Too many requests",
                "too many failed logins; wait a minute",
                headers={"Retry-After": str(int(WINDOW_S))},
            )

    def failed(self, *keys: str) -> None:
        for k in keys:
            self._recent(k).append(time.monotonic())


def _limiter(request: Request) -> LoginLimiter:
    if not hasattr(request.app.state, "login_limiter"):
        request.app.state.login_limiter = LoginLimiter()
    limiter: LoginLimiter = request.app.state.login_limiter
    return limiter


def _me(user: User, csrf: str | None) -> Me:
    return Me(
        user_id=user.id,
        username=user.username,
        org_id=user.org_id,
        organisation=user.org.name,
        role=user.role,
        csrf_token=csrf,
    )


@router.post("/auth/login", response_model=Me, **access(public=True))
def login(body: Login, request: Request, response: Response, session: Session = Depends(db_write)) -> Me:
    """Log in with username and password: sets an HttpOnly session cookie and returns the CSRF token to send
    in X-CSRF-Token with every state-changing request."""
    client = request.client.host if request.client else "?"
    keys = (f"ip:{client}", f"user:{body.username}")
    limiter = _limiter(request)
    limiter.check(*keys)
    try:
        user = authenticate(session, body.username, body.password)
    except IdentityError as exc:
        session.commit()  # failed-login counter and lock-out
        limiter.failed(*keys)
        raise Problem(401, "Unauthorized", str(exc)) from None
    cookie, csrf = start_session(session, user)
    audit.record(session, None, "auth.login", "user", user.id, request.state.request_id, {"username": user.username})
    session.commit()
    response.set_cookie(
        SESSION_COOKIE,
        cookie,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        max_age=12 * 3600,
        path="/",
    )
    return _me(user, csrf)


@router.post("/auth/logout", status_code=204, **access(ALL, "read"))
def logout(request: Request, session: Session = Depends(db_write)) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        end_session(session, cookie)
        session.commit()
    resp = Response(status_code=204)
    resp.delete_cookie(SESSION_COOKIE, path="/")
    return resp


@router.get("/auth/me", response_model=Me, **access(ALL, "read"))
def me(request: Request, who: Principal = Depends(principal), session: Session = Depends(db)) -> Me:
    csrf = None
    cookie = request.cookies.get(SESSION_COOKIE)
    if who.via == "session" and cookie:
        from corridor.identity.service import digest

        ws = session.get(WebSession, digest(cookie))
        csrf = ws.csrf_token if ws else None
    return _me(who.user, csrf)


def _token_out(t: ApiToken, secret: str | None = None) -> TokenOut:
    return TokenOut(
        id=t.id,
        name=t.name,
        prefix=t.prefix,
        scopes=t.scopes,
        created_at=t.created_at.isoformat(),
        expires_at=t.expires_at.isoformat() if t.expires_at else None,
        revoked_at=t.revoked_at.isoformat() if t.revoked_at else None,
        token=secret,
    )


@router.post("/tokens", response_model=TokenOut, status_code=201, **access(ALL, "admin"))
def create_api_token(
    body: TokenCreate, request: Request, who: Principal = Depends(principal), session: Session = Depends(db_write)
) -> TokenOut:
    """A token for a program, for yourself; it is shown once. Only admins may grant the admin scope."""
    if "admin" in body.scopes and who.user.role != "admin":
        raise Problem(403, "Forbidden", "only admins may create admin-scoped tokens")
    if "write" in body.scopes and who.user.role == "partner-readonly":
        raise Problem(403, "Forbidden", f"role {who.user.role!r} cannot hold write tokens")
    user = session.get(User, who.user.id)
    assert user is not None
    issued = create_token(
        session,
        user,
        body.name,
        list(body.scopes),
        timedelta(days=body.expires_in_days) if body.expires_in_days else None,
    )
    audit.record(
        session,
        who.viewer,
        "token.create",
        "token",
        issued.record.id,
        request.state.request_id,
        {"scopes": issued.record.scopes},
    )
    session.commit()
    return _token_out(issued.record, issued.token)


@router.get("/tokens", response_model=list[TokenOut], **access(ALL, "admin"))
def list_tokens(who: Principal = Depends(principal), session: Session = Depends(db)) -> list[TokenOut]:
    """Your tokens; admins see every token of their organisation."""
    q = sa.select(ApiToken).join(User, ApiToken.user_id == User.id)
    q = q.where(User.org_id == who.user.org_id) if who.user.role == "admin" else q.where(User.id == who.user.id)
    return [_token_out(t) for t in session.scalars(q.order_by(ApiToken.created_at)).all()]


@router.delete("/tokens/{token_id}", status_code=204, **access(ALL, "admin"))
def delete_token(
    token_id: str, request: Request, who: Principal = Depends(principal), session: Session = Depends(db_write)
) -> Response:
    rec = session.get(ApiToken, token_id)
    if rec is None or rec.user.org_id != who.user.org_id or (who.user.role != "admin" and rec.user_id != who.user.id):
        raise Problem(404, "Not found", f"no token {token_id!r}")
    try:
        revoke_token(session, token_id)
    except IdentityError as exc:
        raise Problem(404, "Not found", str(exc)) from None
    audit.record(session, who.viewer, "token.revoke", "token", token_id, request.state.request_id)
    session.commit()
    return Response(status_code=204)


__all__ = ["ADMINS", "router"]

"""Page routes of the dashboard. Each page is a shell (layout, strings, who is logged in, a CSRF token); its
script fetches the data from /api/v1. Pages are not part of the API schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from corridor import __version__
from corridor.config import load_settings
from corridor.identity.service import session_user
from corridor.web.deps import SESSION_COOKIE
from corridor.web.ui.i18n import LANG_COOKIE, LANGUAGES, RTL, catalogue, pick_language, translate

HERE = Path(__file__).parent
STATIC = HERE.parent / "static"
templates = Jinja2Templates(directory=str(HERE / "templates"))
router = APIRouter(include_in_schema=False)

# (page key, path) in the order of the navigation bar
NAV = [
    ("map", "/"),
    ("review", "/review"),
    ("movements", "/movements"),
    ("alerts", "/alerts"),
    ("brief", "/brief"),
]
TIMEZONES = ["Asia/Karachi", "Asia/Shanghai", "Asia/Dubai", "Europe/London", "UTC"]
EDITOR_ROLES = ("admin", "analyst")


def content_security_policy(tile_url: str | None) -> str:
    """Pages load scripts, styles, images and data from corridor itself; a configured tile server is the one
    other host images may come from. No inline scripts (the page configuration is inert JSON)."""
    img = "'self' data: blob:"
    if tile_url:
        parts = urlsplit(tile_url.replace("{s}", "a"))
        img += f" {parts.scheme}://{parts.netloc.replace('a.', '*.', 1) if '{s}' in tile_url else parts.netloc}"
    return (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; connect-src 'self'; font-src 'self'; object-src 'none'; "
        "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    )


def _user(request: Request) -> tuple[dict[str, Any], str] | None:
    """Who is logged in (from the session cookie) and the session's CSRF token, or None."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with request.app.state.store.sessions() as session:
        got = session_user(session, cookie)
        if got is None:
            return None
        ws, user = got
        return (
            {
                "id": user.id,
                "username": user.username,
                "organisation": user.org.name,
                "org_id": user.org_id,
                "role": user.role,
                "editor": user.role in EDITOR_ROLES,
            },
            ws.csrf_token,
        )


def _safe_next(target: str | None) -> str:
    """Only a local path may follow a login (no open redirect to another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _render(request: Request, template: str, page: str, user: dict[str, Any] | None, csrf: str | None, **extra: Any):
    settings = load_settings()
    lang = pick_language(request)
    config = {
        "lang": lang,
        "messages": catalogue(lang),
        "timezone": settings.timezone,
        "timezones": TIMEZONES,
        "tile_url": settings.tile_url,
        "user": user,
        "csrf": csrf,
        "page": page,
        **extra,
    }
    # inert JSON in a <script type="application/json">: "<" is escaped so no text can close the element
    config_json = json.dumps(config, ensure_ascii=False).replace("<", "\\u003c")
    resp = templates.TemplateResponse(
        request,
        template,
        {
            "t": lambda key, **kw: translate(lang, key, **kw),
            "lang": lang,
            "dir": "rtl" if lang in RTL else "ltr",
            "languages": LANGUAGES,
            "timezones": TIMEZONES,
            "default_tz": settings.timezone,
            "nav": NAV,
            "page": page,
            "user": user,
            "config_json": config_json,
            "version": __version__,
            **extra,
        },
    )
    resp.headers["Content-Security-Policy"] = content_security_policy(settings.tile_url)
    resp.headers["Referrer-Policy"] = "same-origin"
    resp.headers["X-Frame-Options"] = "DENY"
    if request.query_params.get("lang") in LANGUAGES:
        resp.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return resp


def _page(template: str, page: str):
    def handler(request: Request) -> Response:
        who = _user(request)
        if who is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
        return _render(request, template, page, who[0], who[1], **request.path_params)

    return handler


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    nxt = _safe_next(request.query_params.get("next"))
    if _user(request) is not None:
        return RedirectResponse(nxt, status_code=303)
    return _render(request, "login.html", "login", None, None, next=nxt)


for _template, _key, _path in (
    ("dashboard.html", "map", "/"),
    ("review.html", "review", "/review"),
    ("movements.html", "movements", "/movements"),
    ("alerts.html", "alerts", "/alerts"),
    ("brief.html", "brief", "/brief"),
    ("incident.html", "incident", "/incidents/{incident_id}"),
):
    router.add_api_route(_path, _page(_template, _key), methods=["GET"], response_class=HTMLResponse)


@router.get("/ui/basemap/{layer}.geojson")
def basemap(layer: str) -> Response:
    """The bundled offline basemap (provinces and districts of Pakistan); public geography, no login needed."""
    from corridor.geo import basemap as bm

    loaders = {"provinces": bm.provinces, "districts": bm.districts}
    if layer not in loaders:
        return JSONResponse({"detail": f"no basemap layer {layer!r}"}, status_code=404)
    body = json.dumps(loaders[layer](), separators=(",", ":"))
    return Response(
        body,
        media_type="application/geo+json",
        headers={"Cache-Control": "public, max-age=86400", "X-Attribution": bm.ATTRIBUTION},
    )


def install(app: FastAPI) -> None:
    """Mount the static files and the pages on the API's app."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(router)

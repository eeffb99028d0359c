"""Dashboard pages without a browser: sessions required, no open redirect after login, a strict content
security policy, and UI strings that all exist in the English catalogue (the others may lag, never invent)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from corridor.store.db import Store
from corridor.web.ui.i18n import LANGUAGES, MESSAGES, catalogue

from .api_world import PASSWORD, World, build_world

UI = Path(__file__).resolve().parents[1] / "corridor" / "web"
PAGES = ["/", "/review", "/movements", "/alerts", "/brief"]


@pytest.fixture
def world(store: Store) -> World:
    return build_world(store)


def test_pages_need_a_session_and_login_goes_back_only_to_local_paths(world: World) -> None:
    c = world.client
    for path in PAGES:
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == f"/login?next={path}", path
    assert c.post("/api/v1/auth/login", json={"username": "analyst.a", "password": PASSWORD}).status_code == 200
    for path in PAGES:
        r = c.get(path)
        assert r.status_code == 200 and 'id="main"' in r.text, path
    # already logged in: /login forwards to `next`, but never to another host
    for target, expected in (
        ("/alerts", "/alerts"),
        ("//evil.test/x", "/"),
        ("https://evil.test", "/"),
        ("/\\evil", "/"),
    ):
        r = c.get("/login", params={"next": target}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == expected, target


def test_pages_carry_a_strict_content_security_policy_and_inert_config(world: World) -> None:
    c = world.client
    c.post("/api/v1/auth/login", json={"username": "analyst.a", "password": PASSWORD})
    r = c.get("/")
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert r.headers["x-frame-options"] == "DENY"
    # no inline script: the page's configuration is JSON in a non-executable element, with "<" escaped
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", r.text, flags=re.S)
    assert all('type="application/json"' in attrs or not body.strip() for attrs, body in scripts)
    config = json.loads(re.search(r'id="corridor-config">(.*?)</script>', r.text, flags=re.S).group(1))  # type: ignore[union-attr]
    assert config["user"]["username"] == "analyst.a" and config["csrf"] and config["timezone"] == "Asia/Karachi"
    # every external resource the page names is served by corridor itself
    refs = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert refs and all(ref.startswith(("/", "#")) for ref in refs), refs
    for ref in refs:
        if ref.startswith("/static/"):
            assert c.get(ref).status_code == 200, ref


def _keys_used() -> set[str]:
    keys: set[str] = set()
    for f in [*UI.glob("ui/templates/*.html"), *UI.glob("static/js/*.js")]:
        text = f.read_text(encoding="utf-8")
        keys |= set(re.findall(r"\bt\(\s*[\"']([a-z_]+\.[a-z_.]+)[\"']", text))
    return keys


def test_every_ui_string_is_in_the_english_catalogue_and_translations_only_translate() -> None:
    en = catalogue("en")
    used = _keys_used()
    assert len(used) > 100
    assert sorted(k for k in used if k not in en) == []
    # keys built at run time: event types, statuses, ratings, movement states
    for prefix, values in (
        (
            "type.",
            [
                "bombing",
                "suicide_bombing",
                "armed_assault",
                "targeted_killing",
                "kidnapping",
                "hijacking",
                "attack_on_facility",
                "threat",
                "other",
            ],
        ),
        ("risk.", ["minimal", "low", "moderate", "high", "extreme"]),
        (
            "movement.",
            ["draft", "submitted", "approved", "acknowledged", "under_way", "completed", "rejected", "cancelled"],
        ),
        ("alert.", ["open", "acknowledged", "safe", "escalated"]),
    ):
        assert [v for v in values if prefix + v not in en] == [], prefix
    for lang in LANGUAGES:
        own = json.loads((MESSAGES / f"{lang}.json").read_text(encoding="utf-8"))
        assert set(own) <= set(en), f"{lang}: keys English does not have: {set(own) - set(en)}"
        for key, text in own.items():
            assert set(re.findall(r"\{(\w+)\}", text)) == set(re.findall(r"\{(\w+)\}", en[key])), (lang, key)


def test_language_from_query_cookie_or_browser(world: World) -> None:
    c = world.client
    c.post("/api/v1/auth/login", json={"username": "analyst.a", "password": PASSWORD})
    assert 'lang="zh"' in c.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).text
    r = c.get("/alerts", params={"lang": "ur"})
    assert 'dir="rtl"' in r.text and c.cookies.get("corridor_lang") == "ur"
    assert 'lang="ur"' in c.get("/review").text  # the cookie keeps the choice
    assert 'lang="ur"' in c.get("/review", params={"lang": "xx"}).text  # an unknown language changes nothing

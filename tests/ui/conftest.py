"""End-to-end fixtures: a real corridor server (uvicorn on a loopback port) over a store filled with the
sample corpus, an organisation with sites, staff, a movement and the alerts the reports raised, and headless
Debian Chromium driven by Playwright. Every request any page makes is recorded; tests fail on a request to a
host other than the server's. Screenshots go to build/screenshots/ (not committed)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from corridor.store.db import Store
from corridor.store.seed import seed_actors

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "corridor" / "samples"
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@dataclass
class Site:
    """The server under test and what was put in its store."""

    base: str
    store: Store
    org_id: str
    movement_id: str
    requests: list[str] = field(default_factory=list)

    def foreign_requests(self) -> list[str]:
        host = urlsplit(self.base).hostname
        return [
            u
            for u in self.requests
            if urlsplit(u).scheme in ("http", "https", "ws", "wss") and urlsplit(u).hostname != host
        ]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _fill(store: Store) -> tuple[str, str]:
    """The sample company (sites at Port Qasim, Dasu and Gwadar with Chinese staff), a liaison cell, users, the
    sample reports ingested (raising alerts for the sites), and a submitted airport transfer that meets the SOPs."""
    from corridor.geo.roads import get_network
    from corridor.identity.service import add_org, add_user
    from corridor.ingest.service import ingest_items, read_manifest
    from corridor.ops.service import LOCAL, add_person, add_site, advance, evaluate_movement, request_movement
    from corridor.risk.service import build_model, store_incidents
    from corridor.store.visibility import Viewer

    with store.transaction() as s:
        seed_actors(s)
        org = add_org(s, "Harbour Power Co", "company")
        other = add_org(s, "Provincial Liaison Cell", "agency")
        add_user(s, org, "security.manager", "admin", PASSWORD)
        add_user(s, org, "reader", "partner-readonly", PASSWORD)
        add_user(s, other, "liaison.analyst", "analyst", PASSWORD)
        v = Viewer(user_id=None, org_id=org.id, role="admin")
        sites = [
            add_site(s, v, "Port Qasim coal power plant", 24.78, 67.35, "power_plant", 1500, "SSU Sindh"),
            add_site(s, v, "Dasu hydropower camp", 35.29, 73.29, "camp", 800, "SSD 34 Division"),
            add_site(s, v, "Gwadar port office", 25.11, 62.345, "office", 200, "SSD 44 Division"),
        ]
        staff = [add_person(s, v, f"Engineer {k + 1}", "Chinese", sites[k % 3].id) for k in range(6)]
        org_id = org.id
        staff_ids = [staff[0].id, staff[3].id]
    ingest_items(store, read_manifest(SAMPLES / "manifest.jsonl"))
    with store.sessions() as s:
        model = build_model(store_incidents(s))
    with store.transaction() as s:
        v = Viewer(user_id=None, org_id=org_id, role="admin")
        depart = datetime(2024, 10, 9, 10, 0, tzinfo=LOCAL)
        mv = request_movement(
            s,
            v,
            "airport_transfer",
            "Karachi airport",
            "Port Qasim",
            depart,
            staff_ids,
            vehicles=[{"name": "Armoured Land Cruiser", "armoured": True}],
            escort="Special Protection Unit",
            notice_given_at=(depart - timedelta(hours=48)).astimezone(UTC),
            check_in_minutes=30,
        )
        evaluation = evaluate_movement(s, mv, model, get_network())
        assert evaluation["compliant"], evaluation
        advance(s, v, mv.id, "submitted")
        movement_id = mv.id
    return org_id, movement_id


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    from corridor.web.app import create_app

    home = tmp_path_factory.mktemp("ui-home")
    store = Store(f"sqlite:///{home / 'corridor.db'}")
    store.upgrade()
    org_id, movement_id = _fill(store)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(store), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the corridor server did not start")
        time.sleep(0.05)
    yield Site(f"http://127.0.0.1:{port}", store, org_id, movement_id)
    server.should_exit = True
    thread.join(timeout=10)
    store.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is not installed: run `bash scripts/system-deps.sh` (make test does)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, site: Site):  # type: ignore[no-untyped-def]
    """A fresh browser context (no cookies) at 1366x768 whose every request is recorded; page errors fail."""
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True, locale="en-GB")
    errors: list[str] = []
    ctx.on("request", lambda r: site.requests.append(r.url))
    pg = ctx.new_page()
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    ctx.close()
    assert errors == [], f"JavaScript errors: {errors}"
    assert site.foreign_requests() == [], f"requests to other hosts: {site.foreign_requests()}"


def login(pg, site: Site, user: str = "security.manager", path: str = "/") -> None:  # type: ignore[no-untyped-def]
    pg.goto(site.base + path)
    pg.wait_for_selector("#login-form")
    pg.fill("#username", user)
    pg.fill("#password", PASSWORD)
    pg.click("#login-form button[type=submit]")
    pg.wait_for_url(site.base + path)
    ready(pg)


def ready(pg) -> None:  # type: ignore[no-untyped-def]
    """Wait until the page's script has loaded its data (it sets body[data-ready])."""
    pg.wait_for_selector("body[data-ready]", timeout=30000)
    assert pg.get_attribute("body", "data-ready") == "true"


def shot(pg, name: str) -> Path:  # type: ignore[no-untyped-def]
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path

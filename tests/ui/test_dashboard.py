"""The dashboard in a real browser (headless Debian Chromium): log in, the map with incidents and the risk
layer, filtering by time (form and brushing), opening an incident and verifying it, approving a movement,
acknowledging an alert, downloading the brief; keyboard use, a phone-sized screen, languages, time zones."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect

from corridor.store.tables import Alert, Incident, Movement

from .conftest import Site, login, ready, shot


def _count(pg) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    m = re.match(r"(\d+) of (\d+)", pg.text_content("#count") or "")
    assert m, pg.text_content("#count")
    return int(m.group(1)), int(m.group(2))


def _visible_incidents(site: Site) -> int:
    with site.store.sessions() as s:
        return int(s.scalar(sa.select(sa.func.count()).select_from(Incident).where(Incident.status != "merged")) or 0)


def test_login_then_the_map_shows_incidents_risk_sites_and_legend(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    page.goto(site.base + "/review")
    assert "/login?next=/review" in page.url  # no page without a session
    page.fill("#username", "security.manager")
    page.fill("#password", "wrong password")
    page.click("#login-form button[type=submit]")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "password" in (page.text_content("#login-error") or "").lower()
    login(page, site)
    shown, total = _count(page)
    assert shown == total == _visible_incidents(site) > 20
    # markers (single or clustered) on the map, the risk hexagons, the sites, the legend
    page.wait_for_selector(".leaflet-marker-icon")
    assert page.locator(".leaflet-marker-icon").count() >= 5
    assert page.locator(".leaflet-overlay-pane path").count() > 50
    assert page.locator(".leaflet-marker-icon.site").count() == 3
    legend = page.text_content(".legend") or ""
    assert "Risk rating" in legend and "5 extreme" in legend and "Suicide bombing" in legend
    assert "Risk layer as of" in (page.text_content("#risk-note") or "")
    assert page.locator("#incident-table tbody tr").count() == total
    shot(page, "dashboard")


def test_filtering_by_time_with_the_form_and_by_brushing_the_timeline(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    _, total = _count(page)
    page.fill("#f-since", "2024-01-01")
    page.fill("#f-until", "2024-12-31")
    page.click("#f-apply")
    expect(page.locator("#count")).not_to_have_text(re.compile(rf"of {total} incidents"))
    shown, in_2024 = _count(page)
    assert 0 < in_2024 < total and shown == in_2024
    with site.store.sessions() as s:
        expected = s.scalar(
            sa.select(sa.func.count())
            .select_from(Incident)
            .where(Incident.status != "merged", Incident.date.between(date(2024, 1, 1), date(2024, 12, 31)))
        )
    assert in_2024 == expected
    assert "since=2024-01-01" in page.url  # the filter is in the address, so a view can be shared
    dates = page.locator("#incident-table tbody tr td:first-child").all_text_contents()
    assert dates and all("2024" in d for d in dates)
    # brush the first half of the timeline: fewer incidents on the map and in the list
    box = page.locator("#timeline").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 30, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.5, y, steps=8)
    page.mouse.up()
    page.wait_for_selector("#brush-clear:not([hidden])")
    brushed, _ = _count(page)
    assert brushed < in_2024
    assert page.locator("#incident-table tbody tr").count() == brushed
    assert "Selected:" in (page.text_content("#brush-label") or "")
    shot(page, "dashboard-filtered")
    page.click("#brush-clear")
    assert _count(page)[0] == in_2024


def test_open_an_incident_see_sources_and_evidence_then_verify_it(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    with site.store.sessions() as s:
        target = s.scalars(
            sa.select(Incident).where(Incident.status == "draft", Incident.city == "Khuzdar").order_by(Incident.date)
        ).first()
        assert target is not None and len(target.mentions) >= 2
        iid, version = target.id, target.version
    login(page, site, path="/review")
    row = page.locator(f"#queue tbody tr[data-id='{iid}']")
    assert row.count() == 1
    row.get_by_role("link").click()
    page.wait_for_url(f"{site.base}/incidents/{iid}")
    ready(page)
    assert "Khuzdar" in (page.text_content("#inc-title") or "")
    # sources side by side, with the conflicting toll flagged, and the evidence highlighted in the texts
    headers = page.locator("#sources thead th").count()
    assert headers == 2 + len(target.mentions)
    assert page.locator("#sources tr.differs").count() >= 1
    assert page.locator("#texts mark").count() >= 2
    assert "sources disagree" in (page.text_content("#record") or "")
    page.fill("#reason", "two outlets and the district administration agree")
    page.click("#btn-verify")
    page.wait_for_selector("#inc-badges .status-verified")
    page.wait_for_selector("#history li >> text=verified")
    shot(page, "incident")
    with site.store.sessions() as s:
        after = s.get(Incident, iid)
        assert after is not None and after.status == "verified" and after.version == version + 1


def test_approve_a_movement_on_the_board(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    login(page, site, path="/movements")
    card = page.locator(f"article.movement[data-id='{site.movement_id}']")
    assert card.get_attribute("data-status") == "submitted"
    assert "Meets the SOPs" in (card.text_content() or "")
    shot(page, "movements")
    card.locator("button[data-action='approved']").click()
    page.wait_for_selector(f"article.movement[data-id='{site.movement_id}'][data-status='approved']")
    with site.store.sessions() as s:
        mv = s.get(Movement, site.movement_id)
        assert mv is not None and mv.status == "approved"


def test_acknowledge_an_alert_and_check_in_safe(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    login(page, site, path="/alerts")
    first = page.locator("#inbox li[data-status='open']").first
    aid = first.get_attribute("data-id")
    assert aid
    shot(page, "alerts")
    first.locator("button[data-action='ack']").click()
    page.wait_for_selector(f"#inbox li[data-id='{aid}'][data-status='acknowledged']")
    page.locator(f"#inbox li[data-id='{aid}'] button[data-action='safe']").click()
    page.wait_for_selector(f"#inbox li[data-id='{aid}'][data-status='safe']")
    with site.store.sessions() as s:
        alert = s.get(Alert, aid)
        assert alert is not None and alert.status == "safe"


def test_download_the_daily_brief(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    login(page, site, path="/brief")
    page.fill("#brief-date", "2024-10-07")
    page.dispatch_event("#brief-date", "change")
    assert page.get_attribute("#brief-pdf", "href") == "/api/v1/brief?date=2024-10-07&format=pdf"
    shot(page, "brief")
    with page.expect_download() as dl:
        page.click("#brief-pdf")
    path = dl.value.path()
    assert path is not None
    data = Path(path).read_bytes()
    assert data.startswith(b"%PDF") and len(data) > 10_000
    page.click("#brief-html")
    page.wait_for_load_state()
    assert "TLP:" in (page.text_content("body") or "")
    shot(page, "brief-html")


def test_keyboard_only_use_and_a_phone_screen(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # incident markers take the focus and open their popup with Enter
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    ready(page)
    assert page.is_visible(".menu-toggle") and not page.is_visible("#nav")
    page.click(".menu-toggle")
    assert page.is_visible("#nav a[href='/alerts']")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, f"the page is {overflow}px wider than a phone screen"
    shot(page, "dashboard-phone")


def test_marker_opens_from_the_keyboard(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    login(page, site)
    with site.store.sessions() as s:
        cities = sorted({c for c in s.scalars(sa.select(Incident.city)) if c})
    # a place that the free-text filter narrows to exactly one incident (so its marker is not clustered)
    lone = next(c for c in cities if len(page.request.get(f"{site.base}/api/v1/incidents?q={c}").json()["items"]) == 1)
    page.fill("#f-q", lone)
    page.click("#f-apply")
    expect(page.locator("#count")).to_have_text(re.compile(r"^1 of 1 "))
    marker = page.locator(".leaflet-marker-icon.inc").first
    marker.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector(".leaflet-popup-content >> text=Open the incident")


def test_times_follow_the_chosen_time_zone_and_languages_switch(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    login(page, site, path="/movements")
    card = page.locator(f"article.movement[data-id='{site.movement_id}']")
    karachi = card.locator("p.muted").first.text_content() or ""
    assert "10:00" in karachi  # departs 10:00 Pakistan time, shown in Asia/Karachi by default
    page.select_option("#tz-select", "UTC")
    ready(page)
    utc = page.locator(f"article.movement[data-id='{site.movement_id}'] p.muted").first.text_content() or ""
    assert "05:00" in utc
    page.goto(site.base + "/?lang=zh")
    ready(page)
    assert page.text_content("nav a[href='/alerts']") == "警报"
    page.goto(site.base + "/alerts?lang=ur")
    ready(page)
    assert page.get_attribute("html", "dir") == "rtl" and page.get_attribute("html", "lang") == "ur"
    page.goto(site.base + "/alerts?lang=en")
    ready(page)
    assert page.get_attribute("html", "dir") == "ltr"


def test_a_read_only_partner_sees_no_analyst_actions(page, site: Site) -> None:  # type: ignore[no-untyped-def]
    with site.store.sessions() as s:
        iid = s.scalars(sa.select(Incident.id).where(Incident.status != "merged")).first()
    login(page, site, user="reader", path=f"/incidents/{iid}")
    assert page.locator("#status-form").count() == 0
    assert page.locator("#queue").count() == 0

"""Alert delivery to a real SMTP server (aiosmtpd on loopback) and to a webhook receiver on loopback."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from datetime import date

import pytest
import sqlalchemy as sa

from corridor.clock import now
from corridor.identity.service import add_org, add_user, viewer_of
from corridor.ops import service as ops
from corridor.ops.notify import SmtpSettings, deliver, verify_signature
from corridor.store.db import Store
from corridor.store.tables import Channel, Delivery, Incident


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[SmtpSettings, list]]:  # type: ignore[type-arg]
    from aiosmtpd.controller import Controller

    received: list = []  # type: ignore[type-arg]

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            received.append((envelope.rcpt_tos, envelope.content.decode("utf-8", "replace")))
            return "250 OK"

    port = _port()
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpSettings(host="127.0.0.1", port=port), received
    controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list]]:  # type: ignore[type-arg]
    calls: list = []  # type: ignore[type-arg]

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            calls.append((dict(self.headers), body))
            # fail twice, then accept: the sender must retry with back-off
            self.send_response(503 if len(calls) <= 2 else 204)
            self.end_headers()

        def log_message(self, *a: object) -> None:
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/hook", calls
    srv.shutdown()


def _alerted(store: Store, email: str | None) -> tuple[str, str]:
    with store.transaction() as s:
        org = add_org(s, "Harbour Works", "company")
        viewer = viewer_of(add_user(s, org, "mgr", "admin", "a long password"))
        site = ops.add_site(s, viewer, "Port camp", 24.78, 67.35, "camp")
        ops.add_person(s, viewer, "Li Wei", "Chinese", site.id, email=email)
        stamp = now()
        inc = Incident(
            event_type="bombing",
            date=date(2024, 10, 6),
            date_precision="day",
            place_name="Port Qasim",
            lat=24.78,
            lon=67.36,
            geo_precision="point",
            killed_total=2,
            status="verified",
            version=1,
            tlp="CLEAR",
            provenance={},
            locked_fields=[],
            created_at=stamp,
            updated_at=stamp,
            first_seen=stamp,
            last_seen=stamp,
            confidence=0.9,
        )
        s.add(inc)
        s.flush()
        ops.raise_alerts(s, inc)
        return org.id, inc.id


def test_email_to_a_real_smtp_server_once(store: Store, smtp_server) -> None:  # type: ignore[no-untyped-def]
    smtp, received = smtp_server
    org_id, _ = _alerted(store, "li.wei@example.org")
    with store.transaction() as s:
        s.add(Channel(org_id=org_id, kind="email", target="security@example.org", created_at=now()))
    with store.transaction() as s:
        from corridor.store.tables import Alert

        alerts = list(s.scalars(sa.select(Alert)))
        deliveries = deliver(s, alerts, smtp)
        assert deliveries and all(d.status == "sent" for d in deliveries)
    rcpts = sorted(r for rcpt, _ in received for r in rcpt)
    assert "li.wei@example.org" in rcpts and "security@example.org" in rcpts
    assert any("Port camp" in text for _, text in received)
    before = len(received)
    with store.transaction() as s:
        deliver(s, list(s.scalars(sa.select(Alert))), smtp)
    assert len(received) == before  # delivered once


def test_signed_webhook_with_retries(store: Store, webhook) -> None:  # type: ignore[no-untyped-def]
    url, calls = webhook
    org_id, incident_id = _alerted(store, None)
    with store.transaction() as s:
        s.add(Channel(org_id=org_id, kind="webhook", target=url, secret="s3cret-key", created_at=now()))
    waits: list[float] = []
    with store.transaction() as s:
        from corridor.store.tables import Alert

        deliver(s, list(s.scalars(sa.select(Alert).where(Alert.target_kind == "site"))), sleep=waits.append)
    assert len(calls) == 3 and waits == [0.5, 1.0]  # two failures, exponential back-off, then success
    headers, body = calls[-1]
    sig = headers.get("X-Corridor-Signature") or headers.get("x-corridor-signature")
    stamp = headers.get("X-Corridor-Timestamp") or headers.get("x-corridor-timestamp")
    assert verify_signature("s3cret-key", stamp, body, sig)
    assert not verify_signature("wrong-key", stamp, body, sig)
    assert json.loads(body)["incident"]["id"] == incident_id
    with store.sessions() as s:
        d = s.scalars(sa.select(Delivery)).one()
        assert d.status == "sent" and d.attempts == 1

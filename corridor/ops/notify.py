"""Alert delivery beyond the in-app inbox: e-mail over SMTP and signed webhooks with retries and back-off.

A webhook body is JSON; its HMAC-SHA256 under the channel's secret travels in `X-Corridor-Signature:
sha256=<hex>` with `X-Corridor-Timestamp`, so the receiver can check origin and freshness. Each (alert,
channel, target) is delivered once: a re-run sends nothing already sent."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.orm import Session

from corridor.clock import now
from corridor.store.tables import Alert, Channel, Delivery, Incident, Person


@dataclass
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    sender: str = "corridor@localhost"
    timeout: float = 10.0


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    return hmac.compare_digest(sign(secret, timestamp, body), header)


def payload(session: Session, alert: Alert) -> dict[str, Any]:
    inc = session.get(Incident, alert.incident_id)
    return {
        "alert": {
            "id": alert.id,
            "target_kind": alert.target_kind,
            "target_id": alert.target_id,
            "distance_km": alert.distance_km,
            "reason": alert.reason,
            "status": alert.status,
            "created_at": alert.created_at.isoformat(),
        },
        "incident": {
            "id": inc.id,
            "event_type": inc.event_type,
            "date": inc.date.isoformat() if inc.date else None,
            "place": inc.place_name,
            "lat": inc.lat,
            "lon": inc.lon,
            "killed": inc.killed_total,
            "injured": inc.injured_total,
        }
        if inc
        else None,
    }


def send_email(smtp: SmtpSettings, to: str, subject: str, text: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = smtp.sender, to, subject
    msg.set_content(text)
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        client.send_message(msg)


def post_webhook(
    url: str,
    secret: str,
    body: dict[str, Any],
    attempts: int = 4,
    backoff: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
    client: httpx.Client | None = None,
) -> int:
    """POST with retries (exponential back-off) on network errors and 5xx; returns the final status code."""
    data = json.dumps(body, sort_keys=True).encode()
    own = client is None
    c = client or httpx.Client(timeout=10.0)
    last: Exception | None = None
    try:
        for n in range(attempts):
            stamp = str(int(now().timestamp()))
            try:
                r = c.post(
                    url,
                    content=data,
                    headers={
                        "Content-Type": "application/json",
                        "X-Corridor-Timestamp": stamp,
                        "X-Corridor-Signature": sign(secret, stamp, data),
                    },
                )
                if r.status_code < 500:
                    return r.status_code
                last = RuntimeError(f"HTTP {r.status_code}")
            except httpx.HTTPError as exc:
                last = exc
            if n < attempts - 1:
                sleep(backoff * 2**n)
        raise RuntimeError(f"webhook {url} failed after {attempts} attempts: {last}")
    finally:
        if own:
            c.close()


def deliver(
    session: Session, alerts: list[Alert], smtp: SmtpSettings | None = None, sleep: Callable[[float], None] = time.sleep
) -> list[Delivery]:
    """Send each alert to its organisation's channels and, for a person, to their own e-mail address."""
    out: list[Delivery] = []
    for alert in alerts:
        targets: list[tuple[str, str, str | None]] = [
            (c.kind, c.target, c.secret)
            for c in session.scalars(sa.select(Channel).where(Channel.org_id == alert.org_id))
        ]
        if alert.target_kind == "person":
            person = session.get(Person, alert.target_id)
            if person is not None and person.email:
                targets.append(("email", person.email, None))
        body = payload(session, alert)
        for kind, target, secret in targets:
            done = session.scalar(
                sa.select(Delivery).where(
                    Delivery.alert_id == alert.id, Delivery.channel == kind, Delivery.target == target
                )
            )
            if done is not None and done.status == "sent":
                continue
            d = done or Delivery(alert_id=alert.id, channel=kind, target=target, status="failed", attempts=0, at=now())
            try:
                if kind == "email":
                    if smtp is None:
                        raise RuntimeError("no SMTP server configured")
                    send_email(
                        smtp, target, f"[corridor] {alert.reason[:120]}", json.dumps(body, indent=2, ensure_ascii=False)
                    )
                else:
                    code = post_webhook(target, secret or "", body, sleep=sleep)
                    if code >= 400:
                        raise RuntimeError(f"webhook answered HTTP {code}")
                d.status, d.last_error = "sent", None
            except (OSError, RuntimeError, smtplib.SMTPException) as exc:
                d.status, d.last_error = "failed", str(exc)[:500]
            d.attempts += 1
            d.at = now()
            session.add(d)
            out.append(d)
    session.flush()
    return out

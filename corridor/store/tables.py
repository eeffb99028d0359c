"""SQLAlchemy 2 tables: the storage side of the domain model.

Portable SQL only (SQLite by default, PostgreSQL later): no SQLite-only functions, JSON through sa.JSON,
timestamps timezone-aware, ids as 36-character UUID strings.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from corridor.clock import now
from corridor.ids import new_id

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every engine (SQLite drops the offset; we put it back)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use corridor.clock.now()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


UUID = sa.String(36)
TS = UTCDateTime()


class Source(Base):
    """An outlet, feed or reporting channel that documents come from."""

    __tablename__ = "sources"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(20), default="outlet")  # outlet | feed | field
    url: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(TS)


class Document(Base):
    """One report as received: keyed by the SHA-256 of its bytes, so the same bytes are stored once."""

    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    source_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sources.id"))
    path: Mapped[str | None] = mapped_column(sa.Text)
    url: Mapped[str | None] = mapped_column(sa.Text)
    title: Mapped[str | None] = mapped_column(sa.Text)
    published: Mapped[date | None] = mapped_column(sa.Date)
    fetched_at: Mapped[datetime] = mapped_column(TS)
    language: Mapped[str | None] = mapped_column(sa.String(10))
    content_type: Mapped[str] = mapped_column(sa.String(20))  # text | html | rss-item
    owner_org_id: Mapped[str | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    tlp: Mapped[str] = mapped_column(sa.String(16), default="CLEAR", server_default="CLEAR")
    size_bytes: Mapped[int] = mapped_column(sa.Integer)
    text: Mapped[str] = mapped_column(sa.Text)

    source: Mapped[Source | None] = relationship()
    mentions: Mapped[list[Mention]] = relationship(back_populates="document", cascade="all, delete-orphan")


class Actor(Base):
    """A named armed group, with its aliases (loaded from corridor/extract/data/actors.yaml)."""

    __tablename__ = "actors"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(40), unique=True)  # canonical short form: BLA, TTP, IS-K
    full_name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(40))
    aliases: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    parent: Mapped[str | None] = mapped_column(sa.String(40))


class Incident(Base):
    """The canonical record of one incident, merged from every Mention of it."""

    __tablename__ = "incidents"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    event_type: Mapped[str] = mapped_column(sa.String(30), index=True)
    date: Mapped[date | None] = mapped_column(sa.Date, index=True)  # first day of the period at precision
    date_precision: Mapped[str | None] = mapped_column(sa.String(10))
    place_name: Mapped[str | None] = mapped_column(sa.Text)
    city: Mapped[str | None] = mapped_column(sa.String(120))
    district: Mapped[str | None] = mapped_column(sa.String(120))
    province: Mapped[str | None] = mapped_column(sa.String(60), index=True)
    country: Mapped[str | None] = mapped_column(sa.String(80))
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    geo_precision: Mapped[str | None] = mapped_column(sa.String(10))
    killed_total: Mapped[int | None] = mapped_column(sa.Integer)
    injured_total: Mapped[int | None] = mapped_column(sa.Integer)
    killed_foreign: Mapped[int | None] = mapped_column(sa.Integer)
    injured_foreign: Mapped[int | None] = mapped_column(sa.Integer)
    foreign_nationality: Mapped[str | None] = mapped_column(sa.String(60))
    perpetrator: Mapped[str | None] = mapped_column(sa.String(40), index=True)
    claimed: Mapped[bool | None] = mapped_column(sa.Boolean)
    status: Mapped[str] = mapped_column(sa.String(12), default="draft", index=True)
    merged_into: Mapped[str | None] = mapped_column(UUID)
    confidence: Mapped[float] = mapped_column(sa.Float, default=0.5)
    # Per field: the chosen value, the values each source gave, and why the choice was made.
    provenance: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    first_seen: Mapped[datetime] = mapped_column(TS)
    last_seen: Mapped[datetime] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)
    version: Mapped[int] = mapped_column(sa.Integer, default=1)
    owner_org_id: Mapped[str | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    tlp: Mapped[str] = mapped_column(sa.String(16), default="CLEAR", server_default="CLEAR")
    # analysts' word over the pipeline's: fields an analyst set are not overwritten by later merges
    locked_fields: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # the STIX id an incident arrived with (imports), so re-export gives back the same id
    stix_id: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    # when this server last stored a change to the incident or to who may see it: the TAXII date_added of its
    # objects, so a pull with added_after misses no edit, import or share (updated_at keeps the STIX modified)
    changed_at: Mapped[datetime | None] = mapped_column(TS)

    mentions: Mapped[list[Mention]] = relationship(back_populates="incident")


class Mention(Base):
    """What one document says about one incident: every field with its evidence spans."""

    __tablename__ = "mentions"
    __table_args__ = (sa.UniqueConstraint("document_id", "ordinal", name="uq_mentions_document_ordinal"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    document_id: Mapped[str] = mapped_column(sa.ForeignKey("documents.id", ondelete="CASCADE"), index=True)
    incident_id: Mapped[str | None] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    ordinal: Mapped[int] = mapped_column(sa.Integer)
    event_type: Mapped[str] = mapped_column(sa.String(30))
    date: Mapped[date | None] = mapped_column(sa.Date, index=True)
    date_precision: Mapped[str | None] = mapped_column(sa.String(10))
    place_name: Mapped[str | None] = mapped_column(sa.Text)
    city: Mapped[str | None] = mapped_column(sa.String(120))
    district: Mapped[str | None] = mapped_column(sa.String(120))
    province: Mapped[str | None] = mapped_column(sa.String(60))
    country: Mapped[str | None] = mapped_column(sa.String(80))
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    geo_precision: Mapped[str | None] = mapped_column(sa.String(10))
    killed_total: Mapped[int | None] = mapped_column(sa.Integer)
    injured_total: Mapped[int | None] = mapped_column(sa.Integer)
    killed_foreign: Mapped[int | None] = mapped_column(sa.Integer)
    injured_foreign: Mapped[int | None] = mapped_column(sa.Integer)
    foreign_nationality: Mapped[str | None] = mapped_column(sa.String(60))
    perpetrator: Mapped[str | None] = mapped_column(sa.String(40))
    claimed: Mapped[bool | None] = mapped_column(sa.Boolean)
    is_new: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    confidence: Mapped[float] = mapped_column(sa.Float, default=0.5)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(TS)

    document: Mapped[Document] = relationship(back_populates="mentions")
    incident: Mapped[Incident | None] = relationship(back_populates="mentions")


class Organisation(Base):
    """A member of the exchange: a security agency, a company, an embassy."""

    __tablename__ = "organisations"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[str] = mapped_column(sa.String(30), default="company")  # agency | company | embassy | other
    created_at: Mapped[datetime] = mapped_column(TS)


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    username: Mapped[str] = mapped_column(sa.String(120), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    password_hash: Mapped[str | None] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(30))  # admin | analyst | coordinator | staff | partner-readonly
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(sa.Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(TS)
    created_at: Mapped[datetime] = mapped_column(TS)

    org: Mapped[Organisation] = relationship()


class ApiToken(Base):
    """A token for programs: only its SHA-256 is stored; scoped, expiring, revocable."""

    __tablename__ = "api_tokens"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scopes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime | None] = mapped_column(TS)
    revoked_at: Mapped[datetime | None] = mapped_column(TS)
    last_used_at: Mapped[datetime | None] = mapped_column(TS)

    user: Mapped[User] = relationship()


class WebSession(Base):
    """A browser session (cookie); the cookie value is stored hashed, with its CSRF token."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)  # sha256 of the cookie value
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id"), index=True)
    csrf_token: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    expires_at: Mapped[datetime] = mapped_column(TS)

    user: Mapped[User] = relationship()


class SharingGroup(Base):
    """Organisations that share with each other as one audience ("CPEC security liaison": the agency, the
    companies, the embassy). An AMBER record shared with a group is visible to every member organisation, as
    long as it is a member; the owner organisation manages the membership and is always a member."""

    __tablename__ = "sharing_groups"
    __table_args__ = (sa.UniqueConstraint("owner_org_id", "name", name="uq_sharing_groups_owner_name"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(sa.String(200))
    owner_org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class SharingGroupMember(Base):
    """One organisation's membership of a sharing group."""

    __tablename__ = "sharing_group_members"
    group_id: Mapped[str] = mapped_column(sa.ForeignKey("sharing_groups.id", ondelete="CASCADE"), primary_key=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(TS)


class RecordShare(Base):
    """An AMBER record shared with another organisation or a sharing group, or a RED record with a named user.
    Exactly one of org_id, group_id, user_id is set; `visibility.visible()` reads all three."""

    __tablename__ = "record_shares"
    __table_args__ = (
        sa.UniqueConstraint("object_type", "object_id", "org_id", "user_id", name="uq_record_shares_target"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    object_type: Mapped[str] = mapped_column(sa.String(30))
    object_id: Mapped[str] = mapped_column(UUID, index=True)
    org_id: Mapped[str | None] = mapped_column(sa.ForeignKey("organisations.id"))
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    group_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sharing_groups.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(TS)


class IncidentEdit(Base):
    """Every analyst change to an incident: the previous value, the new one, who, when and why."""

    __tablename__ = "incident_edits"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(TS)
    action: Mapped[str] = mapped_column(sa.String(30))  # edit | verify | retract | merge | split
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)  # field -> [old, new]
    reason: Mapped[str | None] = mapped_column(sa.Text)


class AuditEntry(Base):
    """Append-only audit log; each entry's hash covers the previous one, so tampering shows."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(TS)
    user_id: Mapped[str | None] = mapped_column(UUID)
    org_id: Mapped[str | None] = mapped_column(UUID)
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str | None] = mapped_column(sa.String(30))
    object_id: Mapped[str | None] = mapped_column(sa.String(64))
    request_id: Mapped[str | None] = mapped_column(sa.String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)


class Site(Base):
    """A protected location: a project site, camp, office or residence, with its perimeter."""

    __tablename__ = "sites"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(30), default="site")
    lat: Mapped[float] = mapped_column(sa.Float)
    lon: Mapped[float] = mapped_column(sa.Float)
    radius_m: Mapped[float] = mapped_column(sa.Float, default=500.0)
    security_force: Mapped[str | None] = mapped_column(sa.String(120))
    cell: Mapped[str] = mapped_column(sa.String(16), index=True)  # h3 resolution 5, for proximity queries
    created_at: Mapped[datetime] = mapped_column(TS)


class Person(Base):
    """A protected person. Personal data: visible inside the organisation and to coordinators it names."""

    __tablename__ = "people"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    nationality: Mapped[str | None] = mapped_column(sa.String(60))
    site_id: Mapped[str | None] = mapped_column(sa.ForeignKey("sites.id"), index=True)
    phone: Mapped[str | None] = mapped_column(sa.String(60))
    email: Mapped[str | None] = mapped_column(sa.String(200))
    emergency_contact: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(TS)

    site: Mapped[Site | None] = relationship()


class Movement(Base):
    """A requested move of people (road move, airport transfer, site visit) and its evaluation under the SOPs."""

    __tablename__ = "movements"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    requested_by: Mapped[str | None] = mapped_column(UUID)
    kind: Mapped[str] = mapped_column(sa.String(30))  # road | airport_transfer | site_visit
    origin: Mapped[str] = mapped_column(sa.String(200))
    destination: Mapped[str] = mapped_column(sa.String(200))
    via: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    depart: Mapped[datetime] = mapped_column(TS)
    people: Mapped[list[str]] = mapped_column(sa.JSON, default=list)  # person ids
    vehicles: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)  # {"name", "armoured"}
    escort: Mapped[str | None] = mapped_column(sa.String(120))
    notice_given_at: Mapped[datetime | None] = mapped_column(TS)
    check_in_minutes: Mapped[int | None] = mapped_column(sa.Integer)
    status: Mapped[str] = mapped_column(sa.String(20), default="draft", index=True)
    evaluation: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    route_points: Mapped[list[list[float]]] = mapped_column(sa.JSON, default=list)
    last_check_in: Mapped[datetime | None] = mapped_column(TS)
    escalated_at: Mapped[datetime | None] = mapped_column(TS)  # a missed check-in was escalated
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_at: Mapped[datetime] = mapped_column(TS)


class SecurityDetail(Base):
    """An escort unit or a vehicle an organisation can put on a movement."""

    __tablename__ = "security_details"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(20))  # escort | vehicle
    force: Mapped[str | None] = mapped_column(sa.String(120))  # for escorts: Special Protection Unit, FC, ...
    armoured: Mapped[bool] = mapped_column(sa.Boolean, default=False)
    capacity: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(TS)


class Alert(Base):
    """An incident near a person, site or movement. One per (incident, recipient, rule): never twice."""

    __tablename__ = "alerts"
    __table_args__ = (
        sa.UniqueConstraint("incident_id", "target_kind", "target_id", "rule", name="uq_alerts_incident_target_rule"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    incident_id: Mapped[str] = mapped_column(sa.ForeignKey("incidents.id"), index=True)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    target_kind: Mapped[str] = mapped_column(sa.String(20))  # person | site | movement
    target_id: Mapped[str] = mapped_column(UUID)
    rule: Mapped[str] = mapped_column(sa.String(40))
    distance_km: Mapped[float] = mapped_column(sa.Float)
    reason: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(20), default="open", index=True)  # open|acknowledged|safe|escalated
    created_at: Mapped[datetime] = mapped_column(TS)
    acknowledged_at: Mapped[datetime | None] = mapped_column(TS)
    acknowledged_by: Mapped[str | None] = mapped_column(UUID)


class Channel(Base):
    """Where an organisation's alerts go besides the in-app inbox: an e-mail address or a signed webhook."""

    __tablename__ = "channels"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(10))  # email | webhook
    target: Mapped[str] = mapped_column(sa.Text)  # address or URL
    secret: Mapped[str | None] = mapped_column(sa.String(128))  # HMAC key for webhooks
    created_at: Mapped[datetime] = mapped_column(TS)


class Delivery(Base):
    """One attempt to deliver one alert over one channel (kept for the record and for retries)."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("alert_id", "channel", "target", name="uq_deliveries_alert_channel_target"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    alert_id: Mapped[str] = mapped_column(sa.ForeignKey("alerts.id"), index=True)
    channel: Mapped[str] = mapped_column(sa.String(10))
    target: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(12))  # sent | failed
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    at: Mapped[datetime] = mapped_column(TS)


class ForeignStixObject(Base):
    """A STIX object from another producer that corridor keeps no record of its own for (indicator, malware,
    attack-pattern, sighting, custom objects, another producer's notes and reports...): stored as received, one
    row per version and receiving organisation, under its TLP, and served back through the visibility filter."""

    __tablename__ = "foreign_stix_objects"
    __table_args__ = (
        sa.UniqueConstraint("stix_id", "version", "owner_org_id", name="uq_foreign_stix_objects_version"),
    )
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    stix_id: Mapped[str] = mapped_column(sa.String(300), index=True)
    stix_type: Mapped[str] = mapped_column(sa.String(250), index=True)
    version: Mapped[str] = mapped_column(sa.String(40))  # modified, else created, else "" (no versions)
    owner_org_id: Mapped[str | None] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    tlp: Mapped[str] = mapped_column(sa.String(16))
    body: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(TS)
    changed_at: Mapped[datetime] = mapped_column(TS)  # TAXII date_added, as for incidents


class SyncState(Base):
    """Where scheduled sync with one remote collection stands for one organisation: the last success, the
    added_after cursor of pulls and the local date_added cursor of pushes (a restart resumes from them), and
    the failures in a row that set the back-off."""

    __tablename__ = "sync_state"
    __table_args__ = (sa.UniqueConstraint("remote", "collection", "org_id", name="uq_sync_state_remote"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    remote: Mapped[str] = mapped_column(sa.String(500))
    collection: Mapped[str] = mapped_column(sa.String(200), default="")
    org_id: Mapped[str] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    pull_cursor: Mapped[str | None] = mapped_column(sa.String(40))
    push_cursor: Mapped[str | None] = mapped_column(sa.String(40))
    last_success_at: Mapped[datetime | None] = mapped_column(TS)
    last_attempt_at: Mapped[datetime | None] = mapped_column(TS)
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    pulled: Mapped[int] = mapped_column(sa.Integer, default=0)  # objects received in all, for the record
    pushed: Mapped[int] = mapped_column(sa.Integer, default=0)


STIX_NS = uuid.UUID("5e1d8c1e-6a3c-5c0e-9a43-7c2b8e8b1c01")


def stix_incident_id(record_id: str) -> str:
    """The STIX id of an incident that started here (imports keep the id they came with)."""
    return f"incident--{uuid.uuid5(STIX_NS, f'incident|{record_id}')}"


@sa.event.listens_for(Incident, "before_insert")
def _give_stix_id(_mapper: Any, _conn: Any, target: Incident) -> None:
    if target.id is None:
        target.id = new_id()
    if target.stix_id is None:
        target.stix_id = stix_incident_id(target.id)
    target.changed_at = now()


@sa.event.listens_for(Incident, "before_update")
def _mark_changed(_mapper: Any, _conn: Any, target: Incident) -> None:
    """Every stored change to an incident moves its TAXII date_added (see Incident.changed_at)."""
    target.changed_at = now()


class Feed(Base):
    """A feed or page that `corridor watch` polls: its validators for conditional GET (ETag, Last-Modified), when
    it is next due, and the failures in a row that set its back-off."""

    __tablename__ = "feeds"
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(sa.String(2000), unique=True)
    outlet: Mapped[str | None] = mapped_column(sa.String(200))
    etag: Mapped[str | None] = mapped_column(sa.String(500))
    last_modified: Mapped[str | None] = mapped_column(sa.String(100))
    last_polled_at: Mapped[datetime | None] = mapped_column(TS)
    next_poll_at: Mapped[datetime | None] = mapped_column(TS)
    last_status: Mapped[int | None] = mapped_column(sa.Integer)
    failures: Mapped[int] = mapped_column(sa.Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    items_seen: Mapped[int] = mapped_column(sa.Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TS, default=now)


class Job(Base):
    """One report waiting to be ingested by a `corridor worker`: its bytes as fetched, so a worker never fetches.

    `key` is the report's content hash, so the same item seen in two polls is one job. A worker claims a job by
    setting `lease_until`; a job whose lease ran out (its worker died) is claimed again; `attempts` counts claims,
    and a job that failed `max_attempts` times stays `failed` with its error for an operator to read."""

    __tablename__ = "jobs"
    __table_args__ = (sa.Index("ix_jobs_status_available", "status", "available_at"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    kind: Mapped[str] = mapped_column(sa.String(20), default="ingest")
    key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    text: Mapped[str] = mapped_column(sa.Text)
    meta: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(12), default="queued")  # queued | running | done | failed
    attempts: Mapped[int] = mapped_column(sa.Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(TS)
    lease_until: Mapped[datetime | None] = mapped_column(TS)
    worker: Mapped[str | None] = mapped_column(sa.String(120))
    enqueued_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    outcome: Mapped[str | None] = mapped_column(sa.String(12))  # new | duplicate | failed
    document_id: Mapped[str | None] = mapped_column(UUID)
    error: Mapped[str | None] = mapped_column(sa.Text)


class BackfillPartition(Base):
    """A finished partition of a back-fill run: a re-run of the same archives with the same partitioning skips it.
    `run` is a fingerprint of the archives (names, sizes, times) and the partition count."""

    __tablename__ = "backfill_partitions"
    __table_args__ = (sa.UniqueConstraint("run", "partition", name="uq_backfill_partitions_run"),)
    id: Mapped[str] = mapped_column(UUID, primary_key=True, default=new_id)
    run: Mapped[str] = mapped_column(sa.String(64), index=True)
    partition: Mapped[int] = mapped_column(sa.Integer)
    documents: Mapped[int] = mapped_column(sa.Integer, default=0)
    new: Mapped[int] = mapped_column(sa.Integer, default=0)
    duplicates: Mapped[int] = mapped_column(sa.Integer, default=0)
    failed: Mapped[int] = mapped_column(sa.Integer, default=0)
    finished_at: Mapped[datetime] = mapped_column(TS)

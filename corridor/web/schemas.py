"""Request and response bodies of the API (Pydantic 2)."""

from __future__ import annotations

from datetime import date as Date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from corridor.model.enums import DatePrecision, EventType

Tlp = Literal["CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED"]


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=120)
    password: str = Field(min_length=1, max_length=1024)


class Me(BaseModel):
    user_id: str
    username: str
    org_id: str
    organisation: str
    role: str
    csrf_token: str | None = None


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=120)
    scopes: list[Literal["read", "write", "admin"]] = Field(min_length=1)
    expires_in_days: int | None = Field(default=90, ge=1, le=3650)


class TokenOut(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[str]
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    token: str | None = None  # only when created


class PlaceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, max_length=200)
    city: str | None = Field(default=None, max_length=120)
    district: str | None = Field(default=None, max_length=120)
    province: str | None = Field(default=None, max_length=60)
    country: str | None = Field(default="Pakistan", max_length=80)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    precision: Literal["point", "city", "district", "province", "country"] | None = None

    @model_validator(mode="after")
    def _a_point_has_both(self) -> PlaceIn:
        # half a coordinate is no point: the map, the risk model and the alerts all need both
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon go together: give both or neither")
        return self


class IncidentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    event_type: EventType
    date: Date | None = None
    date_precision: DatePrecision | None = DatePrecision.DAY
    place: PlaceIn = Field(default_factory=PlaceIn)
    killed_total: int | None = Field(default=None, ge=0, le=100000)
    injured_total: int | None = Field(default=None, ge=0, le=100000)
    killed_foreign: int | None = Field(default=None, ge=0, le=100000)
    injured_foreign: int | None = Field(default=None, ge=0, le=100000)
    foreign_nationality: str | None = Field(default=None, max_length=60)
    perpetrator: str | None = Field(default=None, max_length=40)
    claimed: bool | None = None
    tlp: Tlp = "GREEN"
    reason: str | None = Field(default=None, max_length=2000)


class IncidentPatch(BaseModel):
    """Fields to change; every change needs a reason (kept in the edit history)."""

    model_config = ConfigDict(extra="forbid")
    event_type: EventType | None = None
    date: Date | None = None
    date_precision: DatePrecision | None = None
    place: PlaceIn | None = None
    killed_total: int | None = Field(default=None, ge=0, le=100000)
    injured_total: int | None = Field(default=None, ge=0, le=100000)
    killed_foreign: int | None = Field(default=None, ge=0, le=100000)
    injured_foreign: int | None = Field(default=None, ge=0, le=100000)
    foreign_nationality: str | None = Field(default=None, max_length=60)
    perpetrator: str | None = Field(default=None, max_length=40)
    claimed: bool | None = None
    tlp: Tlp | None = None
    reason: str = Field(min_length=3, max_length=2000)


class Reason(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=2000)


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    other_id: str = Field(min_length=4, max_length=36)
    reason: str = Field(min_length=3, max_length=2000)


class SplitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mention_ids: list[str] = Field(min_length=1, max_length=1000)
    reason: str = Field(min_length=3, max_length=2000)


class ShareIn(BaseModel):
    """Exactly one of: an organisation, a named user, a sharing group."""

    model_config = ConfigDict(extra="forbid")
    org_id: str | None = Field(default=None, max_length=36)
    user_id: str | None = Field(default=None, max_length=36)
    group_id: str | None = Field(default=None, max_length=36)


class GroupIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=200)


class MemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: str = Field(min_length=1, max_length=36)


class GroupOut(BaseModel):
    id: str
    name: str
    owner_org_id: str
    members: list[dict[str, str]]


class DocumentUrl(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(pattern=r"^https?://", max_length=2000)
    published: Date | None = None
    tlp: Tlp = "CLEAR"
    outlet: str | None = Field(default=None, max_length=200)


class IncidentPage(BaseModel):
    items: list[dict[str, Any]]
    next_cursor: str | None


class IngestOut(BaseModel):
    status: str
    document_id: str | None
    reason: str | None = None
    mentions: list[dict[str, Any]] = []
    incidents: list[dict[str, Any]] = []

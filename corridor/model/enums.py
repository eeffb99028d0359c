"""Controlled vocabularies. docs/event-types.md maps EventType to ACLED and GTD."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """What happened, at the level of detail a security coordinator acts on."""

    BOMBING = "bombing"
    SUICIDE_BOMBING = "suicide_bombing"
    ARMED_ASSAULT = "armed_assault"
    TARGETED_KILLING = "targeted_killing"
    KIDNAPPING = "kidnapping"
    HIJACKING = "hijacking"
    ATTACK_ON_FACILITY = "attack_on_facility"
    THREAT = "threat"
    OTHER = "other"


class DatePrecision(StrEnum):
    DAY = "day"
    MONTH = "month"
    YEAR = "year"

    @property
    def rank(self) -> int:
        """Higher is finer: day 3, month 2, year 1."""
        return {"day": 3, "month": 2, "year": 1}[self.value]


class GeoPrecision(StrEnum):
    POINT = "point"
    CITY = "city"
    DISTRICT = "district"
    PROVINCE = "province"
    COUNTRY = "country"

    @property
    def rank(self) -> int:
        """Higher is finer: point 5 ... country 1."""
        return {"point": 5, "city": 4, "district": 3, "province": 2, "country": 1}[self.value]


class IncidentStatus(StrEnum):
    DRAFT = "draft"
    VERIFIED = "verified"
    RETRACTED = "retracted"
    MERGED = "merged"  # absorbed into another incident; merged_into says which


class EventKind(StrEnum):
    """Non-violent events a report may carry (kept apart from incidents)."""

    MEETING = "meeting"
    STATEMENT = "statement"
    POLICY = "policy"
    OTHER = "other"

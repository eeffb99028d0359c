from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from corridor import clock
from corridor.ids import derived_id, new_id
from corridor.model import DatePrecision, EventType, ExtractedIncident, GeoPrecision, PlaceRef


def test_event_types_cover_the_contract() -> None:
    assert {e.value for e in EventType} == {
        "bombing",
        "suicide_bombing",
        "armed_assault",
        "targeted_killing",
        "kidnapping",
        "hijacking",
        "attack_on_facility",
        "threat",
        "other",
    }


def test_precisions_are_ordered() -> None:
    assert DatePrecision.DAY.rank > DatePrecision.MONTH.rank > DatePrecision.YEAR.rank
    assert GeoPrecision.POINT.rank > GeoPrecision.CITY.rank > GeoPrecision.DISTRICT.rank > GeoPrecision.COUNTRY.rank


def test_extracted_incident_rejects_unknown_event_type() -> None:
    with pytest.raises(ValidationError):
        ExtractedIncident(event_type="riot")  # type: ignore[arg-type]


def test_extracted_incident_serialises_to_contract_fields() -> None:
    inc = ExtractedIncident(
        event_type=EventType.BOMBING,
        date="2024-10",
        date_precision=DatePrecision.MONTH,
        place=PlaceRef(city="Karachi", province="Sindh", country="Pakistan"),
        killed_total=2,
    )
    obj = inc.model_dump(mode="json")
    assert obj["event_type"] == "bombing"
    assert obj["date_precision"] == "month"
    assert obj["place"]["city"] == "Karachi"
    assert obj["injured_total"] is None
    assert set(obj) >= {
        "killed_foreign",
        "injured_foreign",
        "foreign_nationality",
        "perpetrator",
        "claimed",
        "is_new",
        "confidence",
        "evidence",
    }


def test_clock_can_be_moved_by_tests() -> None:
    fixed = clock.FixedClock(datetime(2024, 10, 6, 23, 0, tzinfo=UTC))
    previous = clock.set_clock(fixed)
    try:
        assert clock.now() == datetime(2024, 10, 6, 23, 0, tzinfo=UTC)
        fixed.advance(timedelta(hours=2))
        assert clock.now().day == 7
    finally:
        clock.set_clock(previous)


def test_ids() -> None:
    assert new_id() != new_id()
    assert derived_id("doc", 1) == derived_id("doc", 1) != derived_id("doc", 2)

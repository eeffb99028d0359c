"""Small reports written for the tests (the project's own words; facts from the public record)."""

from __future__ import annotations

import calendar
from pathlib import Path

# Three outlets on one attack with different tolls, plus a later back-reference and an unrelated attack.
REPORTS: dict[str, tuple[str, str]] = {
    "wire-early.txt": (
        "2024-03-26",
        (
            "Convoy of Chinese engineers hit near Besham\n"
            "A suicide bomber drove an explosives-laden car into a convoy carrying Chinese engineers near Besham in "
            "Shangla district on Tuesday, killing at least five people, police said. The convoy was travelling from "
            "Islamabad to the Dasu hydropower project. No group has claimed responsibility for the attack."
        ),
    ),
    "daily-late.txt": (
        "2024-03-27",
        (
            "Six killed in Shangla suicide attack\n"
            "Five Chinese nationals and their Pakistani driver were killed on Tuesday when a suicide bomber rammed "
            "their vehicle near Bisham, officials said. The engineers worked on the Dasu dam."
        ),
    ),
    "field.txt": (
        "2024-03-26",
        (
            "FLASH REPORT\nAt about 1300 hrs on 26 March 2024 a vehicle-borne suicide attack struck a convoy near "
            "Besham, Shangla. Five Chinese nationals and their Pakistani driver were killed. Movement on the "
            "Karakoram Highway suspended until further notice."
        ),
    ),
    "backref.txt": (
        "2024-06-10",
        (
            "Security of Chinese workers reviewed\n"
            "Officials met in Islamabad on Monday to review security for Chinese workers. The review follows the "
            "suicide attack near Besham in March, in which five Chinese engineers were killed."
        ),
    ),
    "quetta.txt": (
        "2024-11-09",
        (
            "Blast at Quetta railway station\n"
            "A suicide bomber blew himself up at the Quetta railway station on Saturday, killing at least 26 people "
            "and wounding 62 others, officials said. The Baloch Liberation Army claimed responsibility."
        ),
    ),
}


def write_reports(folder: Path) -> list[tuple[Path, str]]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for name, (published, text) in REPORTS.items():
        p = folder / name
        p.write_text(text, encoding="utf-8")
        out.append((p, published))
    return out


def variant(i: int) -> str:
    """A distinct report per i (different place, day and toll) for volume tests."""
    places = ["Quetta", "Peshawar", "Bannu", "Turbat", "Gwadar", "Karachi", "Lahore", "Dera Ismail Khan"]
    day = 1 + i % 28
    month = 1 + (i // 28) % 12
    return (
        f"Attack in {places[i % len(places)]}\nGunmen opened fire on a police patrol in "
        f"{places[i % len(places)]} on {day} {calendar.month_name[month]} "
        f"2023, killing {2 + i % 7} policemen and injuring {i % 5 + 1} others, officials said. Report {i}."
    )

"""Each stage alone, on hand-built documents."""

from datetime import date

import pytest

from corridor.extract.actors import get_matcher
from corridor.extract.clean import clean_html, clean_text
from corridor.extract.dates import find_dates
from corridor.extract.document import Doc
from corridor.extract.figures import find_figures
from corridor.extract.pipeline import extract_text
from corridor.extract.segment import segment, split_sentences


def iso(text: str, published: date | None) -> list[str | None]:
    return [d.iso() for d in find_dates(text, published) if d.role == "point"]


@pytest.mark.parametrize(
    ("text", "published", "want"),
    [
        ("a bombing at the airport last October", date(2025, 3, 26), ["2024-10"]),
        ("the blast last October", date(2024, 11, 2), ["2024-10"]),
        ("the blast last November", date(2024, 11, 2), ["2023-11"]),
        ("on Wednesday, November 13, in Baku", date(2024, 11, 14), ["2024-11-13"]),
        ("On November 5, police reported", date(2024, 11, 14), ["2024-11-05"]),
        ("on Friday in Quetta", date(2024, 11, 15), ["2024-11-15"]),  # Friday paper: that Friday
        ("last Friday in Quetta", date(2024, 11, 15), ["2024-11-08"]),
        ("yesterday's attack", date(2024, 3, 27), ["2024-03-26"]),
        ("earlier this month", date(2024, 3, 27), ["2024-03"]),
        ("in 2022, a suicide bomber", date(2024, 3, 27), ["2022"]),
        ("on December 28", date(2025, 1, 3), ["2024-12-28"]),  # year rolls back
        ("on Sunday, September 6", date(2024, 10, 7), ["2024-10-06"]),  # wrong month mended by weekday
        ("on 26 March 2024", None, ["2024-03-26"]),
        ("on Tuesday", None, [None]),  # nothing to resolve against: no guess
    ],
)
def test_dates_resolve_against_publication(text: str, published: date | None, want: list[str | None]) -> None:
    assert iso(text, published) == want


def test_since_and_decade_are_ranges_not_event_dates() -> None:
    dates = find_dates("more than 20 killed since 2021 over the past decade", date(2024, 11, 14))
    assert [d.role for d in dates] == ["range"]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("two Chinese engineers lost their lives when a bomb went off", [("killed", 2, 2, "Chinese")]),
        (
            "The blast killed at least 12 people, including nine Chinese engineers, and injured 28 others.",
            [("killed", 12, 9, "Chinese"), ("injured", 28, None, None)],
        ),
        ("Five Chinese citizens and their Pakistani driver were killed", [("killed", 6, 5, "Chinese")]),
        ("5 killed, 12 injured in Quetta blast", [("killed", 5, None, None), ("injured", 12, None, None)]),
        (
            "The death toll rose to 26, while 62 people were wounded.",
            [("killed", 26, None, None), ("injured", 62, None, None)],
        ),
        (
            "A policeman was martyred and two others sustained injuries.",
            [("killed", 1, None, None), ("injured", 2, None, None)],
        ),
        ("two Chinese nationals were shot and wounded", [("injured", 2, 2, "Chinese")]),
    ],
)
def test_figures(text: str, want: list[tuple[object, ...]]) -> None:
    got = [(f.kind, f.count, f.foreign, f.nationality) for f in find_figures(text) if not f.attackers]
    assert sorted(got, key=str) == sorted(want, key=str)


def test_attackers_are_not_victims() -> None:
    figs = find_figures("Security forces killed four terrorists in the exchange of fire.")
    assert figs and all(f.attackers for f in figs)


def test_actor_aliases_resolve_to_canonical_names() -> None:
    found = [
        a.actor
        for a in get_matcher().find("The Majeed Brigade of the Baloch Liberation Army, the Pakistani Taliban and ISKP")
    ]
    assert found == ["BLA", "BLA", "TTP", "IS-K"]
    assert get_matcher().find("blah bla") == []


def test_sentence_splitting_respects_abbreviations() -> None:
    text = "Police in D.I. Khan said Mr. Khan was hurt. A second blast hit at 9 a.m. Two died."
    parts = [text[s:e] for s, e in split_sentences(text)]
    assert parts[0].startswith("Police in D.I. Khan said Mr. Khan was hurt.")
    assert parts[-1] == "Two died."


def test_clean_drops_boilerplate_and_sidebars() -> None:
    raw = (
        "Loading Now\nBlast in Quetta\nA bomb went off near a market in Quetta on Monday, killing three "
        "people and wounding eleven others, police said.\nRELATED: Two killed in Turbat blast\nTrending\n"
        "Gunmen kill four in Bannu\nSix dead in Kurram clash\nPost Comment\n"
        "The post Blast in Quetta appeared first on Example News."
    )
    cleaned = clean_text(raw)
    assert cleaned.title == "Blast in Quetta"
    assert "Turbat" not in cleaned.text and "Bannu" not in cleaned.text and "Kurram" not in cleaned.text
    assert "Loading" not in cleaned.text and "appeared first" not in cleaned.text


def test_clean_html_finds_main_text_title_and_date() -> None:
    html = (
        "<html><head><title>Blast in Quetta</title><meta property='article:published_time' "
        "content='2024-11-09T10:00:00+05:00'></head><body><nav>Home | World | Sport</nav><article>"
        "<h1>Blast in Quetta</h1><p>A bomb went off near the railway station in Quetta on Saturday, "
        "killing at least 26 people, officials said. Dozens more were taken to hospital in the city.</p>"
        "<p>The Baloch Liberation Army said it carried out the attack, which hit a crowd of passengers "
        "waiting for a train to Peshawar.</p></article><footer>Copyright 2024</footer></body></html>"
    )
    cleaned = clean_html(html)
    assert cleaned.title == "Blast in Quetta"
    assert cleaned.published == date(2024, 11, 9)
    assert "railway station" in cleaned.text and "Copyright" not in cleaned.text


def test_a_malformed_page_date_is_unknown_without_trying_every_language(monkeypatch: pytest.MonkeyPatch) -> None:
    """htmldate's last resort is dateparser in every language it knows (seconds per page); the publication date
    comes from the markup or stays unknown."""
    import htmldate.extractors

    sent: list[str] = []
    real = htmldate.extractors._external_date
    monkeypatch.setattr(htmldate.extractors, "_external_date", lambda text: sent.append(text) or real(text))
    htmldate.extractors.try_date_expr.cache_clear()
    html = (
        "<html><head><title>Blast in Turbat</title><meta property='article:published_time' "
        "content='2023-15-30T21:13:8+13:8'></head><body><article><h1>Blast in Turbat</h1><p>A roadside bomb "
        "hit a police van in Turbat on Sunday 30 July 2023, killing two constables, officials said.</p></article>"
        "</body></html>"
    )
    cleaned = clean_html(html)
    assert sent == []
    assert cleaned.published is None
    assert "roadside bomb" in cleaned.text


def test_segment_flags_title() -> None:
    doc = segment(Doc(text="Blast in Quetta\nA bomb went off. Three died.", title="Blast in Quetta"))
    assert [s.is_title for s in doc.sentences] == [True, False, False]


def test_aggregate_statement_is_not_an_incident() -> None:
    res = extract_text(
        "In the last ten years more than 20 Chinese citizens were killed in attacks across Pakistan, officials said.",
        date(2024, 11, 14),
    )
    assert res.incidents == []


def test_meeting_place_is_not_an_incident_place() -> None:
    res = extract_text(
        "Leaders meet in Baku\nThe two prime ministers met in Baku on Wednesday, November 13, to discuss the "
        "security of workers after an attack in Karachi. On November 5, two Chinese citizens were injured when "
        "gunmen opened fire on their vehicle in Karachi, police said.",
        date(2024, 11, 14),
    )
    assert len(res.incidents) == 1
    inc = res.incidents[0]
    assert inc.place.city == "Karachi" and inc.date == "2024-11-05" and inc.injured_foreign == 2
    assert any(e.kind == "meeting" and e.place == "Baku" for e in res.events)


def test_one_attack_told_in_several_sentences_is_one_incident() -> None:
    res = extract_text(
        "Suicide attack on convoy near Besham\nA suicide bomber rammed an explosives-laden car into a convoy "
        "carrying Chinese engineers near Besham on Tuesday, killing five Chinese nationals and their Pakistani "
        "driver. The engineers were travelling from Islamabad to the Dasu hydropower project. Police said the "
        "vehicle plunged into a ravine after the blast. No group has claimed responsibility for the attack.",
        date(2024, 3, 26),
    )
    assert len(res.incidents) == 1
    inc = res.incidents[0]
    assert inc.event_type == "suicide_bombing"
    assert inc.date == "2024-03-26" and inc.is_new
    assert inc.place.city == "Besham" and inc.place.province == "Khyber Pakhtunkhwa"
    assert (inc.killed_total, inc.killed_foreign, inc.foreign_nationality) == (6, 5, "Chinese")
    assert inc.claimed is False and inc.perpetrator is None
    fields = {e.field for e in inc.evidence}
    assert {"event_type", "date", "place", "killed_total", "killed_foreign", "claimed"} <= fields


def test_background_attack_is_a_separate_old_incident() -> None:
    res = extract_text(
        "Gunmen attack police post in Bannu\nGunmen attacked a police post in Bannu on Monday, killing two "
        "policemen, officials said. In 2022, a suicide bomber killed three Chinese teachers at the University "
        "of Karachi.",
        date(2024, 7, 16),
    )
    by_city = {i.place.city: i for i in res.incidents}
    assert set(by_city) == {"Bannu", "Karachi"}
    assert by_city["Bannu"].is_new and not by_city["Karachi"].is_new
    assert by_city["Karachi"].date == "2022" and by_city["Karachi"].date_precision == "year"
    assert by_city["Bannu"].killed_total == 2


def test_claim_of_responsibility() -> None:
    res = extract_text(
        "Attack on Gwadar port complex\nMilitants stormed the Gwadar Port Authority complex on "
        "Wednesday. The Baloch Liberation Army's Majeed Brigade claimed responsibility.",
        date(2024, 3, 20),
    )
    assert len(res.incidents) == 1
    assert res.incidents[0].perpetrator == "BLA" and res.incidents[0].claimed is True
    assert res.incidents[0].event_type == "attack_on_facility"


@pytest.mark.parametrize(
    ("text", "want"),
    [
        (
            "wounding at least five people, three of them Chinese nationals, officials said.",
            [("injured", 5, 3, "Chinese")],
        ),
        ("Nine Chinese among 12 dead as bus plunges into ravine", [("killed", 12, 9, "Chinese")]),
        ("the toll rose to six: five Chinese engineers and the driver, police said.", [("killed", 6, 5, "Chinese")]),
        ("6 x killed (5 x PRC nationals, 1 x Pakistani driver).", [("killed", 6, 5, "Chinese")]),
        ("Seven of the dead were Japanese tourists.", [("killed", 7, 7, "Japanese")]),
        ("Apart from the attacker, nobody died in the blast.", [("killed", 0, None, None)]),
        ("2 x PRC nationals (technicians at a mill) WIA.", [("injured", 2, 2, "Chinese")]),
        ("Twenty-eight people were injured.", [("injured", 28, None, None)]),
        (
            "hit a vehicle carrying Chinese engineers, killing five of them and their driver.",
            [("killed", 6, 5, "Chinese")],
        ),
        (
            "The death toll from Saturday's bombing has risen to 26, and 62 people are being treated "
            "for their injuries.",
            [("killed", 26, None, None), ("injured", 62, None, None)],
        ),
    ],
)
def test_figures_breakdowns_and_partitives(text: str, want: list[tuple[object, ...]]) -> None:
    got = [(f.kind, f.count, f.foreign, f.nationality) for f in find_figures(text) if not f.attackers]
    assert sorted(got, key=str) == sorted(want, key=str)


def test_dateline_and_statement_dates_are_not_event_dates() -> None:
    res = extract_text(
        "QUETTA, Nov 10 (Wire) - A bomb went off at a checkpoint in Quetta late on Saturday, killing three "
        "policemen, officials said on Sunday.",
        date(2024, 11, 10),
    )
    assert res.incidents[0].date == "2024-11-09"


def test_situation_report_lists_several_attacks() -> None:
    res = extract_text(
        "WEEKLY SITREP\n"
        "a. 20 MAR - GWADAR: Armed assault on the port authority complex. 2 x soldiers killed. BLA claimed.\n"
        "b. 26 MAR - BESHAM (Shangla): Suicide VBIED rammed staff vehicle. 6 x killed (5 x PRC nationals, "
        "1 x Pakistani driver). No claim.",
        date(2024, 3, 27),
    )
    by_city = {i.place.city: i for i in res.incidents}
    assert set(by_city) == {"Gwadar", "Besham"}
    assert by_city["Gwadar"].perpetrator == "BLA" and by_city["Gwadar"].claimed is True
    assert by_city["Besham"].claimed is False and by_city["Besham"].perpetrator is None
    assert (by_city["Besham"].killed_total, by_city["Besham"].killed_foreign) == (6, 5)
    assert by_city["Besham"].event_type == "suicide_bombing" and by_city["Besham"].date == "2024-03-26"


def test_field_report_labelled_lines() -> None:
    res = extract_text(
        "FLASH REPORT\nDTG: 05 NOV 2024 1430 PKT\nWHO: 2 x PRC nationals WIA.\n"
        "WHAT: Guard fired 15 rounds at the two PRC nationals inside a textile mill.\n"
        "WHERE: SITE area, Karachi.\nCLAIM: none.",
        date(2024, 11, 5),
    )
    assert len(res.incidents) == 1
    inc = res.incidents[0]
    assert inc.place.city == "Karachi" and inc.date == "2024-11-05"
    assert (inc.injured_total, inc.injured_foreign, inc.foreign_nationality) == (2, 2, "Chinese")
    assert inc.claimed is False


def test_incident_log_table_rows_are_separate_incidents() -> None:
    res = extract_text(
        "INCIDENT LOG\n"
        "# | Date | District | Location | Event | Casualties | Claim\n"
        "1 | 12 MAR | Kech | Turbat bazaar | IED on a parked motorcycle | 3 x KIA, 7 x WIA | None\n"
        "2 | 13 MAR | Peshawar | Hayatabad checkpoint | Gunmen fire on police checkpoint | 2 x police KIA | TTP\n",
        date(2025, 3, 14),
    )
    by_city = {i.place.city: i for i in res.incidents}
    assert set(by_city) == {"Turbat", "Peshawar"}
    assert (by_city["Turbat"].killed_total, by_city["Turbat"].injured_total) == (3, 7)
    assert by_city["Turbat"].date == "2025-03-12" and by_city["Peshawar"].date == "2025-03-13"


# --- rules added for issue #3 (accuracy); every sentence below is written for the test ---


def test_a_modifier_is_never_a_count() -> None:
    # "two weeks after four soldiers": the weeks are not people, and the soldiers are still counted
    figs = find_figures("The raid came two weeks after four soldiers were killed in an ambush near Kohlu.")
    assert [(f.kind, f.count) for f in figs if not f.attackers] == [("killed", 4)]


@pytest.mark.parametrize(
    ("text", "published", "want"),
    [
        ("the road was hit three years ago", date(2024, 6, 12), ["2021"]),
        ("a bomb went off two months ago", date(2024, 1, 20), ["2023-11"]),
        ("ten days ago gunmen fired on a van", date(2024, 1, 20), ["2024-01-10"]),
    ],
)
def test_units_ago(text: str, published: date, want: list[str]) -> None:
    assert iso(text, published) == want


def test_months_after_counts_calendar_months() -> None:
    res = extract_text(
        "Gunmen shoot trader in Hub\nGunmen shot dead a trader in Hub on Tuesday, police said. "
        "The killing comes five months after two Chinese workers were injured in a shooting at a Hub factory.",
        date(2024, 9, 25),
    )
    old = [i for i in res.incidents if not i.is_new]
    assert [(i.date, i.date_precision) for i in old] == [("2024-04", "month")]


def test_headline_after_blast_with_its_own_toll_is_the_news() -> None:
    res = extract_text(
        "Seven dead as van overturns after blast near Turbat\nSeven people were killed on Friday when a blast hit a "
        "passenger van near Turbat, officials said.",
        date(2024, 5, 10),
    )
    assert len(res.incidents) == 1 and res.incidents[0].is_new


@pytest.mark.parametrize(
    ("sentence", "nationality"),
    [
        ("Police said no foreign guests were staying at the guest house at the time.", None),
        ("No PRC staff affected.", "Chinese"),
        ("No foreign nationals among the victims.", None),
        ("Japanese officials in Tokyo said no member of their staff was hurt.", "Japanese"),
    ],
)
def test_foreigners_unharmed_in_other_words(sentence: str, nationality: str | None) -> None:
    res = extract_text(
        "Gunmen attack hotel in Gwadar\nGunmen opened fire at a hotel in Gwadar on Monday, killing two guards, "
        f"officials said. {sentence}",
        date(2024, 5, 13),
    )
    inc = res.incidents[0]
    assert (inc.killed_total, inc.killed_foreign, inc.injured_foreign) == (2, 0, 0)
    assert inc.foreign_nationality == nationality


def test_two_events_told_in_one_sentence_are_two_incidents() -> None:
    res = extract_text(
        "Review of the year\nThe two attacks the minister listed were the bombing of a market in Quetta last "
        "month, which killed seven people, and a shooting in April near Turbat that killed three labourers.",
        date(2024, 9, 30),
    )
    got = sorted((i.place.city, i.date, i.killed_total) for i in res.incidents)
    assert got == [("Quetta", "2024-08", 7), ("Turbat", "2024-04", 3)]


def test_where_the_wounded_were_taken_is_not_the_scene() -> None:
    res = extract_text(
        "Blast at rally in Khar\nA bomb exploded at a rally in Khar on Sunday, killing nine people. The injured "
        "were taken to hospitals in Peshawar, and the dead to their villages. No group claimed the attack.",
        date(2023, 7, 30),
    )
    assert [i.place.city for i in res.incidents] == ["Khar"]
    assert res.incidents[0].claimed is False


def test_dated_reference_names_an_incident() -> None:
    res = extract_text(
        "Guards vetted again\nFirms are vetting their guards again. The March 3 stabbing of two engineers by a "
        "guard in Karachi was the reason, managers said.",
        date(2024, 6, 1),
    )
    assert [(i.date, i.place.city) for i in res.incidents] == [("2024-03-03", "Karachi")]


def test_trend_then_one_earlier_event_with_its_toll() -> None:
    res = extract_text(
        "Rail review\nThe line has been hit twice in five months, after the bombing at Quetta railway station "
        "last November that killed 26 people.",
        date(2025, 4, 15),
    )
    assert [(i.place.city, i.date, i.killed_total) for i in res.incidents] == [("Quetta", "2024-11", 26)]


def test_attacked_twice_is_a_trend_not_an_incident() -> None:
    res = extract_text(
        "Envoy speaks\nThe ambassador told a seminar in Islamabad this week that Chinese citizens had been "
        "attacked twice in six months.",
        date(2024, 10, 31),
    )
    assert res.incidents == []


def test_grenades_in_an_armed_attack_keep_it_an_armed_assault() -> None:
    res = extract_text(
        "Gunmen attack police van in Kech\nGunmen attacked a police van in Kech on Monday, officials said. "
        "Police said the attackers used rifles and grenades and that the firing lasted ten minutes. "
        "Nobody in the van was hurt.",
        date(2024, 6, 3),
    )
    assert [i.event_type for i in res.incidents] == ["armed_assault"]
    assert (res.incidents[0].killed_total, res.incidents[0].injured_total) == (0, 0)


@pytest.mark.parametrize(
    ("sentence", "want"),
    [
        ("On May 2 the air base at Mianwali was attacked by militants; two guards were killed.", "attack_on_facility"),
        ("2.2 PANJGUR - FC camp attacked: car bomb at the gate, then infiltration of gunmen.", "attack_on_facility"),
        ("On May 2 a VBIED exploded near a bazaar in Panjgur, killing two people.", "bombing"),
        ("On May 2 a suicide VBIED struck a convoy near Panjgur, killing two soldiers.", "suicide_bombing"),
        ("On May 2 an armed group stopped a bus near Panjgur and killed four passengers.", "armed_assault"),
    ],
)
def test_event_type_cues(sentence: str, want: str) -> None:
    res = extract_text(sentence, date(2024, 5, 3))
    assert [i.event_type for i in res.incidents] == [want]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        # "them" is the attackers: the police are the subject of "left"
        ("The attackers fired on the post, and the response of the police left three of them dead.", []),
        ("Militants ambushed the soldiers, killing two of them.", [("killed", 2, None)]),
        ("Nobody in the bus or its escort was hurt.", [("killed", 0, None), ("injured", 0, None)]),
        (
            "Compensation went to the families of four Chinese engineers who were killed, and of their local "
            "interpreter, who also died.",
            [("killed", 5, 4)],
        ),
        ("The blast killed six Korean tourists visiting the fort and their guide.", [("killed", 7, 6)]),
        ("The bomb killed two people and wounded more than a dozen.", [("killed", 2, None)]),
        ("Bus conductor reportedly wounded.", [("injured", 1, None)]),
        ("Their Pakistani guard was injured.", [("injured", 1, 0)]),
        ("A bomb went off two hours after four policemen were shot dead.", [("killed", 4, None)]),
    ],
)
def test_figures_rules_for_accuracy(text: str, want: list[tuple[object, ...]]) -> None:
    got = [(f.kind, f.count, f.foreign) for f in find_figures(text) if not f.attackers]
    assert sorted(got, key=str) == sorted(want, key=str)


def test_anonymous_figure_does_not_beat_an_attributed_one() -> None:
    res = extract_text(
        "Attack on checkpost in Zhob\nMilitants attacked a checkpost in Zhob on Friday and three soldiers were "
        "killed, the military said. A security official, speaking anonymously, said five soldiers had been killed.",
        date(2024, 7, 12),
    )
    assert res.incidents[0].killed_total == 3


def test_claim_of_a_wave_covers_every_attack() -> None:
    res = extract_text(
        "Attacks across the province\nIn Kalat, gunmen killed five labourers early on Monday, officials said. "
        "In Mastung, militants attacked a Levies post on Monday and killed two guards. The BLF claimed the "
        "series of attacks and said its fighters had led the raid in Mastung.",
        date(2024, 8, 26),
    )
    assert sorted((i.place.city, i.perpetrator, i.claimed) for i in res.incidents) == [
        ("Kalat", "BLF", True),
        ("Mastung", "BLF", True),
    ]


def test_clause_claim_holds_in_a_sentence_that_also_says_nobody_claimed() -> None:
    res = extract_text(
        "Notes\nOn May 4, gunmen stormed a camp in Panjgur; one guard was killed. On May 9 a bomb killed three "
        "people near Hub. The Panjgur raid was claimed by the BLF; nobody claimed the Hub bombing.",
        date(2024, 7, 1),
    )
    by_city = {i.place.city: i for i in res.incidents}
    assert (by_city["Panjgur"].perpetrator, by_city["Panjgur"].claimed) == ("BLF", True)
    assert (by_city["Hub"].perpetrator, by_city["Hub"].claimed) == (None, False)


def test_news_ranked_in_a_series_stays_news() -> None:
    res = extract_text(
        "Bomb hits van near Hub\nA bomb hit a van near Hub on Monday, killing four workers, police said. "
        "Monday's bombing was the third attack on the factory's staff this year.",
        date(2024, 4, 9),
    )
    assert [i.is_new for i in res.incidents] == [True]


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("It said two of its nationals had died and one was wounded.", [("killed", 2, 2), ("injured", 1, 1)]),
        ("The embassy said a second Korean national was among the injured.", [("injured", 1, 1)]),
        ("Five other people were hurt, one of them a Japanese engineer.", [("injured", 5, 1)]),
        ("(3 x PRC KIA)", [("killed", 3, 3)]),
    ],
)
def test_foreign_victims_stated_indirectly(text: str, want: list[tuple[object, ...]]) -> None:
    got = [(f.kind, f.count, f.foreign) for f in find_figures(text) if not f.attackers]
    assert sorted(got, key=str) == sorted(want, key=str)


def test_victims_described_as_foreigners_in_a_separate_sentence() -> None:
    res = extract_text(
        "Gunman wounds two at clinic in Hyderabad\nA gunman shot and wounded two people at a clinic in Hyderabad "
        "on Monday, police said. A police officer described both victims as Chinese.",
        date(2024, 2, 6),
    )
    inc = res.incidents[0]
    assert (inc.injured_total, inc.injured_foreign, inc.foreign_nationality) == (2, 2, "Chinese")


def test_named_pakistani_victim_means_no_foreigner_of_that_kind() -> None:
    res = extract_text(
        "Bomb kills Chinese engineers near Thakot\nThree Chinese engineers were killed on Monday when a bomb hit "
        "their car near Thakot, police said. Their Pakistani guard was injured.",
        date(2024, 6, 3),
    )
    inc = res.incidents[0]
    assert (inc.killed_foreign, inc.injured_total, inc.injured_foreign) == (3, 1, 0)


def test_motive_told_after_revenge_is_not_a_second_incident() -> None:
    res = extract_text(
        "Blast at market in Bannu\nA bomb went off in a market in Bannu on Friday, killing six people, police "
        "said. A militant commander called the bombing revenge for a fighter killed in Khost last year.",
        date(2024, 5, 17),
    )
    assert [(i.place.city, i.date) for i in res.incidents] == [("Bannu", "2024-05-17")]


def test_listed_event_without_a_place_takes_the_city_of_the_passage() -> None:
    res = extract_text(
        "Year in review\nPeshawar stayed tense all year. The bombing of a bus in Peshawar last March killed "
        "nine people, and the June 2 stabbing of a teacher by a student showed a new kind of threat.",
        date(2025, 1, 10),
    )
    got = sorted((i.date, i.place.city, i.event_type) for i in res.incidents)
    assert got == [("2024-03", "Peshawar", "bombing"), ("2024-06-02", "Peshawar", "armed_assault")]


# --- places no gazetteer lists, tied by the text to a known district or city ---


@pytest.mark.parametrize(
    ("sentence", "city", "district", "precision"),
    [
        (
            "Gunmen ambushed a van in the Tarkai Kalay area of Lower Kurram on Monday.",
            "Tarkai Kalay",
            "Kurram",
            "district",
        ),
        ("A bomb hit a Levies vehicle at Sheikh Wasil in Zhob district on Monday.", "Sheikh Wasil", "Zhob", "district"),
        ("Militants blocked the highway near Gidarband (Kalat) on Monday night.", "Gidarband", "Kalat", "district"),
        ("A grenade was thrown at a shop in the Pashtunabad area of Quetta on Monday.", "Quetta", "Quetta", "city"),
    ],
)
def test_an_unlisted_village_takes_its_districts_place(sentence: str, city: str, district: str, precision: str) -> None:
    res = extract_text("Attack\n" + sentence + " Two people were killed, police said.", date(2025, 6, 4))
    assert len(res.incidents) == 1
    place = res.incidents[0].place
    assert (place.city, place.district, place.precision) == (city, district, precision)
    assert place.lat is not None and place.province is not None


def test_an_unlisted_village_is_recognised_where_it_recurs() -> None:
    res = extract_text(
        "Four die in Tarkai Kalay ambush\nGunmen fired on a passenger coach in the Tarkai Kalay area of Lower "
        "Kurram on Monday, killing four travellers. Tarkai Kalay has seen two such attacks this year.",
        date(2025, 6, 4),
    )
    assert [i.place.city for i in res.incidents] == ["Tarkai Kalay"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Police said the killing of Ahmed Raza Khan in Kech district was a targeted attack.",
        "Gunmen attacked the Deputy Commissioner of Kech district on Monday, killing two guards.",
        "A bomb went off near Government High School in Kech district on Monday, killing two people.",
        "Two soldiers were killed in the Cantonment area of Bannu on Monday.",
    ],
)
def test_people_and_institutions_are_not_villages(sentence: str) -> None:
    res = extract_text("Attack\n" + sentence, date(2025, 6, 4))
    assert all(not i.place.city or i.place.city in ("Turbat", "Bannu") for i in res.incidents)
    assert all(i.place.precision != "district" or i.place.city is None for i in res.incidents)


@pytest.mark.parametrize(
    ("sentence", "killed"),
    [
        ("The nephew of a former district nazim was shot dead by gunmen in Kharan on Monday.", 1),
        ("Shah Wali Khan, a retired school teacher, was gunned down outside his home in Kharan on Monday.", 1),
        (
            "Gunmen stopped a coach near Kharan on Monday, checked the papers of passengers and shot six of them dead.",
            6,
        ),
        ("Gunmen shot three labourers dead at a brick kiln in Kharan on Monday.", 3),
    ],
)
def test_victims_told_without_a_number(sentence: str, killed: int) -> None:
    res = extract_text("Attack\n" + sentence, date(2025, 6, 4))
    assert [i.killed_total for i in res.incidents] == [killed]


@pytest.mark.parametrize(
    "sentence",
    [
        "An explosives-laden pickup rammed into a Frontier Corps convoy near Kharan on Monday, killing seven soldiers.",
        "The attacker drove a bomb-laden car into the convoy near Kharan on Monday, killing seven soldiers.",
    ],
)
def test_a_vehicle_driven_into_its_target_with_explosives_is_a_suicide_bombing(sentence: str) -> None:
    res = extract_text("Attack\n" + sentence, date(2025, 6, 4))
    assert [i.event_type for i in res.incidents] == ["suicide_bombing"]


def test_a_parked_car_bomb_is_a_bombing() -> None:
    res = extract_text(
        "Attack\nA bomb planted in a parked car went off near a market in Kharan on Monday, killing two people.",
        date(2025, 6, 4),
    )
    assert [i.event_type for i in res.incidents] == ["bombing"]


def test_an_event_n_units_before_the_main_clause_is_counted_back() -> None:
    res = extract_text(
        "Market reopens\nTwo years after the bombing at the vegetable market in Parachinar that killed 24 people, "
        "traders reopened the rebuilt market on Monday.",
        date(2019, 6, 10),
    )
    assert [(i.date, i.date_precision, i.is_new) for i in res.incidents] == [("2017-06", "month", False)]


def test_where_an_accord_was_signed_is_not_where_the_attack_was() -> None:
    res = extract_text(
        "Accord signed\nElders signed a ceasefire agreement in Hangu on Tuesday, a month after an ambush on a "
        "convoy in Orakzai killed 11 people.",
        date(2025, 6, 4),
    )
    assert [(i.place.district, i.killed_total) for i in res.incidents] == [("Orakzai", 11)]


# --- incident logs as tables: the header says what each column means ---

_LOG = (
    "WEEKLY INCIDENT LOG\n"
    "| Ser | Date | Location | District | Incident | Killed | Injured | Claimed by |\n"
    "|-----|------|----------|----------|----------|--------|---------|------------|\n"
    "| 1 | 03 Mar 2025 | Kuchlak police station | Quetta | Rocket and gunfire attack on the station. Repulsed | 2 | 3 "
    "| TTP |\n"
    "| 2 | 04 Mar 2025 | Dalbandin bazaar | Chagai | IED blast near a polling office | nil | 0 | None |\n"
    "| 3 | 05 Mar 2025 | Turbat | Kech | Grenade thrown at an election office | 1 | 6 | Not known |\n"
    "Total for the week: 3 incidents, 3 killed, 9 injured.\n"
)


def test_a_table_row_reads_its_columns_by_the_header() -> None:
    res = extract_text(_LOG, date(2025, 3, 8))
    rows = {i.place.city: i for i in res.incidents}
    assert set(rows) == {"Kuchlak", "Dalbandin", "Turbat"}  # Kuchlak: an unlisted place in the Quetta column
    got = {c: (i.date, i.killed_total, i.injured_total, i.perpetrator, i.claimed) for c, i in rows.items()}
    assert got == {
        "Kuchlak": ("2025-03-03", 2, 3, "TTP", True),
        "Dalbandin": ("2025-03-04", 0, 0, None, False),
        "Turbat": ("2025-03-05", 1, 6, None, None),  # the total row is no part of the last row
    }
    assert rows["Kuchlak"].place.district == "Quetta" and rows["Kuchlak"].place.precision == "district"


def test_table_header_keys() -> None:
    from corridor.extract.tables import header_keys

    assert header_keys("| # | Date | Place | Type | KIA | WIA | Claim |") == [
        "serial",
        "date",
        "place",
        "event",
        "killed",
        "injured",
        "claim",
    ]
    assert header_keys("| 1 | 03 Mar | Turbat | blast | 2 | 3 | none |") is None


def test_a_location_field_opening_with_an_unlisted_village() -> None:
    res = extract_text(
        "INCIDENT NOTE\nDate: 14 June 2025\nLocation: Gidarband, Kalat\nEvent: Armed men fired on vehicles of a "
        "construction company.\nCasualties: 2 guards killed, 1 driver injured\nClaim: None",
        date(2025, 6, 15),
    )
    assert [(i.place.city, i.place.district, i.killed_total, i.injured_total) for i in res.incidents] == [
        ("Gidarband", "Kalat", 2, 1)
    ]


@pytest.mark.parametrize(
    ("sentence", "city", "district", "killed"),
    [
        (
            "A policeman guarding polio workers was shot dead in Bajaur's Mamond tehsil on Monday.",
            "Mamond",
            "Bajaur",
            1,
        ),
        ("Four labourers were gunned down in Kech's Buleda area on Monday.", "Buleda", "Kech", 4),
    ],
)
def test_a_locality_named_by_the_possessive_of_its_district(
    sentence: str, city: str, district: str, killed: int
) -> None:
    res = extract_text("Attack\n" + sentence, date(2025, 6, 4))
    assert [(i.place.city, i.place.district, i.killed_total) for i in res.incidents] == [(city, district, killed)]
    # Buleda is a gazetteer town: its own coordinates (city precision); Mamond is not: its district's
    assert res.incidents[0].place.precision == ("city" if city == "Buleda" else "district")


def test_the_wounded_who_died_are_no_count_of_wounded_and_those_treated_are() -> None:
    res = extract_text(
        "Blast\nA blast at a rally in Kharan killed 14 people on Monday night. By Tuesday the toll had risen to 15 "
        "after one of the wounded died in hospital; 35 others were still being treated.",
        date(2025, 6, 3),
    )
    assert [(i.killed_total, i.injured_total) for i in res.incidents] == [(15, 35)]


def test_a_wire_story_of_two_attacks_keeps_each_its_own_place_claim_and_figures() -> None:
    res = extract_text(
        "Gunmen kill five in Orakzai, bomb hurts police in Kohat\n"
        "KOHAT (Wire) - Gunmen ambushed a passenger van in Orakzai district on Thursday, killing five people, a "
        "police official said.\n"
        "The attack took place near the village of Shin Tangi on the road linking Hangu with Kalaya. No group "
        "claimed responsibility.\n"
        "In a separate incident, a roadside bomb struck a police vehicle on the outskirts of Kohat, wounding three "
        "officers, police said.\n"
        "The district has seen repeated sectarian clashes, in which more than 60 people have died since July.",
        date(2025, 1, 17),
    )
    got = {
        (i.event_type, i.place.city, i.place.district, i.killed_total, i.injured_total, i.claimed)
        for i in res.incidents
    }
    assert got == {
        ("armed_assault", "Shin Tangi", "Orakzai", 5, None, False),  # the village of the district told before
        ("bombing", "Kohat", "Kohat", None, 3, None),  # the headline's second event, its figure from its paragraph
    }


@pytest.mark.parametrize(
    ("when", "want"),
    [
        ("on the night between Saturday and Sunday", "2025-03-01"),
        ("on the intervening night of Friday and Saturday", "2025-02-28"),
        ("on 28-02-2025", "2025-02-28"),
        ("on 02/13/2025", "2025-02-13"),  # month first only where the day cannot be a month
    ],
)
def test_onset_nights_and_numeric_dates(when: str, want: str) -> None:
    res = extract_text(
        f"Attack\nMilitants attacked a Levies post in Kharan {when}, killing four personnel.", date(2025, 3, 4)
    )
    assert [(i.date, i.event_type) for i in res.incidents] == [(want, "attack_on_facility")]


def test_a_summary_period_makes_its_incidents_news() -> None:
    from corridor.extract.incidents import report_period
    from corridor.extract.pipeline import DEFAULT, prepare
    from corridor.ingest.reader import RawDocument

    text = (
        "WEEKLY SECURITY SUMMARY\nPeriod: 03-09 FEB 2025 | Issued: 10 FEB 2025\n"
        "a. 03 FEB - KHARAN: Gunmen fired on a Levies vehicle. 2 x Levies KIA.\n"
        "b. 08 FEB - KECH: IED on a road-construction camp vehicle. 1 x driver WIA.\n"
    )
    doc = DEFAULT(prepare(RawDocument(data=text.encode(), text=text, kind="text"), date(2025, 2, 10)))
    assert report_period(doc) == (date(2025, 2, 3), date(2025, 2, 9))
    assert sorted((i.date, i.is_new) for i in doc.incidents) == [("2025-02-03", True), ("2025-02-08", True)]


def test_the_nationality_of_foreigners_targeted_with_no_toll_yet() -> None:
    res = extract_text(
        "FLASH\nWHAT: Explosion on the airport road in Karachi as a convoy transporting PRC nationals was passing. "
        "Casualties unconfirmed.",
        date(2025, 6, 4),
    )
    assert [(i.foreign_nationality, i.killed_foreign) for i in res.incidents] == [("Chinese", None)]


@pytest.mark.parametrize(
    "sentence",
    [
        "A gunman opened fire at the gate of a mosque in Kharan during prayers before blowing himself up inside, "
        "killing 12 people.",
        "The attacker shot two guards at the entrance of the imambargah in Kharan, then detonated his vest among the "
        "worshippers, killing 12.",
    ],
)
def test_gunfire_then_a_suicide_blast_is_a_suicide_bombing(sentence: str) -> None:
    res = extract_text("Attack\n" + sentence, date(2025, 6, 4))
    assert [(i.event_type, i.killed_total) for i in res.incidents] == [("suicide_bombing", 12)]


def test_shahadat_is_a_death() -> None:
    res = extract_text(
        "Attack\nTwo soldiers embraced shahadat when militants attacked a check post in Kharan on Monday.",
        date(2025, 6, 4),
    )
    assert [i.killed_total for i in res.incidents] == [2]


@pytest.mark.parametrize(
    ("claim", "perpetrator"),
    [
        (
            "Ehsanullah Ehsan, a spokesman for Jamaat-ul-Ahrar, told reporters that the group's fighters had carried "
            "it out.",
            "JuA",
        ),
        ("Jamaat-ul-Ahrar said it was responsible.", "JuA"),
        ("Hizbul Ahrar took credit for the bombing.", "HuA"),
        ("A little-known group calling itself Jaish al-Fursan claimed responsibility.", "Jaish al-Fursan"),
    ],
)
def test_claims_in_other_words_and_groups_the_list_lacks(claim: str, perpetrator: str) -> None:
    res = extract_text(f"Blast\nA bomb killed four soldiers in Kharan on Sunday. {claim}", date(2025, 3, 11))
    assert [(i.perpetrator, i.claimed) for i in res.incidents] == [(perpetrator, True)]


@pytest.mark.parametrize(
    ("sentence", "killed"),
    [
        ("Police put the death toll at 12, while a hospital spokesman said 15 people had died.", 12),
        ("A bomb killed 12 people. Later in the day the toll rose to 15.", 15),  # a rising toll: the latest
        ("The bomb killed between 12 and 15 people.", 12),
        ("The bomb killed 12-15 people.", 12),
    ],
)
def test_competing_counts_give_the_lowest_and_a_rising_toll_the_latest(sentence: str, killed: int) -> None:
    res = extract_text(f"Blast\nA bomb tore through a market in Kharan on Sunday. {sentence}", date(2025, 3, 11))
    assert [i.killed_total for i in res.incidents] == [killed]


@pytest.mark.parametrize(
    ("sentence", "want"),
    [
        (
            "Gunmen fired on a van carrying Japanese nationals in Kharan on Monday; all five escaped unhurt but a "
            "guard was injured.",
            (None, 1, 0, 0, "Japanese"),
        ),
        (
            "Two Chinese engineers were among 11 people killed when a bomb hit a bus in Kharan on Monday.",
            (11, None, 2, None, "Chinese"),
        ),
        (
            "A suicide bomber struck a convoy of Chinese engineers in Kharan on Monday. The engineers escaped unhurt, "
            "but two children playing nearby were killed.",
            (2, None, 0, 0, "Chinese"),
        ),
    ],
)
def test_foreigners_targeted_hurt_or_unharmed(sentence: str, want: tuple[object, ...]) -> None:
    res = extract_text("Attack\n" + sentence, date(2025, 3, 11))
    got = [
        (i.killed_total, i.injured_total, i.killed_foreign, i.injured_foreign, i.foreign_nationality)
        for i in res.incidents
    ]
    assert got == [want]


@pytest.mark.parametrize(
    ("sentence", "event_type", "nationality"),
    [
        (
            "Militants set fire to six trucks and a crane at a road construction site near Kharan on Monday night.",
            "attack_on_facility",
            None,
        ),
        (
            "Gunmen stopped a bus near Kharan on Monday, shot dead nine passengers and set fire to the vehicle.",
            "armed_assault",
            None,
        ),  # burning after a shooting leaves it an armed assault
        (
            "Militants blew up the track and seized a passenger train with 300 people aboard near Kharan on Monday.",
            "hijacking",
            None,
        ),
        (
            "Armed men kidnapped two Chinese engineers from a road project near Kharan on Monday.",
            "kidnapping",
            "Chinese",
        ),
    ],
)
def test_arson_hijacking_and_kidnapping(sentence: str, event_type: str, nationality: str | None) -> None:
    res = extract_text("Attack\n" + sentence, date(2025, 3, 11))
    assert [(i.event_type, i.foreign_nationality) for i in res.incidents] == [(event_type, nationality)]


def test_those_still_in_hospital_are_wounded() -> None:
    res = extract_text(
        "Blast\nThe death toll from Friday's blast in Kharan has risen to 16, officials said on Saturday, with more "
        "than 20 people still in hospital.",
        date(2025, 3, 11),
    )
    assert [(i.killed_total, i.injured_total) for i in res.incidents] == [(16, 20)]


@pytest.mark.parametrize(
    ("text", "province", "city"),
    [
        (
            "ISLAMABAD (AP) — At least a dozen people were killed Sunday when a bomb exploded at a market in northwest "
            "Pakistan, police said.",
            "Khyber Pakhtunkhwa",
            None,
        ),  # the dateline is where it was filed, not the scene
        ("Blast\nA bomb killed three soldiers in Pakistan's restive southwest on Monday.", "Balochistan", None),
        ("QUETTA: Two policemen were shot dead on Monday.", "Balochistan", "Quetta"),  # no other place: the dateline
    ],
)
def test_wire_regions_and_datelines(text: str, province: str, city: str | None) -> None:
    res = extract_text(text, date(2024, 11, 12))
    assert [(i.place.province, i.place.city) for i in res.incidents] == [(province, city)]


def test_a_roundup_of_separate_attacks_is_its_items_not_its_sum() -> None:
    res = extract_text(
        "Militants kill 7 in separate attacks across Balochistan\n"
        "QUETTA: Militants killed at least seven people in three separate attacks across Balochistan on Wednesday, "
        "officials said.\n"
        "In the first attack, gunmen opened fire on a vehicle of the Levies force near Dalbandin in Chagai district, "
        "killing three personnel.\n"
        "Hours later, a remote-controlled bomb struck a Frontier Corps patrol in the Dasht area of Kech, killing two "
        "soldiers and wounding four.\n"
        "In Quetta, unidentified men on a motorcycle shot dead two brothers who ran a shop on Kasi Road.\n"
        "No group claimed responsibility for any of the attacks.",
        date(2025, 3, 6),
    )
    got = {(i.event_type, i.place.city, i.date, i.killed_total, i.injured_total, i.claimed) for i in res.incidents}
    assert got == {
        ("armed_assault", "Dalbandin", "2025-03-05", 3, None, False),
        ("bombing", "Dasht", "2025-03-05", 2, 4, False),  # Dasht: an unlisted area of Kech
        ("targeted_killing", "Quetta", "2025-03-05", 2, None, False),
    }


@pytest.mark.parametrize(
    ("sentence", "killed", "injured"),
    [
        ("The blast in Kharan on Monday claimed two lives and injured five.", 2, 5),
        ("At least 14 lives were lost in the blast in Kharan on Monday.", 14, None),
        ("The blast in Kharan on Monday cost the lives of three soldiers.", 3, None),
    ],
)
def test_deaths_counted_as_lives(sentence: str, killed: int, injured: int | None) -> None:
    res = extract_text("Blast\n" + sentence, date(2025, 3, 11))
    assert [(i.killed_total, i.injured_total) for i in res.incidents] == [(killed, injured)]


@pytest.mark.parametrize(
    ("when", "want"),
    [
        ("on the 5th", ("2025-03-05", "day")),
        ("on the 20th", ("2025-02-20", "day")),  # still to come this month: last month's
        ("on Wednesday last week", ("2025-03-05", "day")),
        ("at the weekend", ("2025-03", "month")),
    ],
)
def test_more_relative_days(when: str, want: tuple[str, str]) -> None:
    res = extract_text(f"Blast\nA bomb went off in Kharan {when}, killing two people.", date(2025, 3, 11))
    assert [(i.date, i.date_precision) for i in res.incidents] == [want]


def test_a_political_story_recalling_attacks_by_their_month() -> None:
    res = extract_text(
        "Panel seeks security report\nISLAMABAD: A Senate panel on Tuesday asked for a report on the security of "
        "foreign workers.\nIts chairman said Chinese engineers had been targeted repeatedly, recalling the March "
        "suicide bombing in Besham that killed five Chinese nationals and their driver, and the October blast near "
        "Karachi airport.\nAn official said terrorism incidents had risen by 70 percent this year, with more than "
        "900 people killed in the first nine months.",
        date(2024, 11, 19),
    )
    got = {(i.event_type, i.date, i.place.city, i.killed_total, i.killed_foreign, i.is_new) for i in res.incidents}
    assert got == {
        ("suicide_bombing", "2024-03", "Besham", 6, 5, False),
        ("bombing", "2024-10", "Karachi", None, None, False),  # the 900 of nine months: statistics, no incident
    }


def test_attackers_counted_as_some_of_them_and_an_earlier_attack_told_after() -> None:
    res = extract_text(
        "Soldiers martyred in Kharan\nFive soldiers were martyred and four injured when terrorists attacked a check "
        "post in Kharan late on Saturday night, the ISPR said on Sunday. The troops responded, killing six of the "
        "attackers.\nEarlier this month, four policemen were killed when militants ambushed a police van in the same "
        "district.",
        date(2024, 3, 17),
    )
    got = sorted((i.date, i.killed_total, i.injured_total, i.is_new) for i in res.incidents)
    assert got == [("2024-03", 4, None, False), ("2024-03-16", 5, 4, True)]


def test_a_guess_at_the_group_names_no_perpetrator() -> None:
    res = extract_text(
        "Shooting\nA Chinese national was injured when two men on a motorcycle opened fire on his car in Karachi on "
        "Thursday. Police said they were investigating whether the attack was linked to the Sindhudesh "
        "Revolutionary Army.",
        date(2025, 2, 7),
    )
    assert [(i.perpetrator, i.injured_foreign) for i in res.incidents] == [(None, 1)]


@pytest.mark.parametrize(
    ("sentence", "city", "province"),
    [
        ("A blast in the Saddar area of Rawalpindi on Monday injured six people.", "Rawalpindi", "Punjab"),
        ("Six people were injured in a cracker blast in Model Town, Lahore, on Monday.", "Lahore", "Punjab"),
        (
            "Two soldiers were killed in the Daraban area of Dera Ismail Khan on Monday.",
            "Daraban",
            "Khyber Pakhtunkhwa",
        ),
    ],
)
def test_a_place_told_as_part_of_the_next(sentence: str, city: str, province: str) -> None:
    """Saddar is also Karachi's; Model Town a town of its own in the gazetteer; Daraban lies in D.I. Khan district."""
    res = extract_text("Blast\n" + sentence, date(2025, 3, 11))
    assert [(i.place.city, i.place.province) for i in res.incidents] == [(city, province)]

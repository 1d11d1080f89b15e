"""The Word summary as a buyer's colleague opens it: rendered, read back with python-docx, and
searched for the headings and for the buyer's own words, however oddly they were typed."""

from __future__ import annotations

import dataclasses
import io
import struct
import zlib

import docx
import pytest
from docx.document import Document as DocxDocument
from docx.shared import Cm
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.report.context import (
    QA,
    AdviceRow,
    CollaborationText,
    MeasureRow,
    Report,
    Section,
    ThemeRow,
)
from flows.report.docx_doc import clean, docx_texts, report_docx

T = docx_texts()

NASTY = 'Eigen <doel> & "zo" 🌱 met een bel\x07 en\x0b een tab\tklaar'
NASTY_CLEAN = 'Eigen <doel> & "zo" 🌱 met een bel en een tab\tklaar'
LONG_GOAL = ("In 2028 halveren we de CO2-uitstoot van de catering ten opzichte van 2024. " * 40)[
    :3000
]

HEADINGS = [
    T("ambition.heading"),
    T("themes.heading"),
    T("requirements.heading"),
    T("award.heading"),
    T("partner.heading"),
    T("collaboration.heading"),
    T("monitoring.heading"),
    T("context.heading"),
    T("open_points.heading"),
]


def tiny_png() -> bytes:
    """A valid 1×1 PNG, so the document tests do not depend on the chart renderer."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def full_report(**changes: object) -> Report:
    themes = (
        ThemeRow("Klimaat", 1, 3, "Ambitieus", NASTY, "CO2-uitstoot (ton CO2 per jaar)"),
        ThemeRow("Gezondheid en vitaliteit", 2, 2, "Significant", None, None),
        ThemeRow("Social return", 3, 1, "Basis", None, "Social return als % van de loonsom"),
        ThemeRow("Bereikbaarheid", 4, 0, "Geen", None, None),
    )
    report = Report(
        title="Catering <hoofdkantoor> & co 2027",
        organisation="Gemeente Zuidstad",
        category="Catering",
        date="22-11-2025",
        ambition='Een klimaatneutrale catering in 2030 — "lekker én duurzaam" 🍽️',
        ambition_is_own=True,
        org_ambition="Zuidstad is in 2035 circulair.",
        themes=themes,
        requirements=(
            AdviceRow(
                "Klimaat",
                1,
                "Het minimum voor dit thema hoort in de eisen.",
                None,
                None,
                (
                    MeasureRow("Minstens 50% plantaardige hoofdgerechten.", "eis", "Aandeel (%)"),
                    MeasureRow("Emissievrije bevoorrading.", "contractbepaling", ""),
                ),
            ),
            AdviceRow(
                "Social return",
                1,
                "Basisniveau: uitsluiten wat niet kan.",
                "Vijf werkplekken voor mensen met afstand tot werk.",
                "Social return als % van de loonsom",
                (MeasureRow("5% van de loonsom.", "contractbepaling", "Loonsom (%)"),),
            ),
            AdviceRow("Bereikbaarheid", None, "Geen voorbeeld beschikbaar.", None, None, ()),
        ),
        award_criteria=(
            AdviceRow(
                "Klimaat",
                3,
                "Hoogste prioriteit en niveau 3.",
                NASTY,
                "CO2-uitstoot (ton CO2 per jaar)",
                (MeasureRow("Plan van aanpak CO2 per maaltijd.", "gunningscriterium", "kg CO2"),),
                ("Vraag een plan van aanpak en beoordeel dat in de gunning.",),
            ),
        ),
        no_ambition=("Toekomstbestendigheid",),
        award_note="Hoogstens 3 gunningscriteria: met meer tellen ze elk te weinig mee.",
        general_minimum="Wettelijke eisen en MVI-criteria (basis)",
        general_distinction="Een plan van aanpak met meetbare doelen",
        partner=(QA("Welke houding verwacht je?", "Open & proactief <altijd>"),),
        collaboration=CollaborationText(
            "Relationeel",
            "Samen de ambitie verder uitwerken.",
            ("Looptijd: 4 jaar of langer",),
            "Je voorkeur was transactioneel.",
        ),
        kpis=("Klimaat: CO2-uitstoot (ton CO2 per jaar)",),
        reporting="Elk kwartaal",
        evaluation=("Na het eerste jaar", "Jaarlijks"),
        owner="Contractmanager",
        roadmap=True,
        context=(
            Section("Voorbereiding", (QA("Wat is de looptijd?", "4 jaar\nmet 2 × 2 jaar optie"),)),
        ),
        open_points=("De indicator voor Gezondheid en vitaliteit ontbreekt nog.",),
    )
    return dataclasses.replace(report, **changes)  # type: ignore[arg-type]


def almost_empty_report() -> Report:
    return Report(
        title="Nieuwe aanbesteding",
        organisation=None,
        category=None,
        date="01-01-2026",
        ambition="",
        ambition_is_own=False,
        org_ambition=None,
        themes=(),
        requirements=(),
        award_criteria=(),
        no_ambition=(),
        award_note="",
        general_minimum=None,
        general_distinction=None,
        partner=(),
        collaboration=CollaborationText("Nog onbekend", "", (), None),
        kpis=(),
        reporting=None,
        evaluation=(),
        owner=None,
        roadmap=None,
        context=(),
        open_points=("Kies de thema's van het waardenwiel.", "Geef de organisatie op."),
    )


def read(data: bytes) -> DocxDocument:
    return docx.Document(io.BytesIO(data))


def paragraphs(doc: DocxDocument) -> list[str]:
    return [p.text for p in doc.paragraphs]


def cells(doc: DocxDocument) -> list[list[list[str]]]:
    return [[[c.text for c in row.cells] for row in table.rows] for table in doc.tables]


def everything(doc: DocxDocument) -> str:
    parts = paragraphs(doc)
    parts += [text for table in cells(doc) for row in table for text in row]
    return "\n".join(parts)


def headings(doc: DocxDocument, level: int = 1) -> list[str]:
    return [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name == f"Heading {level}"
    ]


def test_all_sections_appear_in_order() -> None:
    doc = read(report_docx(full_report(), tiny_png()))
    assert headings(doc) == HEADINGS
    assert T("no_ambition.heading") in headings(doc, level=2)
    assert "Voorbereiding" in headings(doc, level=2)


def test_title_page_names_the_tender_and_the_tool() -> None:
    doc = read(report_docx(full_report(), None))
    first = paragraphs(doc)[:8]
    assert doc.paragraphs[0].style is not None
    assert doc.paragraphs[0].style.name == "Title"
    assert first[0] == "Catering <hoofdkantoor> & co 2027"
    assert any("Gemeente Zuidstad" in p for p in first)
    assert any("Catering" in p and T("category") in p for p in first)
    assert any("22-11-2025" in p for p in first)
    assert T("made_with") in first


def test_buyers_own_words_survive_markup_emoji_and_control_characters() -> None:
    doc = read(report_docx(full_report(), None))
    text = everything(doc)
    assert NASTY_CLEAN in text
    assert "\x07" not in text
    assert "\x0b" not in text
    for words in (
        'Een klimaatneutrale catering in 2030 — "lekker én duurzaam" 🍽️',
        "Zuidstad is in 2035 circulair.",
        "Open & proactief <altijd>",
        "4 jaar\nmet 2 × 2 jaar optie",
        "Vijf werkplekken voor mensen met afstand tot werk.",
        "Wettelijke eisen en MVI-criteria (basis)",
        "Een plan van aanpak met meetbare doelen",
        "Hoogstens 3 gunningscriteria: met meer tellen ze elk te weinig mee.",
        "Vraag een plan van aanpak en beoordeel dat in de gunning.",
        "Toekomstbestendigheid",
        "Looptijd: 4 jaar of langer",
        "Je voorkeur was transactioneel.",
        "Klimaat: CO2-uitstoot (ton CO2 per jaar)",
        "Contractmanager",
        "Na het eerste jaar, Jaarlijks",
        "De indicator voor Gezondheid en vitaliteit ontbreekt nog.",
    ):
        assert words in text, words


def test_themes_table_has_the_five_columns_and_dashes_for_blanks() -> None:
    doc = read(report_docx(full_report(), None))
    table = next(t for t in cells(doc) if t[0] == list(T.items("themes.columns")))
    assert [row[1] for row in table[1:]] == [
        "Klimaat",
        "Gezondheid en vitaliteit",
        "Social return",
        "Bereikbaarheid",
    ]
    klimaat, gezondheid = table[1], table[2]
    assert klimaat[0] == "1"
    assert klimaat[2] == T("themes.level", level=3, label="Ambitieus")
    assert klimaat[3] == NASTY_CLEAN
    assert gezondheid[3] == T("dash")
    assert gezondheid[4] == T("dash")


def test_requirements_put_the_buyers_goal_before_the_measures() -> None:
    doc = read(report_docx(full_report(), None))
    tables = [t for t in cells(doc) if t[0] == list(T.items("measure.columns"))]
    assert len(tables) == 2
    requirements, award = tables
    social = [row for row in requirements if row[0].startswith("Social return")]
    assert [row[1] for row in social] == [
        "Vijf werkplekken voor mensen met afstand tot werk.",
        "5% van de loonsom.",
    ]
    assert social[0][2] == T("measure.own_goal")
    assert social[0][3] == "Social return als % van de loonsom"
    klimaat = [row for row in requirements if row[0].startswith("Klimaat")]
    assert [row[1] for row in klimaat] == [
        "Minstens 50% plantaardige hoofdgerechten.",
        "Emissievrije bevoorrading.",
    ]
    assert klimaat[1][3] == T("dash")
    # The theme and the reason span the theme's rows instead of repeating in each.
    assert klimaat[0][4] == klimaat[1][4] == "Het minimum voor dit thema hoort in de eisen."
    bereikbaarheid = [row for row in requirements if row[0] == "Bereikbaarheid"]
    assert bereikbaarheid[0][1] == T("measure.no_measures")
    assert [row[2] for row in award[1:]] == [
        T("measure.own_goal"),
        T("measure.types.gunningscriterium"),
        T("measure.extra"),
    ]
    assert award[1][1] == NASTY_CLEAN


def test_own_ambition_and_proposal_are_told_apart() -> None:
    own = everything(read(report_docx(full_report(), None)))
    proposal = everything(read(report_docx(full_report(ambition_is_own=False), None)))
    assert T("ambition.own") in own
    assert T("ambition.proposal") not in own
    assert T("ambition.proposal") in proposal
    assert T("ambition.own") not in proposal


def test_chart_is_embedded_about_15_cm_wide_when_given() -> None:
    png = tiny_png()
    doc = read(report_docx(full_report(), png))
    assert len(doc.inline_shapes) == 1
    assert abs(doc.inline_shapes[0].width - Cm(15)) < Cm(0.1)
    blobs = [p.blob for p in doc.part.package.parts if p.content_type == "image/png"]
    assert blobs == [png]
    assert T("chart.caption") in paragraphs(doc)


def test_no_chart_means_no_picture_and_no_caption() -> None:
    doc = read(report_docx(full_report(), None))
    assert len(doc.inline_shapes) == 0
    assert T("chart.caption") not in paragraphs(doc)


def test_almost_empty_report_still_renders_its_open_points() -> None:
    doc = read(report_docx(almost_empty_report(), None))
    assert headings(doc) == HEADINGS
    bullets = [
        p.text for p in doc.paragraphs if p.style is not None and p.style.name == "List Bullet"
    ]
    assert bullets == ["Kies de thema's van het waardenwiel.", "Geef de organisatie op."]
    text = everything(doc)
    assert T("open_points.none") not in text
    assert T("requirements.none") in text
    assert T("award.none") in text
    assert doc.tables == []


def test_no_open_points_is_said_in_words() -> None:
    doc = read(report_docx(full_report(open_points=()), None))
    assert paragraphs(doc)[-1] == T("open_points.none")


def test_a_3000_character_goal_is_kept_whole() -> None:
    assert len(LONG_GOAL) == 3000
    themes = (ThemeRow("Klimaat", 1, 3, "Ambitieus", LONG_GOAL, None),)
    doc = read(report_docx(full_report(themes=themes), tiny_png()))
    assert LONG_GOAL.strip() in everything(doc)


def test_a4_dutch_properties() -> None:
    doc = read(report_docx(full_report(), None))
    section = doc.sections[0]
    assert section.page_width is not None
    assert section.page_height is not None
    assert abs(section.page_width - Cm(21)) < Cm(0.05)
    assert abs(section.page_height - Cm(29.7)) < Cm(0.05)
    props = doc.core_properties
    assert "Catering <hoofdkantoor> & co 2027" in props.title
    assert props.author == T("author")
    assert props.language == "nl-NL"


def test_roadmap_unknown_and_missing_answers_show_as_such() -> None:
    doc = read(report_docx(full_report(roadmap=None, owner=None), None))
    text = everything(doc)
    assert f"{T('monitoring.roadmap')} {T('monitoring.roadmap_unknown')}" in text
    assert f"{T('monitoring.owner')} {T('dash')}" in text


@pytest.mark.parametrize("bad", ["\x00", "\x01\x02\x1f", "\ud800", "\ufffe\uffff", "a\r\nb\rc"])
def test_characters_xml_cannot_hold_never_break_the_document(bad: str) -> None:
    report = full_report(title=f"Titel {bad}", open_points=(f"Punt {bad}",))
    doc = read(report_docx(report, None))
    assert paragraphs(doc)[0] == f"Titel {clean(bad)}"
    assert f"Punt {clean(bad)}" in paragraphs(doc)


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_cleaned_text_is_always_accepted_and_read_back(text: str) -> None:
    doc = docx.Document()
    doc.add_paragraph(clean(text))
    out = io.BytesIO()
    doc.save(out)
    expected = clean(text)
    assert read(out.getvalue()).paragraphs[0].text == expected

"""The Word summary as a buyer's colleague opens it: rendered from answers, read back with
python-docx, and checked for order, register, one criterion type per table and the buyer's words."""

from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import docx
import pytest
from docx.document import Document as DocxDocument
from docx.shared import Cm
from hypothesis import given, settings
from hypothesis import strategies as st

from flows.events import DocumentRequest
from flows.report.answers_file import load_answers_file
from flows.report.context import Report, ReportBuilder
from flows.report.docx_doc import _Writer, clean, docx_texts, report_docx
from flows.report.words import report_words

W = report_words()
D = docx_texts()
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
NASTY = 'Eigen <doel> & "zo" 🌱 met een bel\x07 en\x0b een tab\tklaar'
NASTY_CLEAN = 'Eigen <doel> & "zo" 🌱 met een bel en een tab\tklaar'
INFORMAL = re.compile(r"\b(je|jij|jouw|jullie|ik|mijn)\b", re.IGNORECASE)


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


def report_for(name: str = "catering", **answers: Any) -> Report:
    request = load_answers_file(EXAMPLES / f"{name}.yaml")
    merged = dict(request.answers, **answers)
    return ReportBuilder().build(DocumentRequest("t", request.name, merged, request.skipped))


def read(data: bytes) -> DocxDocument:
    return docx.Document(io.BytesIO(data))


def everything(doc: DocxDocument) -> str:
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def fixed_words(report: Report) -> str:
    """The document's text without what the buyer typed (annex and their own answers)."""
    doc = read(report_docx(report, None))
    text = everything(doc)
    for group in report.answers:
        for qa in group.rows:
            text = text.replace(qa.answer, "")
    for t in report.themes:
        text = text.replace(t.goal or "", "")
    for value in (report.card.org_ambition, *report.card.involved, *report.card.minimum[:1]):
        text = text.replace(value or "", "")
    return text


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.stem)
def test_formal_register_without_chat_tone(path: Path) -> None:
    report = report_for(path.stem)
    found = INFORMAL.findall(fixed_words(report))
    assert found == []


def test_first_page_is_the_ambition_card_then_sections_in_report_order() -> None:
    report = report_for()
    doc = read(report_docx(report, None))
    heads = [p.text for p in doc.paragraphs if p.style and p.style.name == "Heading 1"]
    assert heads[0] == W("card.heading")
    numbered = [f"{n}. {s.title}" for n, s in enumerate(report.sections, start=1)]
    numbered.append(f"{len(report.sections) + 1}. {W('open.title')}")
    assert [h for h in heads if h[0].isdigit()] == numbered
    card = [row.cells[0].text for row in doc.tables[0].rows]
    for key in ("goals", "minimum", "rewarded", "research", "involved"):
        assert W(f"card.{key}") in card
    before_themes = [
        p.text for p in doc.paragraphs[: [p.text for p in doc.paragraphs].index(heads[1])]
    ]
    assert any(W("draft") in p and report.date in p for p in before_themes)


def test_each_table_holds_one_kind_of_criterion() -> None:
    report = report_for("ict", procedure="niet_openbaar", volwassenheid=["capaciteit"])
    doc = read(report_docx(report, None))
    award_header = [W("field.text"), W("field.weight")]
    award_tables = [t for t in doc.tables if [c.text for c in t.rows[0].cells][:2] == award_header]
    assert len(award_tables) == 1
    texts = [r.cells[0].text for r in award_tables[0].rows[1:]]
    assert len(texts) == len(report.advice.section("gunningscriterium"))
    short = [
        t
        for t in doc.tables
        if [c.text for c in t.rows[0].cells] == [W("field.text"), W("field.proof")]
    ]
    kinds = ("geschiktheidseis", "selectiecriterium", "eis", "contractbepaling")
    expected = [k for k in kinds if report.advice.section(k)]
    assert len(short) == len(expected)


def test_no_narrow_column_for_a_long_word() -> None:
    doc = read(report_docx(report_for("ict"), None))
    longest = max(len(w) for w in everything(doc).split())
    for table in doc.tables:
        for column in table.columns:
            assert column.width is None or column.width >= Cm(1.1)
    # Long words only sit in columns of at least 4 cm
    for table in doc.tables:
        for row in table.rows:
            for cell, column in zip(row.cells, table.columns, strict=True):
                if any(len(w) > 18 for w in cell.text.split()):
                    assert column.width is not None, cell.text
                    assert column.width >= Cm(4), cell.text
    assert longest > 18


def test_buyers_own_words_survive_markup_emoji_and_control_characters() -> None:
    report = report_for(**{"doel[klimaat]": NASTY, "eigenaar": NASTY})
    text = everything(read(report_docx(report, None)))
    assert NASTY_CLEAN in text
    assert "\x07" not in text
    assert "\x0b" not in text


def test_chart_is_embedded_when_given_and_absent_otherwise() -> None:
    png = tiny_png()
    doc = read(report_docx(report_for(), png))
    assert len(doc.inline_shapes) == 1
    assert D("chart_caption") in [p.text for p in doc.paragraphs]
    assert len(read(report_docx(report_for(), None)).inline_shapes) == 0


def test_a4_dutch_properties_and_draft_marking() -> None:
    report = report_for()
    doc = read(report_docx(report, None))
    section = doc.sections[0]
    assert section.page_width is not None
    assert abs(section.page_width - Cm(21)) < Cm(0.05)
    props = doc.core_properties
    assert report.title in props.title
    assert props.language == "nl-NL"
    assert W("draft") in props.comments


def test_almost_empty_report_still_renders() -> None:
    report = ReportBuilder().build(DocumentRequest("t", "Leeg", {"naam": "Leeg"}))
    text = everything(read(report_docx(report, None)))
    assert W("section.empty") in text
    assert any(p in text for p in report.open_points)


@pytest.mark.parametrize("bad", ["\x00", "\x01\x02\x1f", "\ud800", "\ufffe\uffff", "a\r\nb\rc"])
def test_characters_xml_cannot_hold_never_break_the_document(bad: str) -> None:
    report = ReportBuilder().build(DocumentRequest("t", "x", {"naam": f"Titel {bad}"}))
    doc = read(report_docx(report, None))
    assert doc.paragraphs[0].text == f"Titel {clean(bad)}"


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_cleaned_text_is_always_accepted_and_read_back(text: str) -> None:
    doc = docx.Document()
    doc.add_paragraph(clean(text))
    out = io.BytesIO()
    doc.save(out)
    assert read(out.getvalue()).paragraphs[0].text == clean(text)


@settings(max_examples=40, deadline=None)  # each example writes and reads a document
@given(st.text(), st.booleans(), st.booleans())
def test_the_writers_own_paragraphs_and_cells_read_back_as_written(
    text: str, bold: bool, italic: bool
) -> None:
    """The writer builds runs itself, not through python-docx: tabs, line breaks, outer spaces
    and formatting must come back exactly as python-docx would have written them."""
    doc = docx.Document()
    writer = _Writer(doc, W)
    writer.para(text, "List Bullet", bold=bold, italic=italic, keep_next=True)
    writer.table(("Kop",), (4.0,), [[text]])
    writer.labelled("Label:", text)
    out = io.BytesIO()
    doc.save(out)
    back = read(out.getvalue())
    first, after = back.paragraphs[0], back.paragraphs[-1]
    assert first.text == clean(text)
    assert first.style is not None
    assert first.style.name == "List Bullet"
    assert first.paragraph_format.keep_with_next
    assert all(run.bold is (bold or None) and run.italic is (italic or None) for run in first.runs)
    (table,) = back.tables
    assert [c.text for c in table.rows[0].cells] == ["Kop"]
    assert [c.text for c in table.rows[1].cells] == [clean(text) if text else W("dash")]
    width = table.rows[1].cells[0].width
    assert width is not None
    assert abs(width - Cm(4.0)) < Cm(0.01)
    value = clean(text) if text.strip() else W("dash")
    assert after.text == "Label: " + value


def test_each_summary_starts_from_a_clean_document() -> None:
    """Summaries are copied from one prepared document: nothing of the previous one (its text,
    footer or picture) may show up in the next."""
    first, second = report_for("catering"), report_for("ict")
    report_docx(first, tiny_png())
    doc = read(report_docx(second, tiny_png()))
    assert first.title not in everything(doc)
    (footer,) = doc.sections[0].footer.paragraphs
    assert second.title in footer.text
    assert first.title not in footer.text
    assert len(doc.inline_shapes) == 1
    assert doc.core_properties.title is not None
    assert second.title in doc.core_properties.title

"""The tender-ambition summary as a Word document a buyer can send on to colleagues.

Formal register throughout, marked as a draft with version and date. The first page is the
category ambition card (after the Ambitieweb guide's "ambitiekaart"); then the advice sections in
the same order as the chat, Markdown and JSON. Each table holds one kind of criterion, and no
table has a narrow column for long words: the theme is written in bold above the text instead.
Only built-in styles ("Title", "Heading 1", "Table Grid", "List Bullet" and the like), so a
reader's own Word template restyles the document cleanly. Every fixed word comes from the report
catalog. XML cannot hold control characters and python-docx raises on them, so those are dropped;
everything else is written exactly as typed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

from flows.advice import Item
from flows.prompting import shorten
from flows.report.context import AdviceSection, Report
from flows.report.words import Words, report_words
from flows.texts import yaml_section

LANGUAGE = "nl-NL"
PICTURE_WIDTH = Cm(11)
THEME_WIDTHS = (1.3, 4.3, 2.8, 3.8, 3.8)
SHORT_WIDTHS = (10.5, 5.5)
CARD_WIDTHS = (3.6, 12.4)
BULLET = "• "
AWARD_WIDTHS = (8.0, 2.5, 5.5)
TABLE_FONT = Pt(9.5)
NOTE_FONT = Pt(8.5)
HEADER_FILL = "E3EDEA"
FOOTER_GREY = RGBColor(0x6B, 0x72, 0x80)
FOOTER_TITLE = 60
CORE_PROPERTY_MAX = 255
TABLE_KINDS = {"geschiktheid": ("geschiktheidseis", "selectiecriterium")}
KIND_TITLES = {"geschiktheidseis": "Geschiktheidseisen", "selectiecriterium": "Selectiecriteria"}
BULLET_SECTIONS = ("procedure", "intern")
BULLET_INDENT = Cm(0.63)

_NOT_XML = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(text: str) -> str:
    """What XML 1.0 can hold: control characters (other than tab and newline) and lone
    surrogates go; a carriage return becomes a newline, which Word shows as a line break."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


# The contract phase's progress document builds on the same writer and word lookup.
DocxTexts = Words


def docx_texts() -> Words:
    section, path = yaml_section("report_docx.yaml", "docx")
    return Words(section, f"{path}: docx")


def report_docx(report: Report, chart_png: bytes | None) -> bytes:
    """The whole summary; `chart_png` is the Ambitieweb, left out when None."""
    w, d = report_words(), docx_texts()
    doc = Document()
    _setup(doc, report, w, d)
    out = _Writer(doc, w, d)
    out.card(report)
    out.themes(report, chart_png)
    for number, section in enumerate(report.sections, start=1):
        out.section(number, section)
    out.open_points(report, len(report.sections) + 1)
    out.collaboration(report)
    out.rules(report)
    out.answers(report)
    buffer = io.BytesIO()
    doc.save(buffer)
    return buffer.getvalue()


def _setup(doc: DocxDocument, report: Report, w: Words, d: Words) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    props = doc.core_properties
    # Word's document properties hold at most 255 characters; the first page keeps the full name.
    props.title = shorten(clean(d("core_title", title=report.title)), CORE_PROPERTY_MAX)
    props.author = props.last_modified_by = d("author")
    props.subject = d("subject")
    props.language = LANGUAGE
    props.created = props.modified = datetime.now(UTC).replace(tzinfo=None)
    props.revision = 1
    props.comments = w("version", version=report.version, date=report.date)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), LANGUAGE)
    doc.styles["Normal"].element.get_or_add_rPr().append(lang)
    doc.styles["Normal"].font.size = Pt(10.5)
    _footer(section.footer.paragraphs[0], d, report.title)


def _footer(paragraph: Paragraph, d: Words, title: str) -> None:
    short = clean(title)
    if len(short) > FOOTER_TITLE:
        short = short[: FOOTER_TITLE - 1].rstrip() + "…"
    before, _, after = d("footer", title=short.replace("\n", " "), page="{page}").partition(
        "{page}"
    )
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    runs = [paragraph.add_run(text) for text in (before, "1", after)]
    for run in runs:
        run.font.size = Pt(8)
        run.font.color.rgb = FOOTER_GREY
    # A PAGE field around the middle run: Word fills in the number when it lays out each page.
    field = OxmlElement("w:fldSimple")
    field.set(qn("w:instr"), "PAGE")
    runs[1]._r.addprevious(field)
    field.append(runs[1]._r)


class _Writer:
    def __init__(self, doc: DocxDocument, w: Words, d: Words | None = None) -> None:
        self.doc = doc
        self.w = w
        self.d = d or w
        self._style_ids: dict[str, str] = {}

    def styled(self, name: str | None) -> Paragraph:
        """A new paragraph in a built-in style, each style id looked up once (python-docx scans
        every style on each lookup by name)."""
        p = self.doc.add_paragraph()
        if name is not None:
            if name not in self._style_ids:
                self._style_ids[name] = self.doc.styles[name].style_id
            p._p.style = self._style_ids[name]
        return p

    def heading(self, text: str, level: int = 1) -> Paragraph:
        p = self.para(text, f"Heading {level}")
        p.paragraph_format.keep_with_next = True
        return p

    def para(
        self, text: str, style: str | None = None, *, bold: bool = False, italic: bool = False
    ) -> Paragraph:
        p = self.styled(style)
        run = p.add_run(clean(text))
        run.bold = bold or None
        run.italic = italic or None
        return p

    def labelled(self, label: str, value: str | None) -> Paragraph:
        p = self.styled(None)
        p.add_run(clean(label)).bold = True
        p.add_run(" " + clean(value if value and value.strip() else self.w("dash")))
        return p

    def bullets(self, items: Iterable[str]) -> None:
        for item in items:
            self.para(item, "List Bullet")

    def table(
        self,
        headers: Sequence[str],
        widths: Sequence[float],
        rows: Sequence[Sequence[str | None]] = (),
    ) -> Table:
        table: Table = self.doc.add_table(rows=1, cols=len(headers))
        table.style = self.doc.styles["Table Grid"]
        table.autofit = False
        # Word reads the cell widths, LibreOffice the column grid; add_row copies the grid widths.
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Cm(width)
        for cell, title, width in zip(table.rows[0].cells, headers, widths, strict=True):
            cell.width = Cm(width)
            _fill(cell, title, bold=True)
            _shade(cell, HEADER_FILL)
        _repeat_header(table)
        add_row: Any = table.add_row
        for row in rows:
            for cell, text in zip(add_row().cells, row, strict=True):
                _fill(cell, text or self.w("dash"))
        return table

    def item_cell(self, cell: Any, item: Item) -> None:
        """Theme in bold, the text, then why and any warning in small print."""
        first = cell.paragraphs[0]
        if item.heading:
            run = first.add_run(clean(item.heading) + ": ")
            run.bold = True
            run.font.size = TABLE_FONT
        first.add_run(clean(item.text)).font.size = TABLE_FONT
        self.notes(item, cell.add_paragraph)

    def notes(self, item: Item, new_paragraph: Callable[[], Paragraph]) -> None:
        """Why the item is there, any warning and what a jurist should check, in small print,
        the same under a bullet as in a table cell."""
        notes = [(self.w("field.reason"), item.reason, False)]
        if item.warning:
            notes.append((self.w("field.warning"), item.warning, True))
        if item.jurist:
            notes.append((self.w("field.jurist"), item.jurist_note or "", False))
        for label, text, bold in notes:
            p = new_paragraph()
            head = p.add_run(clean(label) + (": " if text else ""))
            head.italic, head.bold, head.font.size = True, bold or None, NOTE_FONT
            body = p.add_run(clean(text))
            body.italic, body.font.size = True, NOTE_FONT

    def card(self, r: Report) -> None:
        """One page: the ambition, then a two-column table of what the tender does with it."""
        w, c = self.w, r.card
        for run in self.para(r.title, "Title").runs:
            run.font.size = Pt(20)
        meta = (r.organisation, r.category, w("version", version=r.version, date=r.date))
        self.para(" · ".join(x for x in meta if x), italic=True)
        self.heading(w("card.heading"))
        self.para(c.ambition, "Intense Quote")
        self.para(w("card.own") if c.ambition_is_own else w("card.proposal"), italic=True)
        rows: list[tuple[str, Sequence[str]]] = []
        if c.org_ambition:
            rows.append((w("card.org").rstrip(":"), (c.org_ambition,)))
        card_lists: tuple[tuple[str, Sequence[str]], ...] = (
            ("goals", c.goals),
            ("minimum", c.minimum),
            ("rewarded", c.rewarded),
            ("research", c.research),
            ("involved", c.involved),
        )
        for key, values in card_lists:
            rows.append((w(f"card.{key}"), values or (w("empty"),)))
        if c.instruments:
            rows.append((w("card.instruments"), (", ".join(c.instruments),)))
        rows.append((w("card.mvi_label"), (c.mvi_group,)))
        table = self.doc.add_table(rows=0, cols=2)
        table.style = self.doc.styles["Table Grid"]
        table.autofit = False
        for column, width in zip(table.columns, CARD_WIDTHS, strict=True):
            column.width = Cm(width)
        add_row: Any = table.add_row
        for label, values in rows:
            cells = add_row().cells
            _fill(cells[0], label, bold=True)
            _shade(cells[0], HEADER_FILL)
            mark = BULLET if len(values) > 1 else ""
            _fill(cells[1], mark + values[0])
            for value in values[1:]:
                cells[1].add_paragraph().add_run(clean(mark + value)).font.size = TABLE_FONT

    def themes(self, r: Report, chart_png: bytes | None) -> None:
        w = self.w
        self.heading(w("themes.heading")).paragraph_format.page_break_before = True
        if not r.themes:
            self.para(w("empty"), italic=True)
        else:
            self.para(w("themes.intro"))
            table = self.table(w.items("themes.columns"), THEME_WIDTHS)
            add_row: Any = table.add_row
            for t in r.themes:
                cells = add_row().cells
                for cell, text in zip(
                    cells,
                    (str(t.priority), t.label, t.level_label, t.goal or w("dash"), t.route),
                    strict=True,
                ):
                    _fill(cell, text)
        if chart_png is not None:
            picture = self.styled(None)
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            picture.paragraph_format.keep_with_next = True
            picture.paragraph_format.space_before = Pt(12)
            picture.add_run().add_picture(io.BytesIO(chart_png), width=PICTURE_WIDTH)
            self.para(self.d("chart_caption"), "Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER

    def section(self, number: int, s: AdviceSection) -> None:
        self.heading(f"{number}. {s.title}")
        self.para(s.intro, italic=True)
        if not s.items:
            self.para(self.w("section.empty"))
            return
        if s.id in BULLET_SECTIONS:
            for item in s.items:
                p = self.styled("List Bullet")
                if item.theme_label:
                    p.add_run(clean(item.theme_label) + ": ").bold = True
                p.add_run(clean(item.text))
                self.notes(item, self.note_paragraph)
            return
        kinds = TABLE_KINDS.get(s.id, (None,))
        for kind in kinds:
            items = [i for i in s.items if kind is None or i.section == kind]
            if not items:
                continue
            if kind is not None and len(kinds) > 1:
                self.heading(KIND_TITLES[kind], level=2)
            if s.id == "gunningscriterium":
                self.award_table(items)
            else:
                self.short_table(items)

    def note_paragraph(self) -> Paragraph:
        p = self.styled(None)
        p.paragraph_format.left_indent = BULLET_INDENT
        p.paragraph_format.space_before = Pt(0)
        p.paragraph_format.space_after = Pt(0)
        return p

    def short_table(self, items: Sequence[Item]) -> None:
        w = self.w
        table = self.table((w("field.text"), w("field.proof")), SHORT_WIDTHS)
        add_row: Any = table.add_row
        for item in items:
            cells = add_row().cells
            self.item_cell(cells[0], item)
            _fill(cells[1], item.proof or w("dash"))
        self.styled(None)

    def award_table(self, items: Sequence[Item]) -> None:
        w = self.w
        headers = (w("field.text"), w("field.weight"), f"{w('field.scoring')} / {w('field.proof')}")
        table = self.table(headers, AWARD_WIDTHS)
        add_row: Any = table.add_row
        for item in items:
            cells = add_row().cells
            self.item_cell(cells[0], item)
            _fill(cells[1], f"{item.weight or 0}%")
            note = (
                cells[1]
                .add_paragraph()
                .add_run(clean(f"({item.quality_weight or 0}% {w('field.of_quality')})"))
            )
            note.font.size = NOTE_FONT
            _fill(cells[2], item.scoring or w("dash"))
            proof = cells[2].add_paragraph()
            head = proof.add_run(clean(w("field.proof")) + ": ")
            head.bold, head.font.size = True, TABLE_FONT
            proof.add_run(clean(item.proof or w("dash"))).font.size = TABLE_FONT
        self.styled(None)

    def open_points(self, r: Report, number: int) -> None:
        w = self.w
        self.heading(f"{number}. {w('open.title')}")
        if r.contradictions:
            self.para(w("open.contradictions"), bold=True).paragraph_format.keep_with_next = True
            self.bullets(r.contradictions)
        if r.open_points:
            self.para(w("open.points"), bold=True).paragraph_format.keep_with_next = True
            self.bullets(r.open_points)
        if not r.open_points and not r.contradictions:
            self.para(w("open.none"))

    def collaboration(self, r: Report) -> None:
        w, c = self.w, r.collaboration
        self.heading(w("collaboration.title"))
        self.labelled(w("collaboration.advice"), c.form)
        self.para(c.explanation)
        if c.decisive:
            self.para(w("collaboration.decisive"), bold=True).paragraph_format.keep_with_next = True
            self.bullets(c.decisive)

    def rules(self, r: Report) -> None:
        self.heading(self.w("rules.title"))
        self.bullets(r.rules)

    def answers(self, r: Report) -> None:
        self.heading(self.w("answers.title")).paragraph_format.page_break_before = True
        for group in r.answers:
            self.heading(group.title, level=2)
            for qa in group.rows:
                self.para(qa.question, bold=True).paragraph_format.keep_with_next = True
                self.para(qa.answer)


def _fill(cell: Any, text: str, *, bold: bool = False) -> None:
    run = cell.paragraphs[0].add_run(clean(text))
    run.font.size = TABLE_FONT
    run.bold = bold or None


def _shade(cell: Any, fill: str) -> None:
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), fill)
    cell._tc.get_or_add_tcPr().append(shd)


def _repeat_header(table: Table) -> None:
    """The header row comes back at the top of every page a long table runs onto."""
    flag = OxmlElement("w:tblHeader")
    flag.set(qn("w:val"), "true")
    table.rows[0]._tr.get_or_add_trPr().append(flag)

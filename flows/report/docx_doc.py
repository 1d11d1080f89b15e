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

import copy
import functools
import io
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from lxml.etree import SubElement  # type: ignore[import-untyped]

from flows.advice import Item
from flows.prompting import shorten
from flows.report.context import AdviceSection, Report
from flows.report.docx_package import docx_bytes
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


@functools.cache
def docx_texts() -> Words:
    """Read once per process: parsing the YAML cost more than a third of a Word document."""
    section, path = yaml_section("report_docx.yaml", "docx")
    return Words(section, f"{path}: docx")


def report_docx(report: Report, chart_png: bytes | None) -> bytes:
    """The whole summary; `chart_png` is the Ambitieweb, left out when None."""
    w, d = report_words(), docx_texts()
    doc = _blank()
    _setup(doc, report, w, d)
    out = _Writer(doc, w, d, style_ids=_per_thread.style_ids)
    out.card(report)
    out.themes(report, chart_png)
    for number, section in enumerate(report.sections, start=1):
        out.section(number, section)
    out.open_points(report, len(report.sections) + 1)
    out.collaboration(report)
    out.rules(report)
    out.answers(report)
    return docx_bytes(doc)


_per_thread = threading.local()


def _blank() -> DocxDocument:
    """A copy of a prepared A4 document: the same for every summary, so it is made once per
    thread (lxml trees are not to be shared between threads). Opening python-docx's template
    parses 800 kB of styles; copying the parsed document takes half the time."""
    prepared: DocxDocument | None = getattr(_per_thread, "prepared", None)
    if prepared is None:
        prepared = _prepare()
        _per_thread.prepared = prepared
        _per_thread.style_ids = {}  # style name -> id: every copy has the prepared styles
    copied: DocxDocument = copy.deepcopy(prepared)
    return copied


def _prepare() -> DocxDocument:
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), LANGUAGE)
    doc.styles["Normal"].element.get_or_add_rPr().append(lang)
    doc.styles["Normal"].font.size = Pt(10.5)
    section.footer.paragraphs[0]  # the footer part, filled in per summary
    return doc


def _setup(doc: DocxDocument, report: Report, w: Words, d: Words) -> None:
    props = doc.core_properties
    # Word's document properties hold at most 255 characters; the first page keeps the full name.
    props.title = shorten(clean(d("core_title", title=report.title)), CORE_PROPERTY_MAX)
    props.author = props.last_modified_by = d("author")
    props.subject = d("subject")
    props.language = LANGUAGE
    props.created = props.modified = datetime.now(UTC).replace(tzinfo=None)
    props.revision = 1
    props.comments = w("version", version=report.version, date=report.date)
    _footer(doc.sections[0].footer.paragraphs[0], d, report.title)


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
    """Appends the document's paragraphs and tables.

    The bulk of a summary is table cells and small runs of text. python-docx builds each of those
    through proxies that parse a snippet of XML per element and look up where a child belongs in
    the schema, which made Word the slowest part of a document set. So paragraphs, runs and table
    rows are made here directly as lxml elements (in schema order, through the document's own
    parser, so python-docx still sees its own element classes) and only rarer formatting goes
    through python-docx. The XML is what python-docx wrote, less the empty run properties it
    left behind.
    """

    def __init__(
        self,
        doc: DocxDocument,
        w: Words,
        d: Words | None = None,
        *,
        style_ids: dict[str, str] | None = None,
    ) -> None:
        """`style_ids` may be shared by writers of documents with the same styles."""
        self.doc = doc
        self.w = w
        self.d = d or w
        self._style_ids = {} if style_ids is None else style_ids
        self._parent: Any = doc._body
        body = doc.element.body
        # Blocks go before the section properties, which python-docx keeps last in the body.
        self._end: Any = body.sectPr
        self._body: Any = body

    def style_id(self, name: str) -> str:
        """Each style id looked up once (python-docx scans every style on each lookup by name)."""
        if name not in self._style_ids:
            self._style_ids[name] = self.doc.styles[name].style_id
        return self._style_ids[name]

    def block(self, tag: str) -> Any:
        element = self._body.makeelement(tag)
        if self._end is not None:
            self._end.addprevious(element)
        else:
            self._body.append(element)
        return element

    def new_p(self, style: str | None = None, *, keep_next: bool = False) -> Any:
        p = self.block(_P)
        if style is not None or keep_next:
            ppr = SubElement(p, _PPR)
            if style is not None:
                SubElement(ppr, _PSTYLE, {_VAL: self.style_id(style)})
            if keep_next:
                SubElement(ppr, _KEEP_NEXT)
        return p

    def styled(self, name: str | None) -> Paragraph:
        """A new, empty paragraph in a built-in style."""
        return Paragraph(self.new_p(name), self._parent)

    def heading(self, text: str, level: int = 1) -> Paragraph:
        return self.para(text, f"Heading {level}", keep_next=True)

    def para(
        self,
        text: str,
        style: str | None = None,
        *,
        bold: bool = False,
        italic: bool = False,
        size: int | None = None,
        keep_next: bool = False,
    ) -> Paragraph:
        """One paragraph of one run; `size` in half-points, as Word stores it."""
        p = self.new_p(style, keep_next=keep_next)
        _run(p, clean(text), bold=bold, italic=italic, size=size)
        return Paragraph(p, self._parent)

    def labelled(self, label: str, value: str | None) -> Paragraph:
        p = self.new_p()
        _run(p, clean(label), bold=True)
        _run(p, " " + clean(value if value and value.strip() else self.w("dash")))
        return Paragraph(p, self._parent)

    def bullets(self, items: Iterable[str]) -> None:
        for item in items:
            self.para(item, "List Bullet")

    def new_table(self, widths: Sequence[float]) -> _Table:
        """An empty table in the built-in "Table Grid" style with fixed column widths."""
        tbl = self.block(_TBL)
        tblpr = SubElement(tbl, _TBLPR)
        SubElement(tblpr, _TBLSTYLE, {_VAL: self.style_id("Table Grid")})
        SubElement(tblpr, _TBLW, {_TYPE: "auto", _W: "0"})
        SubElement(tblpr, _TBLLAYOUT, {_TYPE: "fixed"})
        SubElement(tblpr, _TBLLOOK, _TABLE_LOOK)
        grid = SubElement(tbl, _TBLGRID)
        twips = [str(Cm(width).twips) for width in widths]
        # Word reads the cell widths, LibreOffice the column grid: both are written.
        for width in twips:
            SubElement(grid, _GRIDCOL, {_W: width})
        return _Table(tbl, twips)

    def table(
        self,
        headers: Sequence[str],
        widths: Sequence[float],
        rows: Sequence[Sequence[str | None]] = (),
    ) -> _Table:
        """A table with a shaded header row that comes back on every page it runs onto."""
        table = self.new_table(widths)
        cells = table.row(header=True)
        for cell, title in zip(cells, headers, strict=True):
            _shade(cell)
            _run(_cell_p(cell), clean(title), bold=True, size=TABLE_SIZE)
        for row in rows:
            for cell, text in zip(table.row(), row, strict=True):
                _fill(cell, text or self.w("dash"))
        return table

    def item_cell(self, cell: Any, item: Item) -> None:
        """Theme in bold, the text, then why and any warning in small print."""
        first = _cell_p(cell)
        if item.heading:
            _run(first, clean(item.heading) + ": ", bold=True, size=TABLE_SIZE)
        _run(first, clean(item.text), size=TABLE_SIZE)
        self.notes(item, lambda: SubElement(cell, _P))

    def notes(self, item: Item, new_paragraph: Callable[[], Any]) -> None:
        """Why the item is there, any warning and what a jurist should check, in small print,
        the same under a bullet as in a table cell. `new_paragraph` makes an empty `w:p`."""
        notes = [(self.w("field.reason"), item.reason, False)]
        if item.warning:
            notes.append((self.w("field.warning"), item.warning, True))
        if item.jurist:
            notes.append((self.w("field.jurist"), item.jurist_note or "", False))
        for label, text, bold in notes:
            p = new_paragraph()
            _run(p, clean(label) + (": " if text else ""), bold=bold, italic=True, size=NOTE_SIZE)
            _run(p, clean(text), italic=True, size=NOTE_SIZE)

    def card(self, r: Report) -> None:
        """One page: the ambition, then a two-column table of what the tender does with it."""
        w, c = self.w, r.card
        self.para(r.title, "Title", size=TITLE_SIZE)
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
        table = self.new_table(CARD_WIDTHS)
        for label, values in rows:
            head, cell = table.row()
            _shade(head)
            _fill(head, label, bold=True)
            mark = BULLET if len(values) > 1 else ""
            _fill(cell, mark + values[0])
            for value in values[1:]:
                _run(SubElement(cell, _P), clean(mark + value), size=TABLE_SIZE)

    def themes(self, r: Report, chart_png: bytes | None) -> None:
        w = self.w
        self.heading(w("themes.heading")).paragraph_format.page_break_before = True
        if not r.themes:
            self.para(w("empty"), italic=True)
        else:
            self.para(w("themes.intro"))
            table = self.table(w.items("themes.columns"), THEME_WIDTHS)
            for t in r.themes:
                for cell, text in zip(
                    table.row(),
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
                p = self.new_p("List Bullet")
                if item.theme_label:
                    _run(p, clean(item.theme_label) + ": ", bold=True)
                _run(p, clean(item.text))
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

    def note_paragraph(self) -> Any:
        """A small-print paragraph under a bullet, indented like the bullet's text."""
        p = self.block(_P)
        ppr = SubElement(p, _PPR)
        SubElement(ppr, _SPACING, {_BEFORE: "0", _AFTER: "0"})
        SubElement(ppr, _IND, {_LEFT: str(BULLET_INDENT.twips)})
        return p

    def short_table(self, items: Sequence[Item]) -> None:
        w = self.w
        table = self.table((w("field.text"), w("field.proof")), SHORT_WIDTHS)
        for item in items:
            text, proof = table.row()
            self.item_cell(text, item)
            _fill(proof, item.proof or w("dash"))
        self.new_p()

    def award_table(self, items: Sequence[Item]) -> None:
        w = self.w
        headers = (w("field.text"), w("field.weight"), f"{w('field.scoring')} / {w('field.proof')}")
        table = self.table(headers, AWARD_WIDTHS)
        for item in items:
            text, weight, scoring = table.row()
            self.item_cell(text, item)
            _fill(weight, f"{item.weight or 0}%")
            quality = clean(f"({item.quality_weight or 0}% {w('field.of_quality')})")
            _run(SubElement(weight, _P), quality, size=NOTE_SIZE)
            _fill(scoring, item.scoring or w("dash"))
            proof = SubElement(scoring, _P)
            _run(proof, clean(w("field.proof")) + ": ", bold=True, size=TABLE_SIZE)
            _run(proof, clean(item.proof or w("dash")), size=TABLE_SIZE)
        self.new_p()

    def open_points(self, r: Report, number: int) -> None:
        w = self.w
        self.heading(f"{number}. {w('open.title')}")
        if r.contradictions:
            self.para(w("open.contradictions"), bold=True, keep_next=True)
            self.bullets(r.contradictions)
        if r.open_points:
            self.para(w("open.points"), bold=True, keep_next=True)
            self.bullets(r.open_points)
        if not r.open_points and not r.contradictions:
            self.para(w("open.none"))

    def collaboration(self, r: Report) -> None:
        w, c = self.w, r.collaboration
        self.heading(w("collaboration.title"))
        self.labelled(w("collaboration.advice"), c.form)
        self.para(c.explanation)
        if c.decisive:
            self.para(w("collaboration.decisive"), bold=True, keep_next=True)
            self.bullets(c.decisive)

    def rules(self, r: Report) -> None:
        self.heading(self.w("rules.title"))
        self.bullets(r.rules)

    def answers(self, r: Report) -> None:
        self.heading(self.w("answers.title")).paragraph_format.page_break_before = True
        for group in r.answers:
            self.heading(group.title, level=2)
            for qa in group.rows:
                self.para(qa.question, bold=True, keep_next=True)
                self.para(qa.answer)


class _Table:
    """A table being written: its element and its column widths in twips, for each new row."""

    def __init__(self, element: Any, twips: Sequence[str]) -> None:
        self.element = element
        self.twips = twips

    def row(self, *, header: bool = False) -> list[Any]:
        """A new row of empty cells (each a `w:tc` with its width and one empty paragraph); a
        header row comes back at the top of every page a long table runs onto."""
        tr = SubElement(self.element, _TR)
        if header:
            SubElement(SubElement(tr, _TRPR), _TBLHEADER, {_VAL: "true"})
        cells = []
        for width in self.twips:
            tc = SubElement(tr, _TC)
            SubElement(SubElement(tc, _TCPR), _TCW, {_TYPE: "dxa", _W: width})
            SubElement(tc, _P)
            cells.append(tc)
        return cells


def _w(name: str) -> str:
    return qn(f"w:{name}")


_P, _PPR, _PSTYLE, _KEEP_NEXT = _w("p"), _w("pPr"), _w("pStyle"), _w("keepNext")
_SPACING, _BEFORE, _AFTER, _IND, _LEFT = (
    _w("spacing"),
    _w("before"),
    _w("after"),
    _w("ind"),
    _w("left"),
)
_R, _RPR, _B, _I, _SZ = _w("r"), _w("rPr"), _w("b"), _w("i"), _w("sz")
_T, _TAB, _BR, _PRESERVE = _w("t"), _w("tab"), _w("br"), qn("xml:space")
_TBL, _TBLPR, _TBLSTYLE, _TBLW, _TBLLAYOUT, _TBLLOOK = (
    _w("tbl"),
    _w("tblPr"),
    _w("tblStyle"),
    _w("tblW"),
    _w("tblLayout"),
    _w("tblLook"),
)
_TBLGRID, _GRIDCOL, _TR, _TRPR, _TBLHEADER = (
    _w("tblGrid"),
    _w("gridCol"),
    _w("tr"),
    _w("trPr"),
    _w("tblHeader"),
)
_TC, _TCPR, _TCW, _SHD = _w("tc"), _w("tcPr"), _w("tcW"), _w("shd")
_VAL, _TYPE, _W = _w("val"), _w("type"), _w("w")
# python-docx's defaults for a new table: header row and first column emphasised, no banding.
_TABLE_LOOK = {
    _w("firstColumn"): "1",
    _w("firstRow"): "1",
    _w("lastColumn"): "0",
    _w("lastRow"): "0",
    _w("noHBand"): "0",
    _w("noVBand"): "1",
    _VAL: "04A0",
}
_SHADE = {_VAL: "clear", _w("color"): "auto", _w("fill"): HEADER_FILL}
_BREAKS = re.compile("([\t\n])")
TITLE_SIZE = int(Pt(20).pt * 2)
TABLE_SIZE = int(TABLE_FONT.pt * 2)
NOTE_SIZE = int(NOTE_FONT.pt * 2)


def _run(
    p: Any, text: str, *, bold: bool = False, italic: bool = False, size: int | None = None
) -> Any:
    """A `w:r` at the end of paragraph `p`, with its text as python-docx writes it: a tab is a
    `w:tab`, a newline a `w:br`, and text with outer spaces keeps them. `text` is cleaned."""
    r = SubElement(p, _R)
    if bold or italic or size is not None:
        rpr = SubElement(r, _RPR)
        if bold:
            SubElement(rpr, _B)
        if italic:
            SubElement(rpr, _I)
        if size is not None:
            SubElement(rpr, _SZ, {_VAL: str(size)})
    for piece in _BREAKS.split(text) if ("\t" in text or "\n" in text) else (text,):
        if piece == "\t":
            SubElement(r, _TAB)
        elif piece == "\n":
            SubElement(r, _BR)
        elif piece:
            t = SubElement(r, _T)
            t.text = piece
            if len(piece.strip()) < len(piece):
                t.set(_PRESERVE, "preserve")
    return r


def _cell_p(cell: Any) -> Any:
    """The paragraph every new cell starts with."""
    return cell[1]


def _fill(cell: Any, text: str, *, bold: bool = False) -> None:
    _run(_cell_p(cell), clean(text), bold=bold, size=TABLE_SIZE)


def _shade(cell: Any) -> None:
    SubElement(cell[0], _SHD, _SHADE)

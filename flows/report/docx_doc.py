"""The tender-ambition summary as a Word document a buyer can send on to colleagues.

Only built-in styles ("Title", "Heading 1", "Table Grid", "List Bullet" and the like), so a
reader's own Word template restyles the document cleanly. Every fixed word comes from
prompts/report_docx.yaml. The Report's text is what the buyer typed: XML cannot hold control
characters and python-docx raises on them, so those are dropped; everything else, emoji and
`<&"` included, is written exactly as typed (python-docx escapes it for the XML).
"""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
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

from flows.prompting import shorten
from flows.report.context import QA, AdviceRow, Report
from flows.texts import yaml_section

LANGUAGE = "nl-NL"
PICTURE_WIDTH = Cm(15)
THEME_WIDTHS = (2.0, 3.6, 2.8, 4.6, 3.0)
MEASURE_WIDTHS = (3.0, 5.4, 2.3, 2.6, 2.7)
TABLE_FONT = Pt(9.5)
HEADER_FILL = "E3EDEA"
FOOTER_GREY = RGBColor(0x6B, 0x72, 0x80)
FOOTER_TITLE = 60

_NOT_XML = re.compile("[^\t\n\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


CORE_PROPERTY_MAX = 255


def clean(text: str) -> str:
    """What XML 1.0 can hold: control characters (other than tab and newline) and lone
    surrogates go; a carriage return becomes a newline, which Word shows as a line break."""
    return _NOT_XML.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))


class DocxTexts:
    """The `docx` section of prompts/report_docx.yaml, looked up by dotted key."""

    def __init__(self, raw: Mapping[str, Any], source: str) -> None:
        self._raw = raw
        self._source = source

    def _find(self, key: str) -> Any:
        node: Any = self._raw
        for part in key.split("."):
            if not isinstance(node, Mapping) or part not in node:
                raise KeyError(f"{self._source}: docx.{key} ontbreekt")
            node = node[part]
        return node

    def __call__(self, key: str, **fields: object) -> str:
        value = self._find(key)
        if not isinstance(value, str):
            raise KeyError(f"{self._source}: docx.{key} moet een tekst zijn")
        text = value.strip()
        return text.format(**fields) if fields else text

    def items(self, key: str) -> tuple[str, ...]:
        value = self._find(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise KeyError(f"{self._source}: docx.{key} moet een lijst teksten zijn")
        return tuple(value)

    def mapping(self, key: str) -> Mapping[str, str]:
        value = self._find(key)
        if not isinstance(value, Mapping):
            raise KeyError(f"{self._source}: docx.{key} moet een mapping zijn")
        return {str(k): str(v) for k, v in value.items()}


@functools.cache
def docx_texts() -> DocxTexts:
    section, path = yaml_section("report_docx.yaml", "docx")
    return DocxTexts(section, str(path))


def report_docx(report: Report, chart_png: bytes | None) -> bytes:
    """The whole summary; `chart_png` is the Ambitieweb, left out when None."""
    t = docx_texts()
    doc = Document()
    _setup(doc, report, t)
    w = _Writer(doc, t)
    w.title_page(report)
    w.ambition(report)
    w.themes(report, chart_png)
    w.requirements(report)
    w.award(report)
    w.no_ambition(report)
    w.partner(report)
    w.collaboration(report)
    w.monitoring(report)
    w.context(report)
    w.open_points(report)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _setup(doc: DocxDocument, report: Report, t: DocxTexts) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    props = doc.core_properties
    # Word's document properties hold at most 255 characters; the title page keeps the full name.
    props.title = shorten(clean(t("core_title", title=report.title)), CORE_PROPERTY_MAX)
    props.author = props.last_modified_by = t("author")
    props.subject = t("subject")
    props.language = LANGUAGE
    props.created = props.modified = datetime.now(UTC).replace(tzinfo=None)
    props.revision = 1
    props.comments = ""
    # Dutch proofing for everything that inherits from Normal, so Word does not flag every word.
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), LANGUAGE)
    doc.styles["Normal"].element.get_or_add_rPr().append(lang)
    _footer(section.footer.paragraphs[0], t, report.title)


def _footer(paragraph: Paragraph, t: DocxTexts, title: str) -> None:
    short = clean(title)
    if len(short) > FOOTER_TITLE:
        short = short[: FOOTER_TITLE - 1].rstrip() + "…"
    before, _, after = t("footer", title=short.replace("\n", " "), page="{page}").partition(
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


def _or_dash(value: str | None, dash: str) -> str:
    return value if value is not None and value.strip() else dash


@dataclass(frozen=True)
class _Group:
    """Rows of one theme in a measures table; the theme and the reason span all of them."""

    theme: str
    reason: str
    rows: list[tuple[str, str, str]]


class _Writer:
    def __init__(self, doc: DocxDocument, t: DocxTexts) -> None:
        self.doc = doc
        self.t = t
        self.dash = t("dash")
        self._style_ids: dict[str, str] = {}

    def styled(self, name: str | None) -> Paragraph:
        """A new paragraph in a built-in style. python-docx resolves a style name by scanning
        every style on each call, a third of the render time, so each id is looked up once."""
        p = self.doc.add_paragraph()
        if name is not None:
            if name not in self._style_ids:
                self._style_ids[name] = self.doc.styles[name].style_id
            p._p.style = self._style_ids[name]
        return p

    def heading(self, text: str, level: int = 1) -> Paragraph:
        return self.para(text, f"Heading {level}")

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
        p.add_run(" " + clean(_or_dash(value, self.dash)))
        return p

    def bullets(self, items: Iterable[str]) -> None:
        for item in items:
            self.para(item, "List Bullet")

    def qa(self, rows: Sequence[QA]) -> None:
        if not rows:
            self.para(self.t("empty"), italic=True)
        for row in rows:
            self.para(row.question, bold=True).paragraph_format.keep_with_next = True
            self.para(_or_dash(row.answer, self.dash))

    def table(
        self,
        headers: Sequence[str],
        widths: Sequence[float],
        rows: Sequence[Sequence[str | None]],
        spans: Sequence[tuple[int, int, int]] = (),
    ) -> Table:
        """Empty text shows as a dash; None leaves a cell blank for a span (first row, last row,
        column) to merge it into the cell above."""
        table: Table = self.doc.add_table(rows=1, cols=len(headers))
        table.style = self.doc.styles["Table Grid"]
        table.autofit = False
        # Word reads the cell widths, LibreOffice the column grid; add_row copies the grid's
        # widths into each new row's cells.
        for column, width in zip(table.columns, widths, strict=True):
            column.width = Cm(width)
        header = table.rows[0]
        for cell, title, width in zip(header.cells, headers, widths, strict=True):
            cell.width = Cm(width)
            _fill(cell, title, bold=True)
            _shade(cell, HEADER_FILL)
        _repeat_header(table)
        add_row: Any = table.add_row  # untyped in python-docx
        for row in rows:
            cells = add_row().cells
            for cell, text in zip(cells, row, strict=True):
                if text is not None:
                    _fill(cell, _or_dash(text, self.dash))
        grid = table.rows
        for first, last, col in spans:
            grid[first].cells[col].merge(grid[last].cells[col])
        return table

    def measures_table(self, groups: Sequence[_Group]) -> None:
        headers = self.t.items("measure.columns")
        rows: list[tuple[str | None, ...]] = []
        spans: list[tuple[int, int, int]] = []
        for g in groups:
            first = len(rows) + 1
            for i, (text, kind, indicator) in enumerate(g.rows):
                rows.append(
                    (
                        g.theme if i == 0 else None,
                        text,
                        kind,
                        indicator,
                        g.reason if i == 0 else None,
                    )
                )
            if len(g.rows) > 1:
                spans += [(first, len(rows), 0), (first, len(rows), len(headers) - 1)]
        self.table(headers, MEASURE_WIDTHS, rows, spans)

    def groups(self, rows: Sequence[AdviceRow], award: bool) -> list[_Group]:
        t = self.t
        types = t.mapping("measure.types")
        out = []
        for row in rows:
            lines: list[tuple[str, str, str]] = []
            if (row.own_goal or "").strip() or (row.own_indicator or "").strip():
                lines.append(
                    (
                        _or_dash(row.own_goal, self.dash),
                        t("measure.own_goal"),
                        _or_dash(row.own_indicator, self.dash),
                    )
                )
            lines += [
                (m.text, types.get(m.type, m.type), _or_dash(m.indicator, self.dash))
                for m in row.measures
            ]
            if award:
                lines += [(extra, t("measure.extra"), self.dash) for extra in row.extras]
            if not lines:
                lines.append((t("measure.no_measures"), self.dash, self.dash))
            theme = (
                row.theme
                if row.level is None
                else t("measure.theme_level", theme=row.theme, level=row.level)
            )
            out.append(_Group(theme, row.reason, lines))
        return out

    def title_page(self, r: Report) -> None:
        t = self.t
        title = self.para(r.title, "Title")
        title.paragraph_format.space_before = Pt(120)
        self.para(t("subtitle"), "Subtitle")
        self.labelled(t("organisation") + ":", r.organisation)
        self.labelled(t("category") + ":", r.category)
        self.labelled(t("date") + ":", r.date)
        self.para(t("made_with"), italic=True).paragraph_format.space_before = Pt(24)

    def ambition(self, r: Report) -> None:
        t = self.t
        self.heading(t("ambition.heading")).paragraph_format.page_break_before = True
        if r.ambition.strip():
            self.para(r.ambition, "Intense Quote")
            self.para(t("ambition.own" if r.ambition_is_own else "ambition.proposal"), italic=True)
        else:
            self.para(t("empty"), italic=True)
        if r.org_ambition and r.org_ambition.strip():
            self.para(t("ambition.org")).paragraph_format.keep_with_next = True
            self.para(r.org_ambition, "Quote")

    def themes(self, r: Report, chart_png: bytes | None) -> None:
        t = self.t
        self.heading(t("themes.heading"))
        if r.themes:
            self.para(t("themes.intro"))
            self.table(
                t.items("themes.columns"),
                THEME_WIDTHS,
                [
                    (
                        str(th.priority),
                        th.label,
                        th.level_label
                        if th.level is None
                        else t("themes.level", level=th.level, label=th.level_label),
                        th.goal or "",
                        th.indicator or "",
                    )
                    for th in r.themes
                ],
            )
        else:
            self.para(t("empty"), italic=True)
        if chart_png is not None:
            picture = self.styled(None)
            picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
            picture.paragraph_format.keep_with_next = True
            picture.paragraph_format.space_before = Pt(12)
            picture.add_run().add_picture(io.BytesIO(chart_png), width=PICTURE_WIDTH)
            self.para(t("chart.caption"), "Caption").alignment = WD_ALIGN_PARAGRAPH.CENTER

    def requirements(self, r: Report) -> None:
        t = self.t
        self.heading(t("requirements.heading"))
        if r.requirements:
            self.para(t("requirements.intro"))
            self.measures_table(self.groups(r.requirements, award=False))
        else:
            self.para(t("requirements.none"), italic=True)
        if r.general_minimum:
            self.labelled(t("requirements.general_minimum"), r.general_minimum)

    def award(self, r: Report) -> None:
        t = self.t
        self.heading(t("award.heading"))
        if r.award_criteria:
            self.para(t("award.intro"))
            self.measures_table(self.groups(r.award_criteria, award=True))
        else:
            self.para(t("award.none"), italic=True)
        if r.award_note.strip():
            self.para(r.award_note, italic=True).paragraph_format.space_before = Pt(6)
        if r.general_distinction:
            self.labelled(t("award.general_distinction"), r.general_distinction)

    def no_ambition(self, r: Report) -> None:
        if not r.no_ambition:
            return
        self.heading(self.t("no_ambition.heading"), level=2)
        self.para(self.t("no_ambition.intro"))
        self.bullets(r.no_ambition)

    def partner(self, r: Report) -> None:
        self.heading(self.t("partner.heading"))
        self.qa(r.partner)

    def collaboration(self, r: Report) -> None:
        t = self.t
        c = r.collaboration
        self.heading(t("collaboration.heading"))
        self.labelled(t("collaboration.advice"), c.form)
        if c.explanation.strip():
            self.para(c.explanation)
        if c.decisive:
            self.para(t("collaboration.decisive")).paragraph_format.keep_with_next = True
            self.bullets(c.decisive)
        if c.note:
            self.para(c.note, italic=True)

    def monitoring(self, r: Report) -> None:
        t = self.t
        self.heading(t("monitoring.heading"))
        if r.kpis:
            self.para(t("monitoring.kpis"), bold=True).paragraph_format.keep_with_next = True
            self.bullets(r.kpis)
        else:
            self.labelled(t("monitoring.kpis"), None)
        self.labelled(t("monitoring.reporting"), r.reporting)
        self.labelled(t("monitoring.evaluation"), ", ".join(r.evaluation))
        self.labelled(t("monitoring.owner"), r.owner)
        roadmap = {
            True: t("answer_yes"),
            False: t("answer_no"),
            None: t("monitoring.roadmap_unknown"),
        }
        self.labelled(t("monitoring.roadmap"), roadmap[r.roadmap])

    def context(self, r: Report) -> None:
        self.heading(self.t("context.heading"))
        if not r.context:
            self.para(self.t("empty"), italic=True)
        for section in r.context:
            self.heading(section.title, level=2)
            self.qa(section.rows)

    def open_points(self, r: Report) -> None:
        self.heading(self.t("open_points.heading"))
        if r.open_points:
            self.bullets(r.open_points)
        else:
            self.para(self.t("open_points.none"))


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

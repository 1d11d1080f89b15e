"""The team check's result as a chart and a Word document, to keep or send on."""

from __future__ import annotations

import io
import re
import statistics
from collections.abc import Sequence
from datetime import datetime

from flows.prompting import plain
from flows.teamcheck.model import TeamCheck, TeamResult, level_text
from flows.teamcheck.words import TeamTexts, route_reason


def _date(check: TeamCheck) -> str:
    stamp = check.closed_at or check.created
    try:
        return datetime.fromisoformat(stamp).strftime("%d-%m-%Y")
    except ValueError:
        return stamp


def middle_half(votes: Sequence[int]) -> tuple[float, float]:
    """Where the middle half of a theme's votes lie (first to third quartile). Lowest to
    highest would cover 0-3 on every theme as soon as a large team has one outlier each way;
    the extremes are named in the result text instead."""
    if len(votes) < 2:
        only = float(votes[0]) if votes else 0.0
        return only, only
    low, _, high = statistics.quantiles(votes, n=4, method="inclusive")
    return low, high


def chart_png(result: TeamResult, t: TeamTexts) -> bytes:
    """The shared Ambitieweb: median per theme, the middle half of the votes as the orange
    band. A theme without votes sits at 0 with no band; the text says it had no votes."""
    from flows.report.chart import ambitieweb_png  # matplotlib: only where a chart is made

    check = result.check
    points = [(tally.label, tally.median or 0.0) for tally in result.tallies]
    ranges = [middle_half(tally.votes) for tally in result.tallies]
    return ambitieweb_png(
        points,
        title=t.plain("chart.title", subject=check.subject),
        ranges=ranges,
        subtitle=t.plain(
            "chart.subtitle", voters=result.voters, private=check.private, date=_date(check)
        ),
    )


DOCX_WIDTHS = (4.2, 1.7, 1.7, 1.7, 1.7, 5.0)


def result_docx(result: TeamResult, png: bytes | None, t: TeamTexts) -> bytes:
    """A short Word report to send on: title, subject, date, chart, table, discussion list.

    Only built-in styles, like the summary's document, so the reader's template restyles it.
    """
    # python-docx only where a document is made, so the bot process does not load it early.
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    from flows.report.docx_doc import clean

    check = result.check
    doc = Document()
    props = doc.core_properties
    props.title = clean(t.plain("docx.title"))
    props.author = "Inkoopkompas"
    doc.add_paragraph(clean(t.plain("docx.title")), style="Title")
    if check.subject:
        doc.add_paragraph(clean(t.plain("docx.subject", subject=check.subject)))
    else:
        doc.add_paragraph(clean(t.plain("docx.no_subject")))
    if check.source and check.private:  # a tender's name never goes to a group
        doc.add_paragraph(clean(t.plain("docx.source", source=check.source)))
    doc.add_paragraph(clean(t.plain("docx.date", date=_date(check))))
    doc.add_paragraph(clean(t.plain("docx.voters", voters=result.voters)))
    if png is not None:
        picture = doc.add_paragraph()
        picture.alignment = WD_ALIGN_PARAGRAPH.CENTER
        picture.add_run().add_picture(io.BytesIO(png), width=Cm(14))
        caption = doc.add_paragraph(clean(t.plain("docx.chart_caption")), style="Caption")
        caption.alignment = WD_ALIGN_PARAGRAPH.CENTER

    doc.add_heading(clean(t.plain("docx.table_heading")), level=1)
    columns = ("col_theme", "col_median", "col_low", "col_high", "col_votes", "col_route")
    table = doc.add_table(rows=1, cols=len(columns))
    table.style = doc.styles["Table Grid"]
    for cell, key in zip(table.rows[0].cells, columns, strict=True):
        cell.paragraphs[0].add_run(clean(t.plain(f"docx.{key}"))).bold = True
    dash = t.plain("docx.empty")
    for tally, placement in zip(result.tallies, result.placements, strict=True):
        route, reason = route_reason(placement, t)
        row: Sequence[str] = (
            tally.label,
            level_text(tally.median) if tally.median is not None else dash,
            str(tally.low) if tally.low is not None else dash,
            str(tally.high) if tally.high is not None else dash,
            str(tally.count),
            f"{plain(route)}: {plain(reason)}",
        )
        cells = table.add_row().cells
        for cell, text in zip(cells, row, strict=True):
            cell.paragraphs[0].add_run(clean(text)).font.size = Pt(9.5)
    for column, width in zip(table.columns, DOCX_WIDTHS, strict=True):
        for cell in column.cells:
            cell.width = Cm(width)
    doc.add_paragraph(clean(t.plain("docx.rounding"))).runs[0].italic = True

    doc.add_heading(clean(t.plain("docx.discuss_heading")), level=1)
    differ = result.differ
    if differ:
        doc.add_paragraph(clean(t.plain("docx.discuss_intro")))
        for d in differ:
            doc.add_paragraph(
                clean(t.plain("docx.discuss_row", label=d.label, low=d.low, high=d.high)),
                style="List Bullet",
            )
    else:
        doc.add_paragraph(clean(t.plain("docx.discuss_none")))
    doc.add_heading(clean(t.plain("docx.agree_heading")), level=1)
    agree = result.agree
    if agree:
        for a in agree:
            doc.add_paragraph(clean(a.label), style="List Bullet")
    else:
        doc.add_paragraph(clean(t.plain("docx.agree_none")))
    doc.add_paragraph(clean(t.plain("docx.made_with"))).runs[0].italic = True
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def docx_filename(check: TeamCheck) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", check.subject.lower()).strip("-")[:40]
    return f"ambitiecheck-{slug or check.id}.docx"

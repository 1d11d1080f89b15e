"""The progress report for the contract meeting: Word, the realised web, and the JSON block.

Made from the snapshot in a `DocumentRequest` (see `ContractRoom.progress_request`), like the
summary's documents, so a channel can make them in its worker process off the event loop.
The Word document is written in formal Dutch for colleagues and the supplier; it reuses the
summary's Word helpers (built-in styles only, text cleaned for XML).
"""

from __future__ import annotations

import functools
import io
from datetime import date
from typing import Any

from docx import Document
from docx.shared import Cm, Mm

from flows.contract.charts import realised_web_png, trend_png
from flows.contract.export import EXPORT_KEY
from flows.contract.model import award_date
from flows.contract.progress import KpiProgress, planned, progress, realised_web
from flows.contract.room import PROGRESS_KEY
from flows.contract.schedule import open_checkins
from flows.contract.view import contract_texts, counts, day, number
from flows.events import DocumentRequest
from flows.report.docx_doc import LANGUAGE, DocxTexts, _Writer, clean
from flows.texts import yaml_section

TREND_WIDTH = Cm(12)
WEB_WIDTH = Cm(10.5)
KPI_WIDTHS = (4.0, 5.0, 7.0)


@functools.cache
def docx_texts() -> DocxTexts:
    section, path = yaml_section("contract.yaml", "docx")
    return DocxTexts({"dash": "–", "empty": "–", **section}, str(path))


def is_progress(request: DocumentRequest) -> bool:
    return isinstance(request.answers.get(PROGRESS_KEY), dict)


def export_block(request: DocumentRequest) -> dict[str, Any] | None:
    """The `contract` block for the JSON export of this request, if its tender has a contract:
    from the record an answers file carries, or from the snapshot of `/voortgang`."""
    contract = request.answers.get(EXPORT_KEY)
    if is_progress(request):
        contract = _snapshot(request)[0]
    return contract_block(contract, request.answers) if isinstance(contract, dict) else None


def _snapshot(request: DocumentRequest) -> tuple[dict[str, Any], date, dict[str, str]]:
    snap = request.answers[PROGRESS_KEY]
    return snap["contract"], date.fromisoformat(str(snap["date"])), dict(snap.get("labels") or {})


def _tender_name(request: DocumentRequest) -> str:
    return str(request.answers.get("naam") or request.name)


def web_png(request: DocumentRequest) -> bytes:
    contract, today, labels = _snapshot(request)
    t = docx_texts()
    rows = realised_web(contract, request.answers)
    themes = [(labels.get(r.theme, r.theme), float(r.planned), r.realised) for r in rows]
    return realised_web_png(
        themes,
        title=t("chart.web_title"),
        subtitle=f"{_tender_name(request)} · {day(today)}",
        planned_label=t("chart.planned"),
        realised_label=t("chart.realised"),
    )


def progress_files(request: DocumentRequest) -> dict[str, bytes]:
    """The Word report and the realised web, drawn once for both; the JSON export as ever, with
    its `contract` block."""
    chart = web_png(request)
    out: dict[str, bytes] = {}
    for fmt in request.formats:
        if fmt == "png":
            out[fmt] = chart
        elif fmt == "docx":
            out[fmt] = progress_docx(request, chart)
        elif fmt == "json":
            from flows.report.documents import render_bytes

            out[fmt] = render_bytes(request, fmt)
    return out


def _trend(row: KpiProgress, start: date) -> bytes:
    t = docx_texts()
    return trend_png(
        row,
        start,
        measured_label=t("chart.trend_measured"),
        planned_label=t("chart.trend_planned"),
        target_label=t("chart.trend_target"),
    )


def progress_docx(request: DocumentRequest, web: bytes) -> bytes:
    contract, today, labels = _snapshot(request)
    t = docx_texts()
    chat = contract_texts()
    doc = Document()
    section = doc.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.5))
    props = doc.core_properties
    props.title = clean(t("title"))[:255]
    props.language = LANGUAGE
    w = _Writer(doc, t)
    name = _tender_name(request)
    w.para(t("title"), "Title")
    w.para(t("subtitle", name=name, date=day(today)), "Subtitle")
    w.para(t("intro", supplier=contract.get("supplier", "")))

    w.heading(t("contract_heading"))
    done, count = counts(contract)
    rows = t.mapping("contract_rows")
    w.labelled(rows["supplier"] + ":", str(contract.get("supplier", "")))
    w.labelled(rows["award"] + ":", day(str(contract["award"])))
    w.labelled(rows["months"] + ":", rows["months_value"].format(months=contract.get("months")))
    w.labelled(rows["frequency"] + ":", chat(f"frequency.{contract.get('frequency')}"))
    w.labelled(rows["checkins"] + ":", rows["checkins_value"].format(done=done, count=count))

    w.heading(t("web_heading"))
    w.para(t("web_text"))
    doc.add_picture(io.BytesIO(web), width=WEB_WIDTH)
    missing = [
        labels.get(r.theme, r.theme)
        for r in realised_web(contract, request.answers)
        if r.realised is None and r.planned > 0
    ]
    if missing:
        w.para(t("web_missing", themes=", ".join(missing)), italic=True)

    w.heading(t("kpi_heading"))
    w.para(t("rule"), italic=True)
    start = award_date(contract)
    rows_progress = progress(contract)
    for row in rows_progress:
        k = row.kpi
        w.heading(k.name, 2).paragraph_format.keep_with_next = True
        summary = t(
            "kpi_summary",
            baseline=number(k.baseline),
            target=number(k.target),
            year=k.year,
            status=chat(f"status.{row.status}"),
        )
        w.para(summary).paragraph_format.keep_with_next = True
        doc.add_picture(io.BytesIO(_trend(row, start)), width=TREND_WIDTH)
        table_rows = [
            [
                day(d),
                t("not_measured") if v is None else number(v),
                number(round(planned(k, start, d), 1)),
            ]
            for d, v in row.points
        ]
        if table_rows:
            w.table(t.items("kpi_columns"), KPI_WIDTHS, table_rows)

    w.heading(t("advice_heading"))
    behind = [r.kpi.name for r in rows_progress if r.status == "achter"]
    if behind:
        w.para(t("advice_intro"))
        w.bullets(behind)
        w.para(t("advice_behind"))
    else:
        w.para(t("advice_none"))

    w.heading(t("actions_heading"))
    actions = contract.get("actions") or []
    for a in actions:
        w.para(f"{day(str(a['date']))}: {a['text']}", "List Bullet")
    if not actions:
        w.para(t("actions_none"), italic=True)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def contract_block(contract: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The `contract` block of the JSON export: plain facts, no wording."""
    return {
        "leverancier": contract.get("supplier"),
        "gunningsdatum": contract.get("award"),
        "looptijd_maanden": contract.get("months"),
        "rapportage": contract.get("frequency"),
        "herinneringen": contract.get("reminders", "aan"),
        "meetmomenten": [
            {"nummer": c["n"], "datum": c["due"], "ingevuld": bool(c.get("done"))}
            for c in contract.get("checkins") or []
        ],
        "open_meetmomenten": len(open_checkins(contract)),
        "kpis": [
            {
                "id": r.kpi.id,
                "naam": r.kpi.name,
                "thema": r.kpi.theme,
                "nulmeting": r.kpi.baseline,
                "streefwaarde": r.kpi.target,
                "streefjaar": r.kpi.year,
                "status": r.status,
                "metingen": [{"datum": d.isoformat(), "waarde": v} for d, v in r.points],
            }
            for r in progress(contract)
        ],
        "ambitieweb": [
            {"thema": w.theme, "gepland": w.planned, "gerealiseerd": w.realised}
            for w in realised_web(contract, answers)
        ],
        "afspraken": [dict(a) for a in contract.get("actions") or []],
    }

"""Producing the downloadable files of a summary, in any of the supported formats.

One registry, `FORMATS`: a format is a function from a `Rendering` (the request, with the report
and the chart made at most once) to bytes. Adding a format is one module plus one line here.
Pure functions, safe to run in a worker thread.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flows.events import DocumentRequest
from flows.prompting import plain
from flows.report.answers_file import dump_answers
from flows.report.context import Report
from flows.report.files import filename
from flows.report.summary import chat_text, default_builder
from flows.report.words import report_words


@dataclass(frozen=True)
class Rendering:
    request: DocumentRequest

    @functools.cached_property
    def report(self) -> Report:
        return default_builder().build(self.request)

    @functools.cached_property
    def chart(self) -> bytes:
        from flows.report.chart import ambitieweb_png  # matplotlib: only where a chart is made

        title = report_words()("chart_title", title=self.report.title)
        return ambitieweb_png(self.report.chart_points, title=title)


def _docx(r: Rendering) -> bytes:
    from flows.report.docx_doc import report_docx

    return report_docx(r.report, r.chart)


def _md(r: Rendering) -> bytes:
    from flows.report.markdown import report_markdown

    return report_markdown(r.report).encode("utf-8")


def _json(r: Rendering) -> bytes:
    from flows.contract.documents import export_block
    from flows.report.json_export import report_json

    return report_json(r.report, export_block(r.request)).encode("utf-8")


FORMATS: dict[str, Callable[[Rendering], bytes]] = {
    "docx": _docx,
    "md": _md,
    "png": lambda r: r.chart,
    "txt": lambda r: plain(chat_text(r.report)).encode("utf-8"),
    "json": _json,
    "yaml": lambda r: dump_answers(r.request).encode("utf-8"),
}


def render_bytes(request: DocumentRequest, fmt: str) -> bytes:
    if fmt not in FORMATS:
        raise ValueError(f"onbekend formaat {fmt!r}")
    return FORMATS[fmt](Rendering(request))


def render_all(request: DocumentRequest) -> dict[str, bytes]:
    """Every requested format from one report build (the chart is drawn once)."""
    from flows.contract import documents as contract  # hook: the contract phase's report

    if contract.is_progress(request):
        return contract.progress_files(request)
    rendering = Rendering(request)
    return {fmt: FORMATS[fmt](rendering) for fmt in request.formats}


def write_documents(request: DocumentRequest, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt, data in render_all(request).items():
        path = out_dir / filename(request, fmt)
        path.write_bytes(data)
        paths.append(path)
    return paths


def render_to(request: DocumentRequest, fmt: str, output: Path) -> None:
    if output.parent != Path(""):
        output.parent.mkdir(parents=True, exist_ok=True)
    output.write_bytes(render_bytes(request, fmt))

"""Producing the downloadable files of a summary, in any of the supported formats.

Pure functions from a snapshot to bytes, safe to run in a worker thread, so a channel can make
documents off its event loop while other buyers keep chatting.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from flows.events import DocumentRequest
from flows.prompting import plain
from flows.report.answers_file import dump_answers
from flows.report.chart import ambitieweb_png
from flows.report.context import Report
from flows.report.docx_doc import report_docx
from flows.report.files import filename
from flows.report.markdown import report_markdown
from flows.report.summary import chat_text, default_builder
from flows.texts import default_texts

FORMATS = ("docx", "md", "png", "yaml", "txt")


def chart_bytes(report: Report) -> bytes:
    return ambitieweb_png(
        report.chart_points,
        title=plain(default_texts()("report.download_caption", name=report.title)),
    )


_RENDERERS: dict[str, Callable[[Report], bytes]] = {
    "docx": lambda r: report_docx(r, chart_bytes(r)),
    "md": lambda r: report_markdown(r).encode("utf-8"),
    "png": chart_bytes,
    "txt": lambda r: plain(chat_text(r)).encode("utf-8"),
}


def render_bytes(request: DocumentRequest, fmt: str) -> bytes:
    if fmt == "yaml":
        return dump_answers(request).encode("utf-8")
    if fmt not in _RENDERERS:
        raise ValueError(f"onbekend formaat {fmt!r}")
    return _RENDERERS[fmt](default_builder().build(request))


def render_all(request: DocumentRequest) -> dict[str, bytes]:
    """Every requested format from one report build (the chart is drawn once)."""
    from flows.contract import documents as contract  # hook: the contract phase's report

    if contract.is_progress(request):
        return contract.progress_files(request)
    if request.formats == ("yaml",):
        return {"yaml": render_bytes(request, "yaml")}
    report = default_builder().build(request)
    chart = chart_bytes(report)
    out: dict[str, bytes] = {}
    for fmt in request.formats:
        if fmt == "docx":
            out[fmt] = report_docx(report, chart)
        elif fmt == "png":
            out[fmt] = chart
        elif fmt == "yaml":
            out[fmt] = dump_answers(request).encode("utf-8")
        else:
            out[fmt] = _RENDERERS[fmt](report)
    return out


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

"""Warm time to produce the chat summary, the Word file, the Markdown and the chart."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from bench.common import summary_ms
from flows.report.answers_file import load_answers_file
from flows.report.chart import ambitieweb_png
from flows.report.docx_doc import report_docx
from flows.report.markdown import report_markdown
from flows.report.summary import chat_summary, default_builder

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "catering.yaml"


def measure(repeats: int = 30) -> dict[str, Any]:
    request = load_answers_file(EXAMPLE)
    builder = default_builder()
    times: dict[str, list[float]] = {k: [] for k in ("chat", "md", "chart", "docx", "set")}
    for warm in range(repeats + 3):
        start = time.perf_counter()
        chat_summary(request)
        t_chat = time.perf_counter()
        report = builder.build(request)
        report_markdown(report)
        t_md = time.perf_counter()
        chart = ambitieweb_png(report.chart_points, title=report.title)
        t_chart = time.perf_counter()
        report_docx(report, chart)
        t_docx = time.perf_counter()
        if warm < 3:
            continue
        times["chat"].append(t_chat - start)
        times["md"].append(t_md - t_chat)
        times["chart"].append(t_chart - t_md)
        times["docx"].append(t_docx - t_chart)
        times["set"].append(t_docx - start)
    return {name: summary_ms(values) for name, values in times.items()}


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(measure(args.repeats), indent=2))

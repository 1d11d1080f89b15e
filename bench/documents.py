"""Warm time to produce the chat summary, the Word file, the Markdown and the chart.

Wall time and, beside it, this process's CPU time: on the shared box the wall time says as much
about the neighbours as about the code, the CPU time much less.
"""

from __future__ import annotations

import itertools
import statistics
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
PARTS = ("chat", "md", "chart", "docx")


def _now() -> tuple[float, float]:
    """Wall time and this process's CPU time."""
    return time.perf_counter(), time.process_time()


def measure(repeats: int = 30) -> dict[str, Any]:
    request = load_answers_file(EXAMPLE)
    builder = default_builder()
    times: dict[str, list[float]] = {k: [] for k in (*PARTS, "set")}
    cpu: dict[str, list[float]] = {k: [] for k in (*PARTS, "set")}
    for warm in range(repeats + 3):
        marks = [_now()]
        chat_summary(request)
        marks.append(_now())
        report = builder.build(request)
        report_markdown(report)
        marks.append(_now())
        chart = ambitieweb_png(report.chart_points, title=report.title)
        marks.append(_now())
        report_docx(report, chart)
        marks.append(_now())
        if warm < 3:
            continue
        spans = [*itertools.pairwise(marks), (marks[0], marks[-1])]
        for name, (start, end) in zip((*PARTS, "set"), spans, strict=True):
            times[name].append(end[0] - start[0])
            cpu[name].append(end[1] - start[1])
    return {
        name: {**summary_ms(values), "cpu_p50_ms": round(statistics.median(cpu[name]) * 1000, 3)}
        for name, values in times.items()
    }


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    print(json.dumps(measure(args.repeats), indent=2))

"""The summary as chat messages."""

from __future__ import annotations

import functools

from flows.events import DocumentRequest
from flows.report.context import Report, ReportBuilder
from flows.report.splitting import TELEGRAM_LIMIT, split_message
from flows.report.words import report_words
from flows.texts import default_texts


@functools.lru_cache(maxsize=1)
def default_builder() -> ReportBuilder:
    return ReportBuilder()


def chat_text(report: Report) -> str:
    return default_texts().template("summary_chat.html.j2", r=report, w=report_words())


def chat_summary(request: DocumentRequest, limit: int = TELEGRAM_LIMIT) -> list[str]:
    return split_message(chat_text(default_builder().build(request)), limit)

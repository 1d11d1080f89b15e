"""How contract facts read in Dutch: numbers, dates, the progress lines and the due list."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date
from typing import Any

from flows.contract.progress import KpiProgress, progress, realised_web
from flows.contract.schedule import open_checkins
from flows.texts import Texts, prompts_dir


@functools.lru_cache(maxsize=1)
def contract_texts() -> Texts:
    return Texts(prompts_dir() / "contract.yaml")


def number(value: float) -> str:
    """45 → "45", 12.5 → "12,5", 1250 → "1.250": how a Dutch reader writes numbers."""
    rounded = round(value, 2)
    if rounded == int(rounded):
        return f"{int(rounded):,}".replace(",", ".")
    whole, _, fraction = f"{rounded:,.2f}".rstrip("0").partition(".")
    return whole.replace(",", ".") + "," + fraction


def day(value: date | str, texts: Texts | None = None) -> str:
    d = date.fromisoformat(value) if isinstance(value, str) else value
    months: Mapping[Any, Any] = (texts or contract_texts()).section("months")
    return f"{d.day} {months[d.month]} {d.year}"


def status_label(texts: Texts, row: KpiProgress) -> str:
    return texts(f"status.{row.status}")


def progress_lines(
    texts: Texts,
    contract: dict[str, Any],
    answers: dict[str, Any],
    name: str,
    labels: dict[str, str],
) -> list[str]:
    """The progress in the chat: one line per KPI, the rule, the advice and the web."""
    rows = progress(contract)
    lines = [texts("progress.title", name=name, supplier=contract.get("supplier", ""))]
    for row in rows:
        k = row.kpi
        common = {
            "kpi": k.name,
            "baseline": number(k.baseline),
            "target": number(k.target),
            "year": k.year,
            "status": status_label(texts, row),
        }
        if row.latest is None or row.expected is None:
            lines.append(texts("progress.line_empty", **common))
        else:
            lines.append(
                texts(
                    "progress.line",
                    value=number(row.latest[1]),
                    expected=number(round(row.expected, 1)),
                    **common,
                )
            )
    text = ["\n".join(lines), texts("progress.rule")]
    if any(r.status == "achter" for r in rows):
        text.append(texts("progress.advice_behind"))
    for row in rows:
        if row.behind_streak >= 2:
            text.append(texts("progress.advice_streak", kpi=row.kpi.name, streak=row.behind_streak))
    web = realised_web(contract, answers)
    if web:
        themes = [
            f"{labels.get(w.theme, w.theme)} {w.planned} → "
            + ("?" if w.realised is None else number(w.realised))
            for w in web
            if w.planned > 0
        ]
        text.append(texts("progress.web", themes=themes))
    actions = [str(a["text"]) for a in contract.get("actions") or []][-3:]
    if actions:
        text.append(texts("progress.actions", actions=actions))
    return text


def counts(contract: dict[str, Any]) -> tuple[int, int]:
    checkins = contract.get("checkins") or []
    return len(checkins) - len(open_checkins(contract)), len(checkins)

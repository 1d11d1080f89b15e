"""The summary as data (`--format json`), for other tools; the schema is in the README."""

from __future__ import annotations

import json
from typing import Any

from flows.report.context import Report

SCHEMA_VERSION = 1


def report_json(report: Report, contract: dict[str, Any] | None = None) -> str:
    """`contract` is the contract phase's block; a tender without one has no `contract` key, so
    its JSON is exactly what it was before the contract phase existed."""

    def item(i: Any) -> dict[str, Any]:
        out = {
            "section": i.section,
            "theme": i.theme,
            "text": i.text,
            "reason": i.reason,
            "proof": i.proof,
            "measure": i.measure,
            "jurist": i.jurist,
            "jurist_note": i.jurist_note,
            "warning": i.warning,
        }
        if i.section == "gunningscriterium":
            out.update(weight=i.weight, quality_weight=i.quality_weight, scoring=i.scoring)
        return out

    doc = {
        "schema": SCHEMA_VERSION,
        "title": report.title,
        "organisation": report.organisation,
        "category": report.category,
        "date": report.date,
        "version": report.version,
        "ambition": report.card.ambition,
        "themes": [
            {
                "id": t.value,
                "label": t.label,
                "priority": t.priority,
                "level": t.level,
                "goal": t.goal,
                "indicator": t.indicator,
            }
            for t in report.themes
        ],
        "quality_share": report.advice.quality_share,
        "advice": [item(i) for i in report.advice.items],
        "open_points": list(report.contradictions) + list(report.open_points),
        "rules": list(report.rules),
    }
    if contract is not None:
        doc["contract"] = contract
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"

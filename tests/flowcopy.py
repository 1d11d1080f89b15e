"""A copy of `prompts/flow.yaml` with required questions added: tests must not depend on order.

The extra questions are of every kind and sit where they shift the most: first of all, at the start
of a step, between a multiple choice and the question built from it, and at the very end.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from flows.spec import FlowSpec, default_path, load_spec

EXTRA: dict[str, tuple[int, int, dict[str, Any]]] = {
    # id: (step index, position in the step, question)
    "extra_eerst": (0, 0, {"kind": "text", "prompt": "Wat is je rol?"}),
    "extra_keuze": (
        1,
        0,
        {
            "kind": "choice",
            "prompt": "Is het budget al bekend?",
            "choices": [
                {"value": "ja", "label": "Ja, vastgesteld"},
                {"value": "indicatie", "label": "Alleen een indicatie"},
                {"value": "nee", "label": "Nog niet"},
            ],
        },
    ),
    "extra_ja_nee": (3, 1, {"kind": "yesno", "prompt": "Is er een MVI-plan?"}),
    "extra_meer": (
        4,
        2,
        {
            "kind": "multi",
            "prompt": "Welke afdelingen doen mee?",
            "choices": [
                {"value": "fm", "label": "Facilitair"},
                {"value": "hr", "label": "Personeelszaken"},
                {"value": "ict", "label": "ICT"},
            ],
        },
    ),
    "extra_jaar": (-1, 99, {"kind": "year", "prompt": "Wanneer start het contract?"}),
}


def extended_flow(directory: Path) -> FlowSpec:
    """The product's flow with the `EXTRA` questions added, written to `directory`."""
    raw = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    for qid, (step, position, question) in EXTRA.items():
        questions: list[Any] = raw["steps"][step]["questions"]
        questions.insert(min(position, len(questions)), {"id": qid, **question})
    path = directory / "flow-extended.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_spec(path)

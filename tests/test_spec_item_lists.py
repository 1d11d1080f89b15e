"""A theme's own list (its indicators) may give a button a shorter text, and is checked at load."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.spec import SpecError, default_path, load_spec


def flow_with_indicators(tmp_path: Path, indicators: list[Any]) -> Path:
    raw = yaml.safe_load(default_path().read_text(encoding="utf-8"))
    for step in raw["steps"]:
        for question in step["questions"]:
            if question.get("id") == "themas":
                question["choices"][0]["indicators"] = indicators
    path = tmp_path / "flow.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_an_indicator_with_a_short_label_is_offered_with_it(tmp_path: Path) -> None:
    long = "Aandeel producten met een milieukeurmerk (%)"
    spec = load_spec(flow_with_indicators(tmp_path, [{"label": long, "short": "Keurmerk (%)"}]))
    theme = spec.questions["themas"].choices[0]
    slot_question = next(q for q in spec.questions.values() if q.item_choices == "indicators")
    (choice,) = spec.choices_for(slot_question, {}, theme.value)
    assert (choice.value, choice.label, choice.attrs["short"]) == (long, long, "Keurmerk (%)")


@pytest.mark.parametrize(
    "entry",
    [{"short": "zonder label"}, {"label": "x", "kort": "y"}, 7, "", {"label": "x", "short": 3}],
)
def test_a_malformed_list_entry_stops_loading_and_names_the_question(
    tmp_path: Path, entry: Any
) -> None:
    with pytest.raises(SpecError, match="themas"):
        load_spec(flow_with_indicators(tmp_path, [entry]))

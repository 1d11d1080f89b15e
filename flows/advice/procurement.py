"""Procurement facts kept as data (`prompts/procurement.yaml`): thresholds with their source and
date, and which knowledge-base measures make one of the advice's own texts superfluous."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.texts import TextsError, yaml_section


@dataclass(frozen=True)
class Procurement:
    thresholds: Mapping[str, Any]
    covered_by: Mapping[str, tuple[str, ...]]
    signals: Mapping[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)

    def signalled(self, text: str | None) -> list[tuple[str, str]]:
        """(signal, theme) for every instrument the buyer names in a free answer."""
        found = []
        for name, (theme, words) in self.signals.items():
            pattern = r"\b(" + "|".join(re.escape(w) for w in words) + r")\b"
            if text and re.search(pattern, text, re.IGNORECASE):
                found.append((name, theme))
        return found

    def covered(self, purpose: str, chosen: set[str]) -> bool:
        """True when a chosen knowledge-base measure already says what `purpose` would say."""
        return any(m in chosen for m in self.covered_by.get(purpose, ()))


@functools.cache
def procurement() -> Procurement:
    thresholds, path = yaml_section("procurement.yaml", "thresholds")
    covered, _ = yaml_section("procurement.yaml", "covered_by")
    signals, _ = yaml_section("procurement.yaml", "signals")
    for key in ("period", "source", "checked", "amounts", "note"):
        if key not in thresholds:
            raise TextsError(f"{path}: thresholds.{key} ontbreekt")
    return Procurement(
        thresholds=thresholds,
        covered_by={str(k): tuple(str(x) for x in v or ()) for k, v in covered.items()},
        signals={
            str(k): (str(v["theme"]), tuple(str(w) for w in v["words"])) for k, v in signals.items()
        },
    )

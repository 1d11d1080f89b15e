"""The procurement context as the rules need it, read from the answers by role.

Unknown or unanswered context is not guessed: the rules leave out what depends on it and the
open points say what to fill in, so an old answers file without these questions still renders.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flows.advice.collaboration import Collaboration, collaboration
from flows.spec import FlowSpec


@dataclass(frozen=True)
class Facts:
    category: str | None
    scopes: tuple[str, ...]
    value: str | None
    duration: str | None
    procedure: str | None
    selection_round: bool
    lots: str | None
    budget: str | None
    chain: str | None
    chain_risks: str | None
    talks: bool | None
    innovation: bool | None
    roadmap: bool | None
    form: Collaboration

    @property
    def conditions(self) -> tuple[str, ...]:
        """The answer-derived conditions of KB_INTERFACE.md that hold for this tender."""
        found = {
            "roadmap": self.roadmap is True,
            "innovatie": self.innovation is True,
            "relationeel": self.form.form == "relationeel",
            "transactioneel": self.form.form == "transactioneel",
            "boven_drempel": self.value == "boven_drempel",
            "onder_drempel": self.value in ("klein", "onder_drempel"),
            "lange_looptijd": self.duration == "lang",
            "percelen": self.lots == "ja",
            "keten_complex": self.chain == "complex",
            "selectiefase": self.selection_round,
        }
        return tuple(name for name, holds in found.items() if holds)


def _text(value: Any) -> str | None:
    return str(value) if isinstance(value, str) and value else None


def _flag(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def read_facts(spec: FlowSpec, answers: Mapping[str, Any]) -> Facts:
    procedure = _text(spec.by_role(answers, "procedure"))
    procedure_q = spec.role("procedure")
    selection = bool(procedure_q and spec.choice_attr(procedure_q, procedure, "selection"))
    scopes = spec.by_role(answers, "scopes")
    return Facts(
        category=_text(spec.by_role(answers, "category")),
        scopes=tuple(str(s) for s in scopes) if isinstance(scopes, list) else (),
        value=_text(spec.by_role(answers, "value")),
        duration=_text(spec.by_role(answers, "duration")),
        procedure=procedure,
        selection_round=selection,
        lots=_text(spec.by_role(answers, "lots")),
        budget=_text(spec.by_role(answers, "budget")),
        chain=_text(spec.by_role(answers, "chain")),
        chain_risks=_text(spec.by_role(answers, "chain_risks")),
        talks=_flag(spec.by_role(answers, "talks")),
        innovation=_flag(spec.by_role(answers, "innovation")),
        roadmap=_flag(spec.by_role(answers, "roadmap")),
        form=collaboration(spec, answers),
    )

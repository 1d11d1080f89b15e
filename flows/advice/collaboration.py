"""Transactional or relational (section 3.3 of the FM guide), from step 5 and the chain of step 2.

Each scale answer counts 0 (laag), 1 (gemiddeld) or 2 (hoog); the chain complexity of the market
analysis counts as one more factor the same way, because a complex chain needs more working
together than a simple one. The share of the maximum decides. Unanswered factors are left out
rather than counted as low, so a half-filled step 5 gives a cautious advice instead of a wrong one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flows.spec import FlowSpec

RELATIONAL_FROM = 0.7
TRANSACTIONAL_UP_TO = 0.3

Form = Literal["relationeel", "transactioneel", "tussenvorm", "onbekend"]


@dataclass(frozen=True)
class Collaboration:
    form: Form
    ratio: float | None
    decisive: tuple[str, ...]
    leaning: str | None
    differs: bool


def scale_factors(spec: FlowSpec) -> list[str]:
    return [q.id for q in spec.questions.values() if q.scale]


def _factors(spec: FlowSpec) -> list[str]:
    chain = spec.role("chain")
    return scale_factors(spec) + ([chain] if chain else [])


def collaboration(spec: FlowSpec, answers: Mapping[str, Any]) -> Collaboration:
    points, counted, high, low = 0, 0, [], []
    for qid in _factors(spec):
        value = answers.get(qid)
        options = [c.value for c in spec.questions[qid].choices]
        if value not in options:
            continue
        score = options.index(value)
        points += score
        counted += 1
        if score == len(options) - 1:
            high.append(qid)
        elif score == 0:
            low.append(qid)
    leaning = spec.by_role(answers, "leaning")
    leaning = str(leaning) if leaning else None
    if counted == 0:
        return Collaboration("onbekend", None, (), leaning, False)
    ratio = points / (2 * counted)
    form: Form
    if ratio >= RELATIONAL_FROM:
        form, decisive = "relationeel", high
    elif ratio <= TRANSACTIONAL_UP_TO:
        form, decisive = "transactioneel", low
    else:
        form, decisive = "tussenvorm", high + low
    differs = leaning in ("relationeel", "transactioneel") and leaning != form
    return Collaboration(form, ratio, tuple(decisive), leaning, differs)

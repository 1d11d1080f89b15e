"""The dream partner (annex 5 of the FM guide) translated into what a tender can ask.

Each choice in flow.yaml names the section where it can go (`advice:`). A wish about the bidder as
a company ("koploper", "intrinsiek gemotiveerd") cannot be scored as worded, because an award
criterion must be about this contract and verifiable; the item then says what to ask instead and
carries a short warning. Wishes that are rewarded become aspects of one criterion on execution and
collaboration, so they do not dilute the sustainability criteria.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flows.advice.facts import Facts
from flows.advice.model import Item
from flows.advice.procurement import procurement
from flows.spec import FlowSpec

Say = Callable[..., str]


@dataclass
class PartnerAdvice:
    items: list[Item] = field(default_factory=list)
    criterion: Item | None = None
    open_points: list[str] = field(default_factory=list)


def partner_wishes(
    spec: FlowSpec,
    answers: Mapping[str, Any],
    facts: Facts,
    say: Say,
    covered: Callable[[str], bool],
) -> PartnerAdvice:
    result = PartnerAdvice()
    aspects: list[str] = []
    warnings: list[str] = []
    given: set[str] = set()
    for q in spec.questions.values():
        if q.report != "partner" or q.id not in answers:
            continue
        raw = answers[q.id]
        for value in raw if isinstance(raw, list) else [raw]:
            section = spec.choice_attr(q.id, value, "advice")
            label = spec.label(q.id, value)
            if section is None:
                result.open_points.append(say("advice.open.partner_own", wish=label))
                continue
            purpose = f"partner.{value}"
            if covered(purpose) or procurement().covered(purpose, given):
                continue
            given.add(purpose)
            if section == "selectiecriterium" and not facts.selection_round:
                section = "geschiktheidseis"
            key = f"advice.partner.{value}"
            warns = spec.choice_attr(q.id, value, "warn")
            warning = say(f"{key}.warning") if warns else None
            if section == "gunningscriterium":
                aspects.append(say(f"{key}.text"))
                if warning:
                    warnings.append(warning)
                continue
            result.items.append(
                Item(
                    section=section,
                    text=say(f"{key}.text"),
                    reason=say("advice.partner.reason", wish=label),
                    proof=say(f"{key}.proof") if section not in ("procedure", "intern") else "",
                    warning=warning,
                    jurist=section == "geschiktheidseis",
                    jurist_note=say("advice.jurist.suitability")
                    if section == "geschiktheidseis"
                    else None,
                    rule="partner",
                )
            )
    if aspects:
        result.criterion = Item(
            section="gunningscriterium",
            text=say("advice.partner.criterion", aspects=aspects),
            reason=say("advice.partner.criterion_reason"),
            proof=say("advice.partner.criterion_proof"),
            scoring=say("advice.scoring.default"),
            warning=" ".join(warnings) or None,
            rule="partner",
            title=say("advice.title.partner"),
        )
    return result

"""Open points and contradictions: what is missing, and where answers pull different ways.

Never an error, whatever is unanswered: an old answers file without the newer questions gets one
open point per step with the count of what is still open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flows.advice.facts import Facts
from flows.advice.themes import MAX_AWARD_CRITERIA, Placement, ThemeChoice
from flows.spec import FlowSpec

Say = Callable[..., str]


def open_points(
    spec: FlowSpec,
    answers: Mapping[str, Any],
    placements: Sequence[Placement],
    facts: Facts,
    say: Say,
) -> list[str]:
    points: list[str] = []
    slots = spec.slots(answers)
    for step in spec.steps:
        missing = [
            s
            for s in slots
            if s.step.id == step.id and s.id not in answers and not s.question.optional
        ]
        if missing:
            points.append(
                say(
                    "advice.open.unanswered",
                    step=step.title,
                    number=step.number,
                    count=len(missing),
                    questions=[s.question.prompt for s in missing][:3],
                )
            )
    themes_q = spec.role("themes")
    if themes_q is None or not answers.get(themes_q):
        points.append(say("advice.open.no_themes"))
    for p in placements:
        top = p.route == "gunningscriterium" or p.theme.priority <= MAX_AWARD_CRITERIA
        if top and p.route not in ("geen", "open") and not p.theme.goal:
            points.append(say("advice.open.no_goal", theme=p.theme.label))
        if top and p.route not in ("geen", "open") and not p.theme.indicator:
            points.append(say("advice.open.no_indicator", theme=p.theme.label))
        if p.theme.measures_theme is None and p.route in ("eis", "gunningscriterium", "plan"):
            points.append(say("advice.open.own_theme", theme=p.theme.label))
    q = spec.questions.get(themes_q) if themes_q else None
    if q is not None and answers.get(q.id) and q.coverage is not None:
        present = {spec.choice_attr(q.id, v, q.coverage.tag) for v in answers[q.id]}
        for pillar in q.coverage.required:
            if pillar not in present:
                points.append(say("advice.open.pillar", pillar=spec.pillars[pillar]))
    if facts.value in (None, "weet_niet"):
        points.append(say("advice.open.value"))
    minimum = spec.by_role(answers, "minimum")
    if isinstance(minimum, str) and minimum.strip():
        points.append(say("advice.open.own_minimum", minimum=minimum.strip()))
    return points


def contradictions(
    facts: Facts, themes: Sequence[ThemeChoice], placements: Sequence[Placement], say: Say
) -> list[str]:
    found: list[str] = []
    form = facts.form
    if form.differs:
        found.append(say("advice.conflict.leaning", leaning=form.leaning, form=form.form))
    if facts.roadmap is True and form.form == "transactioneel":
        found.append(say("advice.conflict.roadmap_transactional"))
    if form.form == "relationeel" and facts.duration == "kort":
        found.append(say("advice.conflict.relational_short"))
    if form.form != "relationeel" and facts.duration == "lang":
        found.append(say("advice.conflict.long_not_relational", form=form.form))
    if facts.chain == "complex" and facts.talks is False:
        found.append(say("advice.conflict.complex_no_talks"))
    chosen = {p.route for p in placements if p.theme.level}
    if "procedure" in chosen and facts.lots == "nee":
        found.append(say("advice.conflict.mkb_no_lots"))
    if any(t.level == 3 for t in themes) and facts.innovation is False:
        found.append(say("advice.conflict.ambitious_no_room"))
    if facts.budget == "krap" and sum(1 for t in themes if (t.level or 0) >= 2) >= 3:
        found.append(say("advice.conflict.budget"))
    return found

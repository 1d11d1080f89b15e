"""The advice rules, as plain functions over the answers, each returning its reasons.

Rules follow the FM buyer group's guide: the minimum sustainable level of every chosen theme goes
into the requirements (eisen); the themes with the highest ambition and priority, where bidders can
distinguish themselves, become award criteria (gunningscriteria); level 3 adds a plan of approach,
co-creation or a roadmap with KPIs. Award criteria are capped because many small criteria dilute the
scoring and make it harder for bidders to see what matters. Reasons are returned as text keys with
parameters so the words stay in `prompts/`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flows.spec import FlowSpec, slot_id

MAX_AWARD_CRITERIA = 3
RELATIONAL_FROM = 0.7
TRANSACTIONAL_UP_TO = 0.3

THEMES_Q = "themas"
ORDER_Q = "prioriteit"
LEVEL_Q = "niveau"
GOAL_Q = "doel"
INDICATOR_Q = "indicator"
LEANING_Q = "voorkeur_samenwerking"

Route = Literal["gunningscriterium", "eis", "geen", "open"]
Form = Literal["relationeel", "transactioneel", "tussenvorm", "onbekend"]


@dataclass(frozen=True)
class Reason:
    key: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ThemeChoice:
    value: str
    label: str
    priority: int
    level: int | None
    goal: str | None
    indicator: str | None
    measures_theme: str | None


@dataclass(frozen=True)
class Placement:
    theme: ThemeChoice
    route: Route
    reason: Reason
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class Collaboration:
    form: Form
    ratio: float | None
    decisive: tuple[str, ...]
    leaning: str | None
    differs: bool


def theme_choices(spec: FlowSpec, answers: Mapping[str, Any]) -> list[ThemeChoice]:
    """The chosen themes in the buyer's priority order, with what they said about each."""
    out = []
    for position, value in enumerate(spec.items(THEMES_Q, answers, ORDER_Q), start=1):
        level = answers.get(slot_id(LEVEL_Q, value))
        goal = answers.get(slot_id(GOAL_Q, value))
        indicator = answers.get(slot_id(INDICATOR_Q, value))
        out.append(
            ThemeChoice(
                value=value,
                label=spec.label(THEMES_Q, value),
                priority=position,
                level=level if isinstance(level, int) else None,
                goal=str(goal) if goal else None,
                indicator=str(indicator) if indicator else None,
                measures_theme=spec.choice_attr(THEMES_Q, value, "measures_theme"),
            )
        )
    return out


def place_themes(
    themes: Sequence[ThemeChoice], max_award: int = MAX_AWARD_CRITERIA
) -> list[Placement]:
    """Where each theme lands in the tender, and why."""
    candidates = sorted(
        (t for t in themes if t.level is not None and t.level >= 2),
        key=lambda t: (-(t.level or 0), t.priority),
    )
    award = {t.value for t in candidates[:max_award]}
    placements = []
    for t in themes:
        params = {"priority": t.priority, "level": t.level, "max": max_award}
        if t.level is None:
            placements.append(Placement(t, "open", Reason("advice.reason.no_level", params)))
        elif t.level == 0:
            placements.append(Placement(t, "geen", Reason("advice.reason.level0", params)))
        elif t.level == 1:
            placements.append(Placement(t, "eis", Reason("advice.reason.level1", params)))
        elif t.value in award:
            extras = ("plan_van_aanpak", "co_creatie", "roadmap_kpis") if t.level == 3 else ()
            key = "advice.reason.award3" if t.level == 3 else "advice.reason.award2"
            placements.append(Placement(t, "gunningscriterium", Reason(key, params), extras))
        else:
            placements.append(Placement(t, "eis", Reason("advice.reason.capped", params)))
    return placements


def scale_factors(spec: FlowSpec) -> list[str]:
    return [q.id for q in spec.questions.values() if q.scale]


def collaboration(spec: FlowSpec, answers: Mapping[str, Any]) -> Collaboration:
    """Transactional or relational, from how important, risky and promising the purchase is.

    Each scale answer counts 0 (laag), 1 (gemiddeld) or 2 (hoog); the share of the maximum decides.
    Unanswered factors are left out rather than counted as low, so a half-filled step 5 gives a
    cautious advice instead of a wrong one.
    """
    points, counted, high, low = 0, 0, [], []
    for qid in scale_factors(spec):
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
    leaning = answers.get(LEANING_Q)
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


def open_points(
    spec: FlowSpec,
    answers: Mapping[str, Any],
    skipped: Sequence[str],
    placements: Sequence[Placement],
) -> list[Reason]:
    """What is missing or weak, as a short to-do list; never an error, whatever is unanswered."""
    points: list[Reason] = []
    slots = spec.slots(answers)
    for step in spec.steps:
        missing = [
            s
            for s in slots
            if s.step.id == step.id
            and s.id not in answers
            and not (s.question.optional and s.id in skipped)
            and not s.question.optional
        ]
        if missing:
            points.append(
                Reason(
                    "advice.open.unanswered",
                    {"step": step.title, "number": step.number, "count": len(missing)},
                )
            )
    if not answers.get(THEMES_Q):
        points.append(Reason("advice.open.no_themes"))
    for p in placements:
        top = p.route == "gunningscriterium" or p.theme.priority <= MAX_AWARD_CRITERIA
        if top and p.route != "geen" and not p.theme.goal:
            points.append(Reason("advice.open.no_goal", {"theme": p.theme.label}))
        if top and p.route != "geen" and p.theme.level is not None and not p.theme.indicator:
            points.append(Reason("advice.open.no_indicator", {"theme": p.theme.label}))
    themes_q = spec.questions.get(THEMES_Q)
    if answers.get(THEMES_Q) and themes_q is not None and themes_q.coverage is not None:
        tag = themes_q.coverage.tag
        present = {spec.choice_attr(THEMES_Q, v, tag) for v in answers[THEMES_Q]}
        for pillar in themes_q.coverage.required:
            if pillar not in present:
                points.append(Reason("advice.open.pillar", {"pillar": spec.pillars[pillar]}))
    if answers.get("ketencomplexiteit") == "complex" and answers.get("gesprekken_gevoerd") is False:
        points.append(Reason("advice.open.complex_no_talks"))
    return points

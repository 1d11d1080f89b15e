"""Where each chosen theme lands in the tender, from its role, level and the buyer's priority.

The guide's rule of thumb: the minimum of every theme goes into the requirements, and the themes
with the highest ambition are rewarded in the award. Three refinements make that usable: levels
are cumulative (a level-3 theme keeps its minimum and its award element), only the few themes the
buyer put first carry their own weight (more criteria dilute the scoring), and a theme beyond
those is never turned into a knock-out: it becomes a sub-aspect of one sustainability plan
(level 3) or a contract clause with a growth path (level 2). Themes that are not a quality of the
bidder's offer (mkb, collaboration, behaviour change) go to the procedure, the contract or the
buyer's own actions, whatever their level.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from flows.spec import FlowSpec

MAX_AWARD_CRITERIA = 3

Route = Literal[
    "gunningscriterium",
    "plan",
    "groeipad",
    "eis",
    "geen",
    "open",
    "procedure",
    "contract",
    "intern",
]

_ROLE_ROUTES: Mapping[str, Route] = {
    "procedure": "procedure",
    "contract": "contract",
    "intern": "intern",
}


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
    role: str = "bidder"


@dataclass(frozen=True)
class Placement:
    theme: ThemeChoice
    route: Route
    reason: Reason
    extras: tuple[str, ...] = ()


def theme_choices(spec: FlowSpec, answers: Mapping[str, Any]) -> list[ThemeChoice]:
    """The chosen themes in the buyer's priority order, with what they said about each."""
    themes_q, order_q = spec.role("themes"), spec.role("priority")
    if themes_q is None:
        return []
    out = []
    for position, value in enumerate(spec.items(themes_q, answers, order_q), start=1):
        level = spec.by_role(answers, "level", value)
        goal = spec.by_role(answers, "goal", value)
        indicator = spec.by_role(answers, "indicator", value)
        route = spec.choice_attr(themes_q, value, "route")
        out.append(
            ThemeChoice(
                value=value,
                label=spec.label(themes_q, value),
                priority=position,
                level=level if isinstance(level, int) and not isinstance(level, bool) else None,
                goal=str(goal) if goal else None,
                indicator=str(indicator) if indicator else None,
                measures_theme=spec.choice_attr(themes_q, value, "measures_theme"),
                role=str(route) if route else "bidder",
            )
        )
    return out


def place_themes(
    themes: Sequence[ThemeChoice], max_award: int = MAX_AWARD_CRITERIA
) -> list[Placement]:
    """Where each theme lands, and why; the weighted places go by priority alone."""
    candidates = sorted(
        (t for t in themes if t.role == "bidder" and t.level is not None and t.level >= 2),
        key=lambda t: t.priority,
    )
    award = {t.value for t in candidates[:max_award]}
    placements = []
    for t in themes:
        params = {"priority": t.priority, "level": t.level, "max": max_award, "theme": t.label}
        if t.level is None:
            placements.append(Placement(t, "open", Reason("advice.reason.no_level", params)))
        elif t.level == 0:
            placements.append(Placement(t, "geen", Reason("advice.reason.level0", params)))
        elif t.role != "bidder":
            route = _ROLE_ROUTES.get(t.role, "contract")
            placements.append(Placement(t, route, Reason(f"advice.reason.{route}", params)))
        elif t.level == 1:
            placements.append(Placement(t, "eis", Reason("advice.reason.level1", params)))
        elif t.value in award:
            key = "advice.reason.award3" if t.level == 3 else "advice.reason.award2"
            placements.append(Placement(t, "gunningscriterium", Reason(key, params)))
        elif t.level == 3:
            placements.append(Placement(t, "plan", Reason("advice.reason.plan", params)))
        else:
            placements.append(Placement(t, "groeipad", Reason("advice.reason.groeipad", params)))
    return placements

"""The advice rules: from the answers and the knowledge base to items per section.

Every rule that shapes the result adds its one-line explanation to `Advice.rules`, and every item
carries its own reason, so a buyer (or a jurist) can see why each line is there. Words come from
`prompts/texts.yaml` (keys under `advice.`); this module decides only what goes where.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

from flows.advice.checks import contradictions, open_points
from flows.advice.facts import Facts, read_facts
from flows.advice.kb import SECTIONS, KnowledgeBase, MeasureLike
from flows.advice.model import Advice, Item
from flows.advice.partner import partner_wishes
from flows.advice.procurement import procurement
from flows.advice.themes import (
    MAX_AWARD_CRITERIA,
    Placement,
    ThemeChoice,
    place_themes,
    theme_choices,
)
from flows.prompting import plain
from flows.spec import FlowSpec
from flows.texts import Texts

QUALITY_SHARE = {"relationeel": 70, "tussenvorm": 60, "transactioneel": 40, "onbekend": 60}
# The sustainability criteria carry most of the quality part; the one criterion built from the
# dream-partner wishes gets the rest, so it can never outweigh the buyer's top theme.
SUSTAINABILITY_PART = 80
# The dream-partner criterion's weight in % of the total score: never more, never much less.
PARTNER_TOTAL = (10, 15)
RANK_POINTS = (5, 3, 2)
PLAN_POINTS = 2
PER_THEME = {"geschiktheidseis": 1, "selectiecriterium": 1, "eis": 3, "contractbepaling": 2}
# A theme that is the buyer's own business never reaches the eisen or the award; its first
# section is where it mainly lands, the others take the knowledge base's supporting measures.
ROUTE_SECTIONS = {
    "procedure": ("procedure", "contractbepaling", "intern"),
    "contract": ("contractbepaling", "procedure", "intern"),
    "intern": ("intern", "contractbepaling"),
}
PER_BUYER_THEME = 3
# Answers to the duration question that say how long the contract runs; the advice follows them.
DURATIONS = ("kort", "middel", "lang")
EQUIVALENT = "of gelijkwaardig"
# Conditions that mean the buyer asked for an extra (roadmap, innovation room, co-creation).
ON_REQUEST = frozenset({"roadmap", "innovatie", "relationeel"})
# The order in which the one-line explanations of the rules are shown.
RULE_ORDER = (
    "cumulative",
    "priority",
    "never_knockout",
    "roles",
    "on_request",
    "no_extras",
    "no_duplicates",
    "one_plan",
    "partner",
    "partner_weight",
    "category",
    "selection_round",
    "proportional",
    "own_theme",
)

Say = Callable[..., str]


class _Collector:
    """Items in the making, with the duplicate check across themes (ids and KB groups)."""

    def __init__(self, say: Say) -> None:
        self.say = say
        self.items: list[Item] = []
        self.ids: set[str] = set()
        self.groups: set[str] = set()
        self.rules: dict[str, str] = {}
        self.plans: list[str] = []

    def rule(self, key: str, **params: Any) -> None:
        self.rules.setdefault(key, self.say(f"advice.rule.{key}", **params))

    def fresh(self, m: MeasureLike) -> bool:
        if m.id in self.ids or (m.group is not None and m.group in self.groups):
            self.rule("no_duplicates")
            return False
        self.ids.add(m.id)
        if m.group is not None:
            self.groups.add(m.group)
        return True

    def add(self, item: Item) -> None:
        self.items.append(item)

    def covered(self, purpose: str) -> bool:
        """An own text is left out when a general KB measure in the advice says the same."""
        if procurement().covered(purpose, self.ids):
            self.rule("no_duplicates")
            return True
        return False


def build_advice(
    spec: FlowSpec, answers: Mapping[str, Any], kb: KnowledgeBase, texts: Texts
) -> Advice:
    def say(key: str, **params: Any) -> str:
        return plain(texts(key, **params))

    facts = read_facts(spec, answers)
    themes = theme_choices(spec, answers)
    placements = place_themes(themes)
    out = _Collector(say)
    criteria: list[Item] = []
    general: list[Item] = []
    plan_aspects: list[str] = []
    _general(out, facts, themes, kb, general)
    _procedure(out, facts, themes)
    for p in placements:
        if p.route in ("gunningscriterium", "eis", "plan", "groeipad"):
            _bidder_theme(out, p, facts, kb, criteria, plan_aspects)
        elif p.route in ROUTE_SECTIONS:
            _buyer_theme(out, p, facts, kb)
    if any((t.level or 0) >= 2 for t in themes):
        out.rule("cumulative")
    if any(p.route in ("plan", "groeipad") for p in placements):
        out.rule("never_knockout", max=MAX_AWARD_CRITERIA)
    if criteria:
        out.rule("priority", themes=", ".join(i.theme_label or "" for i in criteria))
    if any(t.role != "bidder" for t in themes if (t.level or 0) > 0):
        out.rule("roles")
    if plan_aspects:
        criteria.append(
            Item(
                section="gunningscriterium",
                text=say("advice.plan.text", aspects=plan_aspects),
                reason=say("advice.plan.reason"),
                proof=say("advice.plan.proof"),
                scoring=say("advice.scoring.default"),
                rule="never_knockout",
                title=say("advice.title.plan"),
            )
        )
    if not criteria:
        criteria += general
    elif general:
        out.rule("one_plan")
    _extras(out, facts, themes)
    _roadmap_from_plans(out)
    partner = partner_wishes(spec, answers, facts, say, out.covered)
    for item in partner.items:
        out.add(item)
    if partner.criterion is not None:
        out.rule("partner")
        if criteria:
            out.rule("partner_weight", low=PARTNER_TOTAL[0], high=PARTNER_TOTAL[1])
    quality = QUALITY_SHARE[facts.form.form]
    weighted = _weights(criteria, partner.criterion, quality)
    out.items.extend(weighted)
    if facts.category:
        out.rule("category", scopes=len(facts.scopes))
    needs_equivalent = {
        key for key, ins in kb.instruments.items() if getattr(ins, "needs_equivalent", True)
    }
    items = _ordered(_legal(out.items, say, needs_equivalent))
    points = open_points(spec, answers, placements, facts, say) + partner.open_points
    if partner.criterion is None and weighted:
        points.append(say("advice.open.quality_rest", share=100 - SUSTAINABILITY_PART))
    chosen = {t.measures_theme or t.value for t in themes if (t.level or 0) > 0}
    for signal, theme in procurement().signalled(facts.chain_risks):
        if theme not in chosen:
            points.append(say(f"advice.open.{signal}"))
    if procurement().covered("reserved_lot", out.ids):
        points.append(say("advice.open.reserved"))
    if any(i.jurist for i in items):
        points.append(say("advice.open.jurist", count=sum(i.jurist for i in items)))
    return Advice(
        items=tuple(items),
        placements=tuple(placements),
        facts=facts,
        quality_share=quality,
        rules=tuple(out.rules[k] for k in RULE_ORDER if k in out.rules),
        open_points=tuple(points),
        contradictions=tuple(contradictions(facts, themes, placements, say)),
    )


def _select(
    kb: KnowledgeBase,
    theme: str | None,
    level: int,
    facts: Facts,
    sections: Sequence[str] | None = None,
) -> list[MeasureLike]:
    if theme is None:
        return []
    found: list[MeasureLike] = kb.select(
        theme=theme,
        level=level,
        category=facts.category,
        scopes=facts.scopes,
        conditions=facts.conditions,
        sections=sections,
    )
    return found


def _measure_item(
    m: MeasureLike, t: ThemeChoice | None, section: str, reason: str, **extra: Any
) -> Item:
    note = getattr(m, "note", None)
    return Item(
        section=section,
        text=m.text,
        reason=f"{reason} {note}" if note else reason,
        theme=t.value if t else None,
        theme_label=t.label if t else None,
        proof=m.proof,
        measure=m.id,
        scoring=m.scoring,
        indicator=m.indicator,
        jurist=m.jurist,
        jurist_note=getattr(m, "jurist_note", None),
        instrument=m.instrument,
        **extra,
    )


def _bidder_theme(
    out: _Collector,
    p: Placement,
    facts: Facts,
    kb: KnowledgeBase,
    criteria: list[Item],
    plan_aspects: list[str],
) -> None:
    t = p.theme
    level = t.level or 1
    say = out.say
    counts: dict[str, int] = {}
    award: MeasureLike | None = None
    for m in _select(kb, t.measures_theme, level, facts):
        section = m.section
        if section == "selectiecriterium" and not facts.selection_round:
            out.rule("selection_round")
            continue
        if section == "geschiktheidseis" and facts.value == "klein":
            out.rule("proportional")
            continue
        if section == "gunningscriterium":
            if p.route != "eis" and (award is None or m.level > award.level):
                award = m
            continue
        if counts.get(section, 0) >= PER_THEME.get(section, 2) or not out.fresh(m):
            continue
        counts[section] = counts.get(section, 0) + 1
        reason = say(f"advice.why.{section}", theme=t.label, level=m.level)
        out.add(_measure_item(m, t, section, reason))
    if award is not None and not out.fresh(award):
        award = None
    if p.route == "gunningscriterium" and (award is None or "plan" in (award.group or award.id)):
        out.plans.append(t.label)
    if t.measures_theme is None:
        out.rule("own_theme")
    reason = say(p.reason.key, **p.reason.params)
    if p.route == "gunningscriterium":
        if award is not None:
            criteria.append(_measure_item(award, t, "gunningscriterium", reason))
        else:
            criteria.append(
                Item(
                    section="gunningscriterium",
                    text=say("advice.award.generic", theme=t.label, goal=t.goal),
                    reason=reason,
                    theme=t.value,
                    theme_label=t.label,
                    proof=say("advice.proof.award"),
                    scoring=say("advice.scoring.default"),
                    indicator=t.indicator,
                )
            )
    elif p.route == "plan":
        plan_aspects.append(t.label)
    elif p.route == "groeipad":
        own = [i for i, x in enumerate(out.items) if x.theme == t.value]
        clause = next((i for i in own if out.items[i].section == "contractbepaling"), None)
        if clause is not None:
            # One clause per subject: the growth path joins the theme's own contract clause.
            first = out.items[clause]
            growth = say("advice.growth.joined", goal=t.goal)
            out.items[clause] = replace(first, text=f"{first.text} {growth}", rule="never_knockout")
            return
        out.add(
            Item(
                section="contractbepaling",
                text=say("advice.growth.text", theme=t.label, goal=t.goal),
                reason=reason,
                theme=t.value,
                theme_label=t.label,
                proof=say("advice.growth.proof"),
                indicator=t.indicator,
                rule="never_knockout",
            )
        )


def _buyer_theme(out: _Collector, p: Placement, facts: Facts, kb: KnowledgeBase) -> None:
    """Themes that are the buyer's own business: procedure, contract arrangement or own action."""
    t = p.theme
    section = ROUTE_SECTIONS[p.route][0]
    reason = out.say(p.reason.key, **p.reason.params)
    found = [
        m
        for m in _select(
            kb, t.measures_theme or t.value, t.level or 1, facts, ROUTE_SECTIONS[p.route]
        )
        if out.fresh(m)
    ]
    found.sort(key=lambda m: ROUTE_SECTIONS[p.route].index(m.section))
    for m in found[:PER_BUYER_THEME]:
        out.add(_measure_item(m, t, m.section, reason))
    if not found:
        level = min(t.level or 1, 3)
        out.add(
            Item(
                section=section,
                text=out.say(f"advice.route.{p.route}.{level}", theme=t.label, lots=facts.lots),
                reason=reason,
                theme=t.value,
                theme_label=t.label,
                proof=out.say(f"advice.route.{p.route}.proof"),
            )
        )


def _general(
    out: _Collector,
    facts: Facts,
    themes: Sequence[ThemeChoice],
    kb: KnowledgeBase,
    criteria: list[Item],
) -> None:
    """The knowledge base's measures for every tender, at the highest level the buyer chose."""
    level = max((t.level or 0 for t in themes), default=0)
    if level == 0:
        return
    found: list[MeasureLike] = kb.select(
        theme=None,
        level=level,
        category=facts.category,
        scopes=facts.scopes,
        conditions=facts.conditions,
    )
    for m in found:
        if m.section == "selectiecriterium" and not facts.selection_round:
            continue
        if not out.fresh(m):
            continue
        requires = tuple(getattr(m, "requires", ()))
        if set(requires) & ON_REQUEST:
            out.rule("on_request")
            words = [out.say(f"advice.condition.{c}") for c in requires]
            reason = out.say("advice.why.general_requires", conditions=words)
        else:
            reason = out.say("advice.why.general")
        item = _measure_item(
            m,
            None,
            m.section,
            reason,
            rule="on_request" if set(requires) & ON_REQUEST else "",
            title=out.say("advice.title.general"),
        )
        (criteria if m.section == "gunningscriterium" else out.items).append(item)


def _threshold_text(say: Say) -> str:
    t = procurement().thresholds
    amounts = [
        say(
            "advice.procedure.amount",
            who=a["who"],
            amount=f"{int(a['amount']):,}".replace(",", "."),
        )
        for a in t["amounts"]
    ]
    return say(
        "advice.procedure.thresholds", amounts=amounts, period=t["period"], source=t["source"]
    )


def _procedure(out: _Collector, facts: Facts, themes: Sequence[ThemeChoice]) -> None:
    say = out.say
    if facts.value is not None and facts.value != "weet_niet" and not out.covered("value"):
        out.add(
            Item(
                section="procedure",
                text=say(f"advice.procedure.value.{facts.value}", thresholds=_threshold_text(say)),
                reason=say("advice.procedure.value_reason"),
                jurist=facts.value != "klein",
                jurist_note=say("advice.jurist.value") if facts.value != "klein" else None,
                rule="proportional",
            )
        )
    quality = QUALITY_SHARE[facts.form.form]
    out.add(
        Item(
            section="procedure",
            text=say(
                "advice.procedure.bpkv", quality=quality, price=100 - quality, budget=facts.budget
            ),
            reason=say("advice.procedure.bpkv_reason", form=facts.form.form),
        )
    )
    complex_chain = facts.chain == "complex"
    if (facts.talks is False or complex_chain) and not out.covered("consultation"):
        out.add(
            Item(
                section="procedure",
                text=say("advice.procedure.consultation"),
                reason=say(
                    "advice.procedure.consultation_reason", talks=facts.talks, complex=complex_chain
                ),
            )
        )
    if facts.lots == "ja":
        out.add(
            Item(
                section="procedure",
                text=say("advice.procedure.lots"),
                reason=say("advice.procedure.lots_reason"),
            )
        )
    form = facts.form.form
    if form != "onbekend" and not out.covered("specification"):
        out.add(
            Item(
                section="procedure",
                text=say(f"advice.contract_form.{form}.specification"),
                reason=say("advice.contract_form.reason", form=form),
            )
        )
    if facts.innovation is True and not out.covered("variants"):
        out.add(
            Item(
                section="procedure",
                text=say("advice.procedure.variants"),
                reason=say("advice.procedure.variants_reason"),
                rule="on_request",
            )
        )


def _extras(out: _Collector, facts: Facts, themes: Sequence[ThemeChoice]) -> None:
    """Contract terms of the collaboration form, and the level-3 extras the buyer asked for."""
    say = out.say
    form = facts.form.form
    if form != "onbekend":
        for part in ("duration", "payment"):
            if part == "payment" and form == "relationeel" and out.covered("payment"):
                continue
            answered = part == "duration" and facts.duration in DURATIONS
            if answered:
                text = say(f"advice.duration.{facts.duration}")
                long = facts.duration == "lang"
            else:
                text = say(f"advice.contract_form.{form}.{part}")
                long = part == "duration" and form == "relationeel"
            out.add(
                Item(
                    section="procedure",
                    text=text,
                    reason=say("advice.contract_form.reason", form=form)
                    + (" " + say("advice.duration.reason") if answered else ""),
                    jurist=long,
                    jurist_note=say("advice.jurist.duration") if long else None,
                )
            )
    ambitious = [t.label for t in themes if t.level == 3]
    if facts.roadmap is True and not out.covered("roadmap"):
        out.add(
            Item(
                section="contractbepaling",
                text=say("advice.extra.roadmap", themes=ambitious),
                reason=say("advice.extra.roadmap_reason"),
                proof=say("advice.extra.roadmap_proof"),
                rule="on_request",
            )
        )
        out.rule("on_request")
    cocreation = form == "relationeel" or facts.form.leaning == "relationeel"
    if ambitious and cocreation and not out.covered("cocreation"):
        out.add(
            Item(
                section="contractbepaling",
                text=say("advice.extra.cocreation", themes=ambitious),
                reason=say("advice.extra.cocreation_reason"),
                rule="on_request",
            )
        )
        out.rule("on_request")
    if (
        ambitious
        and facts.roadmap is not True
        and facts.innovation is not True
        and form != "relationeel"
        and "on_request" not in out.rules
    ):
        out.rule("no_extras")


def _roadmap_from_plans(out: _Collector) -> None:
    """Theme plans that already ask for yearly goals make up the roadmap; a second, general
    roadmap beside them would have the bidder write the same goals twice."""
    if not out.plans:
        return
    for n, item in enumerate(out.items):
        if item.measure in procurement().covered_by.get("roadmap", ()):
            text = out.say("advice.extra.roadmap_from_plans", themes=out.plans)
            out.items[n] = replace(item, text=text)
            out.rule("one_plan")


def _partner_share(quality: int) -> int:
    """The dream-partner criterion's part of the quality score, so that it weighs about 10 to 15%
    of the total score whatever the price-quality split."""
    total = min(
        PARTNER_TOTAL[1], max(PARTNER_TOTAL[0], round(quality * (100 - SUSTAINABILITY_PART) / 100))
    )
    return round(total * 100 / quality)


def _weights(criteria: Sequence[Item], partner: Item | None, quality: int) -> list[Item]:
    """Suggested weights: the sustainability part of the quality score split by priority, the
    dream-partner criterion always lighter than the buyer's top theme."""
    share = _partner_share(quality) if partner is not None and criteria else 0
    sustainability = 100 - share
    points, rank = [], 0
    for c in criteria:
        if c.theme is None:
            points.append(PLAN_POINTS)
        else:
            points.append(RANK_POINTS[min(rank, len(RANK_POINTS) - 1)])
            rank += 1
    total = sum(points) or 1
    out = []
    for c, pt in zip(criteria, points, strict=True):
        within = round(sustainability * pt / total)
        out.append(replace(c, quality_weight=within, weight=round(within * quality / 100)))
    if partner is not None:
        within = share or 100 - SUSTAINABILITY_PART
        top = max((c.quality_weight or 0 for c in out if c.theme), default=100)
        if within >= top:
            spare, within = within - (top - 1), top - 1
            if out:
                out[0] = replace(out[0], quality_weight=(out[0].quality_weight or 0) + spare)
                out[0] = replace(out[0], weight=round((out[0].quality_weight or 0) * quality / 100))
        out.append(replace(partner, quality_weight=within, weight=round(within * quality / 100)))
    return out


def _legal(items: Sequence[Item], say: Say, needs_equivalent: set[str]) -> list[Item]:
    """A named label or standard is never the only way to comply, every criterion names its
    proof, and every award criterion its scoring."""
    out = []
    for item in items:
        text = item.text
        if item.instrument in needs_equivalent and EQUIVALENT not in text.lower():
            text = text.rstrip(".") + f" ({EQUIVALENT})."
        if item.section == "gunningscriterium" and not item.scoring:
            item = replace(item, scoring=say("advice.scoring.default"))
        if not item.proof and item.section not in ("procedure", "intern"):
            item = replace(item, proof=say("advice.proof.missing"), jurist=True)
        out.append(replace(item, text=text))
    return out


def _ordered(items: Sequence[Item]) -> list[Item]:
    return sorted(items, key=lambda i: SECTIONS.index(i.section))

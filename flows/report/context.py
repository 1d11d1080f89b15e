"""Everything the summary says, computed once from a snapshot of answers.

Chat text, Markdown, Word, JSON and the chart all render this one `Report`, so the outputs cannot
disagree, and all show the advice sections in the same order. All strings here are plain text (not
escaped); each renderer escapes for its own format. Fixed words come from the one report catalog
(`prompts/report_docx.yaml`, section `report`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from flows import advice
from flows.advice import REPORT_SECTIONS, Advice, Item, KnowledgeBase, default_base
from flows.events import DocumentRequest
from flows.prompting import plain, shorten
from flows.report.words import Words, report_words
from flows.spec import REPORT_TAGS, FlowSpec, load_spec
from flows.texts import Texts, default_texts

VERSION = "0.1"
CARD_ITEM = 120
CARD_LIST = 4
# Roles whose answers the report shows in its own places (title page, card, theme table).
SHOWN_ELSEWHERE = frozenset(
    {
        "name",
        "category",
        "organisation",
        "themes",
        "priority",
        "level",
        "goal",
        "indicator",
        "own_ambition",
    }
)


@dataclass(frozen=True)
class ThemeRow:
    value: str
    label: str
    priority: int
    level: int | None
    level_label: str
    goal: str | None
    indicator: str | None
    route: str


@dataclass(frozen=True)
class QA:
    question: str
    answer: str


@dataclass(frozen=True)
class Group:
    title: str
    rows: tuple[QA, ...]


@dataclass(frozen=True)
class AdviceSection:
    id: str
    title: str
    intro: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Card:
    """The one-page category ambition card (after the Ambitieweb guide's 'ambitiekaart')."""

    ambition: str
    ambition_is_own: bool
    org_ambition: str | None
    goals: tuple[str, ...]
    minimum: tuple[str, ...]
    rewarded: tuple[str, ...]
    research: tuple[str, ...]
    involved: tuple[str, ...]
    mvi_group: str
    instruments: tuple[str, ...]


@dataclass(frozen=True)
class CollaborationText:
    form: str
    explanation: str
    decisive: tuple[str, ...]


@dataclass(frozen=True)
class Report:
    title: str
    organisation: str | None
    category: str | None
    date: str
    version: str
    card: Card
    themes: tuple[ThemeRow, ...]
    sections: tuple[AdviceSection, ...]
    rules: tuple[str, ...]
    open_points: tuple[str, ...]
    contradictions: tuple[str, ...]
    collaboration: CollaborationText
    answers: tuple[Group, ...]
    advice: Advice

    @property
    def chart_points(self) -> list[tuple[str, int]]:
        return [(t.label, t.level or 0) for t in self.themes]

    @property
    def ambition(self) -> str:
        return self.card.ambition


class ReportBuilder:
    def __init__(
        self,
        spec: FlowSpec | None = None,
        texts: Texts | None = None,
        kb: KnowledgeBase | None = None,
        words: Words | None = None,
    ) -> None:
        self.spec = spec or load_spec()
        self.texts = texts or default_texts()
        self.kb = kb or default_base()
        self.words = words or report_words()

    def _answer(self, answers: Mapping[str, Any], qid: str | None) -> str | None:
        if qid is None:
            return None
        value = answers.get(qid)
        if value is None or value == "" or value == []:
            return None
        base = qid.partition("[")[0]
        if isinstance(value, list):
            return ", ".join(self.spec.label(base, v) for v in value)
        return self.spec.label(base, value)

    def ambition_statement(self, answers: Mapping[str, Any]) -> str:
        """One sentence a director can sign: who, with which tender, by when, on which themes."""
        themes = advice.theme_choices(self.spec, answers)
        top = [t for t in themes if (t.level or 0) >= 1][: advice.MAX_AWARD_CRITERIA]
        if not top:
            return self.words("ambition_none")
        year = self.spec.by_role(answers, "year")
        return self.words(
            "ambition_sentence" if year else "ambition_sentence_no_year",
            name=" ".join(str(self.spec.by_role(answers, "name") or "").split())
            or self.words("unnamed"),
            organisation=self._answer(answers, self.spec.role("organisation"))
            or self.words("organisation_unknown"),
            year=year or "",
            themes=_join([t.label.lower() for t in top], self.words("and")),
        )

    def build(self, request: DocumentRequest, today: date | None = None) -> Report:
        a = request.answers
        spec, w = self.spec, self.words
        result = advice.build_advice(spec, a, self.kb, self.texts)
        placements = {p.theme.value: p for p in result.placements}
        themes = tuple(
            ThemeRow(
                th.value,
                th.label,
                th.priority,
                th.level,
                w("level_unset")
                if th.level is None
                else spec.label(spec.role("level") or "", th.level),
                th.goal,
                th.indicator,
                w(f"route.{placements[th.value].route}"),
            )
            for th in advice.theme_choices(spec, a)
        )
        sections = tuple(
            AdviceSection(
                sid,
                w(f"section.{sid}.title"),
                w(f"section.{sid}.intro"),
                result.section(*group),
            )
            for sid, group in REPORT_SECTIONS
        )
        collab = result.facts.form
        collaboration = CollaborationText(
            form=w(f"form.{collab.form}"),
            explanation=plain(self.texts(f"advice.form_explain.{collab.form}")),
            decisive=tuple(
                f"{spec.questions[q].label}: {self._answer(a, q)}" for q in collab.decisive
            ),
        )
        own = spec.by_role(a, "own_ambition")
        return Report(
            title=str(spec.by_role(a, "name") or request.name or w("unnamed")),
            organisation=self._answer(a, spec.role("organisation")),
            category=self._answer(a, spec.role("category")),
            date=(today or date.today()).strftime("%d-%m-%Y"),
            version=VERSION,
            card=self._card(a, result, themes, str(own) if own else None),
            themes=themes,
            sections=sections,
            rules=result.rules,
            open_points=result.open_points,
            contradictions=result.contradictions,
            collaboration=collaboration,
            answers=self._answers(a),
            advice=result,
        )

    def _card(
        self,
        a: Mapping[str, Any],
        result: Advice,
        themes: tuple[ThemeRow, ...],
        own: str | None,
    ) -> Card:
        w = self.words
        minimum = [shorten(i.text, CARD_ITEM) for i in result.section("eis")][:CARD_LIST]
        rewarded = [
            w(
                "card.rewarded_item",
                theme=i.heading or w("card.no_theme"),
                weight=i.weight or 0,
            )
            for i in result.section("gunningscriterium")
        ]
        research = list(result.contradictions) + [
            p for p in result.open_points if p not in result.contradictions
        ]
        owner = self._answer(a, self.spec.role("owner"))
        stakeholders = self._answer(a, self.spec.role("stakeholders"))
        involved = [stakeholders] if stakeholders else []
        if owner:
            involved.append(w("card.owner", owner=owner))
        org = self._answer(a, self.spec.role("org_ambition"))
        facts = result.facts
        group = self.kb.mvi_product_group(facts.category, facts.scopes)
        return Card(
            ambition=own or self.ambition_statement(a),
            ambition_is_own=own is not None,
            org_ambition=org,
            goals=tuple(
                shorten(w("card.goal", theme=t.label, goal=t.goal), CARD_ITEM)
                for t in themes
                if t.goal and t.level
            )[:CARD_LIST],
            minimum=tuple(minimum),
            rewarded=tuple(rewarded),
            research=tuple(shorten(r, CARD_ITEM) for r in research[:CARD_LIST]),
            involved=tuple(involved),
            mvi_group=w("card.mvi", group=group) if group else w("card.mvi_unknown"),
            instruments=tuple(
                w(
                    "card.instrument_equivalent"
                    if getattr(i, "needs_equivalent", False)
                    else "card.instrument",
                    name=getattr(i, "name", str(i)),
                )
                for i in self.kb.instruments_for(facts.category, facts.scopes)
            ),
        )

    def _answers(self, a: Mapping[str, Any]) -> tuple[Group, ...]:
        """Every answered question under its report tag, so nothing the buyer said is lost."""
        groups: dict[str, list[QA]] = {}
        for slot in self.spec.slots(a):
            q = slot.question
            if q.role in SHOWN_ELSEWHERE:
                continue
            answer = self._answer(a, slot.id)
            if answer is None:
                continue
            label = q.label
            if slot.item:
                label += f" ({self.spec.label(self.spec.role('themes') or '', slot.item)})"
            groups.setdefault(q.report, []).append(QA(label, answer))
        return tuple(
            Group(self.words(f"tag.{tag}"), tuple(groups[tag]))
            for tag in REPORT_TAGS
            if tag in groups
        )


def _join(parts: list[str], and_word: str) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + f" {and_word} " + parts[-1]

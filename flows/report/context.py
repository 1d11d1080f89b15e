"""Everything the summary says, computed once from a snapshot of answers.

Chat text, Markdown, Word and the chart all render this one `Report`, so the four outputs cannot
disagree. All strings here are plain text (not escaped); each renderer escapes for its own format.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from flows import advice
from flows.events import DocumentRequest
from flows.measures import MeasuresBase, default_measures
from flows.prompting import plain
from flows.spec import FlowSpec, load_spec
from flows.texts import Texts, default_texts

PARTNER_STEP = "droompartner"
CONTEXT_STEPS = ("voorbereiding", "marktanalyse", "vertaling")


@dataclass(frozen=True)
class ThemeRow:
    label: str
    priority: int
    level: int | None
    level_label: str
    goal: str | None
    indicator: str | None


@dataclass(frozen=True)
class MeasureRow:
    text: str
    type: str
    indicator: str


@dataclass(frozen=True)
class AdviceRow:
    theme: str
    level: int | None
    reason: str
    own_goal: str | None
    own_indicator: str | None
    measures: tuple[MeasureRow, ...]
    extras: tuple[str, ...] = ()


@dataclass(frozen=True)
class QA:
    question: str
    answer: str


@dataclass(frozen=True)
class Section:
    title: str
    rows: tuple[QA, ...]


@dataclass(frozen=True)
class CollaborationText:
    form: str
    explanation: str
    decisive: tuple[str, ...]
    note: str | None


@dataclass(frozen=True)
class Report:
    title: str
    organisation: str | None
    category: str | None
    date: str
    ambition: str
    ambition_is_own: bool
    org_ambition: str | None
    themes: tuple[ThemeRow, ...]
    requirements: tuple[AdviceRow, ...]
    award_criteria: tuple[AdviceRow, ...]
    no_ambition: tuple[str, ...]
    award_note: str
    general_minimum: str | None
    general_distinction: str | None
    partner: tuple[QA, ...]
    collaboration: CollaborationText
    kpis: tuple[str, ...]
    reporting: str | None
    evaluation: tuple[str, ...]
    owner: str | None
    roadmap: bool | None
    context: tuple[Section, ...]
    open_points: tuple[str, ...]

    @property
    def chart_points(self) -> list[tuple[str, int]]:
        return [(t.label, t.level or 0) for t in self.themes]


class ReportBuilder:
    def __init__(
        self,
        spec: FlowSpec | None = None,
        texts: Texts | None = None,
        measures: MeasuresBase | None = None,
    ) -> None:
        self.spec = spec or load_spec()
        self.texts = texts or default_texts()
        self.measures = measures or default_measures()

    def _answer(self, answers: Mapping[str, Any], qid: str) -> str | None:
        value = answers.get(qid)
        if value is None or value == "" or value == []:
            return None
        if isinstance(value, list):
            return ", ".join(self.spec.label(qid, v) for v in value)
        return self.spec.label(qid, value)

    def ambition_statement(self, answers: Mapping[str, Any]) -> str:
        themes = advice.theme_choices(self.spec, answers)
        top = [t for t in themes if (t.level or 0) >= 1][: advice.MAX_AWARD_CRITERIA]
        return plain(
            self.texts(
                "report.ambition_proposal",
                name=answers.get("naam") or self.texts("unnamed"),
                year=answers.get("doeljaar"),
                themes=[t.label for t in top],
                goals=[t.goal.strip().rstrip(".;!") for t in top if t.goal],
            )
        )

    def build(self, request: DocumentRequest, today: date | None = None) -> Report:
        a = request.answers
        t = self.texts
        spec = self.spec
        themes = advice.theme_choices(spec, a)
        placements = advice.place_themes(themes)
        category = a.get("categorie")
        category_id = str(category) if category in self.measures.categories else None

        def measures_for(
            choice: advice.ThemeChoice, level: int, award: bool
        ) -> tuple[MeasureRow, ...]:
            if not choice.measures_theme:
                return ()
            found = self.measures.suggest(
                choice.measures_theme, level, category_id, award=award, limit=2
            )
            return tuple(MeasureRow(m.text, m.type, m.indicator.rstrip(".")) for m in found)

        def row(th: advice.ThemeChoice, reason: str, level: int, award: bool) -> AdviceRow:
            return AdviceRow(
                th.label, th.level, reason, th.goal, th.indicator, measures_for(th, level, award)
            )

        requirements: list[AdviceRow] = []
        award: list[AdviceRow] = []
        for p in placements:
            th = p.theme
            reason = plain(t(p.reason.key, **p.reason.params))
            if p.route == "gunningscriterium":
                extras = tuple(plain(t(f"advice.extra.{e}")) for e in p.extras)
                award.append(replace(row(th, reason, th.level or 2, True), extras=extras))
                minimum = plain(t("advice.reason.minimum_of_award", priority=th.priority))
                requirements.append(
                    replace(row(th, minimum, 1, False), level=1, own_goal=None, own_indicator=None)
                )
            elif p.route == "eis":
                requirements.append(row(th, reason, th.level or 1, False))
        collab = advice.collaboration(spec, a)
        factor_labels = tuple(
            plain(
                t(
                    "advice.factor",
                    question=plain(spec.questions[q].prompt),
                    value=self._answer(a, q),
                )
            )
            for q in collab.decisive
        )
        collaboration = CollaborationText(
            form=plain(t(f"advice.form.{collab.form}")),
            explanation=plain(t(f"advice.form_explain.{collab.form}")),
            decisive=factor_labels,
            note=plain(
                t(
                    "advice.form_differs",
                    leaning=self._answer(a, advice.LEANING_Q),
                    form=collab.form,
                )
            )
            if collab.differs
            else None,
        )
        own = a.get("ambitie_eigen")
        kpis = [str(a["kpis"])] if a.get("kpis") else []
        kpis += [f"{x.theme}: {x.own_indicator}" for x in award + requirements if x.own_indicator]
        context = []
        for step_id in CONTEXT_STEPS:
            step = spec.step(step_id)
            rows = tuple(
                QA(plain(self.texts.inline(s.question.prompt, item=None)), ans)
                for s in spec.slots(a)
                if s.step.id == step_id
                and s.question.id != "ambitie_eigen"
                and (ans := self._answer(a, s.id)) is not None
            )
            if rows:
                context.append(Section(step.title, rows))
        partner = tuple(
            QA(plain(self.texts.inline(s.question.prompt, item=None)), ans)
            for s in spec.slots(a)
            if s.step.id == PARTNER_STEP and (ans := self._answer(a, s.id)) is not None
        )
        points = advice.open_points(spec, a, request.skipped, placements)
        roadmap = a.get("roadmap")
        return Report(
            title=str(a.get("naam") or request.name or t("unnamed")),
            organisation=self._answer(a, "organisatie"),
            category=self._answer(a, "categorie"),
            date=(today or date.today()).strftime("%d-%m-%Y"),
            ambition=str(own) if own else self.ambition_statement(a),
            ambition_is_own=bool(own),
            org_ambition=str(a["org_ambitie"]) if a.get("org_ambitie") else None,
            themes=tuple(
                ThemeRow(
                    th.label,
                    th.priority,
                    th.level,
                    t("report.level_unset")
                    if th.level is None
                    else spec.label(advice.LEVEL_Q, th.level),
                    th.goal,
                    th.indicator,
                )
                for th in themes
            ),
            requirements=tuple(requirements),
            award_criteria=tuple(award),
            no_ambition=tuple(p.theme.label for p in placements if p.route == "geen"),
            award_note=plain(t("advice.award_note", max=advice.MAX_AWARD_CRITERIA)),
            general_minimum=self._answer(a, "minimumniveau"),
            general_distinction=self._answer(a, "onderscheidend"),
            partner=partner,
            collaboration=collaboration,
            kpis=tuple(kpis),
            reporting=self._answer(a, "rapportage"),
            evaluation=tuple(
                self.spec.label("evaluatiemomenten", v) for v in a.get("evaluatiemomenten") or []
            ),
            owner=self._answer(a, "eigenaar"),
            roadmap=roadmap if isinstance(roadmap, bool) else None,
            context=tuple(context),
            open_points=tuple(plain(t(r.key, **r.params)) for r in points),
        )

"""The flow definition: steps and questions loaded from `prompts/flow.yaml`.

The spec is validated completely at start-up so that a typo in the YAML is a clear error naming the
file and the question, never a crash in the middle of somebody's conversation. Questions that
depend on earlier answers (conditions, one block per chosen theme) are expanded into `Slot`s from
the answers on every call, so nothing about a particular conversation is hard-coded.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import jinja2
import yaml

from flows.measures import SECTIONS

Kind = Literal["text", "choice", "multi", "order", "level", "year", "yesno"]
KINDS: tuple[Kind, ...] = ("text", "choice", "multi", "order", "level", "year", "yesno")
Answers = Mapping[str, Any]

# What a question means to the advice and the report. The rules read answers by role, never by
# question id, so a question can be renamed or moved in flow.yaml without touching Python; the
# kinds listed are the ones the rules can read.
ROLES: Mapping[str, tuple[Kind, ...]] = {
    "name": ("text",),
    "category": ("choice",),
    "organisation": ("text",),
    "org_ambition": ("text",),
    "value": ("choice",),
    "duration": ("choice",),
    "procedure": ("choice",),
    "lots": ("choice",),
    "budget": ("choice",),
    "scopes": ("multi",),
    "stakeholders": ("text",),
    "chain": ("choice",),
    "chain_risks": ("text",),
    "talks": ("yesno",),
    "themes": ("multi",),
    "priority": ("order",),
    "year": ("year",),
    "level": ("level",),
    "goal": ("text",),
    "indicator": ("choice", "text"),
    "leaning": ("choice",),
    "distinction": ("text",),
    "minimum": ("text",),
    "innovation": ("yesno",),
    "roadmap": ("yesno",),
    "own_ambition": ("text",),
    "kpis": ("text",),
    "owner": ("text",),
}
REQUIRED_ROLES = ("name", "category", "themes", "priority", "level")

# Where an answer shows in the summary and the documents. Every question has one (its own or its
# step's), and every renderer shows every tag, so a question added to any step is never lost.
REPORT_TAGS = ("title", "card", "context", "themes", "partner", "collaboration", "monitoring")

# What a chosen theme is in the tender: a quality of the bidder's offer, a property of the
# procedure, an arrangement in the contract, or an action of the buyer's own organisation.
THEME_ROUTES = ("bidder", "procedure", "contract", "intern")

# Where a dream-partner wish can go in the tender (the advice explains when it cannot as worded).
PARTNER_SECTIONS = SECTIONS


class SpecError(ValueError):
    """A broken flow file; the message names the file and the place."""


@dataclass(frozen=True)
class Choice:
    value: Any
    label: str
    attrs: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Condition:
    """When a question applies. `item_answer` looks at the same theme's answer in a repeat block."""

    answer: str | None = None
    item_answer: str | None = None
    equals: Any = None
    in_: tuple[Any, ...] | None = None
    not_in: tuple[Any, ...] | None = None

    def holds(self, answers: Answers, item: str | None) -> bool:
        key = self.answer if self.answer else slot_id(cast(str, self.item_answer), item)
        if key not in answers:
            return False
        value = answers[key]
        if self.in_ is not None:
            return value in self.in_
        if self.not_in is not None:
            return value not in self.not_in
        return bool(value == self.equals)


@dataclass(frozen=True)
class Coverage:
    tag: str
    required: tuple[str, ...]
    warning: str


@dataclass(frozen=True)
class Question:
    id: str
    kind: Kind
    prompt: str
    step_id: str
    example: str | None = None
    help: str | None = None
    optional: bool = False
    other: bool = False
    choices: tuple[Choice, ...] = ()
    choices_from: str | None = None
    item_choices: str | None = None
    when: Condition | None = None
    notes: Mapping[str, str] = field(default_factory=dict)
    coverage: Coverage | None = None
    scale: bool = False
    max_length: int | None = None
    repeat_for: str | None = None
    order_by: str | None = None
    export_as: str | None = None
    role: str | None = None
    report: str = "context"
    label: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    title: str
    number: int | None
    questions: tuple[Question, ...]
    short: str = ""
    """The title as the progress line shows it, short enough for one line on a phone."""

    @property
    def short_title(self) -> str:
        return self.short or self.title


@dataclass(frozen=True)
class Slot:
    """One question as asked in one conversation (a repeated question once per theme)."""

    id: str
    question: Question
    step: Step
    item: str | None = None


def slot_id(question_id: str, item: str | None) -> str:
    return question_id if item is None else f"{question_id}[{item}]"


def split_slot_id(sid: str) -> tuple[str, str | None]:
    if sid.endswith("]") and "[" in sid:
        base, _, rest = sid.partition("[")
        return base, rest[:-1]
    return sid, None


@dataclass(frozen=True)
class FlowSpec:
    steps: tuple[Step, ...]
    levels: tuple[Choice, ...]
    pillars: Mapping[str, str]
    text_max: int
    source: str

    @functools.cached_property
    def questions(self) -> Mapping[str, Question]:
        return {q.id: q for step in self.steps for q in step.questions}

    @property
    def counted_steps(self) -> tuple[Step, ...]:
        return tuple(s for s in self.steps if s.number is not None)

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    @functools.cached_property
    def roles(self) -> Mapping[str, Question]:
        return {q.role: q for q in self.questions.values() if q.role}

    def role(self, role: str) -> str | None:
        """The id of the question that plays `role`, or None if this flow has none."""
        q = self.roles.get(role)
        return q.id if q else None

    def by_role(self, answers: Answers, role: str, item: str | None = None) -> Any:
        """The answer to the question playing `role` (for one theme if `item`), or None."""
        q = self.roles.get(role)
        return None if q is None else answers.get(slot_id(q.id, item))

    def items(self, source: str, answers: Answers, order_by: str | None = None) -> list[str]:
        """The chosen items of a multiple-choice answer, in the buyer's priority order if given."""
        chosen = [str(v) for v in answers.get(source) or []]
        if order_by:
            ranked = [v for v in answers.get(order_by) or [] if v in chosen]
            chosen = ranked + [v for v in chosen if v not in ranked]
        return chosen

    def slots(self, answers: Answers) -> list[Slot]:
        """Every question that applies given these answers, in the order they are asked."""
        result: list[Slot] = []
        for step in self.steps:
            index = 0
            questions = step.questions
            while index < len(questions):
                q = questions[index]
                if q.repeat_for is None:
                    if q.when is None or q.when.holds(answers, None):
                        result.append(Slot(q.id, q, step))
                    index += 1
                    continue
                group = [g for g in questions[index:] if g.repeat_for == q.repeat_for]
                for item in self.items(q.repeat_for, answers, q.order_by):
                    for g in group:
                        if g.when is None or g.when.holds(answers, item):
                            result.append(Slot(slot_id(g.id, item), g, step, item))
                index += len(group)
        return result

    def choices_for(self, question: Question, answers: Answers, item: str | None) -> list[Choice]:
        if question.kind == "level":
            return list(self.levels)
        if question.kind == "yesno":
            return [Choice(True, "Ja"), Choice(False, "Nee")]
        if question.choices_from:
            return [
                Choice(v, self.label(question.choices_from, v))
                for v in self.items(question.choices_from, answers)
            ]
        if question.item_choices and item is not None and question.repeat_for:
            source = self.questions[question.repeat_for]
            for c in source.choices:
                if c.value == item and c.attrs.get(question.item_choices):
                    return list(c.attrs[question.item_choices])
        return list(question.choices)

    def label(self, question_id: str, value: Any) -> str:
        """A stored value as the buyer reads it; own answers ("anders, namelijk") show as typed."""
        q = self.questions.get(question_id)
        if q is not None:
            if q.kind == "level":
                for c in self.levels:
                    if c.value == value:
                        return f"{c.value} {c.label.lower()}"
            if q.kind == "yesno" and isinstance(value, bool):
                return "ja" if value else "nee"
            source = self.questions.get(q.choices_from) if q.choices_from else q
            if source is not None:
                for c in source.choices:
                    if c.value == value:
                        return c.label
        return str(value)

    def choice_attr(self, question_id: str, value: Any, attr: str) -> Any:
        q = self.questions.get(question_id)
        for c in q.choices if q else ():
            if c.value == value:
                return c.attrs.get(attr)
        return None


# ---------------------------------------------------------------------------------------------
# Loading and validation


def default_path() -> Path:
    return Path(str(resources.files("prompts").joinpath("flow.yaml")))


@functools.lru_cache(maxsize=4)
def load_spec(path: Path | None = None) -> FlowSpec:
    path = path or default_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise SpecError(f"{path}: kan het vragenbestand niet lezen: {exc}") from exc
    return _Builder(str(path)).build(raw)


class _Builder:
    def __init__(self, source: str) -> None:
        self.source = source
        self.env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
        self.seen: dict[str, Question] = {}
        self.step_report = "context"

    def fail(self, where: str, message: str) -> SpecError:
        return SpecError(f"{self.source}: {where}: {message}")

    def build(self, raw: Any) -> FlowSpec:
        if not isinstance(raw, dict) or not isinstance(raw.get("steps"), list):
            raise self.fail("top", "verwacht een mapping met 'steps'")
        levels = tuple(self.choice(c, "levels") for c in raw.get("levels") or [])
        if [c.value for c in levels] != [0, 1, 2, 3]:
            raise self.fail("levels", "verwacht de niveaus 0, 1, 2 en 3 op volgorde")
        pillars = {str(k): str(v) for k, v in (raw.get("pillars") or {}).items()}
        steps: list[Step] = []
        number = 0
        for s in raw["steps"]:
            sid = self.text(s, "id", "step")
            counted = s.get("counted", True)
            if counted:
                number += 1
            self.step_report = self.tag(s.get("report", "context"), sid)
            questions = tuple(self.questions(s.get("questions") or [], sid, pillars))
            if not questions:
                raise self.fail(sid, "een stap zonder vragen")
            steps.append(
                Step(
                    sid,
                    self.text(s, "title", sid),
                    number if counted else None,
                    questions,
                    self.text(s, "short", sid) if "short" in s else "",
                )
            )
        if len({s.id for s in steps}) != len(steps):
            raise self.fail("steps", "dubbele stap-id")
        self.check_roles()
        text_max = int((raw.get("limits") or {}).get("text_max", 2000))
        return FlowSpec(tuple(steps), levels, pillars, text_max, self.source)

    def questions(
        self, raw: Sequence[Any], step_id: str, pillars: Mapping[str, str]
    ) -> list[Question]:
        out: list[Question] = []
        for entry in raw:
            if isinstance(entry, dict) and "repeat_for" in entry:
                source = self.known(entry["repeat_for"], step_id, kinds=("multi",))
                order_by = entry.get("order_by")
                if order_by:
                    self.known(order_by, step_id, kinds=("order",))
                group = entry.get("questions") or []
                if not group:
                    raise self.fail(step_id, "repeat_for zonder vragen")
                export_as = str(entry.get("export_as") or f"per_{source.id}")
                for q in group:
                    out.append(self.question(q, step_id, pillars, source.id, order_by, export_as))
            else:
                out.append(self.question(entry, step_id, pillars, None, None))
        return out

    def question(
        self,
        raw: Any,
        step_id: str,
        pillars: Mapping[str, str],
        repeat_for: str | None,
        order_by: str | None,
        export_as: str | None = None,
    ) -> Question:
        if not isinstance(raw, dict):
            raise self.fail(step_id, f"een vraag moet een mapping zijn, niet {raw!r}")
        qid = self.text(raw, "id", step_id)
        where = f"vraag {qid}"
        if qid in self.seen or "[" in qid:
            raise self.fail(where, "dubbele of ongeldige id")
        kind = raw.get("kind")
        if kind not in KINDS:
            raise self.fail(where, f"onbekende kind {kind!r}; kies uit {', '.join(KINDS)}")
        prompt = self.template(self.text(raw, "prompt", where), where)
        choices = tuple(self.choice(c, where) for c in raw.get("choices") or [])
        choices_from = raw.get("choices_from")
        if choices_from:
            self.known(choices_from, where, kinds=("multi",))
        item_choices = raw.get("item_choices")
        if item_choices and not repeat_for:
            raise self.fail(where, "item_choices werkt alleen binnen repeat_for")
        if kind in ("choice", "multi", "order") and not (choices or choices_from or item_choices):
            raise self.fail(where, "een keuzevraag heeft choices of choices_from nodig")
        if len({repr(c.value) for c in choices}) != len(choices):
            raise self.fail(where, "dubbele waarde in choices")
        when = self.condition(raw.get("when"), where, repeat_for)
        coverage = None
        if raw.get("coverage"):
            cov = raw["coverage"]
            required = tuple(cov.get("required") or [])
            unknown = [p for p in required if p not in pillars]
            if unknown:
                raise self.fail(where, f"onbekende pijler(s) {unknown}")
            coverage = Coverage(cov["tag"], required, self.template(cov["warning"], where))
        notes = {
            str(k).lower(): self.template(str(v), where)
            for k, v in (raw.get("notes") or {}).items()
        }
        role = raw.get("role")
        if role is not None:
            if role not in ROLES:
                raise self.fail(where, f"onbekende role {role!r}; kies uit {', '.join(ROLES)}")
            if kind not in ROLES[role]:
                raise self.fail(where, f"role {role} vraagt een vraag van soort {ROLES[role]}")
            if any(q.role == role for q in self.seen.values()):
                raise self.fail(where, f"role {role} staat al bij een andere vraag")
        self.check_choice_attrs(where, role, choices)
        question = Question(
            id=qid,
            kind=kind,
            prompt=prompt,
            step_id=step_id,
            example=raw.get("example"),
            help=raw.get("help"),
            optional=bool(raw.get("optional", False)),
            other=bool(raw.get("other", False)),
            choices=choices,
            choices_from=choices_from,
            item_choices=item_choices,
            when=when,
            notes=notes,
            coverage=coverage,
            scale=bool(raw.get("scale", False)),
            max_length=int(raw["max_length"]) if raw.get("max_length") else None,
            repeat_for=repeat_for,
            order_by=order_by,
            export_as=export_as,
            role=role,
            report=self.tag(raw.get("report", self.step_report), where),
            # The formal name in documents; without one the id stands in, readable if not pretty.
            label=str(raw.get("label") or qid.replace("_", " ").capitalize()),
        )
        self.seen[qid] = question
        return question

    def tag(self, value: Any, where: str) -> str:
        if value not in REPORT_TAGS:
            raise self.fail(where, f"onbekende report {value!r}; kies uit {', '.join(REPORT_TAGS)}")
        return str(value)

    def check_choice_attrs(self, where: str, role: str | None, choices: Sequence[Choice]) -> None:
        for c in choices:
            route = c.attrs.get("route")
            if role == "themes" and route not in THEME_ROUTES:
                raise self.fail(
                    where, f"thema {c.value!r} heeft route {route!r}; kies uit {THEME_ROUTES}"
                )
            section = c.attrs.get("advice")
            if section is not None and section not in PARTNER_SECTIONS:
                raise self.fail(where, f"keuze {c.value!r}: onbekende advice {section!r}")

    def check_roles(self) -> None:
        present = {q.role for q in self.seen.values()}
        missing = [r for r in REQUIRED_ROLES if r not in present]
        if missing:
            raise self.fail("roles", f"geen vraag met role {', '.join(missing)}")

    def condition(self, raw: Any, where: str, repeat_for: str | None) -> Condition | None:
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise self.fail(where, "when moet een mapping zijn")
        answer, item_answer = raw.get("answer"), raw.get("item_answer")
        if bool(answer) == bool(item_answer):
            raise self.fail(where, "when heeft precies een van answer of item_answer nodig")
        if answer:
            self.known(answer, where)
        elif not repeat_for:
            raise self.fail(where, "item_answer werkt alleen binnen repeat_for")
        else:
            target = self.known(item_answer, where)
            if target.repeat_for != repeat_for:
                raise self.fail(where, f"item_answer {item_answer} hoort niet bij dit blok")
        ops = [k for k in ("equals", "in", "not_in") if k in raw]
        if len(ops) != 1:
            raise self.fail(where, "when heeft precies een van equals, in of not_in nodig")
        return Condition(
            answer=answer,
            item_answer=item_answer,
            equals=raw.get("equals"),
            in_=tuple(raw["in"]) if "in" in raw else None,
            not_in=tuple(raw["not_in"]) if "not_in" in raw else None,
        )

    def known(self, qid: Any, where: str, kinds: tuple[str, ...] = ()) -> Question:
        q = self.seen.get(str(qid))
        if q is None:
            raise self.fail(where, f"verwijst naar {qid!r}, die (nog) niet eerder gevraagd is")
        if kinds and q.kind not in kinds:
            raise self.fail(where, f"{qid} moet van soort {'/'.join(kinds)} zijn")
        return q

    def choice(self, raw: Any, where: str) -> Choice:
        if not isinstance(raw, dict) or "value" not in raw or not raw.get("label"):
            raise self.fail(where, f"een keuze heeft value en label nodig: {raw!r}")
        attrs = {
            k: tuple(self.item(x, where) for x in v) if isinstance(v, list) else v
            for k, v in raw.items()
            if k not in ("value", "label")
        }
        return Choice(raw["value"], str(raw["label"]), attrs)

    def item(self, raw: Any, where: str) -> Choice:
        """An entry of a choice's own list (such as a theme's indicators), offered by
        `item_choices`: its text, or its text with a shorter `short` for a button."""
        if isinstance(raw, str) and raw.strip():
            return Choice(raw.strip(), raw.strip())
        if isinstance(raw, dict) and isinstance(raw.get("label"), str) and raw["label"].strip():
            extra = set(raw) - {"label", "short"}
            if extra or not isinstance(raw.get("short", ""), str):
                raise self.fail(where, f"een lijstwaarde heeft alleen label en short: {raw!r}")
            label = raw["label"].strip()
            return Choice(label, label, {k: v for k, v in raw.items() if k == "short"})
        raise self.fail(where, f"een lijstwaarde is tekst of heeft een label: {raw!r}")

    def text(self, raw: Any, key: str, where: str) -> str:
        value = raw.get(key) if isinstance(raw, dict) else None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"'{key}' ontbreekt of is leeg")
        return value.strip()

    def template(self, source: str, where: str) -> str:
        try:
            self.env.parse(source)
        except jinja2.TemplateSyntaxError as exc:
            raise self.fail(where, f"fout in sjabloon: {exc}") from exc
        return source

"""How a question, a progress marker and the overview of answers are put into words.

Kept apart from the engine so the engine decides *what* happens and this module only decides *how it
reads*; every sentence itself comes from `prompts/`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from flows.events import Action, Message, Option
from flows.inputs import option_keys
from flows.spec import FlowSpec, Slot
from flows.texts import Texts, safe, yaml_section

_TAGS = re.compile(r"<[^>]+>")


def plain(text: str) -> str:
    """Rich text without its tags, for places like button labels that take no markup."""
    return html.unescape(_TAGS.sub("", text))


def shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


TITLE_MAX = 40
OVERVIEW_PAGE = 1500
"""Characters of overview a chat shows at once: about one phone screen."""
END_ACTIONS = (
    ("summary", "samenvatting"),
    ("files", "download"),
    ("change", "wijzig"),
    ("new", "nieuw"),
)


class Prompter:
    def __init__(
        self,
        spec: FlowSpec,
        texts: Texts,
        *,
        buttons: bool,
        providers: Mapping[str, Callable[[Mapping[str, Any]], str]] | None = None,
    ) -> None:
        self.spec = spec
        self.texts = texts
        self.providers = dict(providers or {})
        self.buttons = buttons
        self.channel = "buttons" if buttons else "typed"
        self.titles: dict[str, str] = dict(yaml_section("titles.yaml", "titles")[0])
        self.skip_keeps: dict[str, str] = dict(yaml_section("titles.yaml", "skip_keeps")[0])

    def item_label(self, slot: Slot) -> str | None:
        if slot.item is None or slot.question.repeat_for is None:
            return None
        return self.spec.label(slot.question.repeat_for, slot.item)

    def question_text(self, slot: Slot, answers: Mapping[str, Any] | None = None) -> str:
        """The question itself; values computed from the answers are filled in where asked for."""
        source = slot.question.prompt
        extra = {
            name: provide(answers or {}) if name in source and answers is not None else ""
            for name, provide in self.providers.items()
        }
        return self.texts.inline(source, item=self.item_label(slot), **extra)

    def progress(self, slot: Slot, slots: Sequence[Slot]) -> str:
        in_step = [s.id for s in slots if s.step.id == slot.step.id]
        position = in_step.index(slot.id) + 1 if slot.id in in_step else 1
        return self.texts(
            "progress",
            number=slot.step.number,
            steps=len(self.spec.counted_steps),
            title=slot.step.short_title,
            position=position,
            total=len(in_step),
        )

    def short_title(self, slot: Slot) -> str:
        """The question in a few words: from prompts/titles.yaml, else the name the documents give
        it (its `label`), so a new question reads well without an entry there."""
        title = self.titles.get(slot.question.id) or slot.question.label
        item = self.item_label(slot)
        if item and slot.question.repeat_for:
            item = self.spec.choice_attr(slot.question.repeat_for, slot.item, "short") or item
        if item and item not in title:
            title = f"{title} · {item}"
        return shorten(title, TITLE_MAX)

    def record(self, slot: Slot, value: Any) -> str:
        """The one line an answered question leaves behind ("✓ Keten: Complex")."""
        value_label = self.answer_label(slot.question.id, value)
        return self.texts("answered", title=self.short_title(slot), value=value_label)

    def skipped_record(self, slot: Slot) -> str:
        kept = self.skip_keeps.get(slot.question.id)
        return self.texts("skipped_record", title=self.short_title(slot), kept=kept)

    def skip_note(self, slot: Slot) -> str:
        """What skipping means here: most questions stay open, some keep a proposal."""
        kept = self.skip_keeps.get(slot.question.id)
        return self.texts("skipped_kept", kept=kept) if kept else self.texts("skipped")

    def answer_label(self, question_id: str, value: Any) -> str:
        if isinstance(value, list):
            return ", ".join(self.spec.label(question_id, v) for v in value)
        return self.spec.label(question_id, value)

    def prompt(
        self,
        slot: Slot,
        slots: Sequence[Slot],
        answers: Mapping[str, Any],
        *,
        seq: int,
        draft: list[Any] | None,
        can_go_back: bool,
        edit: bool = False,
    ) -> Message:
        q = slot.question
        choices = self.spec.choices_for(q, answers, slot.item)
        current = answers.get(slot.id)
        has_answer = slot.id in answers
        text = self.texts(
            "prompt",
            progress=self.progress(slot, slots),
            question=safe(self.question_text(slot, answers)),
            example=q.example,
            levels=self.spec.levels if self._legend_due(slot, slots, answers) else (),
            current=self.answer_label(q.id, current) if has_answer else None,
            draft=self.answer_label(q.id, draft) if draft and q.kind == "order" else None,
            hint=self.texts(f"hint.{'scale' if q.scale else q.kind}.{self.channel}"),
            other=q.other,
            buttons=self.buttons,
            optional=q.optional,
        )
        keys = option_keys(q, choices)
        selected: set[str] = set()
        if q.kind == "multi":
            selected = {repr(v) for v in (draft if draft is not None else current or [])}
        elif q.kind != "order" and has_answer:
            selected = {repr(current)}
        options = []
        for key, choice in zip(keys, choices, strict=True):
            label = str(choice.attrs.get("short") or choice.label) if self.buttons else choice.label
            if q.kind == "level":
                label = f"{choice.value} · {label}"
            if q.kind == "order" and draft and choice.value in draft:
                label = f"{draft.index(choice.value) + 1}. {label}"
            options.append(Option(label, key, repr(choice.value) in selected))
        if q.kind == "multi":
            known = [c.value for c in choices]
            for value in draft if draft is not None else current or []:
                if value not in known:
                    options.append(Option(str(value), str(len(options) + 1), True))
        actions: list[Action] = []
        typed_only = q.kind in ("text", "year")
        # A typed answer has the keyboard to itself in Telegram; /terug stays in the menu.
        if can_go_back and not (typed_only and self.buttons):
            actions.append(Action(self.texts("action.back"), "terug"))
        if q.optional:
            actions.append(Action(self.texts("action.skip"), "overslaan"))
        if has_answer:
            actions.append(Action(self.texts("action.keep"), "verder"))
        if q.kind == "order" and draft:
            actions.append(Action(self.texts("action.reset"), "opnieuw"))
        done_label = None
        if q.kind == "multi":
            count = sum(1 for o in options if o.selected)
            done_label = self.texts("action.done_count" if count else "action.done", count=count)
        elif q.kind == "order":
            done_label = self.texts("action.done")
        return Message(
            text=text,
            options=tuple(options),
            multi=q.kind in ("multi", "order"),
            done_label=done_label,
            actions=tuple(actions),
            seq=seq,
            edit=edit,
            columns=2 if q.kind in ("level", "yesno", "multi") or q.scale else 1,
            placeholder=(q.example or "") if typed_only else None,
        )

    def finished(self, name: str, *, seq: int) -> Message:
        """The end of the questions is a menu: what a buyer does next, one tap away."""
        actions = tuple(
            Action(self.texts(f"action.end.{key}"), command) for key, command in END_ACTIONS
        )
        return Message(self.texts("finished", name=name), actions=actions, seq=seq, columns=2)

    def _legend_due(self, slot: Slot, slots: Sequence[Slot], answers: Mapping[str, Any]) -> bool:
        """The level legend once per step: until another level question of the step is answered."""
        if slot.question.kind != "level":
            return False
        return not any(
            s.id in answers and s.id != slot.id
            for s in slots
            if s.step.id == slot.step.id and s.question.kind == "level"
        )

    def overview(
        self, slots: Sequence[Slot], answers: Mapping[str, Any], skipped: Sequence[str]
    ) -> str:
        groups = self._overview_groups(slots, answers, skipped)
        return self.texts.template("overview.html.j2", groups=groups).strip()

    def overview_pages(
        self,
        slots: Sequence[Slot],
        answers: Mapping[str, Any],
        skipped: Sequence[str],
        size: int = OVERVIEW_PAGE,
    ) -> list[str]:
        """The overview cut into screens of about `size` characters, whole steps where they fit:
        a chat shows one screen at a time and turns pages in place, instead of a wall of
        messages. A step longer than a page is cut between its questions, never inside one."""
        pages: list[list[dict[str, Any]]] = [[]]
        used = 0
        for group in self._overview_groups(slots, answers, skipped):
            for part in self._cut_group(group, size):
                length = self._plain_length([part])
                if pages[-1] and used + length > size:
                    pages.append([])
                    used = 0
                pages[-1].append(part)
                used += length
        return [self.texts.template("overview.html.j2", groups=page).strip() for page in pages]

    def _cut_group(self, group: dict[str, Any], size: int) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = [{**group, "rows": []}]
        for row in group["rows"]:
            if parts[-1]["rows"] and self._plain_length([parts[-1]], extra=row) > size:
                parts.append({"step": group["step"], "rows": [], "continued": True})
            parts[-1]["rows"].append(row)
        return parts

    def _plain_length(
        self, groups: list[dict[str, Any]], extra: dict[str, Any] | None = None
    ) -> int:
        if extra is not None:
            groups = [{**groups[-1], "rows": [*groups[-1]["rows"], extra]}]
        return len(plain(self.texts.template("overview.html.j2", groups=groups)).strip())

    def _overview_groups(
        self, slots: Sequence[Slot], answers: Mapping[str, Any], skipped: Sequence[str]
    ) -> list[dict[str, Any]]:
        groups: list[dict[str, Any]] = []
        for slot in slots:
            if not groups or groups[-1]["step"] is not slot.step:
                groups.append({"step": slot.step, "rows": [], "continued": False})
            if slot.id in answers:
                value = self.answer_label(slot.question.id, answers[slot.id])
            else:
                value = None
            groups[-1]["rows"].append(
                {
                    "question": plain(self.question_text(slot, answers)),
                    "value": value,
                    "skipped": slot.id in skipped,
                }
            )
        return groups

"""The conversation: one event in, one reply out, everything saved before the reply is returned.

A person is always in one of a few modes (answering a question, choosing in a menu, paused,
finished). Those modes and the moves between them are a `transitions` state machine, built once;
each person's `Session` is attached to it only while their event is handled, so a thousand buyers
cost a thousand small dicts, not a thousand machines. Which question comes next is not a state: it
follows from the spec and the answers (`FlowSpec.slots`), so a new question needs only a change in
`prompts/`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from transitions import Machine

from flows.events import Action, DocumentRequest, Event, Message, Option, Reply
from flows.inputs import NO, Invalid, clean_text, normalised, number, parse
from flows.ports import Repository
from flows.prompting import Prompter, plain, shorten
from flows.report.summary import default_builder
from flows.session import Session, now_iso
from flows.spec import Choice, FlowSpec, Slot, load_spec
from flows.texts import Texts, default_texts

MODES = ["asking", "finished", "paused", "jumping", "resuming", "deleting", "confirming"]
MENU_MODES = {"jumping", "resuming", "deleting", "confirming"}
TRANSITIONS: list[dict[str, Any]] = [
    {"trigger": "ask", "source": "*", "dest": "asking"},
    {"trigger": "finish", "source": "*", "dest": "finished"},
    {"trigger": "pause", "source": "*", "dest": "paused"},
    {"trigger": "open_jump", "source": "*", "dest": "jumping"},
    {"trigger": "open_resume", "source": "*", "dest": "resuming"},
    {"trigger": "open_delete", "source": "*", "dest": "deleting"},
    {"trigger": "ask_confirm", "source": "deleting", "dest": "confirming"},
]
ALL = "__alles__"
CONFIRM_KEYS = ("ja", "nee")
Summarizer = Callable[[DocumentRequest], list[str]]


@dataclass(frozen=True)
class MenuView:
    """An open menu as the person can answer it: what each item stands for and what to type."""

    kind: str
    values: tuple[str, ...]
    keys: tuple[str, ...]


@dataclass(frozen=True)
class Position:
    """Where a person is, read without changing anything: for tests, tools and channels."""

    mode: str
    tender_id: str | None
    slot: Slot | None
    choices: tuple[Choice, ...]
    menu: MenuView | None
    answers: Mapping[str, Any]
    skipped: tuple[str, ...] = ()


def menu_keys(menu: Mapping[str, Any]) -> tuple[str, ...]:
    """What to type for each item. A confirmation takes words, never a number: a digit typed
    twice (or delivered twice) in the menu before it must not confirm a deletion."""
    if menu.get("kind") == "confirm":
        return CONFIRM_KEYS
    return tuple(str(i + 1) for i in range(len(menu.get("values") or [])))


def time_ms() -> int:
    return time.time_ns() // 1_000_000


def build_machine() -> Machine:
    return Machine(
        model=None,
        states=MODES,
        transitions=TRANSITIONS,
        initial="asking",
        auto_transitions=False,
        after_state_change="sync_mode",
    )


class Conversation:
    def __init__(
        self,
        repo: Repository[Any],
        *,
        spec: FlowSpec | None = None,
        texts: Texts | None = None,
        buttons: bool = True,
        summarizer: Summarizer | None = None,
    ) -> None:
        self.repo = repo
        self.spec = spec or load_spec()
        self.texts = texts or default_texts()
        self.buttons = buttons
        self.summarizer = summarizer
        default_builder()  # loads and validates the measures at start-up, not on first use
        self.prompter = Prompter(
            self.spec,
            self.texts,
            buttons=buttons,
            providers={"ambitievoorstel": lambda a: default_builder().ambition_statement(a)},
        )
        self._local = threading.local()
        self.aliases: dict[str, str] = dict(self.texts.section("command_aliases"))
        self.commands: dict[str, Callable[[Session, str], Reply]] = {
            "start": self._cmd_start,
            "help": self._cmd_help,
            "terug": self._cmd_back,
            "overslaan": self._cmd_skip,
            "verder": self._cmd_keep,
            "opnieuw": self._cmd_reset,
            "overzicht": self._cmd_overview,
            "wijzig": self._cmd_jump,
            "nieuw": self._cmd_new,
            "hervat": self._cmd_resume,
            "verwijder": self._cmd_delete,
            "annuleren": self._cmd_cancel,
            "stop": self._cmd_stop,
            "samenvatting": self._cmd_summary,
            "download": self._cmd_download,
            "export": self._cmd_export,
        }
        # Rooms (e.g. flows/contract) claim a person's events while their dialog is open.
        self.rooms: dict[str, Callable[[Session, Event], Reply | None]] = {}

    # -----------------------------------------------------------------------------------------
    # The one entry point

    def handle(self, user_key: str, event: Event) -> Reply:
        """Handle one event of one person; safe to call from several threads for different people.

        Each worker thread has its own (tiny) state machine, so different people never wait for
        each other here; their saves overlap on the disk. Events of one person must still arrive
        in order, which the channels guarantee.
        """
        session = self._load(user_key)
        machine = self._machine()
        machine.add_model(session, initial=session.mode)
        try:
            if self._handled_before(session, event):
                # A re-delivery (after a crash, Telegram sends unconfirmed updates again): show
                # where the person is, change nothing.
                reply = self._reply(session) if session.tender is not None else Reply()
            else:
                reply = self._dispatch(session, normalised(event))
        finally:
            machine.remove_model(session)
        self._remember_update(session, event)
        self._save(session)
        return reply

    def position(self, user_key: str) -> Position:
        """Where this person is now; loads, changes nothing and saves nothing."""
        session = self._load(user_key)
        menu = None
        if session.mode in MENU_MODES and session.menu:
            raw = session.menu
            menu = MenuView(str(raw.get("kind")), tuple(raw.get("values") or ()), menu_keys(raw))
        slot = None
        choices: tuple[Choice, ...] = ()
        if session.mode == "asking" and session.tender is not None:
            slot = self._current_slot(session, self._slots(session))
            if slot is not None:
                choices = tuple(self.spec.choices_for(slot.question, session.answers, slot.item))
        tender_id = session.tender.id if session.tender is not None else None
        return Position(
            session.mode,
            tender_id,
            slot,
            choices,
            menu,
            dict(session.answers),
            tuple(session.skipped),
        )

    @staticmethod
    def _handled_before(s: Session, event: Event) -> bool:
        if event.update_id is None:
            return False
        last = max(int(s.user.get("update_id") or 0), int(s.tstate.get("update_id") or 0))
        return event.update_id <= last

    @staticmethod
    def _remember_update(s: Session, event: Event) -> None:
        """Keep the update's number in every document this update saves, in the same write as
        the answer: a crash between the two writes can then never apply the answer twice."""
        if event.update_id is None:
            return
        if s.tender is not None and s.tender_changed:
            s.tender.state["update_id"] = event.update_id
        if s.user_changed:
            s.user["update_id"] = event.update_id

    def _machine(self) -> Machine:
        """This thread's machine: built once per worker thread, so threads never share one."""
        machine: Machine | None = getattr(self._local, "machine", None)
        if machine is None:
            machine = self._local.machine = build_machine()
        return machine

    def known_command(self, name: str) -> bool:
        return self._canonical(name) in self.commands

    def _canonical(self, name: str) -> str:
        name = name.lower().lstrip("/")
        return self.aliases.get(name, name)

    def _load(self, user_key: str) -> Session:
        user = self.repo.get_user(user_key)
        new_person = user is None
        if user is None:
            # A new person's prompt numbers start at the clock (in ms), not at 0: after "delete all
            # my data" nothing of them is kept, yet their old buttons must still be recognised.
            user = {"created": now_iso(), "mode": "asking", "active": None, "seq": time_ms()}
            # A crash between saving someone's very first tender and their own document leaves a
            # tender without a person; pick it up instead of asking which one to resume.
            existing = self.repo.list_tenders(user_key)
            if existing:
                user["active"] = existing[0]["id"]
        tender = None
        if user.get("active"):
            tender = self.repo.get_tender(user_key, str(user["active"]))
        session = Session(user_key, user, tender)
        session.user_changed = new_person
        return session

    def _save(self, session: Session) -> None:
        if session.tender is not None and session.tender_changed:
            session.tender.meta["updated"] = now_iso()
            self.repo.save_tender(session.user_key, session.tender)
        if session.user_changed:
            self.repo.save_user(session.user_key, session.user)

    def _go(self, session: Session, trigger: str) -> None:
        self._machine().events[trigger].trigger(session)

    def _dispatch(self, s: Session, event: Event) -> Reply:
        room = self.rooms.get(str(s.tstate.get("room") or ""))  # hook: contract phase
        claimed = room(s, event) if room is not None else None
        if claimed is not None:
            return claimed
        # Stale buttons before anything else: an old button never creates a tender (or a person).
        if event.kind in ("pick", "done", "action") and event.seq not in (None, s.seq):
            return self._stale(s)
        if event.kind == "command":
            return self._command(s, event.command, event.text)
        if s.tender is None:
            return self._start_tender(s, greeting=self.texts("greeting"))
        if event.kind == "action":
            return self._command(s, event.command, "")
        if event.kind == "media":
            return self._reply(s, self.texts("media_refused", what=event.text))
        if event.kind == "edited":
            return self._reply(s, self.texts("edited_ignored"))
        if s.state == "asking":
            return self._on_answer(s, event)
        if s.state in MENU_MODES:
            return self._on_menu(s, event)
        if s.state == "paused":
            self._go(s, "ask")
            return self._reply(s, self.texts("resumed", name=self._name(s)))
        return self._reply(s, self.texts("finished_hint"))

    def _command(self, s: Session, name: str, arg: str) -> Reply:
        handler = self.commands.get(self._canonical(name))
        if handler is None:
            return self._reply(s, self.texts("unknown_command", name=shorten(name, 40)))
        without_tender = (self._cmd_help, self._cmd_delete, self._cmd_resume, self._cmd_new)
        if s.tender is None and handler not in without_tender:
            # Nothing active (new, or the active one was deleted): pick one, or start the first.
            return self._cmd_resume(s, "")
        return handler(s, arg.strip())

    # -----------------------------------------------------------------------------------------
    # Where the person is, and how it is shown

    def _slots(self, s: Session) -> list[Slot]:
        """The questions that apply, expanded once per set of answers rather than per lookup."""
        cached = s.slots_cache
        if cached is None or cached[0] is not s.tender or cached[1] != s.answers_version:
            cached = (s.tender, s.answers_version, self.spec.slots(s.answers))
            s.slots_cache = cached
        slots: list[Slot] = cached[2]
        return slots

    def _current_slot(self, s: Session, slots: Sequence[Slot]) -> Slot | None:
        for slot in slots:
            if slot.id == s.cursor:
                return slot
        target = self._next_open(s, slots, after=None)
        s.cursor = target.id if target else None
        return target

    def _next_open(self, s: Session, slots: Sequence[Slot], after: str | None) -> Slot | None:
        skipped = set(s.skipped)
        open_ = [x for x in slots if x.id not in s.answers and x.id not in skipped]
        ids = [x.id for x in slots]
        if after in ids:
            position = ids.index(after)
            later = [x for x in open_ if ids.index(x.id) > position]
            if later:
                return later[0]
        return open_[0] if open_ else None

    def _view(self, s: Session, *, edit: bool = False) -> Message:
        """What the person should be looking at now, for the mode they are in."""
        if s.state in MENU_MODES:
            return self._menu_message(s, edit=edit)
        slots = self._slots(s)
        slot = self._current_slot(s, slots) if s.state != "finished" else None
        if slot is None:
            if s.state != "finished":
                self._go(s, "finish")
            return self.prompter.finished(self._name(s), seq=s.seq if edit else s.next_seq())
        if s.state == "paused":
            self._go(s, "ask")
        seq = s.seq if edit else s.next_seq()
        draft = s.tstate.get("draft") if s.tstate.get("draft_for") == slot.id else None
        if draft is None and slot.question.kind in ("multi", "order"):
            draft = list(s.answers.get(slot.id) or []) if slot.question.kind == "multi" else []
            s.set_state("draft", draft)
            s.set_state("draft_for", slot.id)
        return self.prompter.prompt(
            slot,
            slots,
            s.answers,
            seq=seq,
            draft=draft,
            can_go_back=bool(s.history),
            edit=edit,
        )

    def _reply(self, s: Session, *texts: str, **kwargs: Any) -> Reply:
        messages = [Message(t) for t in texts if t]
        return Reply((*messages, self._view(s)), **kwargs)

    def _stale(self, s: Session) -> Reply:
        # The view keeps its number: the buttons on screen stay valid, a channel need not redraw.
        stale = Message(self.texts("stale_button"))
        if s.tender is None:
            s.user_changed = False
            return Reply((stale,), toast=self.texts("stale_toast"))
        return Reply((stale, self._view(s, edit=True)), toast=self.texts("stale_toast"))

    def _name(self, s: Session) -> str:
        if s.tender is None:
            return ""
        return str(s.tender.meta.get("name") or self.texts("unnamed"))

    # -----------------------------------------------------------------------------------------
    # Answering

    def _on_answer(self, s: Session, event: Event) -> Reply:
        slots = self._slots(s)
        slot = self._current_slot(s, slots)
        if slot is None:
            return self._reply(s)
        q = slot.question
        choices = self.spec.choices_for(q, s.answers, slot.item)
        draft_active = s.tstate.get("draft_for") == slot.id
        draft: list[Any] = list(s.tstate.get("draft") or []) if draft_active else []
        if event.kind == "pick":
            extras = self._extras(draft, choices) if q.kind == "multi" else []
            if not 0 <= event.index < len(choices) + len(extras):
                return self._stale(s)
            if q.kind == "multi":
                value = (
                    choices[event.index].value
                    if event.index < len(choices)
                    else extras[event.index - len(choices)]
                )
                draft = [v for v in draft if v != value] if value in draft else [*draft, value]
                s.set_state("draft", draft)
                return Reply((self._view(s, edit=True),))
            if event.index >= len(choices):
                return self._stale(s)
            if q.kind == "order":
                value = choices[event.index].value
                if value not in draft:
                    draft.append(value)
                s.set_state("draft", draft)
                if len(draft) < len(choices):
                    return Reply((self._view(s, edit=True),))
                return self._record(s, slot, draft)
            return self._record(s, slot, choices[event.index].value)
        if event.kind == "done":
            if q.kind not in ("multi", "order"):
                return self._stale(s)
            if q.kind == "order":
                rest = [c.value for c in choices if c.value not in draft]
                return self._record(s, slot, draft + rest)
            if not draft:
                empty = self.texts("invalid.pick_at_least_one")
                return Reply((Message(empty), self._view(s, edit=True)), toast=plain(empty))
            return self._record(s, slot, draft)
        kept = self._extras(draft, choices) if self.buttons else []
        value = parse(q, choices, event.text, q.max_length or self.spec.text_max, kept)
        if isinstance(value, Invalid):
            return self._reply(s, self.texts(f"invalid.{value.key}", **value.params))
        if q.kind == "multi" and self.buttons:
            added = [v for v in value if v not in draft]
            s.set_state("draft", draft + added)
            labels = ", ".join(self.spec.label(q.id, v) for v in added)
            return Reply(
                (Message(self.texts("multi_added", labels=labels)), self._view(s, edit=False)),
            )
        return self._record(s, slot, value)

    @staticmethod
    def _extras(draft: list[Any], choices: Sequence[Any]) -> list[Any]:
        known = [c.value for c in choices]
        return [v for v in draft if v not in known]

    def _record(self, s: Session, slot: Slot, value: Any) -> Reply:
        q = slot.question
        s.set_answer(slot.id, value)
        s.set_state("draft", None)
        s.set_state("draft_for", None)
        if q.id == "naam" and s.tender is not None:
            s.tender.meta["name"] = value
        notes: list[str] = []
        note = q.notes.get(str(value).lower())
        if note:
            notes.append(self.texts.inline(note))
        if q.coverage is not None:
            missing = self._missing_pillars(q.id, value, q.coverage.tag, q.coverage.required)
            if missing:
                notes.append(self.texts.inline(q.coverage.warning, missing=" en ".join(missing)))
        answered = self.prompter.record(slot, value)
        self._advance(s, slot)
        return self._reply(s, *notes, answered=answered)

    def _missing_pillars(
        self, qid: str, value: Any, tag: str, required: Sequence[str]
    ) -> list[str]:
        present = {self.spec.choice_attr(qid, v, tag) for v in value or []}
        return [self.spec.pillars[p] for p in required if p not in present]

    def _advance(self, s: Session, slot: Slot) -> None:
        s.push_history(slot.id)
        slots = self._slots(s)
        ids = [x.id for x in slots]
        back_to = s.tstate.get("return_to")
        s.set_state("return_to", None)
        if back_to and back_to in ids and back_to != slot.id and back_to not in s.answers:
            s.cursor = back_to
        else:
            target = self._next_open(s, slots, after=slot.id)
            s.cursor = target.id if target else None
        if s.cursor is None:
            self._go(s, "finish")
        else:
            self._go(s, "ask")

    # -----------------------------------------------------------------------------------------
    # Menus: jump to a question, resume a tender, delete

    def _open_menu(self, s: Session, trigger: str, menu: dict[str, Any], *texts: str) -> Reply:
        self._go(s, trigger)
        s.menu = menu
        return self._reply(s, *texts)

    def _menu_message(self, s: Session, *, edit: bool = False) -> Message:
        menu = s.menu
        kind = str(menu.get("kind"))
        labels: list[str] = list(menu.get("labels") or [])
        text = self.texts(f"menu.{kind}", **{k: v for k, v in menu.items() if k != "labels"})
        # Labels were rendered as rich text; buttons and numbered lines take plain text.
        keys = menu_keys(menu)
        options = tuple(Option(plain(label), key) for label, key in zip(labels, keys, strict=True))
        return Message(
            text=text,
            options=options,
            actions=(Action(self.texts("action.cancel"), "annuleren"),),
            seq=s.seq if edit else s.next_seq(),
            edit=edit,
        )

    def _on_menu(self, s: Session, event: Event) -> Reply:
        menu = s.menu
        values: list[str] = list(menu.get("values") or [])
        index = event.index
        if event.kind == "text":
            index = self._typed_menu_index(menu, event.text)
        if not 0 <= index < len(values):
            if menu.get("kind") == "confirm":
                return self._reply(s, self.texts("menu.confirm_type"))
            return self._reply(s, self.texts("menu.pick_number", count=len(values)))
        choice = values[index]
        match menu.get("kind"):
            case "jump_step":
                return self._menu_questions(s, choice)
            case "jump_question":
                return self._jump_to(s, choice)
            case "resume":
                return self._switch_to(s, choice)
            case "delete":
                return self._confirm_delete(s, choice)
            case "confirm":
                return (
                    self._delete(s, str(menu.get("target"))) if choice == "ja" else self._cancel(s)
                )
        return self._cancel(s)

    @staticmethod
    def _typed_menu_index(menu: Mapping[str, Any], text: str) -> int:
        typed = clean_text(text).casefold().rstrip(".")
        numeric = number(typed)
        if numeric is not None:
            typed = str(numeric)
        keys = menu_keys(menu)
        if typed in keys:
            return keys.index(typed)
        if keys == CONFIRM_KEYS and typed in NO:
            return 1  # only a plain "ja" deletes; any kind of no keeps
        return -1

    def _cmd_jump(self, s: Session, arg: str) -> Reply:
        steps = self.spec.steps
        if number(arg) is not None:
            match = [st for st in steps if st.number == number(arg)]
            if match:
                return self._menu_questions(s, match[0].id)
        answers = s.answers
        slots = self._slots(s)
        labels = []
        for step in steps:
            in_step = [x for x in slots if x.step.id == step.id]
            done = sum(1 for x in in_step if x.id in answers)
            labels.append(
                self.texts(
                    "menu.step_label",
                    number=step.number,
                    title=step.title,
                    done=done,
                    total=len(in_step),
                )
            )
        self._remember_return(s)
        return self._open_menu(
            s,
            "open_jump",
            {"kind": "jump_step", "values": [st.id for st in steps], "labels": labels},
        )

    def _remember_return(self, s: Session) -> None:
        if s.state == "asking" and s.cursor and not s.tstate.get("return_to"):
            s.set_state("return_to", s.cursor)

    def _menu_questions(self, s: Session, step_id: str) -> Reply:
        self._remember_return(s)
        slots = [x for x in self._slots(s) if x.step.id == step_id]
        labels = [
            ("✓ " if x.id in s.answers else "") + shorten(plain(self.prompter.question_text(x)), 60)
            for x in slots
        ]
        step = self.spec.step(step_id)
        menu = {
            "kind": "jump_question",
            "values": [x.id for x in slots],
            "labels": labels,
            "title": step.title,
        }
        return self._open_menu(s, "open_jump", menu)

    def _jump_to(self, s: Session, sid: str) -> Reply:
        s.menu = None
        s.cursor = sid
        self._go(s, "ask")
        return self._reply(s)

    def _cmd_resume(self, s: Session, arg: str) -> Reply:
        tenders = self.repo.list_tenders(s.user_key)
        if not tenders:
            return self._start_tender(s, greeting=self.texts("greeting"))
        if len(tenders) == 1 and s.tender is not None and tenders[0]["id"] == s.tender.id:
            self._go(s, "ask")
            return self._reply(s, self.texts("resume_only_one", name=self._name(s)))
        labels = [self._tender_label(t) for t in tenders]
        menu = {"kind": "resume", "values": [str(t["id"]) for t in tenders], "labels": labels}
        return self._open_menu(s, "open_resume", menu)

    def _tender_label(self, meta: dict[str, Any]) -> str:
        return self.texts(
            "menu.tender_label",
            name=shorten(str(meta.get("name") or self.texts("unnamed")), 40),
            updated=str(meta.get("updated") or "")[:10],
        )

    def _switch_to(self, s: Session, tender_id: str) -> Reply:
        tender = self.repo.get_tender(s.user_key, tender_id)
        s.menu = None
        if tender is None:
            self._go(s, "ask")
            return self._reply(s, self.texts("tender_gone"))
        s.switch_to(tender)
        self._go(s, "ask")
        return self._reply(s, self.texts("switched", name=self._name(s)))

    def _cmd_delete(self, s: Session, arg: str) -> Reply:
        tenders = self.repo.list_tenders(s.user_key)
        values = [str(t["id"]) for t in tenders] + [ALL]
        labels = [self._tender_label(t) for t in tenders] + [self.texts("menu.delete_all")]
        return self._open_menu(
            s, "open_delete", {"kind": "delete", "values": values, "labels": labels}
        )

    def _confirm_delete(self, s: Session, target: str) -> Reply:
        name = None
        if target != ALL:
            meta = next((t for t in self.repo.list_tenders(s.user_key) if t["id"] == target), {})
            name = str(meta.get("name") or "?")
        menu = {
            "kind": "confirm",
            "values": ["ja", "nee"],
            "labels": [self.texts("menu.yes_delete"), self.texts("menu.no_keep")],
            "target": target,
            "name": name,
        }
        self._go(s, "ask_confirm")
        s.menu = menu
        return Reply((self._menu_message(s),))

    def _delete(self, s: Session, target: str) -> Reply:
        s.menu = None
        s.next_seq()  # the confirmation's buttons are spent
        if target == ALL:
            self.repo.delete_user(s.user_key)
            s.switch_to(None)
            s.user_changed = False  # nothing of this person stays on disk
            return Reply((Message(self.texts("deleted_all")),), forgotten=True)
        self.repo.delete_tender(s.user_key, target)
        if s.tender is not None and s.tender.id == target:
            rest = self.repo.list_tenders(s.user_key)
            s.switch_to(self.repo.get_tender(s.user_key, str(rest[0]["id"])) if rest else None)
            if s.tender is None:
                self._go(s, "ask")
                return Reply((Message(self.texts("deleted_last")),))
        self._go(s, "ask")
        return self._reply(s, self.texts("deleted_tender", name=self._name(s)))

    def _cancel(self, s: Session) -> Reply:
        s.menu = None
        s.set_state("return_to", None)
        self._go(s, "ask")
        return self._reply(s, self.texts("menu.cancelled"))

    def _cmd_cancel(self, s: Session, arg: str) -> Reply:
        if s.state in MENU_MODES:
            return self._cancel(s)
        return self._reply(s, self.texts("nothing_to_cancel"))

    # -----------------------------------------------------------------------------------------
    # The other commands

    def _start_tender(self, s: Session, *, greeting: str) -> Reply:
        tender = self.repo.create_tender(
            s.user_key, {"name": self.texts("unnamed"), "created": now_iso()}
        )
        s.switch_to(tender)
        s.tender_changed = True
        s.menu = None
        self._go(s, "ask")
        s.cursor = None
        return self._reply(s, greeting)

    def _cmd_start(self, s: Session, arg: str) -> Reply:
        if s.state in MENU_MODES:
            s.menu = None
        self._go(s, "ask")
        return self._reply(s, self.texts("welcome_back", name=self._name(s)))

    def _cmd_help(self, s: Session, arg: str) -> Reply:
        question_help = None
        if s.state == "asking" and s.tender is not None:
            slot = self._current_slot(s, self._slots(s))
            if slot is not None:
                question_help = slot.question.help
        commands = self.texts.section("commands")
        text = self.texts("help", question_help=question_help, commands=commands)
        if s.tender is None:
            return Reply((Message(text),))
        return self._reply(s, text)

    def _cmd_back(self, s: Session, arg: str) -> Reply:
        ids = {x.id for x in self._slots(s)}
        while (previous := s.pop_history()) is not None:
            if previous in ids and previous != s.cursor:
                break
        if previous is None:
            return self._reply(s, self.texts("first_question"))
        s.menu = None
        s.set_state("return_to", None)
        s.cursor = previous
        self._go(s, "ask")
        return self._reply(s)

    def _cmd_skip(self, s: Session, arg: str) -> Reply:
        slot = self._current_slot(s, self._slots(s)) if s.state == "asking" else None
        if slot is None:
            return self._reply(s, self.texts("nothing_to_skip"))
        if not slot.question.optional:
            return self._reply(s, self.texts("cannot_skip", kind=slot.question.kind))
        s.skip(slot.id)
        self._advance(s, slot)
        note = self.prompter.skip_note(slot)
        return self._reply(s, note, answered=self.prompter.skipped_record(slot), toast=plain(note))

    def _cmd_keep(self, s: Session, arg: str) -> Reply:
        slot = self._current_slot(s, self._slots(s)) if s.state == "asking" else None
        if slot is None or slot.id not in s.answers:
            return self._reply(s, self.texts("nothing_to_keep"))
        self._advance(s, slot)
        return self._reply(s)

    def _cmd_reset(self, s: Session, arg: str) -> Reply:
        s.set_state("draft", [])
        return self._reply(s)

    def _cmd_overview(self, s: Session, arg: str) -> Reply:
        text = self.prompter.overview(self._slots(s), s.answers, s.skipped)
        return self._reply(s, self.texts("overview_title", name=self._name(s)), text)

    def _cmd_new(self, s: Session, arg: str) -> Reply:
        previous = self._name(s)
        return self._start_tender(s, greeting=self.texts("new_tender", previous=previous))

    def _cmd_stop(self, s: Session, arg: str) -> Reply:
        s.menu = None
        self._go(s, "pause")
        return Reply((Message(self.texts("paused", name=self._name(s))),))

    def _request(self, s: Session, formats: tuple[str, ...]) -> DocumentRequest:
        assert s.tender is not None
        return DocumentRequest(
            tender_id=s.tender.id,
            name=self._name(s),
            answers=dict(s.answers),
            skipped=tuple(s.skipped),
            formats=formats,
        )

    def _cmd_summary(self, s: Session, arg: str) -> Reply:
        request = self._request(s, ("docx", "md", "png"))
        texts = self.summarizer(request) if self.summarizer else []
        messages = [Message(t) for t in texts]
        messages.append(Message(self.texts("summary_footer")))
        return Reply((*messages, self._view(s)), documents=request)

    def _cmd_download(self, s: Session, arg: str) -> Reply:
        request = self._request(s, ("docx", "md", "png"))
        return Reply((Message(self.texts("documents_coming")),), documents=request)

    def _cmd_export(self, s: Session, arg: str) -> Reply:
        request = self._request(s, ("yaml",))
        return Reply((Message(self.texts("export_coming")),), documents=request)

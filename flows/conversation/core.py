"""The conversation: one event in, one reply out, everything saved before the reply is returned.

This room loads and saves a person, routes an event to the room that handles it, and shows what
the person should be looking at now. Answering questions (`answering.py`), menus (`menus.py`) and
commands (`commands.py`) each live in their own room; the modes and their rules in `machine.py`.
Which question comes next is not a mode: it follows from the spec and the answers
(`FlowSpec.slots`), so a new question needs only a change in `prompts/`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flows.conversation import answering, commands
from flows.conversation.machine import MENU_MODES, MODES, CommandRule, Rules
from flows.conversation.menus import Menus, menu_keys, newest_tenders
from flows.events import DocumentRequest, Event, Message, Reply
from flows.inputs import normalised
from flows.ports import Repository
from flows.prompting import Prompter, shorten
from flows.report.summary import default_builder
from flows.session import Session, now_iso
from flows.spec import Choice, FlowSpec, Slot, load_spec
from flows.texts import Texts, default_texts

Summarizer = Callable[[DocumentRequest], list[str]]
SimpleHandler = Callable[[Session, str], Reply]
Room = Callable[[Session, Event], Reply | None]


def time_ms() -> int:
    return time.time_ns() // 1_000_000


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
        self.aliases: dict[str, str] = dict(self.texts.section("command_aliases"))
        self.commands: dict[str, commands.Command] = dict(commands.REGISTRY)
        self.rules = Rules(c.rule for c in self.commands.values())
        self.menus = Menus(self)
        # Rooms (e.g. flows/contract) claim a person's events while their dialog is open.
        self.rooms: dict[str, Room] = {}

    def register(self, name: str, handler: SimpleHandler, *, needs_tender: bool = True) -> None:
        """Add (or replace) a command usable in every mode, for rooms outside this package."""
        self.commands[name] = commands.Command(
            name,
            lambda _conv, s, arg: handler(s, arg),
            CommandRule(name),
            needs_tender=needs_tender,
        )

    def handler(self, name: str) -> SimpleHandler:
        """A command's handler as a plain function, to wrap it when replacing the command."""
        command = self.commands[name]
        return lambda s, arg: command.run(self, s, arg)

    # -----------------------------------------------------------------------------------------
    # The one entry point

    def handle(self, user_key: str, event: Event) -> Reply:
        """Handle one event of one person; safe to call from several threads for different people.

        Nothing here is shared between people except read-only data, so different people never
        wait for each other; their saves overlap on the disk. Events of one person must still
        arrive in order, which the channels guarantee.
        """
        session = self.load(user_key)
        if self._handled_before(session, event):
            # A re-delivery (after a crash, Telegram sends unconfirmed updates again): show where
            # the person is, change nothing.
            reply = self.reply(session) if session.tender is not None else Reply()
        else:
            reply = self.dispatch(session, normalised(event))
        self._remember_update(session, event)
        self._save(session)
        return reply

    def position(self, user_key: str) -> Position:
        """Where this person is now; loads, changes nothing and saves nothing."""
        s = self.load(user_key)
        menu = s.menu if s.state in MENU_MODES else None
        view = MenuView(menu.kind, menu.values, menu_keys(menu)) if menu is not None else None
        slot = None
        choices: tuple[Choice, ...] = ()
        if s.state == "asking" and s.tender is not None:
            slot = answering.current_slot(s, self.slots(s))
            if slot is not None:
                choices = tuple(self.spec.choices_for(slot.question, s.answers, slot.item))
        tender_id = s.tender.id if s.tender is not None else None
        return Position(s.state, tender_id, slot, choices, view, dict(s.answers), tuple(s.skipped))

    def known_command(self, name: str) -> bool:
        return self.canonical(name) in self.commands

    def canonical(self, name: str) -> str:
        name = name.lower().lstrip("/")
        return self.aliases.get(name, name)

    # -----------------------------------------------------------------------------------------
    # Loading and saving a person

    def load(self, user_key: str) -> Session:
        user = self.repo.get_user(user_key)
        new_person = user is None
        if user is None:
            # A new person's prompt numbers start at the clock (in ms), not at 0: after "delete all
            # my data" nothing of them is kept, yet their old buttons must still be recognised.
            user = {"created": now_iso(), "mode": "asking", "active": None, "seq": time_ms()}
            # A crash between saving someone's very first tender and their own document leaves a
            # tender without a person; pick it up instead of asking which one to resume.
            existing, _total = newest_tenders(self.repo, user_key, 0, 1)
            if existing:
                user["active"] = existing[0]["id"]
        tender = None
        if user.get("active"):
            tender = self.repo.get_tender(user_key, str(user["active"]))
            if tender is None:  # gone, or set aside by storage as unreadable: take the newest other
                rest, _total = newest_tenders(self.repo, user_key, 0, 1)
                tender = self.repo.get_tender(user_key, str(rest[0]["id"])) if rest else None
                user["active"], new_person = (tender.id if tender else None), True
        session = Session(user_key, user, tender)
        session.state = session.mode if session.mode in MODES else "asking"
        session.user_changed = new_person
        return session

    def _save(self, session: Session) -> None:
        tender = session.tender if session.tender is not None and session.tender_changed else None
        if tender is not None:
            tender.meta["updated"] = now_iso()
        save_session = getattr(self.repo, "save_session", None)  # one journal sync for both
        if save_session is not None:
            save_session(session.user_key, session.user if session.user_changed else None, tender)
            return
        if tender is not None:
            self.repo.save_tender(session.user_key, tender)
        if session.user_changed:
            self.repo.save_user(session.user_key, session.user)

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

    # -----------------------------------------------------------------------------------------
    # Routing

    def go(self, s: Session, trigger: str) -> None:
        self.rules.move(s, trigger)

    def dispatch(self, s: Session, event: Event) -> Reply:
        room = self.rooms.get(str(s.tstate.get("room") or ""))
        claimed = room(s, event) if room is not None else None
        if claimed is not None:
            return claimed
        # Stale buttons before anything else: an old button never creates a tender (or a person).
        if event.kind in ("pick", "done", "action") and event.seq not in (None, s.seq):
            return self.stale(s)
        if event.kind == "command":
            return self.command(s, event.command, event.text)
        if s.tender is None:
            return commands.start_tender(self, s, greeting=self.texts("greeting"))
        if event.kind == "action":
            return self.command(s, event.command, "")
        if event.kind == "media":
            return self.reply(s, self.texts("media_refused", what=event.text))
        if event.kind == "edited":
            return self.reply(s, self.texts("edited_ignored"))
        if s.state == "asking":
            return answering.on_answer(self, s, event)
        if s.state in MENU_MODES:
            return self.menus.on_menu(s, event)
        if s.state == "paused":
            self.go(s, "ask")
            return self.reply(s, self.texts("resumed", name=self.name(s)))
        return self.reply(s, self.texts("finished_hint"))

    def command(self, s: Session, name: str, arg: str) -> Reply:
        command = self.commands.get(self.canonical(name))
        if command is None:
            return self.reply(s, self.texts("unknown_command", name=shorten(name, 40)))
        if s.tender is None and command.needs_tender:
            # Nothing active (new, or the active one was deleted): pick one, or start the first.
            return self.commands["hervat"].run(self, s, "")
        if not self.rules.allows(s.state, command.name):
            return self.reply(s, self.texts(command.refused or "unknown_command", name=name))
        if command.rule.guard is not None:
            slot = answering.current_slot(s, self.slots(s))
            if not self.rules.passes(s, command.name, slot=slot, answers=s.answers):
                kind = slot.question.kind if slot is not None else ""
                return self.reply(s, self.texts(command.guard_refused or "", kind=kind))
        return command.run(self, s, arg.strip())

    # -----------------------------------------------------------------------------------------
    # Where the person is, and how it is shown

    def slots(self, s: Session) -> list[Slot]:
        """The questions that apply, expanded once per set of answers rather than per lookup."""
        cached = s.slots_cache
        if cached is None or cached[0] is not s.tender or cached[1] != s.answers_version:
            cached = (s.tender, s.answers_version, self.spec.slots(s.answers))
            s.slots_cache = cached
        slots: list[Slot] = cached[2]
        return slots

    def view(self, s: Session, *, edit: bool = False) -> Message:
        """What the person should be looking at now, for the mode they are in."""
        if s.state in MENU_MODES:
            return self.menus.message(s, edit=edit)
        slots = self.slots(s)
        slot = answering.current_slot(s, slots) if s.state != "finished" else None
        if slot is None:
            if s.state != "finished":
                self.go(s, "finish")
            return self.prompter.finished(self.name(s), seq=s.seq if edit else s.next_seq())
        if s.state == "paused":
            self.go(s, "ask")
        return self._prompt(s, slot, slots, edit=edit)

    def _prompt(self, s: Session, slot: Slot, slots: Sequence[Slot], *, edit: bool) -> Message:
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

    def reply(self, s: Session, *texts: str, **kwargs: Any) -> Reply:
        messages = [Message(t) for t in texts if t]
        return Reply((*messages, self.view(s)), **kwargs)

    def stale(self, s: Session) -> Reply:
        # The view keeps its number: the buttons on screen stay valid, a channel need not redraw.
        stale = Message(self.texts("stale_button"))
        if s.tender is None:
            s.user_changed = False
            return Reply((stale,), toast=self.texts("stale_toast"))
        return Reply((stale, self.view(s, edit=True)), toast=self.texts("stale_toast"))

    def name(self, s: Session) -> str:
        if s.tender is None:
            return ""
        return str(s.tender.meta.get("name") or self.texts("unnamed"))

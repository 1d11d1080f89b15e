"""The contract phase as a room of the conversation: its commands and its short dialogs.

`register` adds `/contract`, `/meting`, `/voortgang` and `/herinnering` to a `Conversation` and
claims the person's events while one of its dialogs is open (the tender's state says which), so
the preparation flow needs no knowledge of contracts. Every value is written into the tender's
state before the next question is asked; the conversation saves the tender once per event, so a
measurement is on disk before the buyer sees the next KPI.
"""

from __future__ import annotations

import copy
import re
import secrets
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

from flows.contract import schedule
from flows.contract.model import (
    CONTRACT_KEY,
    FREQUENCY_MONTHS,
    candidates,
    goal_number,
    kpis,
    parse_number,
)
from flows.contract.schedule import Calendar
from flows.contract.view import contract_texts, counts, day, number, progress_lines
from flows.events import Action, DocumentRequest, Event, Message, Option, Reply
from flows.inputs import clean_text
from flows.session import Session
from flows.texts import Texts

if TYPE_CHECKING:
    from flows.engine import Conversation

ROOM = "contract"
ROOM_KEY = "room"
DIALOG = "contract_dialog"
PROGRESS_KEY = "__voortgang__"
REMINDER_BUTTON = "herinneringknop"
TEXT_MAX = 500
DURATION_MAX = 240
Handler = Callable[[Session, dict[str, Any], str, bool], Reply]
_DATE = re.compile(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})")
_DURATION = re.compile(r"(\d+(?:[.,]\d+)?)\s*(jaar|jaren|j|maand|maanden|mnd|m)?")
NOT_MEASURED_WORDS = {"niet gemeten", "nietgemeten", "nvt", "n.v.t.", "-", "onbekend"}


class Agenda(Protocol):
    """What a channel with a scheduler needs to hear: which contracts exist and when they change.

    `track` is called before the first save of a contract, so a crash in between leaves at most a
    pointer to a tender without a contract (harmless), never a contract nobody schedules.
    """

    def track(self, user_key: str, tender_id: str) -> None: ...

    def changed(self, user_key: str, tender_id: str, *, measured: bool) -> None: ...

    def link_code(self, user_key: str, tender_id: str, code: str) -> None: ...


def parse_date(text: str, today: date) -> date | None:
    typed = clean_text(text).lower()
    if typed in ("vandaag", "nu"):
        return today
    try:
        match = _DATE.fullmatch(typed)
        if match:
            d, m, y = (int(g) for g in match.groups())
            return date(y, m, d)
        return date.fromisoformat(typed)
    except ValueError:
        return None


def parse_months(text: str) -> int | None:
    match = _DURATION.fullmatch(clean_text(text).lower())
    if not match:
        return None
    amount = parse_number(match.group(1))
    if amount is None:
        return None
    months = round(amount * 12) if (match.group(2) or "").startswith("j") else round(amount)
    return months if 1 <= months <= DURATION_MAX else None


class ContractRoom:
    def __init__(
        self,
        *,
        calendar: Calendar | None = None,
        agenda: Agenda | None = None,
        texts: Texts | None = None,
    ) -> None:
        self.cal = calendar or Calendar()
        self.agenda = agenda
        self.texts = texts or contract_texts()
        self.conversation: Conversation | None = None
        self.steps: dict[str, Handler] = {
            "award": self._on_award,
            "supplier": self._on_supplier,
            "duration": self._on_duration,
            "frequency": self._on_frequency,
            "baseline": self._on_baseline,
            "target": self._on_target,
            "year": self._on_year,
            "extra": self._on_extra,
            "menu": self._on_menu,
            "value": self._on_value,
            "actions": self._on_actions,
            "reminders": self._on_reminders,
            "move": self._on_move,
        }

    # -----------------------------------------------------------------------------------------
    # Wiring

    def register(self, conversation: Conversation) -> None:
        """Add the contract commands and this room to a conversation (both channels call this)."""
        self.conversation = conversation
        start = conversation.handler("start")
        commands: dict[str, Callable[[Session, str], Reply]] = {
            "contract": self.cmd_contract,
            "meting": self.cmd_measure,
            "voortgang": self.cmd_progress,
            "herinnering": self.cmd_reminders,
            REMINDER_BUTTON: self.cmd_reminder_button,
            "start": lambda s, arg: self._with_due(s, start(s, arg)),
        }
        for name, handler in commands.items():
            conversation.register(name, handler)
        conversation.rooms[ROOM] = self.on_event

    def _labels(self, s: Session) -> dict[str, str]:
        """Theme names as the buyer saw them in step 3."""
        if self.conversation is None:
            return {}
        spec = self.conversation.spec
        return {str(t): spec.label("themas", t) for t in s.answers.get("themas") or []}

    # -----------------------------------------------------------------------------------------
    # Helpers on the session

    @staticmethod
    def contract(s: Session) -> dict[str, Any] | None:
        value = s.extra(CONTRACT_KEY)
        return copy.deepcopy(value) if isinstance(value, dict) else None

    def _store(self, s: Session, contract: dict[str, Any], *, measured: bool = False) -> None:
        s.set_state(CONTRACT_KEY, contract)
        if self.agenda is not None and s.tender is not None:
            self.agenda.changed(s.user_key, s.tender.id, measured=measured)

    @staticmethod
    def _name(s: Session) -> str:
        return str(s.tender.meta.get("name") or "") if s.tender is not None else ""

    def _leave(self, s: Session) -> None:
        s.set_state(DIALOG, None)
        s.set_state(ROOM_KEY, None)

    def _ask(
        self,
        s: Session,
        dialog: dict[str, Any],
        text: str,
        *,
        options: list[tuple[str, str]] | None = None,
        actions: list[tuple[str, str]] | None = None,
        before: tuple[str, ...] = (),
    ) -> Reply:
        """Show one question of a dialog and remember it, so it can be shown again as it was."""
        dialog = {**dialog, "prompt": text, "options": options or [], "actions": actions or []}
        s.set_state(DIALOG, dialog)
        s.set_state(ROOM_KEY, ROOM)
        return Reply((*(Message(t) for t in before if t), self._prompt(s, dialog)))

    def _prompt(self, s: Session, dialog: dict[str, Any]) -> Message:
        options = tuple(
            Option(label, str(i + 1)) for i, (_, label) in enumerate(dialog.get("options") or [])
        )
        actions = [Action(label, cmd) for cmd, label in dialog.get("actions") or []]
        actions.append(Action(self.texts("cancel"), "annuleren"))
        return Message(
            str(dialog.get("prompt") or ""),
            options=options,
            actions=tuple(actions),
            seq=s.next_seq(),
        )

    def _again(self, s: Session, *before: str) -> Reply:
        dialog = dict(s.extra(DIALOG) or {})
        return Reply((*(Message(t) for t in before if t), self._prompt(s, dialog)))

    # -----------------------------------------------------------------------------------------
    # The room's entry point

    def on_event(self, s: Session, event: Event) -> Reply | None:
        """Events while a contract dialog is open; None hands the event back to the conversation."""
        dialog = s.extra(DIALOG)
        if s.tender is None or not isinstance(dialog, dict):
            self._leave(s)
            return None
        actions = {cmd for cmd, _ in dialog.get("actions") or []}
        if event.kind == "command":
            name = event.command.lower()
            if name == "annuleren":
                self._leave(s)
                return Reply((Message(self.texts("cancelled")),))
            if name in actions:
                return self._step(s, dialog, name, True)
            if self.conversation is not None and not self.conversation.known_command(name):
                return self._again(s, self.texts("unknown", name=name[:40]))
            if name not in ("contract", "meting", "voortgang", "herinnering", "help"):
                self._leave(s)
            return None
        if event.kind in ("pick", "action", "done") and event.seq != s.seq:
            return self._again(s, self.texts("stale"))
        if event.kind == "action":
            if event.command == "annuleren":
                self._leave(s)
                return Reply((Message(self.texts("cancelled")),))
            if event.command in actions:
                return self._step(s, dialog, event.command, True)
            return self._again(s, self.texts("stale"))
        options = [value for value, _ in dialog.get("options") or []]
        if event.kind == "pick":
            if not 0 <= event.index < len(options):
                return self._again(s, self.texts("stale"))
            return self._step(s, dialog, options[event.index], True)
        if event.kind != "text":
            return self._again(
                s, self.texts("invalid.pick" if options else "invalid.text", max=TEXT_MAX)
            )
        typed = clean_text(event.text)
        if options and typed.isdigit() and 1 <= int(typed) <= len(options):
            return self._step(s, dialog, options[int(typed) - 1], True)
        for value, label in dialog.get("options") or []:
            if typed.lower() == label.lower():
                return self._step(s, dialog, value, True)
        if options:
            return self._again(s, self.texts("invalid.pick"))
        return self._step(s, dialog, typed, False)

    def _step(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        handler = self.steps.get(str(dialog.get("step")))
        if handler is None:
            self._leave(s)
            return Reply((Message(self.texts("cancelled")),))
        return handler(s, dialog, value, chosen)

    # -----------------------------------------------------------------------------------------
    # /contract: set the contract up, or the menu of an existing one

    def cmd_contract(self, s: Session, arg: str) -> Reply:
        contract = self.contract(s)
        if contract is None:
            return self._start_setup(s)
        done, count = counts(contract)
        upcoming = schedule.open_checkins(contract)
        text = self.texts(
            "setup.exists",
            name=self._name(s),
            supplier=contract.get("supplier", ""),
            award=day(str(contract["award"]), self.texts),
            months=contract.get("months"),
            done=done,
            count=count,
            next=day(str(upcoming[0]["due"]), self.texts) if upcoming else None,
        )
        keys = ["progress", "measure", "reminders", *(["link"] if self.agenda else []), "redo"]
        options = [(k, self.texts(f"setup.menu.{k}")) for k in keys]
        return self._ask(s, {"step": "menu"}, text, options=options)

    def _on_menu(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        self._leave(s)
        if value == "progress":
            return self.cmd_progress(s, "")
        if value == "measure":
            return self.cmd_measure(s, "")
        if value == "reminders":
            return self.cmd_reminders(s, "")
        if value == "link" and self.agenda is not None and s.tender is not None:
            code = secrets.token_hex(5)
            self.agenda.link_code(s.user_key, s.tender.id, code)
            return Reply((Message(self.texts("setup.link_code", code=code)),))
        return self._start_setup(s, self.texts("setup.redo_warning"))

    def _start_setup(self, s: Session, *before: str) -> Reply:
        intro = self.texts("setup.intro", name=self._name(s))
        cands = [c.__dict__ for c in candidates(s.answers)]
        dialog = {"step": "award", "draft": {"kpis": []}, "cands": cands, "i": 0}
        return self._ask(s, dialog, self.texts("setup.award"), before=(*before, intro))

    def _on_award(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        award = parse_date(value, self.cal.today())
        if award is None:
            return self._again(s, self.texts("invalid.date"))
        dialog = {
            **dialog,
            "step": "supplier",
            "draft": {**dialog["draft"], "award": award.isoformat()},
        }
        return self._ask(s, dialog, self.texts("setup.supplier"))

    def _on_supplier(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        if not value or len(value) > TEXT_MAX or chosen:
            return self._again(s, self.texts("invalid.text", max=TEXT_MAX))
        dialog = {**dialog, "step": "duration", "draft": {**dialog["draft"], "supplier": value}}
        return self._ask(s, dialog, self.texts("setup.duration"))

    def _on_duration(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        months = parse_months(value)
        if months is None:
            return self._again(s, self.texts("invalid.duration"))
        dialog = {**dialog, "draft": {**dialog["draft"], "months": months}}
        frequency = s.answers.get("rapportage")
        if frequency in FREQUENCY_MONTHS:
            dialog["draft"]["frequency"] = frequency
            return self._next_kpi(s, dialog, self.texts("setup.kpi_intro"))
        options = [(f, str(self.texts(f"frequency.{f}")).capitalize()) for f in FREQUENCY_MONTHS]
        dialog["step"] = "frequency"
        return self._ask(s, dialog, self.texts("setup.frequency"), options=options)

    def _on_frequency(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        if value not in FREQUENCY_MONTHS:
            return self._again(s, self.texts("invalid.pick"))
        dialog = {**dialog, "draft": {**dialog["draft"], "frequency": value}}
        return self._next_kpi(s, dialog, self.texts("setup.kpi_intro"))

    def _next_kpi(self, s: Session, dialog: dict[str, Any], *before: str) -> Reply:
        cands: list[dict[str, Any]] = dialog["cands"]
        i = int(dialog["i"])
        if i >= len(cands):
            first = not dialog["draft"]["kpis"]
            text = self.texts("setup.extra_first" if first else "setup.extra")
            actions = [] if first else [("klaar", self.texts("setup.done"))]
            return self._ask(s, {**dialog, "step": "extra"}, text, actions=actions, before=before)
        cand = cands[i]
        text = self.texts("setup.baseline", kpi=cand["name"], goal=cand.get("goal"))
        actions = [("overslaan", self.texts("setup.skip_kpi"))]
        return self._ask(s, {**dialog, "step": "baseline"}, text, actions=actions, before=before)

    def _on_baseline(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        if chosen:  # "Deze KPI niet volgen"
            return self._next_kpi(s, {**dialog, "i": int(dialog["i"]) + 1})
        baseline = parse_number(value)
        if baseline is None:
            return self._again(s, self.texts("invalid.number"))
        cand = dialog["cands"][int(dialog["i"])]
        suggestion = goal_number(cand.get("goal"), baseline)
        dialog = {**dialog, "step": "target", "kpi": {"baseline": baseline}, "suggest": suggestion}
        actions = (
            [("neem", self.texts("setup.use", value=number(suggestion)))]
            if suggestion is not None
            else []
        )
        text = self.texts(
            "setup.target",
            kpi=cand["name"],
            suggestion=number(suggestion) if suggestion is not None else None,
        )
        return self._ask(s, dialog, text, actions=actions)

    def _on_target(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        target = dialog.get("suggest") if chosen else parse_number(value)
        if target is None:
            return self._again(s, self.texts("invalid.number"))
        cand = dialog["cands"][int(dialog["i"])]
        default = cand.get("year") or self._default_year(dialog["draft"])
        dialog = {**dialog, "step": "year", "kpi": {**dialog["kpi"], "target": float(target)}}
        dialog["default_year"] = default
        actions = [("neem", self.texts("setup.use", value=default))]
        return self._ask(s, dialog, self.texts("setup.year", kpi=cand["name"]), actions=actions)

    @staticmethod
    def _default_year(draft: dict[str, Any]) -> int:
        award = date.fromisoformat(str(draft["award"]))
        return schedule.add_months(award, int(draft["months"])).year

    def _on_year(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        low = date.fromisoformat(str(dialog["draft"]["award"])).year
        high = low + 30
        year = dialog.get("default_year") if chosen else (int(value) if value.isdigit() else None)
        if year is None or not low <= int(year) <= high:
            return self._again(s, self.texts("invalid.year", min=low, max=high))
        cand = dialog["cands"][int(dialog["i"])]
        kpi = {**dialog["kpi"], "year": int(year), "name": cand["name"], "theme": cand.get("theme")}
        draft = {**dialog["draft"], "kpis": [*dialog["draft"]["kpis"], kpi]}
        return self._next_kpi(s, {**dialog, "draft": draft, "i": int(dialog["i"]) + 1})

    def _on_extra(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        if chosen:  # "Klaar"
            return self._finish_setup(s, dialog)
        if not value or len(value) > 120:
            return self._again(s, self.texts("invalid.text", max=120))
        cand = {"name": value, "theme": None, "goal": None, "year": None}
        return self._next_kpi(s, {**dialog, "cands": [*dialog["cands"], cand]})

    def _finish_setup(self, s: Session, dialog: dict[str, Any]) -> Reply:
        draft = dialog["draft"]
        if not draft["kpis"]:
            return self._again(s, self.texts("setup.need_kpi"))
        old = self.contract(s) or {}
        old_ids = {k.name: k.id for k in kpis(old)} if old else {}
        used = set(old_ids.values())
        kpi_rows = []
        for number_, k in enumerate(draft["kpis"], start=1):
            kid = old_ids.get(k["name"])
            if kid is None:
                kid = f"k{number_}"
                while kid in used:
                    kid += "x"
            used.add(kid)
            kpi_rows.append({**k, "id": kid})
        award = date.fromisoformat(str(draft["award"]))
        contract = {
            "version": 1,
            "award": draft["award"],
            "supplier": draft["supplier"],
            "months": draft["months"],
            "frequency": draft["frequency"],
            "kpis": kpi_rows,
            "checkins": schedule.plan(award, int(draft["months"]), str(draft["frequency"])),
            "measurements": old.get("measurements") or [],
            "actions": old.get("actions") or [],
            "reminders": "aan",
            "groups": old.get("groups") or [],
        }
        # Moments before today are history, not reminders: a contract set up late starts now.
        today = self.cal.today()
        for c in contract["checkins"]:
            if date.fromisoformat(str(c["due"])) < today:
                c["sent"] = "voor start"
        if self.agenda is not None and s.tender is not None:
            self.agenda.track(s.user_key, s.tender.id)
        self._leave(s)
        self._store(s, contract)
        first = schedule.open_checkins(contract)
        text = self.texts(
            "setup.saved",
            name=self._name(s),
            supplier=contract["supplier"],
            award=day(award, self.texts),
            months=contract["months"],
            count=len(contract["checkins"]),
            frequency=self.texts(f"frequency.{contract['frequency']}"),
            first=day(str(first[0]["due"]), self.texts) if first else "-",
            kpis=[k["name"] for k in kpi_rows],
        )
        return Reply((Message(text),))

    # -----------------------------------------------------------------------------------------
    # /meting: the values of one moment, one KPI at a time

    def _switch(self, s: Session, tender_id: str) -> bool:
        """`/meting <tender>` from a reminder of another tender than the active one."""
        if s.tender is not None and s.tender.id == tender_id:
            return True
        repo = self.conversation.repo if self.conversation is not None else None
        tender = repo.get_tender(s.user_key, tender_id) if repo is not None and tender_id else None
        if tender is None:
            return False
        s.switch_to(tender)
        return True

    def cmd_measure(self, s: Session, arg: str) -> Reply:
        if arg:
            self._switch(s, arg.strip())
        contract = self.contract(s)
        if contract is None:
            return Reply((Message(self.texts("measure.no_contract", name=self._name(s))),))
        rows = kpis(contract)
        if not rows:
            return Reply((Message(self.texts("measure.none")),))
        checkin = schedule.current_checkin(contract, self.cal)
        when = str(checkin["due"]) if checkin else self.cal.today().isoformat()
        number_ = checkin["n"] if checkin else None
        found = [
            i
            for i, m in enumerate(contract.get("measurements") or [])
            if m.get("checkin") == number_ and m.get("date") == when
        ]
        if found:
            index = found[0]
        else:
            contract.setdefault("measurements", []).append(
                {"date": when, "checkin": number_, "values": {}}
            )
            index = len(contract["measurements"]) - 1
            self._store(s, contract)
        intro = self.texts(
            "measure.intro",
            checkin=number_,
            count=len(contract.get("checkins") or []),
            date=day(when, self.texts),
        )
        entered = contract["measurements"][index].get("values") or {}
        k = next((i for i, kpi in enumerate(rows) if kpi.id not in entered), len(rows))
        return self._ask_value(s, {"step": "value", "m": index, "k": k}, contract, intro)

    def _ask_value(
        self, s: Session, dialog: dict[str, Any], contract: dict[str, Any], *before: str
    ) -> Reply:
        rows = kpis(contract)
        k = int(dialog["k"])
        if k >= len(rows):
            actions = [("geen", self.texts("measure.no_actions"))]
            return self._ask(
                s,
                {**dialog, "step": "actions"},
                self.texts("measure.actions"),
                actions=actions,
                before=before,
            )
        kpi = rows[k]
        earlier = [
            m["values"][kpi.id]
            for m in contract.get("measurements") or []
            if m is not contract["measurements"][int(dialog["m"])]
            and (m.get("values") or {}).get(kpi.id) is not None
        ]
        text = self.texts(
            "measure.ask",
            kpi=kpi.name,
            position=k + 1,
            total=len(rows),
            baseline=number(kpi.baseline),
            target=number(kpi.target),
            year=kpi.year,
            last=number(float(earlier[-1])) if earlier else None,
        )
        actions = [("nietgemeten", self.texts("measure.not_measured"))]
        return self._ask(s, dialog, text, actions=actions, before=before)

    def _on_value(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        contract = self.contract(s)
        if contract is None:
            self._leave(s)
            return Reply((Message(self.texts("cancelled")),))
        if chosen or value.lower() in NOT_MEASURED_WORDS:
            measured: float | None = None
        else:
            measured = parse_number(value)
            if measured is None:
                return self._again(s, self.texts("invalid.number"))
        rows = kpis(contract)
        index, k = int(dialog["m"]), int(dialog["k"])
        if index >= len(contract.get("measurements") or []) or k >= len(rows):
            self._leave(s)
            return Reply((Message(self.texts("cancelled")),))
        contract["measurements"][index]["values"][rows[k].id] = measured
        self._store(s, contract)
        shown = self.texts("measure.not_measured") if measured is None else number(measured)
        note = self.texts("measure.recorded", value=shown)
        return self._ask_value(s, {**dialog, "k": k + 1}, contract, note)

    def _on_actions(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        contract = self.contract(s)
        if contract is None:
            self._leave(s)
            return Reply((Message(self.texts("cancelled")),))
        if not chosen and len(value) > TEXT_MAX:
            return self._again(s, self.texts("invalid.text", max=TEXT_MAX))
        entry = contract["measurements"][int(dialog["m"])]
        if not chosen and value:
            contract.setdefault("actions", []).append({"date": entry["date"], "text": value})
        if entry.get("checkin") is not None:
            schedule.close_through(contract, int(entry["checkin"]), self.cal.today())
        self._leave(s)
        self._store(s, contract, measured=True)
        done = self.texts("measure.finished", date=day(str(entry["date"]), self.texts))
        lines = progress_lines(self.texts, contract, s.answers, self._name(s), self._labels(s))
        return Reply(tuple(Message(t) for t in (done, *lines)))

    # -----------------------------------------------------------------------------------------
    # /voortgang: progress in the chat, and the report for the contract meeting

    def cmd_progress(self, s: Session, arg: str) -> Reply:
        contract = self.contract(s)
        if contract is None or s.tender is None:
            return Reply((Message(self.texts("measure.no_contract", name=self._name(s))),))
        lines = progress_lines(self.texts, contract, s.answers, self._name(s), self._labels(s))
        messages = [Message(t) for t in lines]
        messages.append(Message(self.texts("progress.documents")))
        return Reply(tuple(messages), documents=self.progress_request(s, contract))

    def progress_request(self, s: Session, contract: dict[str, Any]) -> DocumentRequest:
        """A snapshot for the documents, made off the event loop like the summary's."""
        assert s.tender is not None
        today = self.cal.today()
        snapshot = {"contract": contract, "date": today.isoformat(), "labels": self._labels(s)}
        return DocumentRequest(
            tender_id=s.tender.id,
            name=f"{self._name(s)} voortgang {today.isoformat()}",
            answers={**s.answers, PROGRESS_KEY: snapshot},
            formats=("docx", "png", "json"),
        )

    # -----------------------------------------------------------------------------------------
    # /herinnering: snooze, move, stop or restart the reminders

    def cmd_reminders(self, s: Session, arg: str) -> Reply:
        contract = self.contract(s)
        if contract is None:
            return Reply((Message(self.texts("measure.no_contract", name=self._name(s))),))
        on = schedule.reminders_on(contract)
        upcoming = schedule.next_reminder(contract, self.cal)
        text = self.texts(
            "reminder.menu",
            name=self._name(s),
            on=on,
            next=day(upcoming.astimezone(self.cal.zone).date(), self.texts) if upcoming else None,
        )
        keys = ["later", "move", "stop"] if on else ["start"]
        options = [(k, self.texts(f"reminder.option_{k}")) for k in keys]
        return self._ask(s, {"step": "reminders"}, text, options=options)

    def _on_reminders(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        contract = self.contract(s)
        if contract is None:
            self._leave(s)
            return Reply((Message(self.texts("cancelled")),))
        if value == "move":
            return self._ask(s, {"step": "move"}, self.texts("reminder.move_ask"))
        self._leave(s)
        if value in ("stop", "start"):
            schedule.set_reminders(contract, value == "start")
            self._store(s, contract)
            if value == "stop":
                return Reply((Message(self.texts("reminder.stopped", name=self._name(s))),))
            upcoming = schedule.next_reminder(contract, self.cal)
            when = day(upcoming.astimezone(self.cal.zone).date(), self.texts) if upcoming else None
            return Reply((Message(self.texts("reminder.started", next=when)),))
        moved = schedule.snooze(contract, self.cal)
        if moved is None:
            return Reply((Message(self.texts("reminder.nothing_open")),))
        self._store(s, contract)
        return Reply((Message(self.texts("reminder.snoozed", date=day(moved, self.texts))),))

    def cmd_reminder_button(self, s: Session, arg: str) -> Reply:
        """The buttons under a reminder: `l <tender>` snoozes a week, `x <tender>` stops."""
        what, _, tender_id = arg.partition(" ")
        if not self._switch(s, tender_id.strip()):
            return Reply((Message(self.texts("reminder.nothing_open")),))
        self._leave(s)
        return self._on_reminders(s, {}, "stop" if what == "x" else "later", True)

    def _on_move(self, s: Session, dialog: dict[str, Any], value: str, chosen: bool) -> Reply:
        today = self.cal.today()
        target = parse_date(value, today)
        if target is None:
            return self._again(s, self.texts("invalid.date"))
        if target < today:
            return self._again(s, self.texts("invalid.date_past"))
        contract = self.contract(s)
        self._leave(s)
        if contract is None or schedule.move(contract, target) is None:
            return Reply((Message(self.texts("reminder.nothing_open")),))
        self._store(s, contract)
        return Reply((Message(self.texts("reminder.moved", date=day(target, self.texts))),))

    # -----------------------------------------------------------------------------------------
    # What is due, shown when a person starts or comes back

    def due_lines(self, s: Session) -> list[str]:
        repo = self.conversation.repo if self.conversation is not None else None
        if repo is None:
            return []
        today = self.cal.today()
        lines = []
        for meta in repo.list_tenders(s.user_key):
            tender = (
                s.tender
                if s.tender is not None and s.tender.id == meta["id"]
                else repo.get_tender(s.user_key, str(meta["id"]))
            )
            contract = tender.state.get(CONTRACT_KEY) if tender is not None else None
            if not isinstance(contract, dict):
                continue
            count = len(contract.get("checkins") or [])
            for c in schedule.open_checkins(contract):
                if date.fromisoformat(str(c["due"])) <= today:
                    name = str(meta.get("name") or "")
                    lines.append(
                        self.texts(
                            "due.line",
                            name=name,
                            checkin=c["n"],
                            count=count,
                            date=day(str(c["due"]), self.texts),
                        )
                    )
        return lines

    def _with_due(self, s: Session, reply: Reply) -> Reply:
        lines = self.due_lines(s)
        if not lines:
            return reply
        text = "\n".join([self.texts("due.title"), *lines, self.texts("due.hint")])
        return Reply((Message(text), *reply.messages), documents=reply.documents)


def register(
    conversation: Conversation,
    *,
    calendar: Calendar | None = None,
    agenda: Agenda | None = None,
) -> ContractRoom:
    room = ContractRoom(calendar=calendar, agenda=agenda)
    room.register(conversation)
    return room

"""One person's conversation state while a single event is handled.

The person's document (which tender is active, which menu is open, the prompt counter) and the
active tender are loaded, changed in place and saved once, before the reply goes out. `Session` is a
plain class on purpose: `transitions` attaches it to the one shared machine and must tell two
sessions apart by identity, not by value.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flows.ports import TenderData

HISTORY_MAX = 200


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class Session:
    state: str

    def __init__(self, user_key: str, user: dict[str, Any], tender: TenderData | None) -> None:
        self.user_key = user_key
        self.user = user
        self.tender = tender
        self.user_changed = False
        self.tender_changed = False
        self.answers_version = 0
        self.slots_cache: tuple[object, int, Any] | None = None

    @property
    def mode(self) -> str:
        return str(self.user.get("mode") or "asking")

    @property
    def answers(self) -> dict[str, Any]:
        return self.tender.answers if self.tender is not None else {}

    @property
    def tstate(self) -> dict[str, Any]:
        if self.tender is None:
            return {}
        return self.tender.state

    @property
    def cursor(self) -> str | None:
        value = self.tstate.get("cursor")
        return str(value) if value is not None else None

    @cursor.setter
    def cursor(self, value: str | None) -> None:
        self.set_state("cursor", value)

    @property
    def skipped(self) -> list[str]:
        return list(self.tstate.get("skipped") or [])

    @property
    def history(self) -> list[str]:
        return list(self.tstate.get("history") or [])

    @property
    def menu(self) -> dict[str, Any]:
        return dict(self.user.get("menu") or {})

    @menu.setter
    def menu(self, value: dict[str, Any] | None) -> None:
        self.user["menu"] = value
        self.user_changed = True

    def set_state(self, key: str, value: Any) -> None:
        if self.tender is not None and self.tender.state.get(key) != value:
            self.tender.state[key] = value
            self.tender_changed = True

    def push_history(self, sid: str) -> None:
        history = self.history
        if not history or history[-1] != sid:
            history.append(sid)
        self.set_state("history", history[-HISTORY_MAX:])

    def pop_history(self) -> str | None:
        history = self.history
        if not history:
            return None
        sid = history.pop()
        self.set_state("history", history)
        return sid

    def set_answer(self, sid: str, value: Any) -> None:
        if self.tender is None:
            return
        self.tender.answers[sid] = value
        self.answers_version += 1
        self.set_state("skipped", [s for s in self.skipped if s != sid])
        self.tender_changed = True

    def skip(self, sid: str) -> None:
        if sid not in self.skipped:
            self.set_state("skipped", [*self.skipped, sid])

    def next_seq(self) -> int:
        """A new prompt number, kept with the tender so one answer costs one file write.

        The person's own document also carries it (saved whenever it changes for another
        reason), so after switching tenders the counter never goes back and an old button
        from another tender can never look current.
        """
        seq = self.seq + 1
        self.user["seq"] = seq
        self.set_state("seq", seq)
        if self.tender is None:
            self.user_changed = True
        return seq

    @property
    def seq(self) -> int:
        return max(int(self.user.get("seq") or 0), int(self.tstate.get("seq") or 0))

    def switch_to(self, tender: TenderData | None) -> None:
        """Make another tender (or none) the active one, carrying the prompt counter over.

        The counter must never go back, or a button from the previous tender could match a new
        prompt; the person's document is saved with the highest number seen so far.
        """
        self.user["seq"] = self.seq
        self.tender = tender
        self.tender_changed = False
        self.user["active"] = tender.id if tender is not None else None
        self.user_changed = True

    def sync_mode(self) -> None:
        """Called by the state machine after every move, so the mode is saved with the person."""
        self.set_mode(self.state)

    def set_mode(self, mode: str) -> None:
        if self.user.get("mode") != mode:
            self.user["mode"] = mode
            self.user_changed = True

"""One person's conversation state while a single event is handled.

The person's document (which tender is active, which menu is open, the prompt counter) and the
active tender are loaded, changed in place and saved once, before the reply goes out. `Session` is a
plain class on purpose: `transitions` attaches it to the one shared machine and must tell two
sessions apart by identity, not by value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TypedDict, cast, get_args

from flows.ports import TenderData

HISTORY_MAX = 200
MenuKind = Literal["overview", "jump_step", "jump_question", "resume", "delete", "confirm"]


class TenderState(TypedDict, total=False):
    """Where a person is in one tender, saved with its answers (one write per answer)."""

    cursor: str | None
    skipped: list[str]
    history: list[str]
    draft: list[Any] | None
    draft_for: str | None
    return_to: str | None
    seq: int
    update_id: int
    room: str | None
    """A room outside the question flow (the contract phase) that has the person's events."""


@dataclass(frozen=True)
class Menu:
    """An open menu, saved in the person's document: what its items stand for and how it reads.

    A long list is shown one page at a time; `values` and `labels` hold only the page shown, so
    the document stays small however many tenders a person has.
    """

    kind: MenuKind
    values: tuple[str, ...]
    labels: tuple[str, ...]
    title: str | None = None
    target: str | None = None
    name: str | None = None
    page: int = 0
    pages: int = 1

    def to_doc(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "values": list(self.values),
            "labels": list(self.labels),
            "title": self.title,
            "target": self.target,
            "name": self.name,
            "page": self.page,
            "pages": self.pages,
        }

    @classmethod
    def from_doc(cls, doc: dict[str, Any]) -> Menu | None:
        kind = doc.get("kind")
        if kind not in get_args(MenuKind):
            return None
        values = tuple(str(v) for v in doc.get("values") or ())
        labels = tuple(str(v) for v in doc.get("labels") or ())
        if len(values) != len(labels):
            return None
        return cls(
            kind=cast(MenuKind, kind),
            values=values,
            labels=labels,
            title=_optional_str(doc.get("title")),
            target=_optional_str(doc.get("target")),
            name=_optional_str(doc.get("name")),
            page=int(doc.get("page") or 0),
            pages=max(1, int(doc.get("pages") or 1)),
        )


def _optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


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
    def tstate(self) -> TenderState:
        if self.tender is None:
            return {}
        return cast(TenderState, self.tender.state)

    def extra(self, key: str) -> Any:
        """A value a room outside the question flow keeps with the tender (its own keys)."""
        return self.tender.state.get(key) if self.tender is not None else None

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
    def menu(self) -> Menu | None:
        raw = self.user.get("menu")
        return Menu.from_doc(raw) if isinstance(raw, dict) else None

    @menu.setter
    def menu(self, value: Menu | None) -> None:
        self.user["menu"] = value.to_doc() if value is not None else None
        self.user_changed = True

    def close_menu(self, *_args: Any, **_context: Any) -> None:
        """Entry action of the modes without a menu; writes the person's document only if needed."""
        if self.user.get("menu"):
            self.menu = None

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

    def sync_mode(self, *_args: Any, **_context: Any) -> None:
        """Called by the state machine after every move, so the mode is saved with the person."""
        self.set_mode(self.state)

    def set_mode(self, mode: str) -> None:
        if self.user.get("mode") != mode:
            self.user["mode"] = mode
            self.user_changed = True

"""The team ambition check: a quick Ambitieweb filled in by a whole team, without Telegram.

In the guides an Ambitieweb is filled in by five to ten people who each put stickers on it and
then discuss the differences. Here every member votes a level (0-3) per theme; closing the check
gives per theme the median, the lowest and highest vote, where the team agrees (spread of at most
one level) and where it differs by two levels or more, which is the conversation to have first.

Which level counts for the advice. The rules of the summary (`flows.advice.place_themes`) want
one whole level per theme, and a median of an even number of votes can fall between two (1.5).
The level used is the *lower median*: the highest level that more than half of the voters chose
or exceeded. It equals the median whenever that is a whole level and otherwise rounds down,
because a tender should not demand more than a majority of its own team carries. The chart and
the text still show the exact median, so "1,5" stays visible as a point to discuss. Priority for
the award-criteria cap is the order on the board (for a tender's themes, that tender's priority).

Everything here is plain data in and out: `TeamCheck.to_dict` is JSON for the store and
`from_dict` accepts older or hand-edited records, dropping what it cannot use rather than failing
on one bad vote. Who may do what, and the load-change-save around it, is in `workflow.py`.
"""

from __future__ import annotations

import secrets
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flows.advice import Placement, ThemeChoice, place_themes
from flows.prompting import shorten
from flows.session import now_iso
from flows.spec import FlowSpec, load_spec

LEVELS = (0, 1, 2, 3)
MAX_THEMES = 12
SUBJECT_MAX = 120
LABEL_MAX = 80
KEEP_CHECKS = 5
DIFFER_FROM = 2
THEMES_Q = "themas"
ORDER_Q = "prioriteit"
BASE_THEMES = (
    "milieu",
    "klimaat",
    "circulariteit",
    "ketenverantwoordelijkheid",
    "social_return",
    "diversiteit_inclusie",
)

VoteStatus = Literal["new", "changed", "same", "closed", "invalid"]
CloseStatus = Literal["closed", "already", "denied"]


def new_id() -> str:
    """Six hex characters: unique enough within one chat, and short in 64-byte button data."""
    return secrets.token_hex(3)


def base_themes(spec: FlowSpec | None = None) -> list[tuple[str, str]]:
    spec = spec or load_spec()
    return [(value, spec.label(THEMES_Q, value)) for value in BASE_THEMES]


def tender_themes(
    answers: Mapping[str, Any], spec: FlowSpec | None = None
) -> list[tuple[str, str]]:
    """A tender's chosen themes in its own priority order, own themes included as typed."""
    spec = spec or load_spec()
    items = spec.items(THEMES_Q, answers, ORDER_Q)[:MAX_THEMES]
    return [(value, shorten(spec.label(THEMES_Q, value), LABEL_MAX)) for value in items]


def level_text(value: float) -> str:
    """1.5 as "1,5" and 2.0 as "2": Dutch decimals, no needless ",0"."""
    return str(int(value)) if float(value).is_integer() else f"{value:.1f}".replace(".", ",")


# ---------------------------------------------------------------------------------------------
# Tallies and the result


@dataclass(frozen=True)
class ThemeTally:
    value: str
    label: str
    priority: int
    votes: tuple[int, ...]

    @property
    def count(self) -> int:
        return len(self.votes)

    @property
    def counts(self) -> tuple[int, ...]:
        return tuple(self.votes.count(level) for level in LEVELS)

    @property
    def median(self) -> float | None:
        return float(statistics.median(self.votes)) if self.votes else None

    @property
    def level(self) -> int | None:
        """The level for the advice: the lower median (see the module docstring)."""
        return int(statistics.median_low(self.votes)) if self.votes else None

    @property
    def low(self) -> int | None:
        return min(self.votes) if self.votes else None

    @property
    def high(self) -> int | None:
        return max(self.votes) if self.votes else None

    @property
    def spread(self) -> int | None:
        return max(self.votes) - min(self.votes) if self.votes else None

    @property
    def agrees(self) -> bool:
        return self.spread is not None and self.spread < DIFFER_FROM

    @property
    def differs(self) -> bool:
        return self.spread is not None and self.spread >= DIFFER_FROM


@dataclass(frozen=True)
class TeamResult:
    check: TeamCheck
    tallies: tuple[ThemeTally, ...]
    placements: tuple[Placement, ...]

    @property
    def voters(self) -> int:
        return self.check.voters

    @property
    def agree(self) -> list[ThemeTally]:
        return [t for t in self.tallies if t.agrees]

    @property
    def differ(self) -> list[ThemeTally]:
        """Widest spread first: those are the conversations to start with."""
        found = [t for t in self.tallies if t.differs]
        return sorted(found, key=lambda t: (-(t.spread or 0), t.priority))


# ---------------------------------------------------------------------------------------------
# One check


@dataclass(frozen=True)
class Vote:
    status: VoteStatus
    theme: str = ""
    level: int = 0


@dataclass(frozen=True)
class Closing:
    status: CloseStatus
    result: TeamResult | None = None


@dataclass
class TeamCheck:
    """One board: its themes, everybody's current vote per theme, and whether it is closed."""

    id: str
    chat_key: str
    starter_id: int
    subject: str = ""
    themes: list[tuple[str, str]] = field(default_factory=list)
    votes: dict[str, dict[str, int]] = field(default_factory=dict)
    closed: bool = False
    created: str = field(default_factory=now_iso)
    closed_at: str | None = None
    closed_by: int | None = None
    board_message_id: int | None = None
    chat_id: int | None = None
    source: str = ""
    private: bool = False
    thread_id: int | None = None
    from_tender: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "chat_key": self.chat_key,
            "starter_id": self.starter_id,
            "subject": self.subject,
            "themes": [[value, label] for value, label in self.themes],
            "votes": {user: dict(levels) for user, levels in self.votes.items()},
            "closed": self.closed,
            "created": self.created,
            "closed_at": self.closed_at,
            "closed_by": self.closed_by,
            "board_message_id": self.board_message_id,
            "chat_id": self.chat_id,
            "source": self.source,
            "private": self.private,
            "thread_id": self.thread_id,
            "from_tender": self.from_tender,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> TeamCheck | None:
        """None when the record is too damaged to be a check (no id or no themes); unknown keys
        are ignored and single bad votes dropped, so one odd value never loses the others."""
        check_id, chat_key = raw.get("id"), raw.get("chat_key")
        if not isinstance(check_id, str) or not check_id or not isinstance(chat_key, str):
            return None
        themes: list[tuple[str, str]] = []
        for item in raw.get("themes") or []:
            if isinstance(item, list | tuple) and len(item) == 2:
                value, label = item
                if isinstance(value, str) and value and all(value != v for v, _ in themes):
                    themes.append((value, str(label)))
        if not themes:
            return None
        known = {value for value, _ in themes}
        votes: dict[str, dict[str, int]] = {}
        raw_votes = raw.get("votes")
        for user, levels in (raw_votes if isinstance(raw_votes, Mapping) else {}).items():
            if not isinstance(levels, Mapping):
                continue
            kept = {
                str(theme): level
                for theme, level in levels.items()
                if theme in known and type(level) is int and level in LEVELS
            }
            if kept:
                votes[str(user)] = kept
        return cls(
            id=check_id,
            chat_key=chat_key,
            starter_id=_int(raw.get("starter_id")) or 0,
            subject=str(raw.get("subject") or ""),
            themes=themes,
            votes=votes,
            closed=raw.get("closed") is True,
            created=str(raw.get("created") or ""),
            closed_at=_str_or_none(raw.get("closed_at")),
            closed_by=_int(raw.get("closed_by")),
            board_message_id=_int(raw.get("board_message_id")),
            chat_id=_int(raw.get("chat_id")),
            source=str(raw.get("source") or ""),
            private=raw.get("private") is True,
            thread_id=_int(raw.get("thread_id")),
            from_tender=raw.get("from_tender") is True,
        )

    @property
    def voters(self) -> int:
        return sum(1 for levels in self.votes.values() if levels)

    def vote(self, user_id: int | str, theme_index: int, level: int) -> Vote:
        """Set or change one person's level for one theme; pressing the same level keeps it."""
        if self.closed:
            return Vote("closed")
        if not 0 <= theme_index < len(self.themes) or level not in LEVELS:
            return Vote("invalid")
        value, label = self.themes[theme_index]
        mine = self.votes.setdefault(str(user_id), {})
        before = mine.get(value)
        mine[value] = level
        status: VoteStatus = "new" if before is None else "same" if before == level else "changed"
        return Vote(status, label, level)

    def mine(self, user_id: int | str) -> dict[str, int]:
        return dict(self.votes.get(str(user_id), {}))

    def my_levels(self, user_id: int | str) -> list[tuple[str, int | None]]:
        """Per theme on the board, in its order: the label and this person's level, if any."""
        mine = self.votes.get(str(user_id), {})
        return [(label, mine.get(value)) for value, label in self.themes]

    def names(self, person: int) -> bool:
        """Whether anything in this check is about `person`: a vote, or having started or
        closed it."""
        return str(person) in self.votes or person in (self.starter_id, self.closed_by)

    def forget(self, person: int) -> None:
        """Remove the person's votes and their name as starter or closer; the team's other votes
        stay. A check whose themes came from the person's own tender is dropped whole by
        `ChatChecks.forget`, since its theme texts are theirs."""
        self.votes.pop(str(person), None)
        if self.starter_id == person:
            self.starter_id = 0
        if self.closed_by == person:
            self.closed_by = None

    def may_close(self, by: int, is_admin: bool) -> bool:
        return by == self.starter_id or is_admin

    def close(self, by: int, is_admin: bool, when: str | None = None) -> Closing:
        """Closing twice is harmless: the second call says "already" and changes nothing."""
        if self.closed:
            return Closing("already", self.result())
        if not self.may_close(by, is_admin):
            return Closing("denied")
        self.closed = True
        self.closed_at = when or now_iso()
        self.closed_by = by
        return Closing("closed", self.result())

    def tallies(self) -> tuple[ThemeTally, ...]:
        return tuple(
            ThemeTally(
                value=value,
                label=label,
                priority=position,
                votes=tuple(
                    sorted(levels[value] for levels in self.votes.values() if value in levels)
                ),
            )
            for position, (value, label) in enumerate(self.themes, start=1)
        )

    def result(self) -> TeamResult:
        tallies = self.tallies()
        choices = [
            ThemeChoice(
                value=t.value,
                label=t.label,
                priority=t.priority,
                level=t.level,
                goal=None,
                indicator=None,
                measures_theme=None,
            )
            for t in tallies
        ]
        return TeamResult(self, tallies, tuple(place_themes(choices)))


def _int(value: Any) -> int | None:
    return value if type(value) is int else None


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


# ---------------------------------------------------------------------------------------------
# All checks of one chat, as stored under its chat key


@dataclass
class SourceChoice:
    """A started check whose starter still chooses its themes, in a private message.

    It holds no tender names: those are read from the starter's own tenders only when the
    private message is made, so nothing about their tenders is stored with the group.
    """

    id: str
    starter_id: int
    subject: str
    chat_id: int | None = None
    thread_id: int | None = None
    message_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "starter_id": self.starter_id,
            "subject": self.subject,
            "chat_id": self.chat_id,
            "thread_id": self.thread_id,
            "message_id": self.message_id,
        }

    @classmethod
    def from_dict(cls, raw: Any) -> SourceChoice | None:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            return None
        return cls(
            id=str(raw["id"]),
            starter_id=_int(raw.get("starter_id")) or 0,
            subject=str(raw.get("subject") or ""),
            chat_id=_int(raw.get("chat_id")),
            thread_id=_int(raw.get("thread_id")),
            message_id=_int(raw.get("message_id")),
        )


@dataclass
class ChatChecks:
    """The checks of one chat, oldest first; only the newest can be open."""

    checks: list[TeamCheck] = field(default_factory=list)
    choice: SourceChoice | None = None

    @property
    def current(self) -> TeamCheck | None:
        return self.checks[-1] if self.checks else None

    @property
    def open_check(self) -> TeamCheck | None:
        current = self.current
        return current if current is not None and not current.closed else None

    @property
    def last_closed(self) -> TeamCheck | None:
        return next((c for c in reversed(self.checks) if c.closed), None)

    def start(self, check: TeamCheck) -> TeamCheck:
        """Keep a few closed checks for /download; older ones are of no use to anybody."""
        self.checks = [*self.checks, check][-KEEP_CHECKS:]
        self.choice = None
        return check

    def forget(self, person: int) -> bool:
        """Remove everything about `person` (see `TeamCheck.forget`); True when anything was."""
        changed = False
        if self.choice is not None and self.choice.starter_id == person:
            self.choice, changed = None, True
        kept = []
        for check in self.checks:
            if (check.from_tender or check.source) and check.starter_id == person:
                changed = True
                continue
            if check.names(person):
                check.forget(person)
                changed = True
            kept.append(check)
        self.checks = kept
        return changed

    def move_to(self, chat_key: str, chat_id: int) -> None:
        """The chat got a new id (a group became a supergroup): the same checks, new address.
        Old message ids belong to the old chat, so the board is posted anew."""
        for check in self.checks:
            check.chat_key, check.chat_id, check.board_message_id = chat_key, chat_id, None
        if self.choice is not None:
            self.choice.chat_id, self.choice.message_id = chat_id, None

    def to_dict(self) -> dict[str, Any]:
        return {
            "teamcheck": 1,
            "checks": [c.to_dict() for c in self.checks],
            "choice": self.choice.to_dict() if self.choice is not None else None,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any] | None) -> ChatChecks:
        if not raw:
            return cls()
        checks = [
            check
            for item in raw.get("checks") or []
            if isinstance(item, Mapping)
            for check in [TeamCheck.from_dict(item)]
            if check is not None
        ]
        return cls(checks=checks, choice=SourceChoice.from_dict(raw.get("choice")))

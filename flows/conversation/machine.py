"""The modes a person can be in, the moves between them, and which commands each mode allows.

All of it is data (`STATES`, `MOVES`, and the command table in `commands.py`) turned into one
`transitions` machine, built once per process. Sessions are never attached to it: a move is fired
on the session directly (`Rules.move`), which keeps an update as cheap as a dict lookup plus the
callbacks. Which commands a mode allows is asked of the machine (`Rules.allows`), and guards decide
the rest (`Rules.passes`), so the rules live in one table that also draws the README's diagram.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from transitions import Machine

MODES = (
    "asking",
    "finished",
    "paused",
    "reading",
    "jumping",
    "resuming",
    "deleting",
    "confirming",
)
MENU_MODES = frozenset({"reading", "jumping", "resuming", "deleting", "confirming"})
ALL_MODES = MODES

STATES: list[dict[str, Any]] = [
    # Entry actions: leaving a menu for a mode without one closes it.
    {"name": "asking", "on_enter": "close_menu"},
    {"name": "finished", "on_enter": "close_menu"},
    {"name": "paused", "on_enter": "close_menu"},
    {"name": "reading"},
    {"name": "jumping"},
    {"name": "resuming"},
    {"name": "deleting"},
    {"name": "confirming"},
]
MOVES: list[dict[str, Any]] = [
    {"trigger": "ask", "source": "*", "dest": "asking"},
    {"trigger": "finish", "source": ["asking", "paused"], "dest": "finished"},
    {"trigger": "pause", "source": "*", "dest": "paused"},
    {"trigger": "open_overview", "source": "*", "dest": "reading"},
    {"trigger": "open_jump", "source": "*", "dest": "jumping"},
    {"trigger": "open_resume", "source": "*", "dest": "resuming"},
    {"trigger": "open_delete", "source": "*", "dest": "deleting"},
    {"trigger": "ask_confirm", "source": "deleting", "dest": "confirming"},
]

Guard = Callable[..., bool]

# The machine's own INFO line per move would cost more than the move itself in production.
logging.getLogger("transitions").setLevel(logging.WARNING)


@dataclass(frozen=True)
class CommandRule:
    """Where a command may be used: the modes, and a guard on the current question if any."""

    name: str
    modes: tuple[str, ...] = ALL_MODES
    guard: Guard | None = None


def command_trigger(name: str) -> str:
    return f"cmd_{name}"


def machine_spec(rules: Iterable[CommandRule]) -> dict[str, Any]:
    """The arguments of the machine: modes, moves, and one internal move per limited command."""
    transitions = [dict(move) for move in MOVES]
    for rule in rules:
        if rule.modes == ALL_MODES and rule.guard is None:
            continue
        move: dict[str, Any] = {
            "trigger": command_trigger(rule.name),
            "source": list(rule.modes),
            "dest": None,
        }
        if rule.guard is not None:
            move["conditions"] = [rule.guard]
        transitions.append(move)
    return {
        "states": STATES,
        "transitions": transitions,
        "initial": "asking",
        "auto_transitions": False,
        "after_state_change": "sync_mode",
    }


class Rules:
    """The built machine and what the conversation asks of it."""

    def __init__(self, rules: Iterable[CommandRule]) -> None:
        self.machine = Machine(model=None, **machine_spec(rules))
        self._allowed: Mapping[str, frozenset[str]] = {
            mode: frozenset(self.machine.get_triggers(mode)) for mode in MODES
        }

    def move(self, session: Any, trigger: str) -> None:
        self.machine.events[trigger].trigger(session)

    def allows(self, mode: str, command: str) -> bool:
        """Whether `command` may be used in `mode` (commands without limits always may)."""
        trigger = command_trigger(command)
        if trigger not in self.machine.events:
            return True
        return trigger in self._allowed.get(mode, frozenset())

    def passes(self, session: Any, command: str, **context: Any) -> bool:
        """Whether the command's guard lets it through now; fires nothing else."""
        trigger = command_trigger(command)
        if trigger not in self.machine.events:
            return True
        return bool(self.machine.events[trigger].trigger(session, **context))

"""CPU per update of the conversation alone: the example chat replayed on an in-memory store.

No disk and no Telegram, so the figure is what the engine itself (state machine, spec, prompts,
templates) costs per update. Run it on two commits to compare them; both runs must be on the same
machine at about the same time, as the figure moves with the load:

    python -m bench.engine_cost --buyers 40 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flows.engine import Conversation
from flows.events import Event

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "catering-chat.txt"


@dataclass(eq=False)
class MemoryTender:
    id: str
    meta: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)


class MemoryRepository:
    """Keeps everything in dicts; copies on the way in and out as a real store would."""

    def __init__(self) -> None:
        self.users: dict[str, dict[str, Any]] = {}
        self.tenders: dict[str, dict[str, MemoryTender]] = {}
        self.counter = 0

    def get_user(self, user_key: str) -> dict[str, Any] | None:
        doc = self.users.get(user_key)
        return dict(doc) if doc is not None else None

    def save_user(self, user_key: str, doc: dict[str, Any]) -> None:
        self.users[user_key] = dict(doc)

    def delete_user(self, user_key: str) -> None:
        self.users.pop(user_key, None)
        self.tenders.pop(user_key, None)

    def list_tenders(self, user_key: str) -> list[dict[str, Any]]:
        return [dict(t.meta, id=t.id) for t in self.tenders.get(user_key, {}).values()]

    def get_tender(self, user_key: str, tender_id: str) -> MemoryTender | None:
        t = self.tenders.get(user_key, {}).get(tender_id)
        if t is None:
            return None
        return MemoryTender(t.id, dict(t.meta), dict(t.state), dict(t.answers))

    def create_tender(self, user_key: str, meta: dict[str, Any]) -> MemoryTender:
        self.counter += 1
        tender = MemoryTender(f"t{self.counter}", dict(meta))
        self.tenders.setdefault(user_key, {})[tender.id] = tender
        return self.get_tender(user_key, tender.id) or tender

    def save_tender(self, user_key: str, tender: MemoryTender) -> None:
        self.tenders.setdefault(user_key, {})[tender.id] = MemoryTender(
            tender.id, dict(tender.meta), dict(tender.state), dict(tender.answers)
        )

    def delete_tender(self, user_key: str, tender_id: str) -> None:
        self.tenders.get(user_key, {}).pop(tender_id, None)


def events() -> list[Event]:
    out = [Event.cmd("start")]
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if line.startswith("/"):
            name, _, arg = line[1:].partition(" ")
            out.append(Event.cmd(name, arg))
        else:
            out.append(Event.typed(line))
    return out


def one_round(buyers: int) -> float:
    """Microseconds of CPU per update for `buyers` complete example chats."""
    conversation = Conversation(MemoryRepository(), buttons=False)
    script = [e for e in events() if e.command != "samenvatting"]
    begin = time.process_time()
    for buyer in range(buyers):
        for event in script:
            conversation.handle(f"b{buyer}", event)
    return (time.process_time() - begin) / (buyers * len(script)) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--buyers", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    one_round(2)  # warm up: templates, spec, measures
    figures = [one_round(args.buyers) for _ in range(args.rounds)]
    print(
        f"engine CPU per update: median {statistics.median(figures):.0f} µs, "
        f"min {min(figures):.0f} µs over {args.rounds} rounds of {args.buyers} buyers"
    )


if __name__ == "__main__":
    main()

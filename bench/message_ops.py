"""Target 12.2: Telegram message operations per answer over one full tender.

A buyer plays a whole tender through the real application on the in-process fake Bot API (the
tests' player, which reads the current question from storage and answers it the way a person
would). Counted: message operations (sends, edits, deletions, and callback answers that carry
text), all Bot API calls, and what stays in the chat. Two denominators: every update the buyer
sends (a tick in a multiple-choice list is one, like a typed answer), and every question answered.
Counts do not depend on the machine, so the "before" figures are those of the first build (1.77
operations per update, 2.40 per answered question, 47 bubbles), kept in ``NOTES.md``.

Run ``python -m bench.message_ops``.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

from flows.spec import load_spec
from tests.fakes.harness import USER, Harness, start_harness
from tests.fakes.tender import Tally, answer_current, current_question


async def play(tg: Harness) -> dict[str, Any]:
    spec = load_spec()
    updates = 0
    real_update = tg.update

    async def counted(update: Any) -> Any:
        nonlocal updates
        updates += 1
        return await real_update(update)

    tg.update = counted  # type: ignore[method-assign]
    tally = Tally()
    by_kind: Counter[str] = Counter()
    answers_by_kind: Counter[str] = Counter()
    await tg.send("/start")
    await tg.send("Catering 2027")
    tally.answers += 1
    while (found := current_question(tg, spec)) is not None:
        before = tally.message_ops
        if not await answer_current(tg, spec, tally):
            break
        by_kind[found[1].kind] += tally.message_ops - before
        answers_by_kind[found[1].kind] += 1
    ops = tg.fake.message_ops(USER)
    calls = [c for c in tg.fake.calls if c.ok and c.method != "getUpdates"]
    bubbles = tg.fake.bubbles(USER)
    return {
        "updates": updates,
        "answers": tally.answers,
        "message_ops": len(ops),
        "ops_per_update": round(len(ops) / updates, 3),
        "ops_per_answer": round(len(ops) / tally.answers, 3),
        "ops_by_method": dict(Counter(c.method for c in ops)),
        "ops_per_answer_by_kind": {
            kind: round(by_kind[kind] / n, 2) for kind, n in answers_by_kind.items()
        },
        "bot_api_calls_per_update": round(len(calls) / updates, 3),
        "bubbles": len(bubbles),
        "characters": sum(len(m.plain_text or "") for m in bubbles),
    }


async def measure() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        tg = await start_harness(Path(scratch) / "data")
        try:
            return await play(tg)
        finally:
            await tg.app.shutdown()


if __name__ == "__main__":
    print(json.dumps(asyncio.run(measure()), indent=2))

"""Per-update cost: complete preparations through the real PTB Application, against an echo bot.

Buyers go through the whole Telegram playbook on data directories that already hold 10, 1,000 and
10,000 tenders. Two passes each: *throughput* with all buyers active at once (each round every
buyer sends their next update concurrently, as PTB runs them with concurrent updates), and
*handling time* with one update in flight at a time. The same updates are replayed to a minimal PTB
echo application on the same offline request class: the baseline, measured in the same run, so the
ratio means something on a shared, noisy machine.
"""

from __future__ import annotations

import asyncio
import shutil
import threading
import time
from typing import Any

from telegram import Update

from bench.common import PLAYBOOK, echo_app, next_update, populated_dir, real_app, summary_ms
from storage import Store
from tests.fakes.inprocess import press_update, text_update

Trace = list[list[tuple[str, int, str]]]


def _record(update: Update) -> tuple[str, int, str]:
    query = update.callback_query
    if query is not None:
        return ("press", query.from_user.id, query.data or "")
    assert update.message is not None
    assert update.message.from_user is not None
    return ("text", update.message.from_user.id, update.message.text or "")


async def _timed(app: Any, update: Update) -> float:
    begin = time.perf_counter()
    await app.process_update(update)
    return time.perf_counter() - begin


async def _round(app: Any, updates: list[Update], concurrent: bool) -> list[float]:
    """One round: every buyer's next update, all at once or one after the other."""
    if concurrent:
        return list(await asyncio.gather(*(_timed(app, u) for u in updates)))
    return [await _timed(app, u) for u in updates]


async def _ours_pass(
    count: int, buyers: int, concurrent: bool, base: int
) -> tuple[list[float], float, Trace, float]:
    """Latencies, wall time, the updates as a trace for the echo bot, and process CPU seconds."""
    data = populated_dir(count)
    try:
        app, request = await real_app(data)
        users = [base + i for i in range(buyers)]
        latencies: list[float] = []
        trace: Trace = []
        cpu = 0.0
        start = time.perf_counter()
        for step in PLAYBOOK:
            updates = [next_update(app, request, user, step) for user in users]
            trace.append([_record(u) for u in updates])
            cpu_start = time.process_time()
            latencies += await _round(app, updates, concurrent)
            cpu += time.process_time() - cpu_start
        total = time.perf_counter() - start
        store = Store(data)
        done = sum(1 for u in users if (store.get_user(f"tg-{u}") or {}).get("mode") == "finished")
        await app.shutdown()
        assert done == buyers, f"{buyers - done} van {buyers} kopers kwamen niet aan het eind"
        assert not request.problems, request.problems[:3]
        return latencies, total, trace, cpu
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def _echo_pass(trace: Trace, concurrent: bool) -> tuple[list[float], float, float]:
    app, _ = await echo_app()
    latencies: list[float] = []
    cpu = 0.0
    start = time.perf_counter()
    for round_ in trace:
        updates = [
            press_update(app.bot, user, payload)
            if kind == "press"
            else text_update(app.bot, user, payload)
            for kind, user, payload in round_
        ]
        cpu_start = time.process_time()
        latencies += await _round(app, updates, concurrent)
        cpu += time.process_time() - cpu_start
    total = time.perf_counter() - start
    await app.shutdown()
    return latencies, total, cpu


class Breakdown:
    """Wall and CPU time spent inside the conversation and inside the durable save.

    CPU is the handling thread's own (`time.thread_time`), so waiting for a worker thread or for
    the disk is never counted as anybody's CPU, and whatever CPU is left of the process's total is
    PTB, the fake Bot API (without its HTML checks) and the hop to the worker thread.
    """

    def __init__(self) -> None:
        self.handle = 0.0
        self.save = 0.0
        self.handle_cpu = 0.0
        self.save_cpu = 0.0

    SAVES = ("save_session", "save_tender", "save_user")
    """Every way the conversation makes an answer durable (it saves both in one step when the
    store offers it, so timing `save_tender` alone counted nothing)."""

    def __enter__(self) -> Breakdown:
        from flows.engine import Conversation
        from storage import Store as StoreClass

        self._handle = Conversation.handle
        self._saves = {name: getattr(StoreClass, name) for name in self.SAVES}
        outer = self

        inside = threading.local()  # only the conversation's own saves are part of its time

        def handle(conv: Any, *args: Any) -> Any:
            begin, begin_cpu = time.perf_counter(), time.thread_time()
            inside.handling = True
            try:
                return outer._handle(conv, *args)
            finally:
                inside.handling = False
                outer.handle += time.perf_counter() - begin
                outer.handle_cpu += time.thread_time() - begin_cpu

        def timed(original: Any) -> Any:
            def save(store: Any, *args: Any) -> Any:
                if not getattr(inside, "handling", False):
                    return original(store, *args)
                begin, begin_cpu = time.perf_counter(), time.thread_time()
                try:
                    return original(store, *args)
                finally:
                    outer.save += time.perf_counter() - begin
                    outer.save_cpu += time.thread_time() - begin_cpu

            return save

        Conversation.handle = handle  # type: ignore[method-assign,assignment]
        for name, original in self._saves.items():
            setattr(StoreClass, name, timed(original))
        return self

    def __exit__(self, *exc: object) -> None:
        from flows.engine import Conversation
        from storage import Store as StoreClass

        Conversation.handle = self._handle  # type: ignore[method-assign]
        for name, original in self._saves.items():
            setattr(StoreClass, name, original)


async def measure(
    sizes: tuple[int, ...] = (10, 1_000, 10_000), buyers: int = 20
) -> list[dict[str, Any]]:
    rows = []
    for count in sizes:
        lat_c, total_c, trace, _ = await _ours_pass(count, buyers, True, 50_000_000)
        with Breakdown() as spent:
            lat_s, _, _, cpu_s = await _ours_pass(count, buyers, False, 60_000_000)
        n = len(lat_s)

        def ms(seconds: float, n: int = n) -> float:
            return round(seconds / n * 1000, 3)

        per_update_ms = {
            "total": ms(sum(lat_s)),
            "durable_save": ms(spent.save),
            "conversation_without_save": ms(spent.handle - spent.save),
            "ptb_delivery_and_thread_hop": ms(sum(lat_s) - spent.handle),
        }
        cpu_ms = {
            "total": ms(cpu_s),
            "save": ms(spent.save_cpu),
            "conversation_without_save": ms(spent.handle_cpu - spent.save_cpu),
            "ptb_fake_and_thread_hop": ms(cpu_s - spent.handle_cpu),
        }
        echo_c, echo_total, _ = await _echo_pass(trace, True)
        echo_s, _, echo_cpu = await _echo_pass(trace, False)
        ours_rate = len(lat_c) / total_c
        echo_rate = len(echo_c) / echo_total
        rows.append(
            {
                "stored_tenders": count,
                "buyers": buyers,
                "updates": len(lat_c),
                "updates_per_s": round(ours_rate, 1),
                "echo_updates_per_s": round(echo_rate, 1),
                "ratio_to_echo": round(ours_rate / echo_rate, 3),
                "handling": summary_ms(lat_s),
                "breakdown_ms_per_update": per_update_ms,
                "cpu_ms_per_update": cpu_ms,
                "echo_cpu_ms_per_update": ms(echo_cpu),
                "cpu_ratio_to_echo": round(cpu_s / echo_cpu, 2) if echo_cpu else None,
                "echo_handling": summary_ms(echo_s),
            }
        )
    return rows


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(buyers=args.buyers)), indent=2))

"""Fairness: do other buyers wait while one buyer asks for documents again and again?

Ten buyers go through the playbook, one update in flight per buyer, twice: once on a quiet bot and
once while another buyer sends /download in a loop. Documents are made in a worker process, so the
ratio of the two p95 handling times should stay near 1.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import PLAYBOOK, next_update, real_app, summary_ms
from bot import render_pool
from tests.fakes.inprocess import text_update

HEAVY = 90_000_001


async def _pass(with_load: bool, buyers: int, base: int) -> tuple[list[float], int]:
    data = Path(tempfile.mkdtemp(prefix="inkoopkompas-fair-"))
    try:
        app, request = await real_app(data)
        await render_pool.warm_up()
        for step in PLAYBOOK:
            await app.process_update(next_update(app, request, HEAVY, step))
        downloads = 0
        stop = asyncio.Event()

        async def hammer() -> None:
            nonlocal downloads
            while not stop.is_set():
                await app.process_update(text_update(app.bot, HEAVY, "/download"))
                downloads += 1

        task = asyncio.create_task(hammer()) if with_load else None
        await asyncio.sleep(0.05)
        users = [base + i for i in range(buyers)]
        latencies: list[float] = []

        async def buyer(user: int) -> None:
            for step in PLAYBOOK:
                update = next_update(app, request, user, step)
                begin = time.perf_counter()
                await app.process_update(update)
                latencies.append(time.perf_counter() - begin)

        await asyncio.gather(*(buyer(u) for u in users))
        stop.set()
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await app.shutdown()
        return latencies, downloads
    finally:
        shutil.rmtree(data, ignore_errors=True)


async def measure(buyers: int = 10) -> dict[str, Any]:
    quiet, _ = await _pass(False, buyers, 91_000_000)
    loaded, downloads = await _pass(True, buyers, 92_000_000)
    q, loaded_summary = summary_ms(quiet), summary_ms(loaded)
    return {
        "buyers": buyers,
        "downloads_during_load": downloads,
        "quiet": q,
        "with_document_load": loaded_summary,
        "p95_ratio": round(loaded_summary["p95_ms"] / q["p95_ms"], 3),
    }


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.buyers)), indent=2))

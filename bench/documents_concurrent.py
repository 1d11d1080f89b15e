"""Ten buyers ask for their summary at the same moment: when does the last one have all files?

Each buyer's request differs (their own tender name), so the cache cannot help; the documents are
made by the bot's document workers as in production. Run once per worker count (one worker, two,
and the default for this machine) in fresh processes, then one repeated request, which the cache
answers.

One burst on a shared machine says more about the neighbours than about the code, so the ten
requests come in several bursts, one after the other, each with new names: the median and the
worst burst are reported, with the load average the run started under.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot import render_pool
from flows.events import DocumentRequest
from flows.report.answers_file import load_answers_file

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "catering.yaml"


async def burst(base: DocumentRequest, buyers: int, tag: str) -> tuple[float, float]:
    """When the first and the last of `buyers` simultaneous requests had all their files (s)."""
    requests = [replace(base, name=f"Koper {tag}-{i}") for i in range(buyers)]
    done: list[float] = []
    start = time.perf_counter()

    async def one(request: DocumentRequest) -> None:
        files = await render_pool.render(request)
        assert set(files) == {"docx", "md", "png"}
        done.append(time.perf_counter() - start)

    await asyncio.gather(*(one(r) for r in requests))
    return min(done), max(done)


async def measure(buyers: int = 10, bursts: int = 3) -> dict[str, Any]:
    base = replace(load_answers_file(EXAMPLE), formats=("docx", "md", "png"))
    load = os.getloadavg()[0]
    await render_pool.warm_up()
    alone_start = time.perf_counter()
    await render_pool.render(replace(base, name="Alleen"))
    alone = time.perf_counter() - alone_start
    firsts, lasts = [], []
    for number in range(bursts):
        first, last = await burst(base, buyers, str(number))
        firsts.append(first)
        lasts.append(last)
    again_start = time.perf_counter()
    await render_pool.render(replace(base, name=f"Koper {bursts - 1}-{buyers - 1}"))
    again = time.perf_counter() - again_start
    return {
        "workers": render_pool.worker_count(),
        "buyers": buyers,
        "bursts": bursts,
        "load_average": round(load, 2),
        "one_alone_ms": round(alone * 1000, 1),
        "first_done_ms": round(statistics.median(firsts) * 1000, 1),
        "last_done_ms": round(statistics.median(lasts) * 1000, 1),
        "last_done_worst_ms": round(max(lasts) * 1000, 1),
        "repeat_from_cache_ms": round(again * 1000, 3),
    }


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=10)
    parser.add_argument("--bursts", type=int, default=3)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.buyers, args.bursts)), indent=2))

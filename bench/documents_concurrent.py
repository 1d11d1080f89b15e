"""Ten buyers ask for their summary at the same moment: when does the last one have all files?

Each buyer's request differs (their own tender name), so the cache cannot help; the documents are
made by the bot's document workers as in production. Run once per worker count (the old single
worker, and the default for this machine) in fresh processes, then one repeated request, which the
cache answers.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot import render_pool
from flows.report.answers_file import load_answers_file

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "catering.yaml"


async def measure(buyers: int = 10) -> dict[str, Any]:
    base = replace(load_answers_file(EXAMPLE), formats=("docx", "md", "png"))
    await render_pool.warm_up()
    alone_start = time.perf_counter()
    await render_pool.render(replace(base, name="Alleen"))
    alone = time.perf_counter() - alone_start
    requests = [replace(base, name=f"Koper {i}") for i in range(buyers)]
    done: list[float] = []
    start = time.perf_counter()

    async def one(request: Any) -> None:
        files = await render_pool.render(request)
        assert set(files) == {"docx", "md", "png"}
        done.append(time.perf_counter() - start)

    await asyncio.gather(*(one(r) for r in requests))
    again_start = time.perf_counter()
    await render_pool.render(requests[-1])
    again = time.perf_counter() - again_start
    return {
        "workers": render_pool.worker_count(),
        "buyers": buyers,
        "one_alone_ms": round(alone * 1000, 1),
        "first_done_ms": round(min(done) * 1000, 1),
        "last_done_ms": round(max(done) * 1000, 1),
        "repeat_from_cache_ms": round(again * 1000, 3),
    }


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.buyers)), indent=2))

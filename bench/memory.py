"""Resident memory of the bot with 1,000 buyers part-way through their preparation.

The bot keeps nothing per buyer in memory beyond a lock and the id of their last question message;
everything else is on disk. Measured as VmRSS of this process (the bot), plus, separately, the
document worker process.
"""

from __future__ import annotations

import asyncio
import gc
import shutil
import tempfile
from pathlib import Path
from typing import Any

from bench.common import PLAYBOOK, next_update, real_app
from bot import render_pool

STEPS = 14  # into step 2 (market analysis): a typical "mid-preparation" buyer


def rss_mb(pid: str = "self") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def worker_rss_mb() -> float | None:
    pids = render_pool.worker_pids()
    return sum(rss_mb(str(pid)) for pid in pids) if pids else None


async def measure(buyers: int = 1_000) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="inkoopkompas-mem-"))
    try:
        app, request = await real_app(data)
        await render_pool.warm_up()
        before = rss_mb()
        users = [95_000_000 + i for i in range(buyers)]
        for step in PLAYBOOK[:STEPS]:
            updates = [next_update(app, request, u, step) for u in users]
            request.sent.clear()  # the benchmark's own record of calls is not the bot's memory
            await asyncio.gather(*(app.process_update(u) for u in updates))
        gc.collect()
        after = rss_mb()
        await app.shutdown()
        return {
            "buyers": buyers,
            "updates_each": STEPS,
            "rss_bot_start_mb": before,
            "rss_bot_mb": after,
            "rss_document_worker_mb": worker_rss_mb(),
        }
    finally:
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=1000)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(measure(args.buyers)), indent=2))

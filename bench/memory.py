"""Memory per buyer: targets 5 (resident memory with 1,000 buyers) and 7 (bounded memory).

Target 7 reads "at most 10 KB per buyer active in the last hour, and nothing kept for buyers gone
quiet". The resident size after N buyers mixes what a buyer costs with one-off growth (imports,
templates compiled on first use, caches filling up to their limit, the allocator's arenas), so a
buyer's cost is measured as a slope: the growth between the readings after two cohorts of buyers,
divided by the second cohort's size. Every buyer plays the first 14 steps of a preparation through
the real PTB application. Three passes, each in its own process:

- resident size (VmRSS), untraced, with glibc's allocator set up as `run_bot` does: three hours
  of `buyers` new buyers each, everyone going quiet in between (the first hour's size is target
  5's figure). Hour 3 against hour 1, both with `buyers` active, is what stays per buyer gone
  quiet, freed or not: bounded memory keeps it ~0. Then `buyers` more in hour 3: the slope.
- the same with glibc's default allocator settings: the baseline for that last figure.
- traced Python memory (tracemalloc from the interpreter's start, so that a table reallocated
  during the run is never counted whole), with half `buyers` an hour: an hour, quiet, an hour
  whose last quarter gives the slope (attributed to the lines that allocated it), quiet again:
  what is still traced of the second hour is what a buyer leaves behind.

Going quiet: the simulated clock moves past the idle limit (`bot/telegram/window.py`), one
newcomer says /start (a quiet process still serves someone, and some structures prune when used)
and the job that runs every five minutes in the bot lets go of chats, boards and cached files.

What the benchmark itself holds is not the bot's: the fake Bot API forgets each batch of buyers
once they have played, pending journal lines are checkpointed before each reading (they live for
seconds, not per buyer), and finished tasks are let go before it. Telegram's overall limit of 30
messages a second (PTB's rate limiter, one shared object) is lifted, or the passes would spend
most of an hour waiting.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import PLAYBOOK, next_update, real_app
from bot import render_pool
from bot.telegram.bounded import tune_malloc
from bot.telegram.handlers import PrivateChat
from bot.telegram.window import IDLE_SECONDS
from storage import Store
from storage.cache import Recent
from tests.fakes.inprocess import FakeRequest

STEPS = 14  # into step 2 (market analysis): a typical "mid-preparation" buyer
BATCH = 200  # buyers playing at once; the fake forgets each batch once it has played
TARGET_BYTES = 10 * 1024
BIG = 64 * 1024
QUIET_BYTES = 64  # "nothing kept": less than a pointer-sized entry in a couple of tables
FIRST_USER = 95_000_000
ROOT = Path(__file__).resolve().parent.parent
STDLIB = os.path.dirname(os.__file__)
OWN = ("bot", "flows", "storage")

App = Any


def rss_mb(pid: str = "self") -> float:
    return mb(rss_bytes(pid))


def rss_bytes(pid: str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def worker_rss_mb() -> float | None:
    pids = render_pool.worker_pids()
    return round(sum(rss_mb(str(pid)) for pid in pids), 1) if pids else None


class Clock:
    """The monotonic clock as the bot's idle limits see it; `advance` is an hour in no time."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += seconds


@dataclass(frozen=True)
class Reading:
    rss: int
    traced: int
    """Python memory allocated and still alive (0 when not tracing)."""
    snapshot: tracemalloc.Snapshot | None = None

    @property
    def small(self) -> int:
        """What is traced in blocks under `BIG`: a buyer's objects, without the one-off tables
        and buffers whose growing or shrinking between two readings would swamp a slope."""
        if self.snapshot is None:
            return self.traced
        return sum(trace.size for trace in self.snapshot.traces if trace.size < BIG)


def where(traceback: tracemalloc.Traceback) -> str:
    """The line that answers for an allocation: the innermost frame of this project, else the
    innermost frame outside the standard library, else the innermost frame."""
    frames = list(reversed(traceback))  # innermost first
    for frame in frames:
        rel = os.path.relpath(frame.filename, ROOT)
        if rel.split(os.sep, 1)[0] in OWN:
            return f"{rel}:{frame.lineno}"
    for frame in frames:
        name = frame.filename
        if "site-packages" in name:
            return f"{name.split('site-packages' + os.sep)[-1]}:{frame.lineno}"
        if not name.startswith(STDLIB):  # this benchmark: a value it made that the bot keeps
            return f"{os.path.relpath(name, ROOT)}:{frame.lineno}"
    if not frames:
        return "?"
    return f"{os.path.relpath(frames[0].filename, STDLIB)}:{frames[0].lineno}"


def breakdown(after: Reading, before: Reading, buyers: int, top: int) -> list[dict[str, Any]]:
    """Growth between two readings by the line that answers for it, largest first."""
    if after.snapshot is None or before.snapshot is None:
        return []
    grown: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for stat in after.snapshot.compare_to(before.snapshot, "traceback"):
        entry = grown[where(stat.traceback)]
        entry[0] += stat.size_diff
        entry[1] += stat.count_diff
    ranked = sorted(grown.items(), key=lambda item: -item[1][0])[:top]
    return [
        {
            "where": line,
            "bytes_per_buyer": round(size / buyers),
            "blocks_per_buyer": round(count / buyers, 2),
        }
        for line, (size, count) in ranked
        if size >= buyers  # at least a byte per buyer
    ]


class Run:
    """One application, its fake Bot API and a simulated clock, with buyers played in batches."""

    def __init__(self, app: App, request: FakeRequest, store: Store, clock: Clock) -> None:
        self.app = app
        self.request = request
        self.store = store
        self.clock = clock
        self.next_user = FIRST_USER

    @classmethod
    async def start(cls, data: Path) -> Run:
        app, request = await real_app(data)
        chat: PrivateChat = app.bot_data["private_chat"]
        store = chat.conversation.repo
        assert isinstance(store, Store)
        clock = Clock()
        chat.windows.clock = clock
        app.bot_data["group_checks"].refresher.clock = clock
        # The store takes no clock: its caches' own are pointed at the simulated one here.
        for value in vars(store._core).values():
            if isinstance(value, Recent):
                value._clock = clock
        limiter = app.bot.rate_limiter
        if limiter is not None and hasattr(limiter, "_base_limiter"):
            limiter._base_limiter = None  # the overall 30 messages a second, see the docstring
        return cls(app, request, store, clock)

    async def cohort(
        self, buyers: int, steps: Sequence[tuple[str, ...]] = PLAYBOOK[:STEPS]
    ) -> None:
        for start in range(0, buyers, BATCH):
            count = min(BATCH, buyers - start)
            users = list(range(self.next_user, self.next_user + count))
            self.next_user += count
            for step in steps:
                updates = [next_update(self.app, self.request, u, step) for u in users]
                self.request.sent.clear()
                await asyncio.gather(*(self.app.process_update(u) for u in updates))
            self.request.fake.forget_chats(users)
            await asyncio.sleep(0)  # let the finished tasks (and the gather holding them) go

    async def go_quiet(self) -> None:
        """Everyone falls silent for longer than the idle limit; one newcomer comes by, and the
        bot's periodic job that lets go of quiet chats runs (`bot.telegram.app.forgetting`)."""
        self.clock.advance(IDLE_SECONDS + 60)
        await self.cohort(1, PLAYBOOK[:1])
        (job,) = self.app.job_queue.get_jobs_by_name("forget_quiet")
        await job.callback(None)

    async def reading(self, snapshot: bool = False) -> Reading:
        self.store.flush()  # pending journal lines live for seconds, not per buyer
        for _ in range(3):
            await asyncio.sleep(0)
        gc.collect()
        if not tracemalloc.is_tracing():
            return Reading(rss_bytes(), 0)
        rss = rss_bytes() - tracemalloc.get_tracemalloc_memory()
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]  # the snapshots themselves
        )
        traced = sum(stat.size for stat in snap.statistics("filename"))
        return Reading(rss, traced, snap if snapshot else None)


def per_buyer(after: int, before: int, buyers: int) -> int:
    return round((after - before) / buyers)


async def resident(buyers: int, tuned: bool) -> dict[str, Any]:
    """Untraced: three hours of `buyers` new buyers each, everyone going quiet in between, then
    `buyers` more in the third hour. The first hour's size is target 5's figure; the third
    against the first (both with `buyers` active) is what stays of the 2 x `buyers` gone quiet;
    the last cohort gives the slope. `tuned`: glibc's allocator as `run_bot` sets it up
    (`tune_malloc`), else its defaults."""
    if tuned:
        tune_malloc()
    data = Path(tempfile.mkdtemp(prefix="inkoopkompas-mem-"))
    try:
        run = await Run.start(data)
        await render_pool.warm_up()
        started = await run.reading()
        hours: list[Reading] = []
        for hour in range(3):
            if hour:
                await run.go_quiet()
            await run.cohort(buyers)
            hours.append(await run.reading())
        await run.cohort(buyers)
        more = await run.reading()
        result = {
            "malloc": "tuned" if tuned else "glibc defaults",
            "rss_bot_start_mb": mb(started.rss),
            "rss_bot_mb": mb(hours[0].rss),
            "rss_document_worker_mb": worker_rss_mb(),
            "rss_hours_mb": [mb(r.rss) for r in hours],
            "rss_more_mb": mb(more.rss),
            "rss_bytes_per_buyer": {
                "first_cohort": per_buyer(hours[0].rss, started.rss, buyers),
                "slope": per_buyer(more.rss, hours[-1].rss, buyers),
                "kept_per_quiet_buyer": per_buyer(hours[-1].rss, hours[0].rss, 2 * buyers),
            },
        }
        await run.app.shutdown()
        return result
    finally:
        shutil.rmtree(data, ignore_errors=True)


def mb(size: int) -> float:
    return round(size / 2**20, 1)


async def traced(buyers: int, top: int = 10) -> dict[str, Any]:
    """Traced (run with PYTHONTRACEMALLOC set): an hour of `buyers` buyers, quiet, an hour of
    three quarters of `buyers` and then a quarter more (the slope), quiet. Both hours peak at
    `buyers` active, so tables sized for the peak (kept: a dict never shrinks) cancel out; the
    first cohort is large enough to fill the bounded caches (the store keeps 1,024 files), so the
    slope is what keeps growing with buyers ("average_in_the_hour" includes the caches). The
    slope counts blocks under 64 KB: a journal buffer or a table reallocated during the last
    quarter is one-off, and a megabyte of it would read as thousands of bytes per buyer, up or
    down ("slope_all_blocks" has it)."""
    if not tracemalloc.is_tracing():
        raise SystemExit("run with PYTHONTRACEMALLOC=1 (or more frames), so nothing is untraced")
    tune_malloc()
    last = max(buyers // 4, 1)
    data = Path(tempfile.mkdtemp(prefix="inkoopkompas-mem-"))
    try:
        run = await Run.start(data)
        await run.cohort(buyers)
        await run.go_quiet()
        hour = await run.reading(snapshot=True)
        await run.cohort(buyers - last)
        first = await run.reading(snapshot=True)
        await run.cohort(last)
        active = await run.reading(snapshot=True)
        await run.go_quiet()
        quiet = await run.reading(snapshot=True)
        await run.app.shutdown()
        return {
            "buyers": buyers,
            "slope_buyers": last,
            "frames": tracemalloc.get_traceback_limit(),
            "mb": [mb(r.traced) for r in (hour, first, active, quiet)],
            "slope": per_buyer(active.small, first.small, last),
            "slope_all_blocks": per_buyer(active.traced, first.traced, last),
            "average_in_the_hour": per_buyer(active.traced, hour.traced, buyers),
            "quiet": per_buyer(quiet.traced, hour.traced, buyers),
            "slope_breakdown": breakdown(active, first, last, top),
            "quiet_breakdown": breakdown(quiet, hour, buyers, top),
        }
    finally:
        shutil.rmtree(data, ignore_errors=True)


def child(*args: str, frames: int | None = None) -> dict[str, Any]:
    """One pass in a fresh interpreter (tracing from its first allocation when `frames`)."""
    env = dict(os.environ)
    env.pop("PYTHONTRACEMALLOC", None)
    if frames:
        env["PYTHONTRACEMALLOC"] = str(frames)
    result = subprocess.run(
        [sys.executable, "-m", "bench.memory", *args],
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
        cwd=ROOT,
        env=env,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench.memory {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def measure(buyers: int = 1_000, frames: int = 1) -> dict[str, Any]:
    """The three passes, each in its own process; the traced one plays half as many buyers an
    hour (tracing makes every allocation 4-25 times slower)."""
    started = time.perf_counter()
    size = str(buyers)
    tuned = child("--pass", "resident", "--tuned", "--buyers", size)
    defaults = child("--pass", "resident", "--buyers", size)
    trace = child("--pass", "traced", "--buyers", str(max(buyers // 2, 1)), frames=frames)
    kept = tuned["rss_bytes_per_buyer"]["kept_per_quiet_buyer"]
    return {
        "buyers": buyers,
        "updates_each": STEPS,
        **{k: v for k, v in tuned.items() if k != "malloc"},
        "glibc_defaults": defaults,
        "target_bytes_per_buyer": TARGET_BYTES,
        "traced": trace,
        "met": trace["slope"] <= TARGET_BYTES and trace["quiet"] <= QUIET_BYTES,
        "rss_flat": kept <= TARGET_BYTES / 10,
        "seconds": round(time.perf_counter() - started, 1),
    }


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--buyers", type=int, default=1000, help="per cohort (traced: see measure)")
    parser.add_argument(
        "--frames",
        type=int,
        default=1,
        help="traceback depth of the traced pass; 12 names the bot's own lines (6 x slower)",
    )
    parser.add_argument("--pass", dest="which", choices=("resident", "traced"), default=None)
    parser.add_argument("--tuned", action="store_true", help="resident: malloc as run_bot sets it")
    args = parser.parse_args()
    if args.which == "resident":
        found = asyncio.run(resident(args.buyers, args.tuned))
    elif args.which == "traced":
        found = asyncio.run(traced(args.buyers))
    else:
        found = measure(args.buyers, args.frames)
    json.dump(found, sys.stdout, indent=2)
    print()

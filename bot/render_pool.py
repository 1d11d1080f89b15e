"""Documents are made in separate worker processes.

Word, Markdown and the chart take tens of milliseconds of pure Python and matplotlib work. In a
thread that would hold the GIL and slow every other buyer's answers; in worker processes the bot's
own process stays free for chatting. One shared pool per bot process, started on first use (or
warmed at start-up), with one worker per core available to the bot (at most four;
`INKOOPKOMPAS_DOCUMENT_WORKERS` overrides): the bot itself mostly waits on the network, so when
ten buyers ask at once every core makes documents instead of one worker making them in turn.
Each worker costs about 100 MB.
If a worker dies, the next request starts a new pool, and a request that cannot get a worker is made
in a thread rather than not at all.

Every worker warms up as it starts, before it takes its first request: the first document set in
a fresh process costs ten times a warm one (imports, fonts, templates). Warming in a task instead
let one quick worker take every warm-up task while another stayed cold, and the first buyer it
served paid for it.

Documents for the same answers are made once: a small cache keyed on the request (name, answers,
skipped questions, formats) answers a repeated `/download`, and a request already being made is
awaited rather than made twice. Entries live ten minutes at most, so nothing of a buyer who went
quiet or deleted their data stays in memory for long.

A worker must never outlive the bot: a killed bot cannot shut its pool down, and an orphaned
worker (with multiprocessing's resource tracker, which lives as long as any worker holds its pipe)
costs about 90 MB for ever. Each worker asks the kernel to kill it when the bot dies (Linux
`PR_SET_PDEATHSIG`) and also watches its parent's pid, for systems without that call.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import gc
import hashlib
import json
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from flows.events import DocumentRequest

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_warmth: _Warmth | None = None  # of `_pool`
CACHE_ENTRIES = 32
CACHE_SECONDS = 600.0
PARENT_CHECK_S = 0.5
_PR_SET_PDEATHSIG = 1


WARM_TIMEOUT_S = 120.0
# Enough for a web of three themes, every kind of table and the small print under bullets.
WARM_ANSWERS: dict[str, object] = {
    "naam": "Opwarmen",
    "categorie": "catering",
    "themas": ["klimaat", "circulariteit", "social_return"],
    "niveau[klimaat]": 2,
}
WARM_FORMATS = ("docx", "md", "png")


def cores() -> int:
    """The cores this process may run on (a container or `taskset` may allow fewer than the
    machine has)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def worker_count() -> int:
    configured = os.environ.get("INKOOPKOMPAS_DOCUMENT_WORKERS", "").strip()
    if configured.isascii() and configured.isdigit() and int(configured) > 0:
        return min(int(configured), 16)
    return max(1, min(4, cores()))


def _die_with(parent: int) -> None:
    """Runs in each worker as it starts: end this worker when the bot that started it ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the bot's to handle
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the bot died before the call above took effect
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(PARENT_CHECK_S)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def _start_worker(parent: int, warmed: Any) -> None:
    """The initializer of each worker: die with the bot, then warm up before the first task.
    `warmed` is a semaphore the bot waits on until every worker is ready."""
    _die_with(parent)
    try:
        _warm()
    except Exception:  # a worker that could not warm up still makes documents, only slower
        log.warning("documentwerker kon niet opwarmen", exc_info=True)
    finally:
        # What is loaded now stays for the worker's life: out of the garbage collector's way,
        # its collections during a document set take half the time (about 2 ms a set).
        gc.freeze()
        warmed.release()


def _warm() -> None:
    """Make one document set with a web of themes, so the imports, fonts, templates and the
    chart's reused figure are ready before a buyer asks."""
    from flows.report.documents import render_all

    render_all(DocumentRequest("opwarmen", "Opwarmen", dict(WARM_ANSWERS), formats=WARM_FORMATS))


def _render(request: DocumentRequest) -> dict[str, bytes]:
    # Imported here, in the worker, so the bot's own process never loads matplotlib or docx.
    from flows.report.documents import render_all

    return render_all(request)


def _get_pool() -> ProcessPoolExecutor:
    global _pool, _warmth
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("spawn")
            _warmth = _Warmth(context.Semaphore(0))
            _pool = ProcessPoolExecutor(
                max_workers=worker_count(),
                mp_context=context,
                initializer=_start_worker,
                initargs=(os.getpid(), _warmth.signals),
            )
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def _reset(broken: ProcessPoolExecutor) -> None:
    """Drop the pool that failed, and only that one: a newer pool may already serve others."""
    global _pool, _warmth
    with _lock:
        if _pool is broken:
            _pool = _warmth = None
    broken.shutdown(wait=False, cancel_futures=True)


def worker_pids() -> list[int]:
    """The pids of the running workers (for the memory benchmark and the orphan test)."""
    pool = _pool
    return list(getattr(pool, "_processes", None) or {}) if pool is not None else []


async def warm_up() -> None:
    """Start every worker now and return when all have warmed up, so the first summaries are
    not slow. A pool starts a worker for each task that finds no idle one, so one quick task per
    worker starts them all. Safe to call again (a bot restarted in the same process)."""
    loop = asyncio.get_running_loop()
    pool = _get_pool()
    warmth = _warmth
    try:
        await asyncio.gather(
            *(loop.run_in_executor(pool, os.getpid) for _ in range(worker_count()))
        )
    except (BrokenProcessPool, OSError):
        log.warning("documentwerker start niet; documenten worden in een thread gemaakt")
        _reset(pool)
        return
    started = len(getattr(pool, "_processes", None) or {})
    if warmth is not None and not await asyncio.to_thread(warmth.wait, started):
        log.warning("documentwerkers waren na %.0f s nog niet opgewarmd", WARM_TIMEOUT_S)


class _Warmth:
    """Counts the workers of one pool that have warmed up: each releases `signals` once."""

    def __init__(self, signals: Any) -> None:
        self.signals = signals
        self.seen = 0
        self._lock = threading.Lock()

    def wait(self, workers: int, timeout: float = WARM_TIMEOUT_S) -> bool:
        """True once `workers` workers in all have warmed up, False after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.seen < workers:
                if not self.signals.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    return False
                self.seen += 1
        return True


class _Cache:
    """The last few document sets by request, plus the ones being made right now."""

    def __init__(self, size: int, seconds: float = CACHE_SECONDS) -> None:
        self.size = size
        self.seconds = seconds
        self.done: OrderedDict[str, tuple[float, dict[str, bytes]]] = OrderedDict()
        self.making: dict[str, asyncio.Future[dict[str, bytes]]] = {}

    @staticmethod
    def key(request: DocumentRequest) -> str:
        raw = json.dumps(
            [request.name, request.answers, list(request.skipped), list(request.formats)],
            sort_keys=True,
            ensure_ascii=False,
            default=str,
        )
        return hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()

    def get(self, key: str) -> dict[str, bytes] | None:
        self.expire()
        found = self.done.get(key)
        return found[1] if found is not None else None

    def put(self, key: str, files: dict[str, bytes]) -> None:
        self.done[key] = (time.monotonic(), files)
        self.done.move_to_end(key)
        while len(self.done) > self.size:
            self.done.popitem(last=False)

    def expire(self) -> None:
        """Entries are kept in the order they were made, so the old ones are at the front."""
        oldest = time.monotonic() - self.seconds
        while self.done and next(iter(self.done.values()))[0] < oldest:
            self.done.popitem(last=False)

    def clear(self) -> None:
        self.done.clear()


_cache = _Cache(CACHE_ENTRIES)


def forget_documents() -> None:
    """Drop every cached document set. The cache is keyed on content, not on people, so after
    someone deletes all their data this is the only way to be sure nothing made from it is
    handed out again; others merely wait for one new rendering."""
    _cache.clear()


async def render(request: DocumentRequest) -> dict[str, bytes]:
    key = _cache.key(request)
    cached = _cache.get(key)
    if cached is not None:
        return cached
    pending = _cache.making.get(key)
    if pending is not None:
        return await asyncio.shield(pending)
    future: asyncio.Future[dict[str, bytes]] = asyncio.get_running_loop().create_future()
    _cache.making[key] = future
    try:
        files = await _make(request)
    except asyncio.CancelledError:
        future.cancel()
        raise
    except Exception as exc:
        future.set_exception(exc)
        future.exception()  # retrieved here, so an error nobody else awaited is not logged
        raise
    finally:
        _cache.making.pop(key, None)
    _cache.put(key, files)
    future.set_result(files)
    return files


async def _make(request: DocumentRequest) -> dict[str, bytes]:
    loop = asyncio.get_running_loop()
    pool = _get_pool()
    try:
        return await loop.run_in_executor(pool, _render, request)
    except (BrokenProcessPool, OSError):
        log.warning("documentwerker viel weg; opnieuw gestart", exc_info=True)
        _reset(pool)
        return await asyncio.to_thread(_render, request)

"""Documents are made in separate worker processes.

Word, Markdown and the chart take tens of milliseconds of pure Python and matplotlib work. In a
thread that would hold the GIL and slow every other buyer's answers; in worker processes the bot's
own process stays free for chatting. One shared pool per bot process, started on first use (or
warmed at start-up), with one worker per core beyond the bot's own (at most four;
`INKOOPKOMPAS_DOCUMENT_WORKERS` overrides), so ten buyers asking at once share the machine
instead of queueing behind one worker, while the bot keeps a core for chatting. Each worker costs
about 100 MB.
If a worker dies, the next request starts a new pool, and a request that cannot get a worker is made
in a thread rather than not at all.

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

from flows.events import DocumentRequest

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
CACHE_ENTRIES = 32
CACHE_SECONDS = 600.0
PARENT_CHECK_S = 0.5
_PR_SET_PDEATHSIG = 1


def worker_count() -> int:
    configured = os.environ.get("INKOOPKOMPAS_DOCUMENT_WORKERS", "").strip()
    if configured.isascii() and configured.isdigit() and int(configured) > 0:
        return min(int(configured), 16)
    return max(1, min(4, (os.cpu_count() or 1) - 1))


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


def _warm() -> bool:
    """Make one small document set: the first one costs three times a warm one (imports, fonts,
    matplotlib's first figure), and a buyer should not pay that."""
    from flows.report.documents import render_all

    render_all(DocumentRequest("opwarmen", "Opwarmen", {}, formats=("docx", "md", "png")))
    return True


def _render(request: DocumentRequest) -> dict[str, bytes]:
    # Imported here, in the worker, so the bot's own process never loads matplotlib or docx.
    from flows.report.documents import render_all

    return render_all(request)


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("spawn")
            _pool = ProcessPoolExecutor(
                max_workers=worker_count(),
                mp_context=context,
                initializer=_die_with,
                initargs=(os.getpid(),),
            )
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def _reset(broken: ProcessPoolExecutor) -> None:
    """Drop the pool that failed, and only that one: a newer pool may already serve others."""
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def worker_pids() -> list[int]:
    """The pids of the running workers (for the memory benchmark and the orphan test)."""
    pool = _pool
    return list(getattr(pool, "_processes", None) or {}) if pool is not None else []


async def warm_up() -> None:
    """Start the workers and load their templates now, so the first summaries are not slow."""
    loop = asyncio.get_running_loop()
    pool = _get_pool()
    try:
        await asyncio.gather(*(loop.run_in_executor(pool, _warm) for _ in range(worker_count())))
    except (BrokenProcessPool, OSError):
        log.warning("documentwerker start niet; documenten worden in een thread gemaakt")
        _reset(pool)


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

"""Documents are made in a separate worker process.

Word, Markdown and the chart take tens of milliseconds of pure Python and matplotlib work. In a
thread that would hold the GIL and slow every other buyer's answers; in one worker process the
bot's own process stays free for chatting. One shared pool per bot process, started on first use
(or warmed at start-up); if the worker dies, the next request starts a new one, and a request that
cannot get a worker is made in a thread rather than not at all.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from flows.events import DocumentRequest

log = logging.getLogger(__name__)
_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _warm() -> bool:
    from flows.report import documents

    documents.render_all  # noqa: B018 - importing is the warm-up: matplotlib, docx, templates
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
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
            atexit.register(_pool.shutdown, wait=False, cancel_futures=True)
        return _pool


def _reset(broken: ProcessPoolExecutor) -> None:
    """Drop the pool that failed, and only that one: a newer pool may already serve others."""
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


async def warm_up() -> None:
    """Start the worker and load its templates now, so the first summary is not slow."""
    loop = asyncio.get_running_loop()
    pool = _get_pool()
    try:
        await loop.run_in_executor(pool, _warm)
    except (BrokenProcessPool, OSError):
        log.warning("documentwerker start niet; documenten worden in een thread gemaakt")
        _reset(pool)


async def render(request: DocumentRequest) -> dict[str, bytes]:
    loop = asyncio.get_running_loop()
    pool = _get_pool()
    try:
        return await loop.run_in_executor(pool, _render, request)
    except (BrokenProcessPool, OSError):
        log.warning("documentwerker viel weg; opnieuw gestart", exc_info=True)
        _reset(pool)
        return await asyncio.to_thread(_render, request)

"""The document workers: they die with the bot, and the same documents are made only once."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from bot import render_pool
from flows.events import DocumentRequest

BOT = """
import asyncio, multiprocessing.resource_tracker as rt, sys
from bot import render_pool
asyncio.run(render_pool.warm_up())
print(*render_pool.worker_pids(), rt._resource_tracker._pid, flush=True)
sys.stdin.read()
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


def test_the_workers_and_their_tracker_die_when_the_bot_is_killed() -> None:
    bot = subprocess.Popen(
        [sys.executable, "-c", BOT],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "INKOOPKOMPAS_DOCUMENT_WORKERS": "2"},
    )
    assert bot.stdout is not None
    pids = [int(p) for p in bot.stdout.readline().split()]
    assert len(pids) == 3
    assert all(alive(pid) for pid in pids)
    bot.send_signal(signal.SIGKILL)
    bot.wait()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    left = [pid for pid in pids if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], "document workers outlived the bot"


def request(name: str = "Catering") -> DocumentRequest:
    return DocumentRequest(tender_id="t", name=name, answers={"naam": name}, formats=("md",))


def test_the_same_documents_are_made_once(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[str] = []

    async def make(req: DocumentRequest) -> dict[str, bytes]:
        made.append(req.name)
        await asyncio.sleep(0.01)
        return {"md": req.name.encode()}

    monkeypatch.setattr(render_pool, "_make", make)
    monkeypatch.setattr(render_pool, "_cache", render_pool._Cache(2))

    async def scenario() -> list[dict[str, bytes]]:
        together = await asyncio.gather(*(render_pool.render(request()) for _ in range(5)))
        again = await render_pool.render(request())
        other = await render_pool.render(request("Schoonmaak"))
        return [*together, again, other]

    results = asyncio.run(scenario())
    assert made == ["Catering", "Schoonmaak"]
    assert results[-1] == {"md": b"Schoonmaak"}
    assert all(r == {"md": b"Catering"} for r in results[:-1])


def test_a_failed_render_is_not_cached(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = 0

    async def make(req: DocumentRequest) -> dict[str, bytes]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("kapot")
        return {"md": b"ok"}

    monkeypatch.setattr(render_pool, "_make", make)
    monkeypatch.setattr(render_pool, "_cache", render_pool._Cache(2))
    with pytest.raises(ValueError, match="kapot"):
        asyncio.run(render_pool.render(request()))
    assert asyncio.run(render_pool.render(request())) == {"md": b"ok"}


@pytest.mark.parametrize(("setting", "count"), [("3", 3), ("0", None), ("x", None), ("²", None)])
def test_the_number_of_workers_can_be_set(
    setting: str, count: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("INKOOPKOMPAS_DOCUMENT_WORKERS", setting)
    expected = count or max(1, min(4, len(os.sched_getaffinity(0))))
    assert render_pool.worker_count() == expected


def test_by_default_every_core_makes_documents(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INKOOPKOMPAS_DOCUMENT_WORKERS", raising=False)
    monkeypatch.setattr(render_pool, "cores", lambda: 2)
    assert render_pool.worker_count() == 2
    monkeypatch.setattr(render_pool, "cores", lambda: 64)
    assert render_pool.worker_count() == 4


WARM = """
import asyncio, sys
from bot import render_pool
asyncio.run(render_pool.warm_up())
print(*render_pool.worker_pids(), flush=True)
sys.stdin.read()
"""


def test_every_worker_has_warmed_up_when_warm_up_returns() -> None:
    """Not just the quickest one: a cold worker makes its first buyer wait for its imports. A
    worker that has drawn a chart has matplotlib's font library loaded."""
    bot = subprocess.Popen(
        [sys.executable, "-c", WARM],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "INKOOPKOMPAS_DOCUMENT_WORKERS": "3"},
    )
    assert bot.stdin is not None
    assert bot.stdout is not None
    try:
        pids = [int(p) for p in bot.stdout.readline().split()]
        assert len(pids) == 3
        for pid in pids:
            assert "ft2font" in Path(f"/proc/{pid}/maps").read_text(), pid
    finally:
        bot.stdin.close()
        bot.wait(timeout=60)


def test_warming_up_again_waits_only_for_workers_not_yet_seen() -> None:
    """A bot restarted in the same process warms up its pool again: the workers that already
    said they were warm must not be waited for a second time."""
    warmth = render_pool._Warmth(threading.Semaphore(0))
    warmth.signals.release()
    warmth.signals.release()
    assert warmth.wait(2, timeout=5)
    assert warmth.wait(2, timeout=0)
    assert not warmth.wait(3, timeout=0.05)
    warmth.signals.release()
    assert warmth.wait(3, timeout=5)

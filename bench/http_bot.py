"""Target 1 over HTTP: the bot as deployed (its own process, long polling) against a local fake
Bot API, side by side with a minimal PTB echo bot on the same fake.

Buyers go through the complete Telegram playbook. Each update is offered through the fake's
`getUpdates`; its latency runs from offering it until the bot's last call for that chat (the
buyer waits until the chat has been quiet for a moment before the next step). Figures per bot:

- CPU per update: user + system time of the bot process (from /proc), divided by updates. The
  fake runs in this process, so its HTML checks and HTTP serving never count as the bot's cost;
- saturation throughput: every buyer sends their next step as soon as the previous one is
  answered (closed loop), updates per second over the run;
- latency at an offered rate (30 updates a second by default): a pacer releases one update per
  1/rate seconds to whichever buyer is ready; p50/p95/p99.

Both bots run without PTB's overall rate limiter (``TELEGRAM_MAX_RATE=0`` for ours; the echo bot
has none), so the figures are the bots' own capacity rather than Telegram's cap of 30 messages a
second, which the limiter enforces in production.

The echo bot cannot show buttons, so it replays the product's run as a trace (the same texts, and
presses with the same data on its own last message).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import PLAYBOOK, summary_ms
from tests.fakes.botapi import FakeBotApi
from tests.fakes.inprocess import TOKEN

ROOT = Path(__file__).resolve().parents[1]
QUIET_S = 0.1
STEP_TIMEOUT_S = 20.0
CLK_TCK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    trace: dict[int, list[tuple[str, str]]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    wall: float = 0.0
    cpu: float = 0.0


class Pacer:
    """Hands out permission to offer an update at a fixed rate (None: as fast as asked)."""

    def __init__(self, rate: float | None) -> None:
        self.interval = 1.0 / rate if rate else 0.0
        self.next_at = time.monotonic()
        self.lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self.lock:
            slot = max(self.next_at, time.monotonic())
            self.next_at = slot + self.interval
        delay = slot - time.monotonic()
        if delay > 0:
            time.sleep(delay)


def start_bot(kind: str, fake: FakeBotApi, data: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "INKOOPKOMPAS_"))}
    env |= {
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_API_BASE_URL": fake.base_url,
        "INKOOPKOMPAS_LOG_LEVEL": "WARNING",
        # The bot's own capacity, like the echo bot's: in production AIORateLimiter holds all
        # chats together to Telegram's 30 messages a second, which would cap this run instead.
        "TELEGRAM_MAX_RATE": "0",
    }
    args = (
        ["-m", "bot.cli", "telegram", "--data-dir", str(data)]
        if kind == "ours"
        else ["-m", "bench.echo_bot"]
    )
    process = subprocess.Popen(
        [sys.executable, *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while not fake.polling:
        if process.poll() is not None or time.monotonic() > deadline:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            process.kill()
            raise SystemExit(f"{kind} bot did not start polling:\n{err[-2000:]}")
        time.sleep(0.05)
    return process


def stop_bot(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def settle(fake: FakeBotApi, chat: int, mark: int, offered: float) -> float:
    """Wait until the bot answered in this chat and then stayed quiet; when its last call came."""
    deadline = offered + STEP_TIMEOUT_S
    last = None
    while time.monotonic() < deadline:
        ops = fake.message_ops(chat, after=mark)
        if ops:
            last = max(c.at for c in ops)
            if time.monotonic() - last >= QUIET_S:
                return last - offered
        time.sleep(0.01)
    raise TimeoutError(f"chat {chat}: no complete answer within {STEP_TIMEOUT_S} s")


def buyer_ours(fake: FakeBotApi, user: int, pacer: Pacer, run: Run) -> None:
    trace: list[tuple[str, str]] = []
    pressed: Keyboard | None = None
    for step in PLAYBOOK:
        pacer.wait()
        if step[0] == "say":
            mark = len(fake.calls)
            offered = time.monotonic()
            fake.send_text(user, user, step[1])
            trace.append(("say", step[1]))
        else:
            label = "Klaar" if step[0] == "done" else step[1]
            message_id, data, keyboard = fake.wait_for(
                functools.partial(_button, fake, user, label, pressed), STEP_TIMEOUT_S
            )
            pressed = keyboard
            mark = len(fake.calls)
            offered = time.monotonic()
            fake.press(user, user, message_id, data)
            trace.append(("tap", data))
        run.latencies.append(settle(fake, user, mark, offered))
    run.trace[user] = trace


Keyboard = tuple[int, tuple[tuple[str, str | None], ...]]


def _button(
    fake: FakeBotApi, user: int, label: str, pressed: Keyboard | None
) -> tuple[int, str, Keyboard] | None:
    """The button with `label` on the chat's latest keyboard, once the bot has answered the last
    press: a keyboard exactly as it was when pressed is the old one, still about to change."""
    keyboards = [m for m in fake.bubbles(user) if any(d for _, d in m.buttons())]
    if not keyboards:
        return None
    message = keyboards[-1]
    buttons = message.buttons()
    keyboard = (message.message_id, tuple(buttons))
    if keyboard == pressed:
        return None
    exact = [d for text, d in buttons if d and (text == label or text.endswith(" " + label))]
    found = exact or [d for text, d in buttons if d and label in text]
    return (message.message_id, found[0], keyboard) if len(found) == 1 else None


def buyer_echo(
    fake: FakeBotApi, user: int, steps: list[tuple[str, str]], pacer: Pacer, run: Run
) -> None:
    for kind, payload in steps:
        pacer.wait()
        mark = len(fake.calls)
        offered = time.monotonic()
        if kind == "say":
            fake.send_text(user, user, payload)
        else:
            message = fake.last_message(user)
            assert message is not None
            fake.press(user, user, message.message_id, payload, strict=False)
        run.latencies.append(settle(fake, user, mark, offered))


def one_run(
    kind: str, buyers: int, rate: float | None, trace: dict[int, list[tuple[str, str]]] | None
) -> Run:
    fake = FakeBotApi().start()
    fake.checks = False
    data = Path(tempfile.mkdtemp(prefix="inkoopkompas-http-"))
    run = Run()
    try:
        process = start_bot(kind, fake, data)
        try:
            users = [70_000_000 + i for i in range(buyers)]
            pacer = Pacer(rate)
            threads = []
            for index, user in enumerate(users):
                if kind == "ours":
                    target: Any = buyer_ours
                    args: tuple[Any, ...] = (fake, user, pacer, run)
                else:
                    assert trace is not None
                    steps = list(trace.values())[index % len(trace)]
                    args = (fake, user, steps, pacer, run)
                    target = buyer_echo
                threads.append(threading.Thread(target=_guard(target, run), args=args))
            cpu_before = cpu_seconds(process.pid)
            start = time.monotonic()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            run.wall = time.monotonic() - start - QUIET_S
            run.cpu = cpu_seconds(process.pid) - cpu_before
        finally:
            stop_bot(process)
    finally:
        fake.stop()
        shutil.rmtree(data, ignore_errors=True)
    return run


def _guard(target: Any, run: Run) -> Any:
    def guarded(*args: Any) -> None:
        try:
            target(*args)
        except Exception as exc:  # one buyer's failure is reported, not hidden
            run.failures.append(f"{type(exc).__name__}: {exc}"[:300])

    return guarded


def figures(run: Run) -> dict[str, Any]:
    updates = len(run.latencies)
    return {
        "updates": updates,
        "failures": run.failures[:5],
        "updates_per_s": round(updates / run.wall, 1) if run.wall else None,
        "cpu_ms_per_update": round(run.cpu / updates * 1000, 3) if updates else None,
        "latency": summary_ms(run.latencies),
    }


def measure(buyers: int = 30, rate: float = 30.0) -> dict[str, Any]:
    """Saturation with `buyers` at once; the paced runs use a third of them, at least eight (enough
    to offer the rate with each buyer's steps well apart)."""
    ours_saturated = one_run("ours", buyers, None, None)
    echo_saturated = one_run("echo", buyers, None, ours_saturated.trace)
    paced = max(8, buyers // 3)
    ours_paced = one_run("ours", paced, rate, None)
    echo_paced = one_run("echo", paced, rate, ours_saturated.trace)
    result: dict[str, Any] = {
        "buyers": buyers,
        "paced_buyers": paced,
        "offered_rate": rate,
        "ours_saturated": figures(ours_saturated),
        "echo_saturated": figures(echo_saturated),
        "ours_paced": figures(ours_paced),
        "echo_paced": figures(echo_paced),
    }
    ours_cpu = result["ours_saturated"]["cpu_ms_per_update"]
    echo_cpu = result["echo_saturated"]["cpu_ms_per_update"]
    result["cpu_ratio_to_echo"] = round(ours_cpu / echo_cpu, 2) if ours_cpu and echo_cpu else None
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--buyers", type=int, default=30)
    parser.add_argument("--rate", type=float, default=30.0)
    args = parser.parse_args()
    print(json.dumps(measure(args.buyers, args.rate), indent=2))

"""The crash script (bench/crash.py) on a small budget, so it cannot rot unnoticed.

Run as a person runs it, in a subprocess: once against the real chat, where it must find nothing,
and once against a chat that prints its reply before saving, where it must find the loss. The
second run is what shows the first one means something.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# Acknowledges first and saves later: each event's save happens only when the next event arrives,
# so a kill while the chat waits for input loses the answer it has just acknowledged.
LAZY_CHAT = """
from bot.cli import main
from flows.engine import Conversation

pending = []
real_handle = Conversation.handle
real_save = Conversation._save


def handle(self, user_key, event):
    while pending:
        real_save(self, pending.pop())
    return real_handle(self, user_key, event)


Conversation.handle = handle
Conversation._save = lambda self, session: pending.append(session)
raise SystemExit(main())
"""


def crash(*args: str, path: Path | None = None) -> tuple[int, dict[str, Any]]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if path is not None:
        env["PYTHONPATH"] = str(path)
    result = subprocess.run(
        [sys.executable, str(REPO / "bench" / "crash.py"), "--json", *args],
        capture_output=True,
        text=True,
        timeout=110,
        env=env,
        check=False,
    )
    assert result.stdout.strip(), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_kills_at_every_kind_of_moment_lose_nothing() -> None:
    code, summary = crash("--kills", "8", "--seed", "7")
    assert summary["problems"] == []
    assert code == 0
    assert summary["kills"] >= 8
    assert len(summary["kills_by_moment"]) >= 3
    assert summary["lines_acknowledged"] > 0
    assert summary["answers_acknowledged"] > 0
    assert summary["answers_checked"] >= summary["answers_acknowledged"]
    assert summary["lost"] == 0
    assert summary["mismatched_prompts"] == 0
    assert summary["unexpected_output"] == 0
    assert summary["unreadable_files"] == 0
    assert summary["chat_failures"] == 0


def test_a_chat_that_acknowledges_before_saving_is_caught(tmp_path: Path) -> None:
    (tmp_path / "lazy_chat.py").write_text(LAZY_CHAT, encoding="utf-8")
    code, summary = crash(
        "--kills", "6", "--seed", "3", "--chat-module", "lazy_chat", path=tmp_path
    )
    assert code == 1
    assert summary["lost"] > 0
    assert any("acknowledged answer" in p and "lost" in p for p in summary["problems"])

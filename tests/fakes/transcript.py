"""A chat as a phone shows it: the fake's messages as an HTML page of bubbles with buttons.

`python -m tests.fakes.transcript out.html` plays a whole tender through the in-process fake and
writes the page; open it at phone width (for example headless chromium with
`--window-size=390,844 --screenshot`) to look at it the way a buyer would.
"""

from __future__ import annotations

import asyncio
import html
import sys
import tempfile
from pathlib import Path

from tests.fakes.botapi import FakeBotApi
from tests.fakes.harness import USER, start_harness
from tests.fakes.tender import play_tender

STYLE = """
body { background:#d9e4ea; font:15px/1.35 -apple-system,Segoe UI,Roboto,sans-serif; margin:0;
       padding:8px; }
.bot, .me { max-width:85%; margin:6px 0; padding:7px 10px; border-radius:12px;
            white-space:pre-wrap; word-wrap:break-word; }
.bot { background:#fff; }
.me { background:#e1f7c9; margin-left:auto; }
.keys { display:grid; gap:4px; margin:4px 0 10px; max-width:85%; }
.keys span { background:rgba(70,100,120,.55); color:#fff; border-radius:8px; padding:7px 4px;
             text-align:center; white-space:nowrap; overflow:hidden; text-overflow:ellipsis; }
.file { color:#2a6; }
"""


def _entities_html(text: str, entities: tuple[dict[str, object], ...]) -> str:
    units = text.encode("utf-16-le")
    marks: dict[int, list[str]] = {}
    tags = {"bold": "b", "italic": "i", "code": "code", "underline": "u"}
    for e in entities:
        tag = tags.get(str(e.get("type")))
        if tag is None:
            continue
        start, end = int(str(e["offset"])), int(str(e["offset"])) + int(str(e["length"]))
        marks.setdefault(start, []).append(f"<{tag}>")
        marks.setdefault(end, []).insert(0, f"</{tag}>")
    out, position = [], 0
    for cut in sorted(marks):
        out.append(html.escape(units[position * 2 : cut * 2].decode("utf-16-le")))
        out.extend(marks[cut])
        position = cut
    out.append(html.escape(units[position * 2 :].decode("utf-16-le")))
    return "".join(out)


def transcript(fake: FakeBotApi, chat_id: int) -> str:
    """Both sides of the chat in message order, each bot message as it stands after its edits."""
    items: list[tuple[int, str]] = []
    for message in fake.messages(chat_id):
        if message.deleted:
            continue
        if message.kind != "text":
            items.append((message.message_id, f'<div class="bot file">📎 {message.filename}</div>'))
            continue
        body = _entities_html(message.plain_text or "", message.entities)
        block = f'<div class="bot">{body}</div>'
        for row in (message.reply_markup or {}).get("inline_keyboard", []):
            cells = "".join(f"<span>{html.escape(str(b.get('text')))}</span>" for b in row)
            block += f'<div class="keys" style="grid-template-columns:repeat({len(row)},1fr)">'
            block += f"{cells}</div>"
        items.append((message.message_id, block))
    for update in fake.updates_sent:
        sent = update.get("message") or {}
        if sent.get("chat", {}).get("id") == chat_id and "text" in sent:
            text = html.escape(str(sent["text"]))
            items.append((int(sent["message_id"]), f'<div class="me">{text}</div>'))
    body = "\n".join(block for _id, block in sorted(items))
    return f"<!doctype html><meta charset=utf-8><style>{STYLE}</style>\n{body}\n"


async def _play(scratch: Path) -> str:
    tg = await start_harness(scratch / "data")
    await play_tender(tg)
    await tg.app.shutdown()
    return transcript(tg.fake, USER)


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as scratch:
        page = asyncio.run(_play(Path(scratch)))
    Path(sys.argv[1] if len(sys.argv) > 1 else "transcript.html").write_text(page, "utf-8")

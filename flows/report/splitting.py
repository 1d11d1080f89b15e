"""Cutting rich text into chat messages that fit Telegram's limit without breaking markup.

Text is cut between blocks (blank lines), then lines; a single line longer than the limit (a
4,000-character answer) loses its inline tags and is cut at word boundaries, each piece escaped
again. A buyer's own text may contain blank lines inside a template's `<i>...</i>`, so any tag
still open at a cut is closed there and opened again at the start of the next message.
"""

from __future__ import annotations

import html
import re

TELEGRAM_LIMIT = 4096
_TAGS = re.compile(r"</?(?:b|i|code)>")
_TAG = re.compile(r"<(/?)(b|i|code)>")
TAG_RESERVE = 32


def _hard_split(line: str, limit: int) -> list[str]:
    text = html.unescape(_TAGS.sub("", line))
    pieces: list[str] = []
    current = ""
    for word in re.split(r"(\s+)", text):
        while len(html.escape(word, quote=False)) > limit:
            head = word[: limit // 6]
            pieces += [p for p in (current, head) if p]
            current, word = "", word[len(head) :]
        if len(html.escape(current + word, quote=False)) > limit:
            pieces.append(current)
            current = word.lstrip()
        else:
            current += word
    if current.strip():
        pieces.append(current)
    return [html.escape(p.strip(), quote=False) for p in pieces if p.strip()]


def _balanced(parts: list[str]) -> list[str]:
    out: list[str] = []
    carried: list[str] = []
    for part in parts:
        text = "".join(f"<{tag}>" for tag in carried) + part
        stack: list[str] = []
        for closing, tag in _TAG.findall(text):
            if not closing:
                stack.append(tag)
            elif stack and stack[-1] == tag:
                stack.pop()
        out.append(text + "".join(f"</{tag}>" for tag in reversed(stack)))
        carried = stack
    return out


def split_message(text: str, limit: int = TELEGRAM_LIMIT) -> list[str]:
    """Messages of at most `limit` characters, cut at sections, then blocks, lines and words."""
    room = limit - TAG_RESERVE if limit > 4 * TAG_RESERVE else limit
    parts = _split(text, room)
    return _balanced(parts) if len(parts) > 1 else parts


def _split(text: str, limit: int) -> list[str]:
    """Whole sections (text between two blank lines, as the summary template leaves them) are
    kept together, so each message a person gets starts at a heading; only a section longer than
    a message is cut inside, between its blocks."""
    messages: list[str] = []
    current = ""
    for section in re.split(r"\n{3,}", text.strip()):
        section = section.strip()
        if not section:
            continue
        if len(section) > limit:
            parts = _pack(_units(section, limit), limit)
            messages += [current, *parts[:-1]] if current else parts[:-1]
            current = parts[-1]
            continue
        candidate = f"{current}\n\n{section}" if current else section
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = section
    if current:
        messages.append(current)
    return messages


def _units(text: str, limit: int) -> list[str]:
    units: list[str] = []
    for block in text.split("\n\n"):
        if len(block) <= limit:
            units.append(block)
            continue
        for line in block.split("\n"):
            units += [line] if len(line) <= limit else _hard_split(line, limit)
    return units


def _pack(units: list[str], limit: int) -> list[str]:
    messages: list[str] = []
    current = ""
    for unit in units:
        candidate = f"{current}\n\n{unit}" if current else unit
        if len(candidate) <= limit:
            current = candidate
        else:
            messages.append(current)
            current = unit
    return [*messages, current] if current else messages

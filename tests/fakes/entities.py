"""Telegram's HTML parse mode, modelled on TDLib so offsets and error texts match Telegram's.

The one text validator of the test doubles: a message is stored as the plain text and entities this
returns, exactly what Telegram keeps and shows, and what a button press hands back to the bot.
One deliberate deviation: a bare ``&`` that starts no entity is refused (Telegram tolerates it),
because unescaped user text is a bug even when it happens to pass.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


class EntityParseError(ValueError):
    """Text that Telegram would refuse with "can't parse entities"."""


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
# TDLib's is_space; NUL is in it because TDLib scans NUL-terminated strings, and here `_at`
# returns 0 past the end, which keeps the scanning loops identical.
_TD_SPACE = frozenset(b" \t\r\n\0\v")


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _at(data: bytes, i: int) -> int:
    return data[i] if i < len(data) else 0


def _utf16_units(lead_byte: int) -> int:
    """UTF-16 units for a UTF-8 sequence starting with this byte (0 for continuation bytes)."""
    if lead_byte & 0xC0 == 0x80:
        return 0
    return 2 if lead_byte >= 0xF0 else 1


def _decode_html_entity(data: bytes, pos: int) -> tuple[int, int]:
    """(code point or 0, position after it); Telegram only knows lt, gt, amp, quot and &#...;"""
    end = pos + 1
    code = 0
    if _at(data, pos + 1) == ord("#"):
        end += 1
        if _at(data, pos + 2) == ord("x"):
            end += 1
            while end < len(data) and chr(data[end]) in "0123456789abcdefABCDEF":
                code = code * 16 + int(chr(data[end]), 16)
                end += 1
        else:
            while ord("0") <= _at(data, end) <= ord("9"):
                code = code * 10 + data[end] - ord("0")
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return 0, pos
    else:
        while chr(_at(data, end)).isascii() and chr(_at(data, end)).isalpha():
            end += 1
        named = {b"lt": "<", b"gt": ">", b"amp": "&", b"quot": '"'}.get(data[pos + 1 : end])
        if named is None:
            return 0, pos
        code = ord(named)
    if _at(data, end) == ord(";"):
        end += 1
    return code, end


def _link_entity(url: str) -> JSON | None:
    """Entity for a link target, or None where Telegram silently drops an unusable link."""
    url = url.strip()
    mention = re.fullmatch(r"tg://user\?id=(\d+)", url)
    if mention:
        user_id = int(mention.group(1))
        return {"type": "text_mention", "user": {"id": user_id, "is_bot": False, "first_name": "?"}}
    if not url or any(ch.isspace() for ch in url):
        return None
    if "://" not in url and not url.startswith(("tg:", "mailto:")):
        url = "http://" + url
    scheme = url.split(":", 1)[0].lower()
    if scheme not in {"http", "https", "tg", "ton", "mailto"}:
        return None
    return {"type": "text_link", "url": url}


@dataclass
class _OpenTag:
    tag: str
    argument: str
    offset: int
    out_pos: int


def parse_html(text: str, *, strict_ampersand: bool = True) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: returns (plain text, entities) or raises EntityParseError."""
    data = text.encode("utf-8")
    n = len(data)
    out = bytearray()
    entities: list[JSON] = []
    nested: list[_OpenTag] = []
    utf16 = 0
    i = 0
    while i < n:
        c = data[i]
        if c == ord("&"):
            code, end = _decode_html_entity(data, i)
            if code:
                if 0xD800 <= code <= 0xDFFF:
                    raise EntityParseError(
                        "Text contains invalid Unicode characters after decoding HTML entities, "
                        "check for unmatched surrogate code units"
                    )
                utf16 += 2 if code > 0xFFFF else 1
                out += chr(code).encode("utf-8")
                i = end
                continue
            if strict_ampersand:
                raise EntityParseError(
                    f'Unescaped "&" at byte offset {i} (Telegram tolerates this, the test '
                    "server does not: escape user text with html.escape)"
                )
        if c != ord("<"):
            utf16 += _utf16_units(c)
            out.append(c)
            i += 1
            continue

        begin = i
        i += 1
        if _at(data, i) != ord("/"):
            while _at(data, i) not in _TD_SPACE and _at(data, i) != ord(">"):
                i += 1
            if i >= n:
                raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
            tag = data[begin + 1 : i].decode("utf-8", "replace").lower()
            if tag not in _HTML_TAGS:
                raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {begin}')
            argument = ""
            while _at(data, i) != ord(">"):
                while i < n and data[i] in _TD_SPACE:
                    i += 1
                if _at(data, i) == ord(">"):
                    break
                attr_begin = i
                while _at(data, i) not in _TD_SPACE and _at(data, i) not in b"=>/\"'":
                    i += 1
                attr = data[attr_begin:i].decode("utf-8", "replace")
                if not attr:
                    raise EntityParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset {begin}'
                    )
                while i < n and data[i] in _TD_SPACE:
                    i += 1
                if _at(data, i) != ord("="):
                    if i >= n:
                        raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                    if tag == "blockquote" and attr == "expandable":
                        argument = "1"
                    continue
                i += 1
                while i < n and data[i] in _TD_SPACE:
                    i += 1
                if i >= n:
                    raise EntityParseError(f'Unclosed start tag "{tag}" at byte offset {begin}')
                if data[i] not in b"'\"":
                    token_begin = i
                    while i < n and (
                        (chr(data[i]).isascii() and chr(data[i]).isalnum()) or data[i] in b".-"
                    ):
                        i += 1
                    value = data[token_begin:i].decode("ascii").lower()
                    if _at(data, i) not in _TD_SPACE and _at(data, i) != ord(">"):
                        raise EntityParseError(
                            f"Unexpected end of name token at byte offset {token_begin}"
                        )
                else:
                    quote = data[i]
                    i += 1
                    buf = bytearray()
                    while i < n and data[i] != quote:
                        if data[i] == ord("&"):
                            code, end = _decode_html_entity(data, i)
                            if code:
                                buf += chr(code).encode("utf-8", "surrogatepass")
                                i = end
                                continue
                        buf.append(data[i])
                        i += 1
                    if i < n and data[i] == quote:
                        i += 1
                    value = buf.decode("utf-8", "replace")
                if i >= n:
                    raise EntityParseError(f"Unclosed start tag at byte offset {begin}")
                if tag == "a" and attr == "href":
                    argument = value
                elif tag == "code" and attr == "class" and value.startswith("language-"):
                    argument = value[len("language-") :]
                elif tag == "span" and attr == "class" and value.startswith("tg-"):
                    argument = value[len("tg-") :]
                elif (tag == "tg-emoji" and attr == "emoji-id") or (
                    tag == "tg-time" and attr == "format"
                ):
                    argument = value
                elif tag == "blockquote" and attr == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise EntityParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {begin}'
                )
            nested.append(_OpenTag(tag, argument, utf16, len(out)))
        else:
            if not nested:
                raise EntityParseError(f"Unexpected end tag at byte offset {begin}")
            while _at(data, i) not in _TD_SPACE and _at(data, i) != ord(">"):
                i += 1
            end_tag = data[begin + 2 : i].decode("utf-8", "replace").lower()
            while i < n and data[i] in _TD_SPACE:
                i += 1
            if _at(data, i) != ord(">"):
                raise EntityParseError(f"Unclosed end tag at byte offset {begin}")
            top = nested[-1]
            if end_tag and end_tag != top.tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {begin}, expected "</{top.tag}>", '
                    f'found "</{end_tag}>"'
                )
            if utf16 > top.offset:
                _close_html_entity(top, utf16 - top.offset, entities, out)
            nested.pop()
        i += 1  # past the '>'
    if nested:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{nested[-1].tag}"')
    for entity in entities:
        entity.pop("_language", None)
    return out.decode("utf-8", "replace"), entities


def _close_html_entity(top: _OpenTag, length: int, entities: list[JSON], out: bytearray) -> None:
    offset = top.offset
    simple = {
        "i": "italic",
        "em": "italic",
        "b": "bold",
        "strong": "bold",
        "s": "strikethrough",
        "strike": "strikethrough",
        "del": "strikethrough",
        "u": "underline",
        "ins": "underline",
        "tg-spoiler": "spoiler",
        "span": "spoiler",
    }
    tag = top.tag
    if tag in simple:
        entities.append({"type": simple[tag], "offset": offset, "length": length})
    elif tag == "tg-emoji":
        if not top.argument.isdigit() or int(top.argument) == 0:
            raise EntityParseError("Invalid custom emoji identifier specified")
        entities.append(
            {
                "type": "custom_emoji",
                "offset": offset,
                "length": length,
                "custom_emoji_id": top.argument,
            }
        )
    elif tag == "tg-time":
        return
    elif tag == "a":
        url = top.argument or out[top.out_pos :].decode("utf-8", "replace")
        link = _link_entity(url)
        if link is not None:
            entities.append({**link, "offset": offset, "length": length})
    elif tag == "pre":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "code"
            and (last["offset"], last["length"]) == (offset, length)
            and last.get("_language")
        ):
            language = last.pop("_language")
            last.clear()
            last.update({"type": "pre", "offset": offset, "length": length, "language": language})
        else:
            entities.append({"type": "pre", "offset": offset, "length": length})
    elif tag == "code":
        last = entities[-1] if entities else None
        if (
            last is not None
            and last["type"] == "pre"
            and (last["offset"], last["length"]) == (offset, length)
            and top.argument
        ):
            last["language"] = top.argument
        else:
            entity: JSON = {"type": "code", "offset": offset, "length": length}
            if top.argument:
                entity["_language"] = top.argument
            entities.append(entity)
    elif tag == "blockquote":
        kind = "expandable_blockquote" if top.argument else "blockquote"
        entities.append({"type": kind, "offset": offset, "length": length})


def trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Strip outer whitespace and clip entities as Telegram does before storing a message."""
    stripped = text.strip()
    lead = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    fixed: list[JSON] = []
    for entity in entities:
        start = max(0, entity["offset"] - lead)
        end = min(total, entity["offset"] + entity["length"] - lead)
        if end > start:
            fixed.append({**entity, "offset": start, "length": end - start})
    fixed.sort(key=lambda e: (e["offset"], -e["length"]))
    return stripped, fixed


def find_bot_commands(text: str) -> list[JSON]:
    """bot_command entities as Telegram attaches them to incoming messages (anywhere in text)."""

    def is_word(ch: str) -> bool:
        return ch.isalnum() or ch == "_"

    def is_cmd_char(ch: str) -> bool:
        return ch.isascii() and (ch.isalnum() or ch == "_")

    found: list[JSON] = []
    n = len(text)
    pos = text.find("/")
    while pos != -1:
        nxt_search = pos + 1
        prev = text[pos - 1] if pos else ""
        if not (prev and (is_word(prev) or prev in "/<>")):
            j = pos + 1
            while j < n and is_cmd_char(text[j]):
                j += 1
            command_end = j
            valid = 1 <= command_end - pos - 1 <= 64
            if valid and j < n and text[j] == "@":
                k = j + 1
                while k < n and is_cmd_char(text[k]):
                    k += 1
                valid = 3 <= k - j - 1 <= 32
                command_end = j = k
            if valid:
                following = text[j] if j < n else ""
                if not (following and (is_word(following) or following in "/<>")):
                    found.append(
                        {
                            "type": "bot_command",
                            "offset": utf16_len(text[:pos]),
                            "length": utf16_len(text[pos:command_end]),
                        }
                    )
            nxt_search = max(nxt_search, j)
        pos = text.find("/", nxt_search)
    return found

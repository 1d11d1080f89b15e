"""Decoding a Bot API request the three ways Telegram accepts (query, form or JSON, multipart)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qsl, unquote

JSON = dict[str, Any]


class WireError(ValueError):
    """A request Telegram could not even decode (answered with 400 by the server)."""


# Form-encoded and multipart requests carry every value as a string (PTB JSON-dumps non-strings
# and sends strings as they are), so the fake needs to know which parameters to decode.
INT_PARAMS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "timeout",
        "user_id",
        "cache_time",
        "message_thread_id",
        "reply_to_message_id",
        "from_chat_id",
    }
)
BOOL_PARAMS = frozenset(
    {
        "show_alert",
        "disable_notification",
        "protect_content",
        "drop_pending_updates",
        "disable_web_page_preview",
        "allow_sending_without_reply",
        "has_spoiler",
        "disable_content_type_detection",
        "show_caption_above_media",
        "allow_paid_broadcast",
    }
)
JSON_PARAMS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "commands",
        "scope",
        "link_preview_options",
        "reply_parameters",
        "menu_button",
        "media",
    }
)


@dataclass(frozen=True)
class Upload:
    content: bytes
    filename: str
    mime_type: str


def _header_params(value: str) -> dict[str, str]:
    """Parameters of a header such as Content-Disposition, honouring quoting and RFC 5987."""
    params: dict[str, str] = {}
    for match in re.finditer(r';\s*([\w*-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^;]*)', ";" + value):
        key, raw = match.group(1).lower(), match.group(2).strip()
        if key.endswith("*"):
            _charset, _, encoded = raw.partition("''")
            params[key[:-1]] = unquote(encoded)
            continue
        if raw.startswith('"'):
            raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
            raw = raw.replace("%22", '"').replace("%0D", "\r").replace("%0A", "\n")
        params.setdefault(key, raw)
    return params


def _parse_multipart(body: bytes, content_type: str) -> tuple[JSON, dict[str, Upload]]:
    boundary = _header_params(content_type).get("boundary")
    if not boundary:
        raise WireError("can't parse multipart/form-data: no boundary")
    fields: JSON = {}
    uploads: dict[str, Upload] = {}
    for chunk in body.split(b"--" + boundary.encode("latin-1"))[1:]:
        if chunk.startswith(b"--"):
            break
        chunk = chunk.removeprefix(b"\r\n").removesuffix(b"\r\n")
        head, _, content = chunk.partition(b"\r\n\r\n")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        disposition = _header_params(headers.get("content-disposition", ""))
        field_name = disposition.get("name")
        if field_name is None:
            continue
        if "filename" in disposition:
            uploads[field_name] = Upload(
                content,
                disposition["filename"],
                headers.get("content-type", "application/octet-stream"),
            )
        else:
            fields[field_name] = content.decode("utf-8", "replace")
    return fields, uploads


def coerce(params: JSON, *, from_strings: bool) -> JSON:
    """Give parameters the types Telegram would interpret them as."""
    result: JSON = {}
    for key, value in params.items():
        if isinstance(value, str):
            if key in INT_PARAMS and re.fullmatch(r"-?\d+", value.strip()):
                value = int(value)
            elif key in BOOL_PARAMS and value.lower() in {"true", "false", "1", "0", ""}:
                value = value.lower() in {"true", "1"}
            elif key in JSON_PARAMS and (from_strings or value[:1] in "[{"):
                try:
                    value = json.loads(value)
                except ValueError:
                    raise WireError(f"can't parse {key} JSON object") from None
        result[key] = value
    return result


def read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = bytearray()
        while True:
            size = int(handler.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(chunks)
            chunks += handler.rfile.read(size)
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def decode_params(
    handler: BaseHTTPRequestHandler, query: str, body: bytes
) -> tuple[JSON, dict[str, Upload]]:
    """Query string plus body, whichever of the three encodings Telegram accepts was used."""
    params: JSON = dict(parse_qsl(query, keep_blank_values=True))
    uploads: dict[str, Upload] = {}
    content_type = handler.headers.get("Content-Type", "")
    media_type = content_type.split(";", 1)[0].strip().lower()
    from_strings = True
    if media_type == "application/json" and body.strip():
        try:
            decoded = json.loads(body)
        except ValueError:
            raise WireError("can't parse JSON object") from None
        if not isinstance(decoded, dict):
            raise WireError("can't parse JSON object")
        params.update(decoded)
        from_strings = False
    elif media_type == "multipart/form-data":
        fields, uploads = _parse_multipart(body, content_type)
        params.update(fields)
    elif body:
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return coerce(params, from_strings=from_strings), uploads

"""Logging that can never reveal the bot token.

PTB puts the token in every request URL and httpx logs those URLs at INFO; exceptions and
`repr(bot)` can carry it too. A filter on every handler rewrites each record, traceback included,
before it is written, masking the configured token and anything shaped like one.
"""

from __future__ import annotations

import logging
import re
import sys
from typing import TextIO

TOKEN_LIKE = re.compile(r"\d{3,20}:[A-Za-z0-9_-]{30,64}")
MASK = "<token verborgen>"


class RedactTokens(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s)

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return TOKEN_LIKE.sub(MASK, text)

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self.redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def setup_logging(
    level: str,
    token: str | None = None,
    stream: TextIO | None = None,
    secrets: tuple[str | None, ...] = (),
) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactTokens(tuple(s for s in (token, *secrets) if s)))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs every request URL, token included, at INFO; keep HTTP clients to real problems.
    for noisy in ("httpx", "httpcore", "aiohttp"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
    # At DEBUG, PTB logs every Bot API call with its parameters and every update it receives:
    # that is the buyers' answers. PTB stays at INFO; the bot's own DEBUG lines remain.
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLevelName(level)))

"""Turning people's and chats' keys into names that are safe on any file system."""

from __future__ import annotations

import hashlib
import re

_VERBATIM = re.compile(r"[a-z0-9_-]{1,64}")
_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_-]+")
_PREFIX_LEN = 40
_HASH_LEN = 16
_TENDER_ID = re.compile(r"[a-z0-9_-]{1,64}")


def safe_key(key: str) -> str:
    """Map any user or chat key to a directory/file name, deterministically and without collisions.

    Keys that are already tame (``tg-123456``, ``cli-alice``) are kept as they are, so an operator
    can find a person's data by eye. Anything else keeps its safe characters as a readable prefix
    and gets a 64-bit hash of the full original key after a ``.``; kept keys never contain ``.``,
    so a kept name can never equal a hashed one, and two hashed names only meet on a hash
    collision.

    Upper case also takes the hashed route: on a case-insensitive file system (macOS, Windows)
    ``cli-Alice`` and ``cli-alice`` would otherwise share one directory.
    """
    if not isinstance(key, str) or not key:
        raise ValueError(f"a storage key must be a non-empty string, got {key!r}")
    if _VERBATIM.fullmatch(key):
        return key
    prefix = _UNSAFE_RUN.sub("_", key)[:_PREFIX_LEN]
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_LEN]
    return f"{prefix}.{digest}"


def check_tender_id(tender_id: str) -> str:
    """Refuse tender ids that could escape the tenders directory or clash by case."""
    if not isinstance(tender_id, str) or not _TENDER_ID.fullmatch(tender_id):
        raise ValueError(
            f"invalid tender id {tender_id!r}: use 1-64 characters from a-z, 0-9, '_' and '-'"
        )
    return tender_id

"""Memory that stays bounded over the life of the bot process (performance target 7).

PTB's `Application` without the bookkeeping for a persistence this bot does not have: after every
update (and every job) PTB 22 notes its chat id and user id in two sets, for the next
run of `update_persistence`, which empties them, but only when a persistence is configured. This
bot keeps its data in its own store and configures none, so the sets held every chat and user id
the process had ever seen: about 250 bytes per buyer for the life of the process, against
"nothing kept for buyers gone quiet" (performance target 7; see bench/memory.py). The note is
skipped when there is nothing to write it to.

glibc's allocator with a fixed threshold for separate mappings (`tune_malloc`): by default glibc
raises that threshold to the size of every large block freed, so from then on blocks of hundreds
of kilobytes to megabytes (the interpreter's table of interned strings, reallocated as the store's
paths are interned part by part; the journal's zeroed megabyte) are carved from the heap, and
each reallocation leaves a hole that later requests do not fill. The resident size then grew by
3-8 MB for every thousand buyers after the previous thousand had gone quiet, hour after hour,
while the Python objects alive stayed the same (bench/memory.py). With a fixed threshold such
blocks get their own mapping and go back to the system when freed: flat, hour after hour.

Smaller blocks stay in the heap. What quiet buyers' objects held there is free again, but pages
with a living object elsewhere on them stay resident: about 1.4 KB per buyer gone quiet, hour
after hour. `trim_malloc`, run by the bot's forget job every few minutes, gives those pages back.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Any

from telegram.ext import Application, Job

log = logging.getLogger(__name__)
M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number (malloc.h)
MMAP_THRESHOLD = 256 * 1024
"""Blocks from this size up get their own mapping: the default's starting point is 128 KiB; a
little higher keeps the many blocks just above it (documents, charts) off the system call path."""


def tune_malloc() -> bool:
    """Fix glibc's mmap threshold (see the module docstring); False where there is no glibc
    `mallopt` (macOS, musl), which changes nothing there. Process-wide: call once at start-up."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD))
    log.debug(
        "malloc: vaste mmap-drempel %d bytes %s",
        MMAP_THRESHOLD,
        "ingesteld" if done else "niet ingesteld",
    )
    return done


def trim_malloc() -> bool:
    """Give the free pages inside glibc's heaps back to the system (`malloc_trim`): what a quiet
    buyer's objects occupied is free for the allocator, but stays resident until trimmed when
    living objects sit around it. False where there is no glibc."""
    try:
        malloc_trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return False
    malloc_trim.argtypes = [ctypes.c_size_t]
    malloc_trim.restype = ctypes.c_int
    return bool(malloc_trim(0))


class BoundedApplication(Application[Any, Any, Any, Any, Any, Any]):
    """`Application` that remembers no chat or user for a persistence that does not exist."""

    __slots__ = ()

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Job[Any] | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)

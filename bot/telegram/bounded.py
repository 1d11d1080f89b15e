"""PTB's `Application` without the bookkeeping for a persistence this bot does not have.

After every update (and every job) PTB 22 notes its chat id and user id in two sets, for the next
run of `update_persistence`, which empties them, but only when a persistence is configured. This
bot keeps its data in its own store and configures none, so the sets held every chat and user id
the process had ever seen: about 250 bytes per buyer for the life of the process, against
"nothing kept for buyers gone quiet" (performance target 7; see bench/memory.py). The note is
skipped when there is nothing to write it to.
"""

from __future__ import annotations

from typing import Any

from telegram.ext import Application, Job


class BoundedApplication(Application[Any, Any, Any, Any, Any, Any]):
    """`Application` that remembers no chat or user for a persistence that does not exist."""

    __slots__ = ()

    def _mark_for_persistence_update(
        self, *, update: object | None = None, job: Job[Any] | None = None
    ) -> None:
        if self.persistence is not None:
            super()._mark_for_persistence_update(update=update, job=job)

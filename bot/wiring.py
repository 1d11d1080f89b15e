"""Building the pieces both channels share: the store (checked at start-up) and user keys."""

from __future__ import annotations

import getpass
from pathlib import Path

from storage import StorageError, Store


class StorageProblem(RuntimeError):
    """The data directory cannot be used; the message says which file and what to do."""


def open_store(data_dir: Path, error: type[Exception] = StorageProblem) -> Store:
    """The store, refusing to start when a data file is unreadable rather than overwrite it."""
    try:
        store = Store(data_dir)
        broken = store.check()
    except (OSError, StorageError) as exc:
        raise error(f"kan de gegevensmap {data_dir} niet gebruiken: {exc}") from exc
    if broken:
        names = ", ".join(str(p) for p in broken[:5])
        more = f" en nog {len(broken) - 5}" if len(broken) > 5 else ""
        raise error(
            f"onleesbaar gegevensbestand: {names}{more}. Ik overschrijf het niet; zet het apart "
            "(of herstel het) en start opnieuw."
        )
    return store


def user_key_for_console(user: str | None) -> str:
    name = (user or "").strip() or getpass.getuser() or "ik"
    return f"cli-{name}"


def user_key_for_telegram(user_id: int) -> str:
    return f"tg-{user_id}"

"""Building the pieces both channels share: the store and user keys.

The store opens in constant time: it takes the data directory's lock, replays what the journal
holds, and checks every file in the background, moving unreadable ones aside and naming them in
the log, instead of reading every file before the first prompt.
"""

from __future__ import annotations

import getpass
import logging
from pathlib import Path
from typing import Any

from flows.engine import MODES
from flows.spec import FlowSpec, load_spec, split_slot_id
from storage import DataDirInUse, Rules, StorageError, Store

log = logging.getLogger("inkoopkompas.storage")


class StorageProblem(RuntimeError):
    """The data directory cannot be used; the message says which file and what to do."""


def open_store(data_dir: Path, error: type[Exception] = StorageProblem) -> Store:
    """The store, refusing to start on a directory another process uses."""
    try:
        store = Store(data_dir, rules=record_rules(load_spec()))
    except DataDirInUse as exc:
        owner = f"proces {exc.pid}" if exc.pid else "een ander proces"
        raise error(
            f"de gegevensmap {data_dir} is al in gebruik door {owner}; stop dat eerst of kies "
            "een andere map met --data-dir."
        ) from exc
    except (OSError, StorageError) as exc:
        raise error(f"kan de gegevensmap {data_dir} niet gebruiken: {exc}") from exc
    store.check_in_background(_report)
    return store


def _report(bad: list[Path]) -> None:
    if bad:
        log.error(
            "%d onleesbare gegevensbestanden apart gezet (zie quarantine/): %s",
            len(bad),
            ", ".join(str(path) for path in bad[:20]),
        )


def record_rules(spec: FlowSpec) -> Rules:
    """Record checks that know the questions: each stored answer must have its question's type."""

    def answer_ok(slot: str, value: Any) -> bool:
        question = spec.questions.get(split_slot_id(slot)[0])
        if question is None:
            return True
        if question.kind == "text":
            return isinstance(value, str)
        if question.kind == "year":
            return type(value) is int
        if question.kind == "yesno":
            return isinstance(value, bool)
        if question.kind in ("multi", "order"):
            return isinstance(value, list) and all(_scalar(item) for item in value)
        return _scalar(value)

    return Rules(modes=frozenset(MODES), answer_ok=answer_ok)


def _scalar(value: Any) -> bool:
    return isinstance(value, str) or type(value) is int


def user_key_for_console(user: str | None) -> str:
    name = (user or "").strip() or getpass.getuser() or "ik"
    return f"cli-{name}"


def user_key_for_telegram(user_id: int) -> str:
    return f"tg-{user_id}"

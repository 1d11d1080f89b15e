"""`inkoopkompas export --user ID` and `import FILE`: one person's data to another installation.

The export is one JSON file with the person's own document and every tender (meta, state and
answers), written readable only by its owner. Import goes through the store's own API, so the
files it writes are checked and atomic like any other save; tenders get new ids on the way in and
the person's active tender follows. Team checks in group chats belong to the group, not to one
person, and are not part of it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from bot.config import ConfigError, load_settings
from bot.wiring import open_store
from storage import Store

FORMAT = "inkoopkompas-export"
VERSION = 1


def export_person(store: Store, user_key: str) -> dict[str, Any]:
    user = store.get_user(user_key)
    tenders = []
    for meta in store.list_tenders(user_key):
        tender = store.get_tender(user_key, str(meta["id"]))
        if tender is not None:
            tenders.append(
                {
                    "id": tender.id,
                    "meta": tender.meta,
                    "state": tender.state,
                    "answers": tender.answers,
                }
            )
    if user is None and not tenders:
        raise ConfigError(f"Er zijn geen gegevens van {user_key} in deze gegevensmap.")
    return {
        "format": FORMAT,
        "version": VERSION,
        "user_key": user_key,
        "user": user,
        "tenders": tenders,
    }


def import_person(store: Store, data: Any) -> str:
    """Store an export; returns the person's key. Refuses to mix with an existing person."""
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError("Dit is geen exportbestand van Inkoopkompas.")
    if data.get("version") != VERSION:
        raise ConfigError(f"Exportversie {data.get('version')!r} ken ik niet (wel {VERSION}).")
    user_key = data.get("user_key")
    tenders = data.get("tenders")
    if not isinstance(user_key, str) or not isinstance(tenders, list):
        raise ConfigError("Het exportbestand is onvolledig (user_key of tenders ontbreekt).")
    if store.get_user(user_key) is not None or store.list_tenders(user_key):
        raise ConfigError(f"{user_key} heeft hier al gegevens; verwijder die eerst.")
    new_ids: dict[str, str] = {}
    for entry in tenders:
        if not isinstance(entry, dict):
            raise ConfigError("Een aanbesteding in het exportbestand is geen object.")
        meta = {k: v for k, v in dict(entry.get("meta") or {}).items() if k != "id"}
        tender = store.create_tender(user_key, meta)
        tender.state.update(dict(entry.get("state") or {}))
        tender.answers.update(dict(entry.get("answers") or {}))
        store.save_tender(user_key, tender)
        new_ids[str(entry.get("id"))] = tender.id
    user = data.get("user")
    if isinstance(user, dict):
        user = dict(user)
        if user.get("active") is not None:
            user["active"] = new_ids.get(str(user["active"]))
        store.save_user(user_key, user)
    return user_key


def write_private(path: Path, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def main(args: argparse.Namespace) -> int:
    settings = load_settings(data_dir=args.data_dir)
    store = open_store(settings.data_dir)
    if args.command == "export":
        data = export_person(store, args.user)
        try:
            write_private(args.output, json.dumps(data, ensure_ascii=False, indent=1))
        except OSError as exc:
            raise ConfigError(f"{args.output}: kan niet schrijven ({exc.strerror})") from exc
        print(f"{len(data['tenders'])} aanbesteding(en) van {args.user} staan in {args.output}.")
        return 0
    try:
        data = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{args.file}: geen leesbaar exportbestand ({exc})") from exc
    user_key = import_person(store, data)
    count = len(store.list_tenders(user_key))
    print(f"{count} aanbesteding(en) van {user_key} zijn ingelezen.", file=sys.stdout)
    return 0

"""`inkoopkompas doctor`: what is wrong with this installation, in plain words, before users notice.

Each check says what it looked at and, when something is off, what to do about it. The token is
only ever sent to the Bot API's getMe; it is never printed, not even in part.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import httpx

from bot.config import ConfigError, Settings, load_settings
from storage import DataDirInUse
from storage.dirlock import DirectoryLock

DEFAULT_API = "https://api.telegram.org/bot"
FREE_SPACE_MIN = 200 * 1024 * 1024
FILES_CHECKED_MAX = 2000
Verdict = Literal["ok", "let op", "fout"]


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    text: str

    def line(self) -> str:
        mark = {"ok": "✓", "let op": "!", "fout": "✗"}[self.verdict]
        return f"{mark} {self.text[:1].upper()}{self.text[1:]}"


def run(
    env: Mapping[str, str] | None = None,
    data_dir: Path | None = None,
    get: Callable[[str], httpx.Response] | None = None,
) -> list[Finding]:
    """Every check; `get` fetches a URL (a test hands in its own client)."""
    try:
        settings = load_settings(env, data_dir=data_dir)
    except ConfigError as exc:
        return [Finding("fout", f"Instellingen: {exc}")]
    findings = [Finding("ok", "Instellingen zijn in orde.")]
    findings += data_directory(settings.data_dir)
    findings += bot_api(settings, get or _get)
    return findings


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=10.0)


def data_directory(root: Path) -> list[Finding]:
    if not root.exists():
        return [Finding("let op", f"De gegevensmap {root} bestaat nog niet; die wordt gemaakt.")]
    if not root.is_dir():
        return [Finding("fout", f"{root} is geen map. Kies een andere INKOOPKOMPAS_DATA_DIR.")]
    out: list[Finding] = []
    try:
        with tempfile.NamedTemporaryFile(dir=root, prefix=".doctor-", delete=True):
            pass
        out.append(Finding("ok", f"De gegevensmap {root} is schrijfbaar."))
    except OSError as exc:
        out.append(Finding("fout", f"In {root} kan niet geschreven worden: {exc.strerror}."))
    out += stored_files(root)
    free = shutil.disk_usage(root).free
    megabytes = free // (1024 * 1024)
    if free < FREE_SPACE_MIN:
        out.append(Finding("fout", f"Nog maar {megabytes} MB vrij op de schijf van {root}."))
    else:
        out.append(Finding("ok", f"{megabytes} MB vrij op de schijf."))
    out += locks(root)
    return out


def stored_files(root: Path) -> list[Finding]:
    unreadable: list[str] = []
    count = 0
    for path in sorted(root.rglob("*.json")):
        if count >= FILES_CHECKED_MAX:
            break
        count += 1
        try:
            json.loads(path.read_bytes())
        except (OSError, ValueError):
            unreadable.append(str(path.relative_to(root)))
    if unreadable:
        shown = ", ".join(unreadable[:5]) + (" en meer" if len(unreadable) > 5 else "")
        return [Finding("fout", f"{len(unreadable)} bestanden zijn onleesbaar: {shown}.")]
    more = f" (de eerste {FILES_CHECKED_MAX})" if count >= FILES_CHECKED_MAX else ""
    return [Finding("ok", f"{count} opgeslagen bestanden zijn leesbaar{more}.")]


def locks(root: Path) -> list[Finding]:
    """Asked of the same lock the store takes, so the answer is the truth and not a guess from
    what a lock file says (an owner that stopped normally leaves it empty; a killed one, stale)."""
    try:
        held = DirectoryLock(root)
    except DataDirInUse as exc:
        owner = f"proces {exc.pid}" if exc.pid else "een ander proces"
        return [Finding("let op", f"De map is nu in gebruik door {owner}.")]
    except OSError as exc:
        return [Finding("fout", f"Het slotbestand is niet te openen: {exc.strerror or exc}.")]
    held.release()
    return [Finding("ok", "De map is niet in gebruik door een ander proces.")]


def bot_api(settings: Settings, get: Callable[[str], httpx.Response]) -> list[Finding]:
    base = settings.api_base_url or DEFAULT_API
    where = "de Telegram Bot API" if base == DEFAULT_API else f"de Bot API op {base}"
    if settings.token is None:
        return [Finding("let op", "Geen TELEGRAM_BOT_TOKEN: alleen de terminal werkt.")]
    try:
        response = get(f"{base}{settings.token}/getMe")
    except httpx.HTTPError as exc:
        kind = type(exc).__name__
        return [Finding("fout", f"{where} is niet bereikbaar ({kind}). Klopt het adres?")]
    if response.status_code in (401, 404):
        return [Finding("fout", f"{where} weigert het token. Kopieer het opnieuw uit @BotFather.")]
    try:
        body = response.json()
        username = str(body["result"]["username"])
    except (ValueError, KeyError, TypeError):
        return [Finding("fout", f"{where} gaf een onverwacht antwoord ({response.status_code}).")]
    return [Finding("ok", f"{where} kent het token: dit is @{username}.")]


def main(data_dir: Path | None = None) -> int:
    findings = run(data_dir=data_dir)
    for finding in findings:
        print(finding.line())
    return 1 if any(f.verdict == "fout" for f in findings) else 0

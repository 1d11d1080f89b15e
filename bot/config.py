"""Settings from the environment (and an optional `.env` file), checked once at start-up.

Every problem becomes a one-line `ConfigError` that the CLI prints before exiting with code 2, so a
misconfigured service never shows a traceback, and never echoes the token back.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

TOKEN_SHAPE = re.compile(r"^\d{3,20}:[A-Za-z0-9_-]{30,64}$")
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    log_level: str = "INFO"
    token: str | None = None
    api_base_url: str | None = None
    allowed_users: frozenset[int] | None = None
    operator_chat: int | None = None
    webhook_url: str | None = None
    """Public https address Telegram posts updates to; None means long polling."""
    webhook_listen: str = "127.0.0.1"
    webhook_port: int = 8443
    webhook_secret: str | None = None
    max_rate: float = 30.0
    """Messages per second to all chats together (Telegram's cap); 0 leaves it to Telegram."""

    def __repr__(self) -> str:
        return (
            f"Settings(data_dir={self.data_dir!s}, log_level={self.log_level}, "
            f"token={'<set>' if self.token else None}, api_base_url={self.api_base_url}, "
            f"allowed_users={sorted(self.allowed_users) if self.allowed_users else None}, "
            f"webhook_url={self.webhook_url}, "
            f"webhook_secret={'<set>' if self.webhook_secret else None})"
        )


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("inkoopkompas", appauthor=False))


def load_settings(
    env: Mapping[str, str] | None = None,
    *,
    data_dir: Path | None = None,
    need_token: bool = False,
    webhook_url: str | None = None,
) -> Settings:
    env = os.environ if env is None else env
    directory = data_dir or (
        Path(env["INKOOPKOMPAS_DATA_DIR"]).expanduser()
        if env.get("INKOOPKOMPAS_DATA_DIR")
        else default_data_dir()
    )
    level = (env.get("INKOOPKOMPAS_LOG_LEVEL") or "INFO").strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"INKOOPKOMPAS_LOG_LEVEL moet een van {', '.join(LOG_LEVELS)} zijn")
    token = (env.get("TELEGRAM_BOT_TOKEN") or "").strip() or None
    if need_token:
        if token is None:
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN ontbreekt: maak een bot bij @BotFather en zet het token in "
                "de omgeving of in .env"
            )
        if not TOKEN_SHAPE.match(token):
            raise ConfigError(
                "TELEGRAM_BOT_TOKEN heeft niet de vorm van een bottoken (cijfers, dubbele punt, "
                "code); kopieer het opnieuw uit @BotFather"
            )
    base_url = (env.get("TELEGRAM_API_BASE_URL") or "").strip() or None
    if base_url and not re.match(r"^https?://[^\s]+$", base_url):
        raise ConfigError("TELEGRAM_API_BASE_URL moet met http:// of https:// beginnen")
    allowed = None
    raw_allowed = (env.get("INKOOPKOMPAS_ALLOWED_USERS") or "").strip()
    if raw_allowed:
        parts = [p.strip() for p in raw_allowed.split(",") if p.strip()]
        if not all(re.fullmatch(r"-?\d+", p) for p in parts):
            raise ConfigError(
                "INKOOPKOMPAS_ALLOWED_USERS moet een lijst van numerieke gebruikers-id's zijn, "
                "gescheiden door komma's"
            )
        allowed = frozenset(int(p) for p in parts)
    operator = (env.get("INKOOPKOMPAS_OPERATOR_CHAT") or "").strip()
    if operator and not re.fullmatch(r"-?\d+", operator):
        raise ConfigError("INKOOPKOMPAS_OPERATOR_CHAT moet een numeriek chat-id zijn")
    webhook = webhook_options(env, webhook_url)
    rate = (env.get("TELEGRAM_MAX_RATE") or "30").strip()
    if not re.fullmatch(r"\d{1,4}(\.\d+)?", rate):
        raise ConfigError("TELEGRAM_MAX_RATE moet een getal zijn (berichten per seconde, 0 = geen)")
    return Settings(
        data_dir=directory,
        operator_chat=int(operator) if operator else None,
        log_level=level,
        token=token,
        api_base_url=base_url,
        allowed_users=allowed,
        max_rate=float(rate),
        **webhook,
    )


def webhook_options(env: Mapping[str, str], url: str | None) -> dict[str, Any]:
    """Webhook mode from `--webhook` or TELEGRAM_WEBHOOK_URL, with where to listen behind the
    reverse proxy and the secret Telegram must send along (checked by PTB on every post)."""
    url = (url or env.get("TELEGRAM_WEBHOOK_URL") or "").strip() or None
    if url is None:
        return {}
    if not re.match(r"^https://[^\s/]+(/[^\s]*)?$", url):
        raise ConfigError(
            "het webhookadres moet een https-adres zijn, bijvoorbeeld https://bot.example.nl/telegram"
        )
    secret = (env.get("TELEGRAM_WEBHOOK_SECRET") or "").strip() or None
    if secret is not None and not SECRET_SHAPE.match(secret):
        raise ConfigError(
            "TELEGRAM_WEBHOOK_SECRET mag alleen letters, cijfers, _ en - bevatten (hoogstens 256)"
        )
    port = (env.get("TELEGRAM_WEBHOOK_PORT") or "8443").strip()
    if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError("TELEGRAM_WEBHOOK_PORT moet een poortnummer zijn (1-65535)")
    return {
        "webhook_url": url,
        "webhook_listen": (env.get("TELEGRAM_WEBHOOK_LISTEN") or "127.0.0.1").strip(),
        "webhook_port": int(port),
        "webhook_secret": secret,
    }

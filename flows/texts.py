"""Every sentence the user reads, rendered from `prompts/texts.yaml` and `prompts/templates/`.

One Jinja2 environment with HTML autoescaping: whatever a buyer typed is escaped wherever it is
shown, so their text can never break a message's formatting in Telegram, and the terminal channel
strips the few inline tags. Templates are compiled at start-up so a typo fails early.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import jinja2
import yaml
from markupsafe import Markup


class TextsError(ValueError):
    """A broken text file or template; the message names the file and the key."""


def prompts_dir() -> Path:
    return Path(str(resources.files("prompts")))


def make_environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["nl_number"] = lambda n: f"{n:,}".replace(",", ".")
    return env


class Texts:
    def __init__(self, path: Path | None = None) -> None:
        base = prompts_dir()
        self.path = path or base / "texts.yaml"
        try:
            raw = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise TextsError(f"{self.path}: kan de teksten niet lezen: {exc}") from exc
        if not isinstance(raw, dict):
            raise TextsError(f"{self.path}: verwacht een mapping van sleutel naar tekst")
        self.env = make_environment(base / "templates")
        self._sources: dict[str, Any] = raw
        self._compiled: dict[str, jinja2.Template] = {}
        for key, value in self._flatten(raw):
            try:
                self._compiled[key] = self.env.from_string(value)
            except jinja2.TemplateSyntaxError as exc:
                raise TextsError(f"{self.path}: {key}: {exc}") from exc

    @staticmethod
    def _flatten(raw: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        for key, value in raw.items():
            full = f"{prefix}{key}"
            if isinstance(value, Mapping):
                out += Texts._flatten(value, full + ".")
            elif isinstance(value, str):
                out.append((full, value.strip()))
        return out

    def __call__(self, key: str, **context: Any) -> str:
        template = self._compiled.get(key)
        if template is None:
            raise KeyError(f"geen tekst met sleutel {key!r} in {self.path}")
        return template.render(**context).strip()

    def section(self, key: str) -> Mapping[str, Any]:
        value = self._sources.get(key)
        if not isinstance(value, Mapping):
            raise KeyError(key)
        return value

    def inline(self, source: str, **context: Any) -> str:
        """Render a spec string (a question prompt, a note) with the same escaping rules."""
        return _inline_template(self.env, source).render(**context).strip()

    def template(self, name: str, **context: Any) -> str:
        return self.env.get_template(name).render(**context)


@functools.lru_cache(maxsize=512)
def _inline_template(env: jinja2.Environment, source: str) -> jinja2.Template:
    return env.from_string(source)


def safe(text: str) -> Markup:
    """Mark already-rendered rich text as safe to nest inside another template."""
    return Markup(text)


def yaml_section(filename: str, section: str) -> tuple[dict[str, Any], Path]:
    """One top-level section of a YAML file in prompts/, or a clear error naming the file."""
    path = prompts_dir() / filename
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = raw.get(section) if isinstance(raw, dict) else None
    if not isinstance(found, dict):
        raise TextsError(f"{path}: sectie '{section}' ontbreekt")
    return found, path


@functools.lru_cache(maxsize=1)
def default_texts() -> Texts:
    return Texts()

"""Knowledge base of example sustainability measures per theme, ambition level and category.

The measures are data (``prompts/measures.yaml``) so that procurement specialists can edit them
without touching code; this module only loads them, refuses a broken file loudly, and picks the
measures that fit a buyer's choice of theme, ambition level and purchase category.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

import yaml

__all__ = [
    "CRITERION_TYPES",
    "LEVELS",
    "REQUIREMENT_TYPES",
    "Measure",
    "MeasuresBase",
    "MeasuresError",
    "default_measures",
]

# In the order a tender document presents them: supplier suitability, shortlisting, minimum
# requirements on the offer, award criteria, and finally the conditions for carrying out the
# contract.
CRITERION_TYPES = (
    "geschiktheidseis",
    "selectiecriterium",
    "eis",
    "gunningscriterium",
    "contractbepaling",
)

# Everything that is not scored at award. A selectiecriterium is comparative, but it only decides
# who may bid in a restricted procedure and never rewards the offer itself, so a buyer asking "what
# do I demand?" rather than "what do I reward?" should see it. Keeping the two groups complementary
# also means award=True and award=False together always return every measure. Note that only
# geschiktheidseis, eis and contractbepaling are true minimums (knock-outs).
REQUIREMENT_TYPES = frozenset({"geschiktheidseis", "selectiecriterium", "eis", "contractbepaling"})

LEVELS = (1, 2, 3)

_VERSION = 1
_MEASURE_FIELDS = frozenset({"id", "theme", "level", "category", "type", "text", "indicator"})
_REQUIRED_FIELDS = _MEASURE_FIELDS - {"category"}
_ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_TYPE_ORDER = {name: index for index, name in enumerate(CRITERION_TYPES)}


class MeasuresError(ValueError):
    """Raised for a measures file that must not reach a buyer, naming the file and the entry."""


@dataclass(frozen=True)
class Measure:
    """One example measure as a buyer could paste it into tender documents."""

    id: str
    theme: str
    level: int
    category: str | None
    type: str
    text: str
    indicator: str

    @property
    def is_award(self) -> bool:
        """Award criteria are where bidders compete; everything else is a hurdle to clear."""
        return self.type == "gunningscriterium"


@dataclass(frozen=True)
class MeasuresBase:
    """The validated measures file, read-only so a cached instance can be shared safely."""

    themes: Mapping[str, str]
    categories: Mapping[str, str]
    criterion_types: Mapping[str, str]
    measures: tuple[Measure, ...]

    @classmethod
    def load(cls, path: Path | None = None) -> MeasuresBase:
        """Read and validate the file, so a mistake in the data fails at start-up, not mid-chat."""
        reader: Callable[..., str]
        if path is None:
            resource = resources.files("prompts").joinpath("measures.yaml")
            source, reader = str(resource), resource.read_text
        else:
            source, reader = str(path), path.read_text
        try:
            text = reader(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise MeasuresError(f"{source}: cannot read: {exc}") from exc
        try:
            raw = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise MeasuresError(f"{source}: not valid YAML: {exc}") from exc
        return _parse(raw, source)

    def suggest(
        self,
        theme: str,
        level: int,
        category: str | None,
        *,
        award: bool | None = None,
        limit: int | None = None,
    ) -> list[Measure]:
        """Measures for one theme at one ambition level, the most specific ones first.

        Category measures come first because they speak the language of the purchase; the general
        ones still apply and follow. Within each group the order of a tender document is kept. A
        theme or category the buyer added themselves has no examples here, which is not an error:
        an unknown theme gives an empty list, an unknown category only the general measures.
        """
        if limit is not None and limit < 0:
            raise ValueError(f"limit must be zero or more, got {limit}")
        if theme not in self.themes:
            return []
        chosen = [
            measure
            for measure in self.measures
            if measure.theme == theme
            and measure.level == level
            and (measure.category is None or measure.category == category)
            and (award is None or measure.is_award == award)
        ]
        chosen.sort(key=lambda m: (m.category is None, _TYPE_ORDER[m.type]))
        return chosen if limit is None else chosen[:limit]


@functools.lru_cache(maxsize=1)
def default_measures() -> MeasuresBase:
    """The packaged measures, read once: the file does not change while the bot runs."""
    return MeasuresBase.load()


def _parse(raw: object, source: str) -> MeasuresBase:
    if not isinstance(raw, dict):
        raise MeasuresError(f"{source}: top level must be a mapping")
    version = raw.get("version")
    if version != _VERSION or isinstance(version, bool):
        raise MeasuresError(f"{source}: version must be {_VERSION}, got {version!r}")
    unknown = set(raw) - {"version", "themes", "categories", "criterion_types", "measures"}
    if unknown:
        raise MeasuresError(f"{source}: unknown top-level keys {sorted(unknown)}")
    themes = _labels(raw.get("themes"), "themes", source)
    categories = _labels(raw.get("categories"), "categories", source)
    criterion_types = _labels(raw.get("criterion_types"), "criterion_types", source)
    if set(criterion_types) != set(CRITERION_TYPES):
        raise MeasuresError(
            f"{source}: criterion_types must explain exactly {list(CRITERION_TYPES)}, "
            f"got {sorted(criterion_types)}"
        )
    entries = raw.get("measures")
    if not isinstance(entries, list) or not entries:
        raise MeasuresError(f"{source}: measures must be a non-empty list")
    measures: list[Measure] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        measure = _measure(entry, index, source, themes, categories)
        if measure.id in seen:
            raise MeasuresError(f"{source}: measure #{index} ({measure.id}): duplicate id")
        seen.add(measure.id)
        measures.append(measure)
    return MeasuresBase(
        themes=MappingProxyType(themes),
        categories=MappingProxyType(categories),
        criterion_types=MappingProxyType(criterion_types),
        measures=tuple(measures),
    )


def _labels(value: object, key: str, source: str) -> dict[str, str]:
    if not isinstance(value, dict) or not value:
        raise MeasuresError(f"{source}: {key} must be a non-empty mapping of id to label")
    labels: dict[str, str] = {}
    for ident, label in value.items():
        if not isinstance(ident, str) or not ident:
            raise MeasuresError(f"{source}: {key}: id {ident!r} must be a non-empty string")
        if not isinstance(label, str) or not label.strip():
            raise MeasuresError(f"{source}: {key}.{ident}: label must be a non-empty string")
        labels[ident] = label.strip()
    return labels


def _measure(
    entry: object,
    index: int,
    source: str,
    themes: Mapping[str, str],
    categories: Mapping[str, str],
) -> Measure:
    where = f"{source}: measure #{index}"
    if not isinstance(entry, dict):
        raise MeasuresError(f"{where}: must be a mapping")
    ident = entry.get("id")
    if isinstance(ident, str) and ident:
        where = f"{where} ({ident})"
    unknown = set(entry) - _MEASURE_FIELDS
    if unknown:
        raise MeasuresError(f"{where}: unknown fields {sorted(map(str, unknown))}")
    missing = _REQUIRED_FIELDS - set(entry)
    if missing:
        raise MeasuresError(f"{where}: missing fields {sorted(missing)}")
    if not isinstance(ident, str) or not _ID_PATTERN.match(ident):
        raise MeasuresError(f"{where}: id must be kebab-case, got {ident!r}")
    theme = entry["theme"]
    if not isinstance(theme, str) or theme not in themes:
        raise MeasuresError(f"{where}: unknown theme {theme!r}")
    level = entry["level"]
    if isinstance(level, bool) or not isinstance(level, int) or level not in LEVELS:
        raise MeasuresError(f"{where}: level must be one of {list(LEVELS)}, got {level!r}")
    category = entry.get("category")
    if category is not None and (not isinstance(category, str) or category not in categories):
        raise MeasuresError(f"{where}: unknown category {category!r}")
    kind = entry["type"]
    if not isinstance(kind, str) or kind not in CRITERION_TYPES:
        raise MeasuresError(f"{where}: unknown type {kind!r}")
    text = _non_empty(entry["text"], "text", where)
    indicator = _non_empty(entry["indicator"], "indicator", where)
    return Measure(
        id=ident,
        theme=theme,
        level=level,
        category=category,
        type=kind,
        text=text,
        indicator=indicator,
    )


def _non_empty(value: object, field: str, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise MeasuresError(f"{where}: {field} must be a non-empty string")
    return " ".join(value.split())

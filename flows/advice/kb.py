"""What the advice needs from the knowledge base, as a protocol (see KB_INTERFACE.md).

The rules only read measures through `select`, so a stand-in in a test or the packaged base both
fit. Until the rebuilt base with sections, groups and conditions is on this branch, `LegacyBase`
reads the older measures file through the same protocol, so the rules never see two shapes.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, Protocol

SECTIONS = (
    "procedure",
    "geschiktheidseis",
    "selectiecriterium",
    "eis",
    "gunningscriterium",
    "contractbepaling",
    "intern",
)


class MeasureLike(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def theme(self) -> str | None: ...
    @property
    def section(self) -> str: ...
    @property
    def level(self) -> int: ...
    @property
    def text(self) -> str: ...
    @property
    def proof(self) -> str: ...
    @property
    def scoring(self) -> str | None: ...
    @property
    def indicator(self) -> str | None: ...
    @property
    def group(self) -> str | None: ...
    @property
    def instrument(self) -> str | None: ...
    @property
    def jurist(self) -> bool: ...


class KnowledgeBase(Protocol):
    def select(
        self,
        *,
        theme: str | None,
        level: int,
        category: str | None,
        scopes: Collection[str] = (),
        conditions: Collection[str] = (),
        sections: Collection[str] | None = None,
    ) -> list[Any]: ...

    def mvi_product_group(self, category: str | None) -> str | None: ...


@dataclass(frozen=True)
class LegacyMeasure:
    id: str
    theme: str | None
    section: str
    level: int
    text: str
    proof: str
    scoring: str | None
    indicator: str | None
    group: str | None = None
    instrument: str | None = None
    jurist: bool = False


class LegacyBase:
    """The older measures file seen through `select` (levels cumulative, specific first)."""

    def __init__(self, old: Any) -> None:
        self.old = old

    def select(
        self,
        *,
        theme: str | None,
        level: int,
        category: str | None,
        scopes: Collection[str] = (),
        conditions: Collection[str] = (),
        sections: Collection[str] | None = None,
    ) -> list[Any]:
        out: list[LegacyMeasure] = []
        for lvl in range(1, level + 1):
            for m in self.old.suggest(theme, lvl, category) if theme else []:
                if sections is not None and m.type not in sections:
                    continue
                out.append(
                    LegacyMeasure(m.id, m.theme, m.type, m.level, m.text, m.indicator, None, None)
                )
        return out

    def mvi_product_group(self, category: str | None) -> str | None:
        return None


def default_base() -> KnowledgeBase:
    from flows import measures

    base: Any = measures.default_measures()
    return base if hasattr(base, "select") else LegacyBase(base)

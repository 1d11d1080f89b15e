"""What the advice needs from the knowledge base, as a protocol (see KB_INTERFACE.md).

The rules only read measures through this protocol, so a stand-in in a test and the packaged base
(`flows.measures`) both fit, and the rules never depend on how the base stores its data.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Protocol

from flows.measures import SECTIONS

__all__ = ["SECTIONS", "KnowledgeBase", "MeasureLike", "default_base"]


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

    def mvi_product_group(
        self, category: str | None, scopes: Collection[str] = ()
    ) -> str | None: ...

    def instruments_for(
        self, category: str | None, scopes: Collection[str] = ()
    ) -> tuple[Any, ...]: ...

    @property
    def instruments(self) -> Mapping[str, Any]: ...


def default_base() -> KnowledgeBase:
    from flows.measures import default_measures

    return default_measures()

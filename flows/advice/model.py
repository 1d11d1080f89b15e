"""The advice as data: items per section, in the order every output shows them."""

from __future__ import annotations

from dataclasses import dataclass

from flows.advice.facts import Facts
from flows.advice.kb import SECTIONS
from flows.advice.themes import Placement

# Report sections: the knowledge-base sections, with suitability and selection shown together.
REPORT_SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("procedure", ("procedure",)),
    ("geschiktheid", ("geschiktheidseis", "selectiecriterium")),
    ("eis", ("eis",)),
    ("gunningscriterium", ("gunningscriterium",)),
    ("contractbepaling", ("contractbepaling",)),
    ("intern", ("intern",)),
)
assert tuple(s for _, group in REPORT_SECTIONS for s in group) == SECTIONS


@dataclass(frozen=True)
class Item:
    """One piece of advice a buyer can paste, with why it is there and how it is proven."""

    section: str
    text: str
    reason: str
    theme: str | None = None
    theme_label: str | None = None
    proof: str = ""
    measure: str | None = None
    weight: int | None = None
    quality_weight: int | None = None
    scoring: str | None = None
    indicator: str | None = None
    jurist: bool = False
    jurist_note: str | None = None
    instrument: str | None = None
    warning: str | None = None
    rule: str = ""
    title: str | None = None

    @property
    def heading(self) -> str | None:
        """What the item is about: its theme, or the name of a criterion without one."""
        return self.theme_label or self.title


@dataclass(frozen=True)
class Advice:
    items: tuple[Item, ...]
    placements: tuple[Placement, ...]
    facts: Facts
    quality_share: int
    rules: tuple[str, ...]
    open_points: tuple[str, ...]
    contradictions: tuple[str, ...]

    def section(self, *names: str) -> tuple[Item, ...]:
        return tuple(i for i in self.items if i.section in names)

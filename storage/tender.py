"""The tender record the conversation engine hands to the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(eq=False)
class Tender:
    """One tender a person is preparing; the three parts map to three TinyDB tables.

    ``eq=False`` because the engine attaches tenders to a ``transitions`` machine, which skips
    models that compare equal by value. ``meta`` gets ``"id"`` and ``"updated"`` from the store on
    every successful save; ``state`` and the answer values are opaque to storage.
    """

    id: str
    meta: dict[str, Any] = field(default_factory=dict)
    state: dict[str, Any] = field(default_factory=dict)
    answers: dict[str, Any] = field(default_factory=dict)

"""Reading the team check's board as a member sees it: per theme its number, name and counts."""

from __future__ import annotations

import re

_HEAD = re.compile(r"^(\d+)\. (.+?) · (?:(\d+) stem(?:men)?|nog geen stemmen)$")
_COUNT = re.compile(r"([0-3]): ▮*\s*(\d+)")


def board_counts(text: str | None) -> dict[str, tuple[int, ...]]:
    """Theme name -> votes per level 0-3, from the board's text after entities."""
    found: dict[str, tuple[int, ...]] = {}
    current: str | None = None
    for line in (text or "").splitlines():
        head = _HEAD.match(line.strip())
        if head:
            current = head.group(2)
            found[current] = (0, 0, 0, 0) if head.group(3) is None else ()
            continue
        counts = _COUNT.findall(line)
        if current is not None and len(counts) == 4:
            found[current] = tuple(int(n) for _, n in counts)
            current = None
    return found

"""Draw the conversation's state machine as Mermaid, for the README.

    python -m flows.conversation.diagram            # print the diagram
    python -m flows.conversation.diagram --write    # put it into README.md between the markers

The drawing comes from the same tables the engine runs on (`machine.py` and the command registry),
so it cannot drift from the code; a test checks that the README holds the current one. Moves
possible from every mode are listed in a note instead of drawn as an arrow from every box.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from transitions.extensions import GraphMachine

from flows.conversation.commands import REGISTRY
from flows.conversation.machine import machine_spec

README = Path(__file__).resolve().parents[2] / "README.md"
BEGIN = "<!-- state-machine:begin (python -m flows.conversation.diagram --write) -->"
END = "<!-- state-machine:end -->"
_STYLING = re.compile(r"^\s*(classDef|Class) ")


class _Model:
    """A stand-in: the drawing needs a model, never a person."""


def mermaid() -> str:
    spec = machine_spec(c.rule for c in REGISTRY.values())
    everywhere = [t for t in spec["transitions"] if t["source"] == "*"]
    spec["transitions"] = [t for t in spec["transitions"] if t["source"] != "*"]
    model = _Model()
    GraphMachine(
        model=model,
        graph_engine="mermaid",
        title="Inkoopkompas: modes of a conversation",
        show_conditions=True,
        show_state_attributes=True,
        **spec,
    )
    source = str(model.get_graph().draw(None))  # type: ignore[attr-defined]
    lines = [line.rstrip() for line in source.splitlines() if not _STYLING.match(line)]
    moves = ", ".join(f"{t['trigger']} → {t['dest']}" for t in everywhere)
    lines.append(f"  note left of asking: from every mode: {moves}")
    return "\n".join(line for line in lines if line.strip()) + "\n"


def readme_block() -> str:
    return f"{BEGIN}\n```mermaid\n{mermaid()}```\n{END}"


def current_block(text: str) -> str | None:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)]


def write(readme: Path = README) -> bool:
    """Replace the diagram in the README; True if it changed."""
    text = readme.read_text(encoding="utf-8")
    old = current_block(text)
    if old is None:
        raise SystemExit(f"{readme}: de markeringen {BEGIN!r} en {END!r} ontbreken")
    new = readme_block()
    if old == new:
        return False
    readme.write_text(text.replace(old, new), encoding="utf-8")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="Teken de toestandsmachine van het gesprek.")
    parser.add_argument("--write", action="store_true", help="zet het diagram in README.md")
    args = parser.parse_args()
    if args.write:
        print("README.md bijgewerkt" if write() else "README.md was al actueel")
    else:
        print(mermaid(), end="")


if __name__ == "__main__":
    main()

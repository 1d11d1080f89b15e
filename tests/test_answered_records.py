"""The one-line record an answered question leaves ("✓ Keten: Complex") names it in a few words."""

from __future__ import annotations

from pathlib import Path

import pytest

from flows.prompting import Prompter
from flows.report.answers_file import load_answers_file
from flows.spec import load_spec
from flows.texts import default_texts

EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "examples").glob("*.yaml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_question_is_named_whole_in_its_record(path: Path) -> None:
    """Never the start of the question cut off with "…", also for questions added later."""
    spec = load_spec()
    prompter = Prompter(spec, default_texts(), buttons=True)
    answers = load_answers_file(path).answers
    cut = {s.id: prompter.short_title(s) for s in spec.slots(answers)}
    assert {sid: title for sid, title in cut.items() if title.endswith("…")} == {}

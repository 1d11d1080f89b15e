"""The team ambition check: a quick Ambitieweb filled in by a whole team, without Telegram.

`model` holds a check and its tallies, `words` the board and result texts, `documents` the chart
and Word file, `workflow` the rules (who may vote, choose, close, wipe) behind a storage port.
"""

from flows.teamcheck.documents import chart_png, docx_filename, result_docx
from flows.teamcheck.model import (
    KEEP_CHECKS,
    LEVELS,
    MAX_THEMES,
    SUBJECT_MAX,
    ChatChecks,
    Closing,
    SourceChoice,
    TeamCheck,
    TeamResult,
    ThemeTally,
    Vote,
    base_themes,
    level_text,
    new_id,
    tender_themes,
)
from flows.teamcheck.words import (
    PROBE_CONTEXT,
    REQUIRED_KEYS,
    TeamTexts,
    bar,
    board_text,
    my_votes_toast,
    result_text,
    team_texts,
    theme_toast,
)
from flows.teamcheck.workflow import (
    Chosen,
    Forgotten,
    GroupStore,
    Place,
    Started,
    TeamChecks,
    TenderOption,
    TenderShelf,
)

__all__ = [
    "KEEP_CHECKS",
    "LEVELS",
    "MAX_THEMES",
    "PROBE_CONTEXT",
    "REQUIRED_KEYS",
    "SUBJECT_MAX",
    "ChatChecks",
    "Chosen",
    "Closing",
    "Forgotten",
    "GroupStore",
    "Place",
    "SourceChoice",
    "Started",
    "TeamCheck",
    "TeamChecks",
    "TeamResult",
    "TeamTexts",
    "TenderOption",
    "TenderShelf",
    "ThemeTally",
    "Vote",
    "bar",
    "base_themes",
    "board_text",
    "chart_png",
    "docx_filename",
    "level_text",
    "my_votes_toast",
    "new_id",
    "result_docx",
    "result_text",
    "team_texts",
    "tender_themes",
    "theme_toast",
]

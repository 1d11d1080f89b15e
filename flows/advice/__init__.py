"""The advice: what a buyer's answers mean for the procedure, the criteria and the contract.

`build_advice` is the one entry point for the report; the parts are separate modules so each rule
can be read and tested on its own: `themes` (where a theme lands), `facts` and `collaboration`
(the procurement context), `partner` (dream-partner wishes), `checks` (open points and
contradictions) and `rules` (the items per section).
"""

from flows.advice.collaboration import Collaboration, collaboration, scale_factors
from flows.advice.facts import Facts, read_facts
from flows.advice.kb import SECTIONS, KnowledgeBase, default_base
from flows.advice.model import REPORT_SECTIONS, Advice, Item
from flows.advice.rules import build_advice
from flows.advice.themes import (
    MAX_AWARD_CRITERIA,
    Placement,
    Reason,
    ThemeChoice,
    place_themes,
    theme_choices,
)

__all__ = [
    "MAX_AWARD_CRITERIA",
    "REPORT_SECTIONS",
    "SECTIONS",
    "Advice",
    "Collaboration",
    "Facts",
    "Item",
    "KnowledgeBase",
    "Placement",
    "Reason",
    "ThemeChoice",
    "build_advice",
    "collaboration",
    "default_base",
    "place_themes",
    "read_facts",
    "scale_factors",
    "theme_choices",
]

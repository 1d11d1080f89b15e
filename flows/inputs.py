"""Turning what a person typed into an answer of the right kind, or a reason why not.

Typed input is forgiving (a number, the label itself, "ja"/"nee", several numbers separated by
commas or spaces) because buyers type on phones; anything not understood becomes an `Invalid` with a
text key, and the conversation asks the same question again with a short explanation.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from flows.spec import Choice, Question

YES = {"ja", "j", "yes", "y", "jazeker", "klopt", "ok", "oké"}
NO = {"nee", "n", "no", "neen", "niet"}
YEAR_MIN, YEAR_MAX = 2000, 2100
_SPLIT = re.compile(r"[,;\n]+")
_NUMBERS_ONLY = re.compile(r"[\d\s,;.]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


@dataclass(frozen=True)
class Invalid:
    key: str
    params: dict[str, Any] = field(default_factory=dict)


def option_keys(question: Question, choices: list[Choice]) -> list[str]:
    """What a person types to pick an option: the level itself for levels, else 1, 2, 3..."""
    if question.kind == "level":
        return [str(c.value) for c in choices]
    return [str(i + 1) for i in range(len(choices))]


def clean_text(text: str) -> str:
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return _CONTROL.sub("", text).strip()


def parse(question: Question, choices: list[Choice], text: str, text_max: int) -> Any:
    """The answer value for typed text, or an `Invalid`."""
    text = clean_text(text)
    if not text:
        return Invalid("empty")
    if len(text) > text_max:
        return Invalid("too_long", {"length": len(text), "max": text_max})
    match question.kind:
        case "text":
            return text
        case "year":
            return _year(text)
        case "multi":
            return _many(question, choices, text, ordered=False)
        case "order":
            return _many(question, choices, text, ordered=True)
        case _:
            return _one(question, choices, text)


def _year(text: str) -> Any:
    digits = text.strip().rstrip(".")
    if digits.isdigit() and YEAR_MIN <= int(digits) <= YEAR_MAX:
        return int(digits)
    return Invalid("year", {"min": YEAR_MIN, "max": YEAR_MAX})


def _lookup(question: Question, choices: list[Choice], token: str) -> Choice | None:
    keys = option_keys(question, choices)
    folded = token.casefold().rstrip(".")
    for key, choice in zip(keys, choices, strict=True):
        if folded in (key, choice.label.casefold(), str(choice.value).casefold()):
            return choice
    if question.kind == "yesno":
        if folded in YES:
            return choices[0]
        if folded in NO:
            return choices[1]
    return None


def _one(question: Question, choices: list[Choice], text: str) -> Any:
    found = _lookup(question, choices, text)
    if found is not None:
        return found.value
    if question.other and not text.isdigit():
        return text
    return Invalid("pick_one", {"keys": option_keys(question, choices)})


def _many(question: Question, choices: list[Choice], text: str, *, ordered: bool) -> Any:
    if _NUMBERS_ONLY.fullmatch(text):
        tokens = re.findall(r"\d+", text)
    else:
        tokens = [t.strip() for t in _SPLIT.split(text) if t.strip()]
    values: list[Any] = []
    for token in tokens:
        found = _lookup(question, choices, token)
        if found is not None:
            value = found.value
        elif question.other and not ordered and not token.isdigit():
            value = token
        else:
            return Invalid("pick_many", {"token": token, "keys": option_keys(question, choices)})
        if value in values:
            if ordered:
                return Invalid("order_twice", {"token": token})
            continue
        values.append(value)
    if ordered:
        values += [c.value for c in choices if c.value not in values]
    return values

"""Turning what a person typed into an answer of the right kind, or a reason why not.

Typed input is forgiving (a number, the label itself, "ja"/"nee", several numbers separated by
commas or spaces) because buyers type on phones; anything not understood becomes an `Invalid` with a
text key, and the conversation asks the same question again with a short explanation.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flows.events import Event
from flows.spec import Choice, Question

YES = {"ja", "j", "yes", "y", "jazeker", "klopt", "ok", "oké"}
NO = {"nee", "n", "no", "neen", "niet"}
YEAR_MIN, YEAR_MAX = 2000, 2100
_SPLIT = re.compile(r"[,;\n]+")
_NUMBERS_ONLY = re.compile(r"[\d\s,;.]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
OWN_OPTIONS_MAX = 5
"""Own options a person may add to one question: each becomes a button (and, for themes, a block
of questions), and Telegram refuses a keyboard that grows without end."""
OWN_OPTION_LENGTH_MAX = 100
NUMBER_DIGITS_MAX = 9


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
    """Text as it may be stored and shown: lone surrogates (which no file or API can encode)
    become U+FFFD, and control characters other than newline and tab are dropped."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()


def normalised(event: Event) -> Event:
    """The event with its text and command cleaned, once, where it enters the conversation."""
    if not event.text and not event.command:
        return event
    return dataclasses.replace(
        event, text=clean_text(event.text), command=clean_text(event.command)
    )


def number(text: str) -> int | None:
    """A whole number typed in any script's digits (also ² or ２), or None.

    `str.isdigit()` is true for characters `int()` refuses (superscripts), so a check with one and a
    conversion with the other crashes; folding compatibility forms first and accepting only
    decimal digits keeps the two in step. Long digit strings are not numbers anyone means.
    """
    folded = _digits(text)
    if not folded.isdecimal() or len(folded) > NUMBER_DIGITS_MAX:
        return None
    return int(folded)


def _digits(text: str) -> str:
    return unicodedata.normalize("NFKC", text.strip()).rstrip(".")


def parse(
    question: Question,
    choices: list[Choice],
    text: str,
    text_max: int,
    kept: Sequence[Any] = (),
) -> Any:
    """The answer value for typed text, or an `Invalid`.

    `kept` are own options already chosen for this question (a draft still open), so the bound on
    own options holds over several messages too.
    """
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
            return _bounded(_many(question, choices, text, ordered=False), choices, kept)
        case "order":
            return _many(question, choices, text, ordered=True)
        case _:
            return _one(question, choices, text)


def _year(text: str) -> Any:
    year = number(text)
    if year is not None and YEAR_MIN <= year <= YEAR_MAX:
        return year
    return Invalid("year", {"min": YEAR_MIN, "max": YEAR_MAX})


def _own(text: str) -> Any:
    """An own option as typed, unless it is a number (a wrong key) or too long for a button."""
    if _digits(text).isdecimal():
        return None
    if len(text) > OWN_OPTION_LENGTH_MAX:
        return Invalid("own_too_long", {"length": len(text), "max": OWN_OPTION_LENGTH_MAX})
    return text


def _bounded(values: Any, choices: list[Choice], kept: Sequence[Any]) -> Any:
    if isinstance(values, Invalid):
        return values
    known = {c.value for c in choices}
    own = {v for v in [*kept, *values] if v not in known}
    if len(own) > OWN_OPTIONS_MAX:
        return Invalid("too_many_own", {"count": len(own), "max": OWN_OPTIONS_MAX})
    return values


def _lookup(question: Question, choices: list[Choice], token: str) -> Choice | None:
    keys = option_keys(question, choices)
    typed_number = number(token)
    folded = str(typed_number) if typed_number is not None else token.casefold().rstrip(".")
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
    own = _own(text) if question.other else None
    if own is not None:
        return own
    return Invalid("pick_one", {"keys": option_keys(question, choices)})


def _many(question: Question, choices: list[Choice], text: str, *, ordered: bool) -> Any:
    if _NUMBERS_ONLY.fullmatch(text):
        tokens = re.findall(r"\d+", text)
    else:
        tokens = [t.strip() for t in _SPLIT.split(text) if t.strip()]
    values: list[Any] = []
    for token in tokens:
        found = _lookup(question, choices, token)
        own = _own(token) if question.other and not ordered and found is None else None
        if found is not None:
            value = found.value
        elif isinstance(own, Invalid):
            return own
        elif own is not None:
            value = own
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

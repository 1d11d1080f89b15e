"""Every command a person can give, in one registry: its handler and where it may be used.

A command's `rule` (the modes it is allowed in, and a guard on the current question) goes into the
state machine, so `Conversation.command` asks the machine before running a handler, and the
handlers themselves stay short. Adding a command is one function and one `Command(...)` line; its
words for the person go in `prompts/texts.yaml` (`commands`, and the refusal keys named here).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from flows.contract.export import EXPORT_KEY
from flows.contract.model import CONTRACT_KEY
from flows.conversation import answering
from flows.conversation.machine import MENU_MODES, CommandRule
from flows.conversation.menus import newest_tenders
from flows.events import DocumentRequest, Message, Reply
from flows.inputs import number
from flows.prompting import plain
from flows.session import Session, now_iso
from flows.spec import Slot

if TYPE_CHECKING:
    from flows.conversation.core import Conversation

Handler = Callable[["Conversation", Session, str], Reply]
DOCUMENTS = ("docx", "md", "png")


@dataclass(frozen=True)
class Command:
    name: str
    run: Handler
    rule: CommandRule
    needs_tender: bool = True
    refused: str | None = None
    """Text key answered when the mode does not allow the command."""
    guard_refused: str | None = None
    """Text key answered when the guard says no (it gets the question's `kind`)."""


def optional_question(slot: Slot | None = None, **_: Any) -> bool:
    return slot is not None and slot.question.optional


def answered_question(
    slot: Slot | None = None, answers: Mapping[str, Any] | None = None, **_: Any
) -> bool:
    return slot is not None and slot.id in (answers or {})


# -- the handlers ---------------------------------------------------------------------------------


def start_tender(conv: Conversation, s: Session, *, greeting: str) -> Reply:
    tender = conv.repo.create_tender(
        s.user_key, {"name": conv.texts("unnamed"), "created": now_iso()}
    )
    s.switch_to(tender)
    s.tender_changed = True
    conv.go(s, "ask")
    s.cursor = None
    return conv.reply(s, greeting)


def start(conv: Conversation, s: Session, arg: str) -> Reply:
    conv.go(s, "ask")
    return conv.reply(s, conv.texts("welcome_back", name=conv.name(s)))


def help_(conv: Conversation, s: Session, arg: str) -> Reply:
    question_help = None
    if s.state == "asking" and s.tender is not None:
        slot = answering.current_slot(s, conv.slots(s))
        if slot is not None:
            question_help = slot.question.help
    commands = conv.texts.section("commands")
    text = conv.texts("help", question_help=question_help, commands=commands)
    if s.tender is None:
        return Reply((Message(text),))
    return conv.reply(s, text)


def back(conv: Conversation, s: Session, arg: str) -> Reply:
    ids = {x.id for x in conv.slots(s)}
    while (previous := s.pop_history()) is not None:
        if previous in ids and previous != s.cursor:
            break
    if previous is None:
        return conv.reply(s, conv.texts("first_question"))
    s.set_state("return_to", None)
    s.cursor = previous
    conv.go(s, "ask")
    return conv.reply(s)


def skip(conv: Conversation, s: Session, arg: str) -> Reply:
    slot = answering.current_slot(s, conv.slots(s))
    assert slot is not None  # the guard let it through
    s.skip(slot.id)
    answering.advance(conv, s, slot)
    note = conv.prompter.skip_note(slot)
    return conv.reply(s, note, answered=conv.prompter.skipped_record(slot), toast=plain(note))


def keep(conv: Conversation, s: Session, arg: str) -> Reply:
    slot = answering.current_slot(s, conv.slots(s))
    assert slot is not None  # the guard let it through
    answering.advance(conv, s, slot)
    return conv.reply(s)


def reset(conv: Conversation, s: Session, arg: str) -> Reply:
    s.set_state("draft", [])
    return conv.reply(s)


def overview(conv: Conversation, s: Session, arg: str) -> Reply:
    if conv.buttons:  # a chat with buttons turns pages in one message
        return conv.menus.overview(s)
    text = conv.prompter.overview(conv.slots(s), s.answers, s.skipped)
    return conv.reply(s, conv.texts("overview_title", name=conv.name(s)), text)


def jump(conv: Conversation, s: Session, arg: str) -> Reply:
    wanted = number(arg)
    if wanted is not None:
        match = [st for st in conv.spec.steps if st.number == wanted]
        if match:
            return conv.menus.questions_of(s, match[0].id)
    return conv.menus.steps(s)


def new(conv: Conversation, s: Session, arg: str) -> Reply:
    previous = conv.name(s)
    return start_tender(conv, s, greeting=conv.texts("new_tender", previous=previous))


def resume(conv: Conversation, s: Session, arg: str) -> Reply:
    tenders, total = newest_tenders(conv.repo, s.user_key, 0, 1)
    if not total:
        return start_tender(conv, s, greeting=conv.texts("greeting"))
    if total == 1 and s.tender is not None and tenders[0]["id"] == s.tender.id:
        conv.go(s, "ask")
        return conv.reply(s, conv.texts("resume_only_one", name=conv.name(s)))
    return conv.menus.tenders(s, "resume")


def delete(conv: Conversation, s: Session, arg: str) -> Reply:
    return conv.menus.tenders(s, "delete")


def next_page(conv: Conversation, s: Session, arg: str) -> Reply:
    return conv.menus.turn(s, +1)


def previous_page(conv: Conversation, s: Session, arg: str) -> Reply:
    return conv.menus.turn(s, -1)


def cancel(conv: Conversation, s: Session, arg: str) -> Reply:
    return conv.menus.cancel(s)


def stop(conv: Conversation, s: Session, arg: str) -> Reply:
    conv.go(s, "pause")
    return Reply((Message(conv.texts("paused", name=conv.name(s))),))


def _request(conv: Conversation, s: Session, formats: tuple[str, ...]) -> DocumentRequest:
    assert s.tender is not None
    return DocumentRequest(
        tender_id=s.tender.id,
        name=conv.name(s),
        answers=dict(s.answers),
        skipped=tuple(s.skipped),
        formats=formats,
    )


def summary(conv: Conversation, s: Session, arg: str) -> Reply:
    if s.state in MENU_MODES:  # asked for from a menu: what follows it is the question again
        conv.go(s, "ask")
    request = _request(conv, s, DOCUMENTS)
    texts = conv.summarizer(request) if conv.summarizer else []
    messages = [Message(t) for t in texts]
    messages.append(Message(conv.texts("summary_footer")))
    return Reply((*messages, conv.view(s)), documents=request)


def download(conv: Conversation, s: Session, arg: str) -> Reply:
    request = _request(conv, s, DOCUMENTS)
    return Reply((Message(conv.texts("documents_coming")),), documents=request)


def export(conv: Conversation, s: Session, arg: str) -> Reply:
    request = _request(conv, s, ("yaml",))
    contract = s.extra(CONTRACT_KEY)
    if isinstance(contract, dict):  # the contract phase's record goes into the file as well
        request = replace(request, answers={**request.answers, EXPORT_KEY: contract})
    return Reply((Message(conv.texts("export_coming")),), documents=request)


# -- the registry ---------------------------------------------------------------------------------

ASKING = ("asking",)
PAGED = ("reading", "resuming", "deleting")


def _command(
    name: str,
    run: Handler,
    modes: tuple[str, ...] | None = None,
    guard: Callable[..., bool] | None = None,
    **options: Any,
) -> Command:
    rule = CommandRule(name, modes, guard) if modes is not None else CommandRule(name, guard=guard)
    return Command(name, run, rule, **options)


REGISTRY: dict[str, Command] = {
    c.name: c
    for c in (
        _command("start", start),
        _command("help", help_, needs_tender=False),
        _command("terug", back),
        _command(
            "overslaan",
            skip,
            ASKING,
            optional_question,
            refused="nothing_to_skip",
            guard_refused="cannot_skip",
        ),
        _command(
            "verder",
            keep,
            ASKING,
            answered_question,
            refused="nothing_to_keep",
            guard_refused="nothing_to_keep",
        ),
        _command("opnieuw", reset),
        _command("overzicht", overview),
        _command("wijzig", jump),
        _command("nieuw", new, needs_tender=False),
        _command("hervat", resume, needs_tender=False),
        _command("verwijder", delete, needs_tender=False),
        _command("volgende_pagina", next_page, PAGED, refused="menu.no_pages"),
        _command("vorige_pagina", previous_page, PAGED, refused="menu.no_pages"),
        _command("annuleren", cancel, tuple(sorted(MENU_MODES)), refused="nothing_to_cancel"),
        _command("stop", stop),
        _command("samenvatting", summary),
        _command("download", download),
        _command("export", export),
    )
}

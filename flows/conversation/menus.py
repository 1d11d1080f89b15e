"""Menus: jump to a step or question, resume a tender, delete one (or everything) after a yes.

A menu is a `Menu` saved in the person's document while its mode lasts. Lists of tenders are paged
(`PAGE_SIZE` a page, with next and previous), so a person with thousands of tenders gets a short
keyboard and a small document. Typed answers are matched against each item's key: numbers for
lists, words for the confirmation, so a digit meant for the list can never confirm a deletion.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from flows.conversation import answering
from flows.events import Action, Event, Message, Option, Reply
from flows.inputs import NO, clean_text, number
from flows.ports import Repository
from flows.prompting import plain, shorten
from flows.session import Menu, MenuKind, Session

if TYPE_CHECKING:
    from flows.conversation.core import Conversation

ALL = "__alles__"
CONFIRM_KEYS = ("ja", "nee")
PAGE_SIZE = 10
TENDER_MENUS: dict[str, tuple[MenuKind, str]] = {
    # kind: (menu kind, trigger that opens it)
    "resume": ("resume", "open_resume"),
    "delete": ("delete", "open_delete"),
}


def newest_tenders(
    repo: Repository[Any], user_key: str, offset: int = 0, limit: int = PAGE_SIZE
) -> tuple[list[dict[str, Any]], int]:
    """A slice of a person's tenders (newest first) and how many there are, from the store's
    per-person index where it has one, so no tender is decoded; else from the full list."""
    page = getattr(repo, "tender_page", None)
    if page is not None:
        metas, total = page(user_key, offset, limit)
        return list(metas), int(total)
    tenders = repo.list_tenders(user_key)
    return tenders[offset : offset + limit], len(tenders)


def tender_name(repo: Repository[Any], user_key: str, tender_id: str) -> str:
    """The name a confirmation shows, from the index where there is one (no tender file read)."""
    meta_of = getattr(repo, "tender_meta", None)
    if meta_of is not None:
        meta = meta_of(user_key, tender_id)
    else:
        tender = repo.get_tender(user_key, tender_id)
        meta = tender.meta if tender is not None else None
    return str((meta or {}).get("name") or "?")


def menu_keys(menu: Menu) -> tuple[str, ...]:
    """What to type for each item. A confirmation takes words, never a number: a digit typed
    twice (or delivered twice) in the menu before it must not confirm a deletion."""
    if menu.kind == "confirm":
        return CONFIRM_KEYS
    return tuple(str(i + 1) for i in range(len(menu.values)))


def typed_index(menu: Menu, text: str) -> int:
    typed = clean_text(text).casefold().rstrip(".")
    numeric = number(typed)
    if numeric is not None:
        typed = str(numeric)
    keys = menu_keys(menu)
    if typed in keys:
        return keys.index(typed)
    if menu.kind == "confirm" and typed in NO:
        return 1  # only a plain "ja" deletes; any kind of no keeps
    return -1


class Menus:
    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self.texts = conv.texts

    # -- showing and answering a menu ----------------------------------------------------------

    def open(self, s: Session, trigger: str, menu: Menu, *texts: str) -> Reply:
        self.conv.go(s, trigger)
        s.menu = menu
        return self.conv.reply(s, *texts)

    def message(self, s: Session, *, edit: bool = False) -> Message:
        menu = s.menu
        if menu is None:  # a damaged document: show the question instead of nothing
            self.conv.go(s, "ask")
            return self.conv.view(s, edit=edit)
        if menu.kind == "overview":
            return self._overview_message(s, menu, edit=edit)
        text = self.texts(f"menu.{menu.kind}", title=menu.title, name=menu.name, target=menu.target)
        if menu.pages > 1:
            text += "\n" + self.texts("menu.page", page=menu.page + 1, pages=menu.pages)
        # Labels were rendered as rich text; buttons and numbered lines take plain text.
        options = tuple(
            Option(plain(label), key)
            for label, key in zip(menu.labels, menu_keys(menu), strict=True)
        )
        actions = [Action(self.texts("action.cancel"), "annuleren")]
        if menu.page > 0:
            actions.insert(0, Action(self.texts("action.previous"), "vorige_pagina"))
        if menu.page + 1 < menu.pages:
            actions.append(Action(self.texts("action.next"), "volgende_pagina"))
        return Message(
            text=text,
            options=options,
            actions=tuple(actions),
            seq=s.seq if edit else s.next_seq(),
            edit=edit,
        )

    def on_menu(self, s: Session, event: Event) -> Reply:
        menu = s.menu
        if menu is None:
            return self.cancel(s)
        if menu.kind == "overview":  # typing while reading answers the question
            self._close_overview(s, menu)
            return self.conv.dispatch(s, event)
        index = event.index
        if event.kind == "text":
            index = typed_index(menu, event.text)
        if not 0 <= index < len(menu.values):
            if menu.kind == "confirm":
                return self.conv.reply(s, self.texts("menu.confirm_type"))
            return self.conv.reply(s, self.texts("menu.pick_number", count=len(menu.values)))
        choice = menu.values[index]
        match menu.kind:
            case "jump_step":
                return self.questions_of(s, choice)
            case "jump_question":
                return self.jump_to(s, choice)
            case "resume":
                return self.switch_to(s, choice)
            case "delete":
                return self.confirm_delete(s, choice)
            case "confirm":
                if choice == "ja" and menu.target is not None:
                    return self.delete(s, menu.target)
        return self.cancel(s)

    def cancel(self, s: Session) -> Reply:
        if s.menu is not None and s.menu.kind == "overview":
            self._close_overview(s, s.menu)
            return self.conv.reply(s)  # the overview folds back into what was there
        s.set_state("return_to", None)
        self.conv.go(s, "ask")
        return self.conv.reply(s, self.texts("menu.cancelled"))

    # -- the overview, a screen at a time -------------------------------------------------------

    def overview(self, s: Session) -> Reply:
        """Opens on the first screen; closing returns to the question (or the end menu) without
        a word, and a jump in progress keeps its way back."""
        back_to = "menu" if s.state == "finished" else "vraag"
        if s.state == "reading" and s.menu is not None:
            back_to = s.menu.target or back_to
        return self.open(s, "open_overview", Menu("overview", (), (), target=back_to))

    def _overview_pages(self, s: Session) -> list[str]:
        return self.conv.prompter.overview_pages(self.conv.slots(s), s.answers, s.skipped)

    def _overview_message(self, s: Session, menu: Menu, *, edit: bool) -> Message:
        pages = self._overview_pages(s)
        page = min(max(menu.page, 0), len(pages) - 1)
        if (menu.page, menu.pages) != (page, len(pages)):  # counted where they are drawn
            s.menu = replace(menu, page=page, pages=len(pages))
        text = self.texts(
            "menu.overview",
            name=self.conv.name(s),
            body=Markup(pages[page]),
            page=page + 1,
            pages=len(pages),
        )
        actions = []
        if page > 0:
            actions.append(Action(self.texts("action.previous"), "vorige_pagina"))
        if page + 1 < len(pages):
            actions.append(Action(self.texts("action.next"), "volgende_pagina"))
        actions.append(Action(self.texts("action.close_overview"), "annuleren"))
        return Message(
            text=text, actions=tuple(actions), seq=s.seq if edit else s.next_seq(), edit=edit
        )

    def _close_overview(self, s: Session, menu: Menu) -> None:
        self.conv.go(s, "ask")
        if menu.target == "menu" and answering.current_slot(s, self.conv.slots(s)) is None:
            self.conv.go(s, "finish")

    # -- jumping to a question -----------------------------------------------------------------

    def steps(self, s: Session) -> Reply:
        slots = self.conv.slots(s)
        labels = []
        for step in self.conv.spec.steps:
            in_step = [x for x in slots if x.step.id == step.id]
            done = sum(1 for x in in_step if x.id in s.answers)
            labels.append(
                self.texts(
                    "menu.step_label",
                    number=step.number,
                    title=step.title,
                    done=done,
                    total=len(in_step),
                )
            )
        self._remember_return(s)
        values = tuple(st.id for st in self.conv.spec.steps)
        return self.open(s, "open_jump", Menu("jump_step", values, tuple(labels)))

    def questions_of(self, s: Session, step_id: str) -> Reply:
        self._remember_return(s)
        slots = [x for x in self.conv.slots(s) if x.step.id == step_id]
        prompter = self.conv.prompter
        labels = tuple(
            ("✓ " if x.id in s.answers else "") + shorten(plain(prompter.question_text(x)), 60)
            for x in slots
        )
        title = self.conv.spec.step(step_id).title
        menu = Menu("jump_question", tuple(x.id for x in slots), labels, title=title)
        return self.open(s, "open_jump", menu)

    def _remember_return(self, s: Session) -> None:
        if s.state == "asking" and s.cursor and not s.tstate.get("return_to"):
            s.set_state("return_to", s.cursor)

    def jump_to(self, s: Session, sid: str) -> Reply:
        s.cursor = sid
        self.conv.go(s, "ask")
        return self.conv.reply(s)

    # -- tenders: resume and delete, a page at a time ------------------------------------------

    def tenders(self, s: Session, kind: str, page: int = 0) -> Reply:
        menu_kind, trigger = TENDER_MENUS[kind]
        return self.open(s, trigger, self._tender_page(s, menu_kind, page))

    def _tender_page(self, s: Session, menu_kind: MenuKind, page: int) -> Menu:
        shown, total = newest_tenders(self.conv.repo, s.user_key, max(page, 0) * PAGE_SIZE)
        pages = max(1, -(-total // PAGE_SIZE))
        if page >= pages:  # fewer tenders than when the menu was drawn
            page = pages - 1
            shown, total = newest_tenders(self.conv.repo, s.user_key, page * PAGE_SIZE)
        page = max(page, 0)
        values = tuple(str(t["id"]) for t in shown)
        labels = tuple(self._tender_label(t) for t in shown)
        if menu_kind == "delete":
            values += (ALL,)
            labels += (self.texts("menu.delete_all"),)
        return Menu(menu_kind, values, labels, page=page, pages=pages)

    def turn(self, s: Session, step: int) -> Reply:
        """Show the next or previous page in place of the current one."""
        menu = s.menu
        if menu is not None and menu.kind == "overview":
            s.menu = replace(menu, page=min(max(menu.page + step, 0), menu.pages - 1))
            return Reply((self.message(s, edit=True),))
        if menu is None or menu.kind not in TENDER_MENUS:
            return self.conv.reply(s, self.texts("menu.no_pages"))
        s.menu = self._tender_page(s, menu.kind, menu.page + step)
        return Reply((self.message(s, edit=True),))

    def _tender_label(self, meta: dict[str, Any]) -> str:
        return self.texts(
            "menu.tender_label",
            name=shorten(str(meta.get("name") or self.texts("unnamed")), 40),
            updated=str(meta.get("updated") or "")[:10],
        )

    def switch_to(self, s: Session, tender_id: str) -> Reply:
        tender = self.conv.repo.get_tender(s.user_key, tender_id)
        self.conv.go(s, "ask")
        if tender is None:
            return self.conv.reply(s, self.texts("tender_gone"))
        s.switch_to(tender)
        return self.conv.reply(s, self.texts("switched", name=self.conv.name(s)))

    def confirm_delete(self, s: Session, target: str) -> Reply:
        name = None
        if target != ALL:
            name = tender_name(self.conv.repo, s.user_key, target)
        labels = (self.texts("menu.yes_delete"), self.texts("menu.no_keep"))
        self.conv.go(s, "ask_confirm")
        s.menu = Menu("confirm", CONFIRM_KEYS, labels, target=target, name=name)
        return Reply((self.message(s),))

    def delete(self, s: Session, target: str) -> Reply:
        repo = self.conv.repo
        s.next_seq()  # the confirmation's buttons are spent
        if target == ALL:
            repo.delete_user(s.user_key)
            s.switch_to(None)
            s.user_changed = False  # nothing of this person stays on disk
            return Reply((Message(self.texts("deleted_all")),), forgotten=True)
        repo.delete_tender(s.user_key, target)
        self.conv.go(s, "ask")
        if s.tender is not None and s.tender.id == target:
            rest, _total = newest_tenders(repo, s.user_key, 0, 1)
            s.switch_to(repo.get_tender(s.user_key, str(rest[0]["id"])) if rest else None)
            if s.tender is None:
                return Reply((Message(self.texts("deleted_last")),))
        return self.conv.reply(s, self.texts("deleted_tender", name=self.conv.name(s)))

"""The contract phase in Telegram: reminders from PTB's job queue, reminder buttons, group links.

The job queue holds at most one job per contract, always rebuilt from the stored due dates: at
start-up every tracked contract gets its next reminder scheduled (a moment missed while the bot
was down is due at once, or at 09:00 if it is night), and after any change to a contract its job
is replaced. A reminder is marked as sent and saved before it goes out, under the same per-person
lock as the chat, so a restart never sends it twice.

Which contracts exist is kept in one small agenda document (tender pointers and group link
codes); the contract itself lives with its tender, so a deleted tender leaves only a pointer,
which is dropped the next time it is looked at.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    filters,
)

from bot.telegram.sender import Sender
from flows.contract import schedule
from flows.contract.model import CONTRACT_KEY
from flows.contract.room import REMINDER_BUTTON, ContractRoom, register
from flows.contract.schedule import Calendar
from flows.contract.view import contract_texts, day
from flows.engine import Conversation
from flows.events import DocumentRequest, Event
from storage import Store

log = logging.getLogger(__name__)
AGENDA_KEY = "contract-agenda"
RETRY_SECONDS = 15 * 60
# APScheduler drops a job that starts more than a second late (its default grace time); a slow
# start-up or a busy moment must delay a reminder, never lose it.
LATE_IS_FINE: dict[str, Any] = {"misfire_grace_time": None, "coalesce": True}
Context = ContextTypes.DEFAULT_TYPE
App = Application[Any, Any, Any, Any, Any, Any]


def chat_id_for(user_key: str) -> int | None:
    prefix, _, number = user_key.partition("-")
    return int(number) if prefix == "tg" and number.isdigit() else None


class ContractBot:
    """The Agenda of the contract room for Telegram, and the reminders' job owner."""

    def __init__(self, app: App, store: Store, calendar: Calendar) -> None:
        self.app = app
        self.store = store
        self.cal = calendar
        self.texts = contract_texts()
        self.room: ContractRoom | None = None
        self._lock = threading.Lock()
        self.loop: asyncio.AbstractEventLoop | None = None

    # -- the agenda document --------------------------------------------------------------------

    def _agenda(self) -> dict[str, Any]:
        doc = self.store.get_group(AGENDA_KEY) or {}
        return {"tenders": list(doc.get("tenders") or []), "codes": dict(doc.get("codes") or {})}

    def _save_agenda(self, doc: dict[str, Any]) -> None:
        self.store.save_group(AGENDA_KEY, doc)

    def track(self, user_key: str, tender_id: str) -> None:
        with self._lock:
            doc = self._agenda()
            entry = [user_key, tender_id]
            if entry not in doc["tenders"]:
                doc["tenders"].append(entry)
                self._save_agenda(doc)

    def link_code(self, user_key: str, tender_id: str, code: str) -> None:
        with self._lock:
            doc = self._agenda()
            doc["codes"] = {k: v for k, v in doc["codes"].items() if v != [user_key, tender_id]}
            doc["codes"][code] = [user_key, tender_id]
            self._save_agenda(doc)

    def changed(self, user_key: str, tender_id: str, *, measured: bool) -> None:
        """Called from the conversation's worker thread; the work happens on the event loop,
        after the person's lock is free again, i.e. after the change has been saved."""
        loop = self.loop
        if loop is None:
            return
        loop.call_soon_threadsafe(
            lambda: self.app.create_task(self._after_change(user_key, tender_id, measured))
        )

    async def _after_change(self, user_key: str, tender_id: str, measured: bool) -> None:
        async with self._person_lock(user_key):
            contract = await asyncio.to_thread(self._contract, user_key, tender_id)
        self.schedule_one(user_key, tender_id, contract)
        if measured and contract is not None and contract.get("groups"):
            await self._share_progress(user_key, tender_id, contract)

    # -- scheduling -----------------------------------------------------------------------------

    def _person_lock(self, user_key: str) -> asyncio.Lock:
        chat = self.app.bot_data.get("private_chat")
        number = chat_id_for(user_key)
        if chat is None or number is None:
            return asyncio.Lock()
        lock: asyncio.Lock = chat.locks[number]
        return lock

    def _contract(self, user_key: str, tender_id: str) -> dict[str, Any] | None:
        tender = self.store.get_tender(user_key, tender_id)
        value = tender.state.get(CONTRACT_KEY) if tender is not None else None
        return value if isinstance(value, dict) else None

    @staticmethod
    def job_name(user_key: str, tender_id: str) -> str:
        return f"contract:{user_key}:{tender_id}"

    def schedule_one(
        self, user_key: str, tender_id: str, contract: dict[str, Any] | None
    ) -> float | None:
        """Replace the contract's job by one at its next reminder; returns the delay in seconds."""
        queue = self.app.job_queue
        if queue is None:
            return None
        name = self.job_name(user_key, tender_id)
        for job in queue.get_jobs_by_name(name):
            job.schedule_removal()
        when = schedule.next_reminder(contract, self.cal) if contract is not None else None
        if when is None:
            return None
        delay = max((when - self.cal.now()).total_seconds(), 0.0)
        queue.run_once(
            self._fire, delay, data=(user_key, tender_id), name=name, job_kwargs=LATE_IS_FINE
        )
        return delay

    async def reschedule_all(self, context: Context | None = None) -> int:
        """At start-up (and whenever a test moves the clock): every contract's next reminder."""
        self.loop = asyncio.get_running_loop()
        doc = await asyncio.to_thread(self._agenda)
        alive = []
        for user_key, tender_id in doc["tenders"]:
            contract = await asyncio.to_thread(self._contract, user_key, tender_id)
            if contract is None:
                self.schedule_one(user_key, tender_id, None)  # deleted: cancel its job
                continue
            alive.append([user_key, tender_id])
            self.schedule_one(user_key, tender_id, contract)
        if len(alive) != len(doc["tenders"]):
            with self._lock:
                fresh = self._agenda()
                fresh["tenders"] = [
                    t for t in fresh["tenders"] if t in alive or t not in doc["tenders"]
                ]
                self._save_agenda(fresh)
        return len(alive)

    async def _fire(self, context: Context) -> None:
        job = context.job
        if job is None or not isinstance(job.data, tuple):
            return
        user_key, tender_id = job.data
        async with self._person_lock(user_key):
            found = await asyncio.to_thread(self._take_due, user_key, tender_id)
        if found is None:  # the tender (and so its contract) was deleted
            return
        contract, name, numbers = found
        if numbers:
            try:
                await self._send_reminder(user_key, tender_id, contract, name, numbers)
            except Exception:
                log.warning("herinnering niet verstuurd; later opnieuw", exc_info=True)
                async with self._person_lock(user_key):
                    await asyncio.to_thread(self._unmark, user_key, tender_id, numbers)
                if context.job_queue is not None:
                    context.job_queue.run_once(
                        self._fire,
                        RETRY_SECONDS,
                        data=job.data,
                        name=job.name,
                        job_kwargs=LATE_IS_FINE,
                    )
                return
        self.schedule_one(user_key, tender_id, contract)

    def _take_due(
        self, user_key: str, tender_id: str
    ) -> tuple[dict[str, Any], str, list[int]] | None:
        tender = self.store.get_tender(user_key, tender_id)
        contract = tender.state.get(CONTRACT_KEY) if tender is not None else None
        if tender is None or not isinstance(contract, dict):
            return None
        numbers = schedule.take_due(contract, self.cal)
        if numbers:
            self.store.save_tender(user_key, tender)
        return contract, str(tender.meta.get("name") or ""), numbers

    def _unmark(self, user_key: str, tender_id: str, numbers: list[int]) -> None:
        tender = self.store.get_tender(user_key, tender_id)
        contract = tender.state.get(CONTRACT_KEY) if tender is not None else None
        if tender is not None and isinstance(contract, dict):
            schedule.unmark_sent(contract, numbers)
            self.store.save_tender(user_key, tender)

    # -- what people receive --------------------------------------------------------------------

    async def _send_reminder(
        self,
        user_key: str,
        tender_id: str,
        contract: dict[str, Any],
        name: str,
        numbers: list[int],
    ) -> None:
        chat_id = chat_id_for(user_key)
        count = len(contract.get("checkins") or [])
        latest = max(numbers)
        earlier = len([c for c in schedule.open_checkins(contract) if int(c["n"]) < latest])
        facts = {
            "checkin": latest,
            "count": count,
            "name": name,
            "supplier": contract.get("supplier", ""),
        }
        sender = Sender(self.app.bot)
        if chat_id is not None:
            markup = InlineKeyboardMarkup(
                [
                    [
                        InlineKeyboardButton(
                            self.texts("reminder.measure"), callback_data=f"c:m:{tender_id}"
                        )
                    ],
                    [
                        InlineKeyboardButton(
                            self.texts("reminder.later"), callback_data=f"c:l:{tender_id}"
                        ),
                        InlineKeyboardButton(
                            self.texts("reminder.stop"), callback_data=f"c:x:{tender_id}"
                        ),
                    ],
                ]
            )
            text = self.texts("reminder.text", earlier=earlier, **facts)
            sent = await sender.text(chat_id, text, markup)
            if sent is None:
                raise RuntimeError("herinnering niet afgeleverd")
        for group in contract.get("groups") or []:
            await sender.text(int(group), self.texts("reminder.group", **facts))

    async def _share_progress(
        self, user_key: str, tender_id: str, contract: dict[str, Any]
    ) -> None:
        """After a measurement: the realised web to the linked groups (only what the buyer
        chose to share by linking: the chart, no answers or values of individuals)."""
        from flows.contract.documents import web_png

        tender = await asyncio.to_thread(self.store.get_tender, user_key, tender_id)
        if tender is None or self.room is None:
            return
        today = self.cal.today()
        request = DocumentRequest(
            tender_id=tender_id,
            name=str(tender.meta.get("name") or ""),
            answers={
                **tender.answers,
                "__voortgang__": {"contract": contract, "date": today.isoformat(), "labels": {}},
            },
            formats=("png",),
        )
        png = await asyncio.to_thread(web_png, request)
        caption = self.texts("reminder.group_progress", name=request.name, date=day(today))
        sender = Sender(self.app.bot)
        for group in contract.get("groups") or []:
            await sender.photo(int(group), png, "voortgang.png", caption)

    # -- updates --------------------------------------------------------------------------------

    async def on_button(self, update: Update, context: Context) -> None:
        """Reminder buttons: they name their tender, so they work whichever tender is active."""
        query = update.callback_query
        chat = self.app.bot_data.get("private_chat")
        if query is None or chat is None:
            return
        _, what, tender_id = [*(query.data or "").split(":", 2), "", ""][:3]
        if not (query.data or "").startswith("c:") or what not in ("m", "l", "x"):
            # PTB hands a press without data to every pattern handler: the chat's stale toast.
            await chat.on_callback(update, context)
            return
        if what == "m":
            event = Event.cmd("meting", tender_id)
        else:
            event = Event.cmd(REMINDER_BUTTON, f"{what} {tender_id}")
        await chat.process(update, context, event, query)

    async def on_link(self, update: Update, context: Context) -> None:
        """`/koppel <code>` in a group: the group follows that contract from now on."""
        message, chat = update.effective_message, update.effective_chat
        if message is None or chat is None or chat.type == ChatType.PRIVATE:
            return
        code = " ".join(context.args or []).strip()
        sender = Sender(context.bot)
        if not code:
            await sender.text(chat.id, self.texts("group.usage"))
            return
        target = await asyncio.to_thread(self._link, code, chat.id)
        if target is None:
            await sender.text(chat.id, self.texts("group.bad_code"))
            return
        await sender.text(chat.id, self.texts("group.linked", name=target))

    def _link(self, code: str, chat_id: int) -> str | None:
        with self._lock:
            doc = self._agenda()
            pointer = doc["codes"].pop(code, None)
            if pointer is None:
                return None
            self._save_agenda(doc)
        user_key, tender_id = pointer
        tender = self.store.get_tender(user_key, tender_id)
        contract = tender.state.get(CONTRACT_KEY) if tender is not None else None
        if tender is None or not isinstance(contract, dict):
            return None
        groups = [g for g in contract.get("groups") or [] if g != chat_id]
        tender.state[CONTRACT_KEY] = {**contract, "groups": [*groups, chat_id]}
        self.store.save_tender(user_key, tender)
        return str(tender.meta.get("name") or "")


def register_contract(
    app: App, store: Store, conversation: Conversation, *, calendar: Calendar | None = None
) -> ContractBot:
    """Wire the contract phase into the Telegram application (called once from app.py)."""
    bot = ContractBot(app, store, calendar or Calendar())
    bot.room = register(conversation, calendar=bot.cal, agenda=bot)
    app.add_handler(CallbackQueryHandler(bot.on_button, pattern=r"^c:"))
    app.add_handler(CommandHandler("koppel", bot.on_link, filters=~filters.ChatType.PRIVATE))
    if app.job_queue is not None:
        app.job_queue.run_once(
            bot.reschedule_all, 0, name="contract:start", job_kwargs=LATE_IS_FINE
        )
    app.bot_data["contract"] = bot
    return bot

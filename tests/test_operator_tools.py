"""Operator comforts: `inkoopkompas doctor`, and moving a person's data between installations."""

from __future__ import annotations

import json
import os
from pathlib import Path

import httpx
import pytest

from bot import doctor
from bot.cli import main
from bot.config import ConfigError, Settings, load_settings
from bot.portability import export_person, import_person
from bot.telegram.app import build_application
from flows.engine import Conversation
from flows.events import Event, Reply
from storage import Store
from storage.dirlock import DirectoryLock
from tests.driver import CATERING, Driver
from tests.fakes import FakeBotApi
from tests.fakes.harness import Harness
from tests.fakes.inprocess import FakeRequest

TOKEN = "123456:TEST-TOKEN-not-a-real-one-aaaaaaaaaa"


def findings(env: dict[str, str], data: Path) -> dict[str, str]:
    return {f.text: f.verdict for f in doctor.run(env, data_dir=data)}


def test_doctor_knows_the_bot_behind_the_token(tmp_path: Path) -> None:
    with FakeBotApi() as fake:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url}
        found = doctor.run(env, data_dir=tmp_path)
    assert all(f.verdict == "ok" for f in found), found
    assert any("kent het token: dit is @" in f.text for f in found)
    assert TOKEN not in "".join(f.line() for f in found)
    assert TOKEN.split(":")[1] not in "".join(f.line() for f in found)


def test_doctor_says_when_the_token_is_refused(tmp_path: Path) -> None:
    with FakeBotApi(token_pattern=r"^999:.*$") as fake:
        env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": fake.base_url}
        found = doctor.run(env, data_dir=tmp_path)
    refused = [f for f in found if "weigert het token" in f.text]
    assert [f.verdict for f in refused] == ["fout"]


def test_doctor_says_when_the_api_cannot_be_reached(tmp_path: Path) -> None:
    def unreachable(url: str) -> httpx.Response:
        raise httpx.ConnectError("refused")

    env = {"TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_BASE_URL": "http://127.0.0.1:9/bot"}
    found = doctor.run(env, data_dir=tmp_path, get=unreachable)
    assert any(f.verdict == "fout" and "niet bereikbaar" in f.text for f in found)


def test_doctor_reports_bad_settings_unreadable_files_and_locks(tmp_path: Path) -> None:
    assert doctor.run({"INKOOPKOMPAS_LOG_LEVEL": "LUID"}, data_dir=tmp_path)[0].verdict == "fout"
    (tmp_path / "users" / "tg-1").mkdir(parents=True)
    (tmp_path / "users" / "tg-1" / "user.json").write_text("{kapot", encoding="utf-8")
    held = DirectoryLock(tmp_path)
    found = doctor.run({}, data_dir=tmp_path)
    held.release()
    texts = {f.text: f.verdict for f in found}
    assert any(v == "fout" and "onleesbaar" in t and "user.json" in t for t, v in texts.items())
    assert any(f"in gebruik door proces {os.getpid()}" in t for t in texts)
    assert any("Geen TELEGRAM_BOT_TOKEN" in t for t in texts)


def test_doctor_exit_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--data-dir", str(tmp_path)]) == 0
    assert "schrijfbaar" in capsys.readouterr().out


def test_a_person_moves_between_installations(tmp_path: Path) -> None:
    old, new = Store(tmp_path / "old"), Store(tmp_path / "new")
    buyer = Driver(Conversation(old, buttons=False), "tg-42")
    buyer.complete(**CATERING)
    buyer.say("/nieuw")
    buyer.answer(naam="Tweede")
    exported = tmp_path / "anna.json"
    assert (
        main(["export", "--user", "tg-42", "-o", str(exported), "--data-dir", str(old.root)]) == 0
    )
    assert exported.stat().st_mode & 0o077 == 0

    assert main(["import", str(exported), "--data-dir", str(new.root)]) == 0

    moved = Driver(Conversation(new, buttons=False), "tg-42")
    assert moved.answers == buyer.answers
    assert sorted(t["name"] for t in new.list_tenders("tg-42")) == sorted(
        t["name"] for t in old.list_tenders("tg-42")
    )
    moved.say("/hervat")
    first = next(t["id"] for t in new.list_tenders("tg-42") if t["name"] == CATERING["naam"])
    moved.choose(first)
    assert moved.answers["themas"] == CATERING["themas"]
    assert moved.mode == "finished"


def test_import_refuses_to_mix_with_someone_already_there(tmp_path: Path) -> None:
    store = Store(tmp_path / "data")
    Driver(Conversation(store, buttons=False), "tg-1").answer(naam="Eigen")
    data = export_person(store, "tg-1")
    with pytest.raises(ConfigError, match="al gegevens"):
        import_person(store, data)
    with pytest.raises(ConfigError, match="geen exportbestand"):
        import_person(store, {"format": "iets anders"})
    assert json.dumps(data)  # plain JSON all the way down


async def test_an_unexpected_error_reaches_the_operator_without_the_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(data_dir=tmp_path, token=TOKEN, operator_chat=-100777)
    request, store = FakeRequest(), Store(tmp_path / "data")
    app = build_application(settings, store, request=request)
    await app.initialize()
    tg = Harness(app, request, store, tmp_path)

    def broken(self: Conversation, user_key: str, event: Event) -> Reply:
        raise ValueError(f"kan {event.text!r} niet lezen")

    monkeypatch.setattr(Conversation, "handle", broken)
    calls = await tg.send("mijn geheime begroting 123")
    await app.shutdown()

    alerts = [c.text or "" for c in calls if c.method == "sendMessage" and c.chat_id == -100777]
    assert len(alerts) == 1
    assert "ValueError" in alerts[0]
    assert "update: message, gebruiker: 1" in alerts[0]
    assert "begroting" not in alerts[0]
    assert TOKEN.split(":")[1] not in alerts[0]


def test_the_operator_chat_must_be_a_number() -> None:
    with pytest.raises(ConfigError, match="OPERATOR_CHAT"):
        load_settings({"INKOOPKOMPAS_OPERATOR_CHAT": "@beheer"})
    assert load_settings({"INKOOPKOMPAS_OPERATOR_CHAT": "-42"}).operator_chat == -42


def test_the_message_rate_is_telegrams_cap_unless_set() -> None:
    assert load_settings({}).max_rate == 30
    assert load_settings({"TELEGRAM_MAX_RATE": "0"}).max_rate == 0
    with pytest.raises(ConfigError, match="TELEGRAM_MAX_RATE"):
        load_settings({"TELEGRAM_MAX_RATE": "snel"})


def test_doctor_finds_a_directory_free_after_its_owner_stopped(tmp_path: Path) -> None:
    """A store that closed normally leaves an empty lock file: that is no reason for a warning."""
    DirectoryLock(tmp_path).release()
    found = {f.text: f.verdict for f in doctor.locks(tmp_path)}
    assert found == {"De map is niet in gebruik door een ander proces.": "ok"}

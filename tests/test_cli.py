"""The command line as a person meets it: the terminal chat through a pipe, and start-up errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from flows.engine import Conversation
from flows.spec import load_spec
from storage import Store
from tests.driver import CATERING, script

TOKEN = "123456:TEST-TOKEN-not-a-real-one-aaaaaaaaaa"


def run(
    args: list[str], cwd: Path, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "INKOOPKOMPAS_"))
    }
    return subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**clean, **env},
        check=False,
    )


def test_scripted_chat_from_greeting_to_summary(tmp_path: Path) -> None:
    lines = script(Conversation(Store(tmp_path / "scratch"), buttons=False), **CATERING)
    stdin = "\n".join([*lines[1:], "/samenvatting"]) + "\n"  # the terminal starts by itself
    result = run(["chat", "--data-dir", "data", "--user", "anna"], tmp_path, stdin)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Hallo! Ik ben Inkoopkompas.")
    steps = len(load_spec().counted_steps)
    for number in range(1, steps + 1):
        assert f"Stap {number}/{steps} · " in out
    assert "Je hebt alle vragen voor Catering hoofdkantoor 2027 beantwoord" in out
    assert "Samenvatting · Catering hoofdkantoor 2027" in out
    assert "Gunningscriteria" in out
    written = sorted(p.name for p in (tmp_path / "inkoopkompas-documenten" / "anna").iterdir())
    assert written == [
        "catering-hoofdkantoor-2027-ambitie.docx",
        "catering-hoofdkantoor-2027-ambitie.md",
        "catering-hoofdkantoor-2027-ambitieweb.png",
    ]
    assert "Tot later" in out.splitlines()[-1]


def test_resume_days_later_at_the_same_prompt(tmp_path: Path) -> None:
    first = run(["chat", "--data-dir", "data", "--user", "bo"], tmp_path, "Schoonmaak\n2\n")
    assert first.returncode == 0
    assert first.stdout.rstrip().endswith("start opnieuw om verder te gaan.")
    second = run(["chat", "--data-dir", "data", "--user", "bo"], tmp_path, "")
    assert "Welkom terug bij Schoonmaak" in second.stdout
    assert "Voor welke organisatie koop je in?" in second.stdout
    other = run(["chat", "--data-dir", "data", "--user", "cor"], tmp_path, "")
    assert "Hoe noem je deze aanbesteding?" in other.stdout


def test_data_dir_from_environment(tmp_path: Path) -> None:
    result = run(["chat"], tmp_path, "Via env\n", INKOOPKOMPAS_DATA_DIR=str(tmp_path / "envdata"))
    assert result.returncode == 0
    assert list((tmp_path / "envdata" / "users").iterdir())


def test_unreadable_data_file_is_set_aside_by_name_without_blocking_start_up(
    tmp_path: Path,
) -> None:
    run(["chat", "--data-dir", "data", "--user", "dee"], tmp_path, "Iets\n")
    (tender,) = (tmp_path / "data" / "users").rglob("tenders/*.json")
    tender.write_bytes(b'{"half": ')
    result = run(["chat", "--data-dir", "data", "--user", "dee"], tmp_path, "")
    assert result.returncode == 0
    assert str(tender.name) in result.stderr
    assert "Traceback" not in result.stderr
    (kept,) = (tmp_path / "data" / "quarantine").rglob(f"{tender.name}*")
    assert kept.read_bytes() == b'{"half": '


def test_telegram_without_token_is_one_line_and_exit_2(tmp_path: Path) -> None:
    result = run(["telegram", "--data-dir", "data"], tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert "TELEGRAM_BOT_TOKEN" in result.stderr


def test_malformed_token_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "1234:geheim-maar-verkeerd"
    result = run(["telegram"], tmp_path, TELEGRAM_BOT_TOKEN=secret)
    assert result.returncode == 2
    assert secret not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr


def test_allowed_users_must_be_numbers(tmp_path: Path) -> None:
    result = run(
        ["telegram"], tmp_path, TELEGRAM_BOT_TOKEN=TOKEN, INKOOPKOMPAS_ALLOWED_USERS="12,abc"
    )
    assert result.returncode == 2
    assert "INKOOPKOMPAS_ALLOWED_USERS" in result.stderr

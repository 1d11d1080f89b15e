"""The terminal chat at its edges: bytes that are not UTF-8, a disk that fills up, documents that
belong to one person, and "delete all my data" that removes those documents too."""

from __future__ import annotations

import errno
import io
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from bot.console import Console
from flows.engine import Conversation
from flows.report.summary import chat_summary
from storage import Store
from tests.driver import active_answers, lines_to
from tests.test_cli import run

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NOT_SAVED = "NIET bewaard"


def test_bytes_that_are_not_utf8_are_replaced_not_fatal(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--data-dir", "data", "--user", "eva"],
        cwd=tmp_path,
        input="Caf\xe9 2027\n\xff\xfe\n".encode("latin-1"),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    assert active_answers(Store(tmp_path / "data"), "cli-eva")["naam"] == "Caf\ufffd 2027"


def console(data: Path, out_dir: Path, user: str = "cli-fay") -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    conversation = Conversation(Store(data), buttons=False, summarizer=chat_summary)
    return Console(conversation, user, out=out, out_dir=out_dir, echo=True), out


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EIO])
def test_an_answer_that_cannot_be_saved_is_not_acknowledged(
    code: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, out = console(tmp_path / "data", tmp_path / "docs")
    chat.run(iter(["Catering 2027\n"]))
    real_sync = os.fdatasync

    def full(fd: int) -> None:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "fdatasync", full)
    out.truncate(0)
    chat.run(iter(["1\n"]))
    said = out.getvalue()
    assert NOT_SAVED in said
    assert os.strerror(code) in said
    assert "Je antwoord:" not in said
    monkeypatch.setattr(os, "fdatasync", real_sync)
    assert "categorie" not in active_answers(Store(tmp_path / "data"), "cli-fay")
    assert Store(tmp_path / "data").check() == []


def test_a_disk_that_fills_up_mid_chat_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """A real limit on file size (as a filling disk): every answer either acknowledged and on disk,
    or refused with one line; no traceback, and the data directory stays readable."""

    def limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1500, 1500))

    script = "\n".join(lines_to("doeljaar")) + "\n"
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", "chat", "--data-dir", "data", "--user", "gus"],
        cwd=tmp_path,
        input=script,
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=limit,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    assert NOT_SAVED in result.stdout
    assert Store(tmp_path / "data").check() == []
    acknowledged = result.stdout.count("Je antwoord:")
    assert len(active_answers(Store(tmp_path / "data"), "cli-gus")) >= acknowledged


def test_documents_are_private_and_per_person(tmp_path: Path) -> None:
    script = (EXAMPLES / "catering-chat.txt").read_text(encoding="utf-8")
    for user in ("anna", "bo"):
        result = run(["chat", "--data-dir", "data", "--user", user], tmp_path, script)
        assert result.returncode == 0, result.stderr
    docs = tmp_path / "inkoopkompas-documenten"
    assert sorted(p.name for p in docs.iterdir()) == ["anna", "bo"]
    for folder in docs.iterdir():
        assert folder.stat().st_mode & 0o777 == 0o700
        files = list(folder.iterdir())
        assert len(files) == 3
        assert all(f.stat().st_mode & 0o777 == 0o600 for f in files)


def test_export_in_the_terminal_is_a_private_file(tmp_path: Path) -> None:
    result = run(["chat", "--data-dir", "data", "--user", "cas"], tmp_path, "Mijn naam\n/export\n")
    assert result.returncode == 0, result.stderr
    (exported,) = (tmp_path / "inkoopkompas-documenten" / "cas").iterdir()
    assert exported.name.endswith("antwoorden.yaml")
    assert exported.stat().st_mode & 0o777 == 0o600


def test_deleting_all_my_data_removes_my_documents_only(tmp_path: Path) -> None:
    for user in ("dirk", "els"):
        run(["chat", "--data-dir", "data", "--user", user], tmp_path, "Zelfde naam\n/download\n")
    docs = tmp_path / "inkoopkompas-documenten"
    assert sorted(p.name for p in docs.iterdir()) == ["dirk", "els"]
    delete = run(["chat", "--data-dir", "data", "--user", "dirk"], tmp_path, "/verwijder\n2\nja\n")
    assert delete.returncode == 0, delete.stderr
    assert sorted(p.name for p in docs.iterdir()) == ["els"]


@pytest.mark.parametrize("user", ["../../etc", "a/b", "a_b", "", "é"])
def test_a_user_name_never_leaves_the_documents_folder(user: str, tmp_path: Path) -> None:
    from bot.document_files import user_folder

    folder = user_folder(tmp_path, f"cli-{user}")
    assert folder.parent == tmp_path
    assert folder.name not in ("", ".", "..")
    assert user_folder(tmp_path, "cli-a/b") != user_folder(tmp_path, "cli-a_b")

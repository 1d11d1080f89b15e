"""Kill the terminal chat at random moments and check that no acknowledged answer is ever lost.

Run ``python bench/crash.py --kills 50 --seed 1 [--json]``.

The real channel runs as a subprocess (``python -m bot.cli chat --data-dir D --user U``) and is fed
one line at a time through stdin by scripted buyers: the catering chat of ``examples/`` with
variations per buyer (own texts, ``/terug`` and re-answer, ``/terug`` and ``/verder``, ``/wijzig``
and a changed answer, ``/overzicht``, empty lines). At seeded random moments it gets SIGKILL: while
starting, while idle, right after a line was written, a few milliseconds into handling it, halfway
through reading its reply, or halfway through typing a line. Then it is started again and the same
buyer continues where the acknowledgement stopped.

An answer is *acknowledged* when the chat printed the whole reply to it, next prompt included.
To know what that reply is, every line is first played on a shadow conversation in this process
(the same engine and console rendering, on a copy of the data), so the real output can be compared
character for character and an acknowledgement needs no guessing or timing. After every kill:

- every file in the data directory loads (``Store(D).check() == []``);
- every acknowledged answer is stored with its value (``Store.get_user``/``get_tender``); the line
  that was in flight may or may not have been saved, both are fine, anything else is reported;
- after the restart, the first prompt is the one that followed the last acknowledged answer (or,
  when the line in flight was saved, the one that followed it): the question texts must match.

Several independent lanes (separate data directories, one chat process each, as the storage
requires) run side by side, so a 2-core machine does about a kill a second although starting the
chat takes most of that.
"""

from __future__ import annotations

import argparse
import codecs
import contextlib
import functools
import io
import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.console import Console, parse_line  # noqa: E402
from bot.wiring import user_key_for_console  # noqa: E402
from flows.engine import Conversation  # noqa: E402
from flows.events import Event, Reply  # noqa: E402
from flows.prompting import plain  # noqa: E402
from flows.report.summary import chat_summary  # noqa: E402
from storage import Store  # noqa: E402
from tests.driver import CATERING, script  # noqa: E402

NAMES = ("anna", "bram", "chris", "dewi", "emma", "fenna", "gijs", "hanna", "ivo", "jet")
MODES = ("startup", "idle", "in-flight", "handling", "mid-reply", "mid-line")
PROGRESS = re.compile(r"^(Stap \d+ van \d+ · .+ · )?.*vraag \d+ van \d+$")
TIMEOUT = 60.0  # only against a hung chat; never part of a verdict about durability
START = "<start>"  # the /start the chat handles by itself when it starts


def is_text_answer(line: str) -> bool:
    """Lines of the example that answer an open question (not a number, list, yes/no or command)."""
    return not (
        line.startswith("/") or re.fullmatch(r"[\d ,]+|ja|nee", line.strip(), re.IGNORECASE)
    )


@functools.cache
def _catering_lines() -> tuple[str, ...]:
    """The catering tender as a terminal buyer types it, made from the flow itself, so a question
    added to `prompts/flow.yaml` never leaves the script answering the wrong questions."""
    with tempfile.TemporaryDirectory() as scratch:
        conversation = Conversation(Store(Path(scratch)), buttons=False)
        return tuple(line for line in script(conversation, **CATERING) if line != "/start")


def buyer_script(rng: random.Random, name: str) -> list[str]:
    """The example chat with this buyer's own variations; every variation keeps the lines that
    follow it answering the questions they were written for."""
    base = list(_catering_lines())
    base[0] = f"{base[0]} · {name}"
    out: list[str] = []
    for index, line in enumerate(base):
        if is_text_answer(line) and index > 0 and rng.random() < 0.3:
            line = f"{line} ({name}, {rng.choice(['versie 2', '& co', '<concept>', '🌱'])})"
        out.append(line)
        if not is_text_answer(line):
            continue
        roll = rng.random()
        if roll < 0.10:
            out += ["/terug", line + " (herzien)"]
        elif roll < 0.18:
            out += ["/terug", "/verder"]
        elif roll < 0.24 and index >= 9:
            out += ["/wijzig 1", "2", f"Ook de inkoopadviseur van {name} (gewijzigd)."]
        elif roll < 0.30:
            out.append(rng.choice(["/overzicht", "/help", "", "/onbekend"]))
    return out


# ---------------------------------------------------------------------------------------------
# The shadow: what the chat will print, and what it will have stored


class Shadow:
    """The same conversation and console rendering on a copy of the lane's data directory."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.store = Store(root)
        self.conversation = Conversation(self.store, buttons=False, summarizer=chat_summary)

    def console(self, key: str, out: io.StringIO) -> Console:
        return Console(self.conversation, key, out=out, out_dir=self.root / "out", echo=True)

    def play(self, key: str, line: str) -> tuple[str, Reply]:
        """Apply one line (or the start-up /start) and return exactly what the chat prints."""
        out = io.StringIO()
        console = self.console(key, out)
        if line == START:
            event = Event.cmd("start")
        else:
            out.write(f"> {line.rstrip()}\n\n")
            event = parse_line(line)
        reply = self.conversation.handle(key, event)
        console.show(reply)
        return out.getvalue(), reply

    def snapshot(self, key: str, into: Path) -> None:
        shutil.rmtree(into, ignore_errors=True)
        self.store.flush()
        source = self.store.user_dir(key)
        if source.exists():
            shutil.copytree(source, into)

    def restore(self, key: str, source: Path | None) -> None:
        """Make this buyer's shadow files equal to `source` (a snapshot or the real directory)."""
        target = self.store.user_dir(key)
        self.store.flush()
        shutil.rmtree(target, ignore_errors=True)
        if source is not None and source.exists():
            shutil.copytree(source, target)
        self.store.forget(key)


def fingerprint(store: Store, key: str) -> Any:
    """What a line changes in storage: the active tender's answers and where the buyer is.

    The prompt counter is left out: it may start at the clock, so the shadow's differs from the
    chat's, and a line that changes nothing else may as well count as saved.
    """

    def of(tender: Any) -> str:
        state = {k: v for k, v in tender.state.items() if k != "seq"}
        return json.dumps([tender.answers, state], sort_keys=True)

    user = store.get_user(key)
    if user is None:
        tenders = [store.get_tender(key, m["id"]) for m in store.list_tenders(key)]
        return ("no person", sorted(of(t) for t in tenders if t))
    tender = store.get_tender(key, str(user.get("active"))) if user.get("active") else None
    if tender is None:
        return ("no tender", user.get("mode"))
    return of(tender)


def stored_answers(store: Store, key: str) -> dict[str, Any]:
    user = store.get_user(key)
    if not user or not user.get("active"):
        return {}
    tender = store.get_tender(key, str(user["active"]))
    return dict(tender.answers) if tender else {}


def prompt_key(reply: Reply) -> str | None:
    """The question a reply leaves the buyer at (its text), or None for a menu, which a restart
    closes; the end of the flow counts as a prompt too."""
    if not reply.messages:
        return None
    last = reply.messages[-1]
    lines = [line for line in plain(last.text).splitlines() if line.strip()]
    if not lines:
        return None
    if PROGRESS.match(lines[0]):
        return lines[1] if len(lines) > 1 else lines[0]
    if last.seq is None:
        return lines[0]
    return None


# ---------------------------------------------------------------------------------------------
# The real chat


class Chat:
    """One `inkoopkompas chat` process: lines in, output collected as text."""

    def __init__(self, lane: Lane, user: str) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                lane.chat_module,
                "chat",
                "--data-dir",
                str(lane.data),
                "--user",
                user,
                "--out-dir",
                str(lane.work / "out"),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=lane.stderr,
            cwd=lane.work,
            env=lane.env,
        )
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        os.set_blocking(self.fd, False)
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""
        self.eof = False

    def _pump(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(timeout, 0.0))
        if not ready:
            return False
        try:
            chunk = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        if not chunk:
            self.eof = True
            return False
        self.text += self.decoder.decode(chunk)
        return True

    def read_until(self, length: int) -> bool:
        """Wait until at least `length` characters were printed; False if the chat ended first."""
        deadline = time.monotonic() + TIMEOUT
        while len(self.text) < length and not self.eof:
            if time.monotonic() > deadline:
                return False
            self._pump(deadline - time.monotonic())
        return len(self.text) >= length

    def write(self, data: str) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.write(data.encode("utf-8"))
            self.proc.stdin.flush()

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.close()

    def finish(self) -> tuple[int, str]:
        """Close stdin as a person ending the session would, and collect the rest."""
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        deadline = time.monotonic() + TIMEOUT
        while not self.eof and time.monotonic() < deadline:
            self._pump(deadline - time.monotonic())
        code = self.proc.wait()
        self.close()
        return code, self.text

    def close(self) -> None:
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError, ValueError):
                if stream is not None:
                    stream.close()


# ---------------------------------------------------------------------------------------------
# One lane: a data directory, its buyers, and the kill loop


@dataclass
class Buyer:
    name: str
    key: str
    script: list[str]
    position: int = 0  # index of the next line to send
    expected: dict[str, Any] = field(default_factory=dict)  # acknowledged answers
    question: str | None = None  # where the last acknowledged reply left the buyer


@dataclass
class InFlight:
    line: str
    before: Path
    output: str
    reply: Reply
    answer: tuple[str, Any] | None


@dataclass
class Stats:
    kills: Counter[str] = field(default_factory=Counter)
    lines_acknowledged: int = 0
    answers_acknowledged: int = 0
    answers_checked: int = 0
    in_flight_saved: int = 0
    in_flight_not_saved: int = 0
    lost: int = 0
    mismatched_prompts: int = 0
    unreadable_files: int = 0
    unexpected_output: int = 0
    partial_states: int = 0
    chat_failures: int = 0
    buyers: int = 0
    scripts_finished: int = 0
    problems: list[str] = field(default_factory=list)

    def add(self, other: Stats) -> None:
        for name, value in vars(other).items():
            mine = getattr(self, name)
            if isinstance(value, Counter):
                mine.update(value)
            elif isinstance(value, list):
                mine.extend(value)
            else:
                setattr(self, name, mine + value)


class Lane:
    def __init__(
        self, number: int, kills: int, seed: int, root: Path, chat_module: str = "bot.cli"
    ) -> None:
        self.number = number
        self.chat_module = chat_module
        self.target = kills
        self.rng = random.Random(f"{seed}-{number}")
        self.work = root / f"lane{number}"
        self.data = self.work / "data"
        self.work.mkdir(parents=True)
        self.shadow = Shadow(self.work / "shadow")
        self.stderr = (self.work / "stderr.txt").open("ab")
        self.env = {
            k: v for k, v in os.environ.items() if not k.startswith(("INKOOPKOMPAS_", "TELEGRAM_"))
        }
        self.env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(REPO), os.environ.get("PYTHONPATH", "")) if p
        )
        self.stats = Stats()
        self.startup_seconds = 1.0
        self.buyers: list[Buyer] = []

    def problem(self, text: str) -> None:
        self.stats.problems.append(f"lane {self.number}: {text}")

    def new_buyer(self) -> Buyer:
        name = NAMES[len(self.buyers) % len(NAMES)] + (
            str(len(self.buyers) // len(NAMES)) if len(self.buyers) >= len(NAMES) else ""
        )
        buyer = Buyer(name, user_key_for_console(name), buyer_script(self.rng, name))
        self.buyers.append(buyer)
        self.stats.buyers += 1
        return buyer

    # -- playing lines -------------------------------------------------------------------------

    def prepare(self, buyer: Buyer, line: str) -> InFlight:
        """Play `line` on the shadow first: the expected output, and the answer it records."""
        before = self.work / "before"
        self.shadow.snapshot(buyer.key, before)
        answers_before = stored_answers(self.shadow.store, buyer.key)
        output, reply = self.shadow.play(buyer.key, line)
        answers_after = stored_answers(self.shadow.store, buyer.key)
        changed = [k for k, v in answers_after.items() if answers_before.get(k, object()) != v]
        answer = (changed[0], answers_after[changed[0]]) if changed else None
        return InFlight(line, before, output, reply, answer)

    def acknowledge(self, buyer: Buyer, flight: InFlight, *, printed: bool = True) -> None:
        """The line is done: printed in full, or (`printed=False`) found stored after a kill."""
        if flight.line != START:
            buyer.position += 1
            self.stats.lines_acknowledged += printed
        if flight.answer is not None:
            buyer.expected[flight.answer[0]] = flight.answer[1]
            self.stats.answers_acknowledged += printed
        key = prompt_key(flight.reply)
        if key is not None:
            buyer.question = key

    def await_reply(self, chat: Chat, start: int, flight: InFlight) -> bool:
        """Read the whole reply; an acknowledgement only if it is exactly the expected one."""
        if not chat.read_until(start + len(flight.output)):
            return False
        printed = chat.text[start : start + len(flight.output)]
        if printed != flight.output:
            self.stats.unexpected_output += 1
            self.problem(
                f"unexpected output after {flight.line!r}:\n--- expected\n{flight.output}"
                f"\n--- printed\n{printed}"
            )
        return True

    # -- one life of the chat process ------------------------------------------------------------

    def life(self, buyer: Buyer) -> None:
        """Start the chat for `buyer`, play some lines, and kill it (or end the script)."""
        mode = self.rng.choice(MODES)
        lines = self.rng.randint(0, 6)
        flight = self.prepare(buyer, START)
        started = time.monotonic()
        chat = Chat(self, buyer.name)
        if mode == "startup":
            time.sleep(self.rng.uniform(0, self.startup_seconds * 1.2))
            self.crash(buyer, chat, flight, mode)
            return
        if not self.await_reply(chat, 0, flight):
            self.chat_failed(buyer, chat, "did not start")
            return
        self.startup_seconds = 0.8 * self.startup_seconds + 0.2 * (time.monotonic() - started)
        self.check_restart(buyer, flight)
        self.acknowledge(buyer, flight)
        for _ in range(lines):
            if buyer.position >= len(buyer.script):
                self.end_script(buyer, chat)
                return
            flight = self.prepare(buyer, buyer.script[buyer.position])
            start = len(chat.text)
            chat.write(flight.line + "\n")
            if not self.await_reply(chat, start, flight):
                self.chat_failed(buyer, chat, f"no reply to {flight.line!r}")
                return
            self.acknowledge(buyer, flight)
        if buyer.position >= len(buyer.script):
            self.end_script(buyer, chat)
            return
        if mode == "idle":
            self.crash(buyer, chat, None, mode)
            return
        line = buyer.script[buyer.position]
        if mode == "mid-line":
            chat.write(line[: self.rng.randint(0, len(line))])  # no newline: never read
            self.crash(buyer, chat, None, mode)
            return
        flight = self.prepare(buyer, line)
        start = len(chat.text)
        chat.write(flight.line + "\n")
        if mode == "handling":
            time.sleep(self.rng.uniform(0, 0.02))
        elif mode == "mid-reply":
            chat.read_until(start + self.rng.randint(1, max(1, len(flight.output) - 1)))
        self.crash(buyer, chat, flight, mode)

    def crash(self, buyer: Buyer, chat: Chat, flight: InFlight | None, mode: str) -> None:
        chat.kill()
        self.stats.kills[mode] += 1
        self.after_kill(buyer, flight)

    def after_kill(self, buyer: Buyer, flight: InFlight | None) -> None:
        with Store(self.data) as real:
            self.check_stored(buyer, flight, real)

    def check_stored(self, buyer: Buyer, flight: InFlight | None, real: Store) -> None:
        broken = real.check()
        if broken:
            self.stats.unreadable_files += len(broken)
            self.problem(f"unreadable after a kill: {broken}")
            return
        saved = flight is None
        if flight is not None:
            now = fingerprint(real, buyer.key)
            if now == fingerprint(self.shadow.store, buyer.key):
                saved = True
                self.acknowledge(buyer, flight, printed=False)  # the buyer goes on after it
            else:
                self.shadow.restore(buyer.key, flight.before)
                if now != fingerprint(self.shadow.store, buyer.key):
                    # Part of the line's writes landed (a first /start makes two files). Not a
                    # loss by itself: the checks below say whether it matters.
                    self.stats.partial_states += 1
                    self.problem(f"after {flight.line!r}: stored state is neither before nor after")
            if flight.line != START:
                if saved:
                    self.stats.in_flight_saved += 1
                else:
                    self.stats.in_flight_not_saved += 1
        # From here on the shadow is exactly what is on disk, whatever the kill left behind.
        self.shadow.restore(buyer.key, real.user_dir(buyer.key))
        stored = stored_answers(real, buyer.key)
        for question, value in buyer.expected.items():
            self.stats.answers_checked += 1
            if stored.get(question, object()) != value:
                self.stats.lost += 1
                self.problem(
                    f"{buyer.name}: acknowledged answer to {question} lost: "
                    f"expected {value!r}, stored {stored.get(question)!r}"
                )

    def check_restart(self, buyer: Buyer, flight: InFlight) -> None:
        """The first prompt after a (re)start: where the last acknowledged answer left off."""
        key = prompt_key(flight.reply)
        if buyer.question is None or key == buyer.question:
            return
        self.stats.mismatched_prompts += 1
        self.problem(
            f"{buyer.name} restarted at {key!r}, expected {buyer.question!r} "
            f"(after line {buyer.position} of the script)"
        )

    def end_script(self, buyer: Buyer, chat: Chat) -> None:
        start = len(chat.text)
        code, text = chat.finish()
        if code != 0 or "Tot later!" not in text[start:]:
            self.chat_failed(buyer, None, f"ended with exit code {code}")
            return
        self.stats.scripts_finished += 1
        self.after_kill(buyer, None)

    def chat_failed(self, buyer: Buyer, chat: Chat | None, what: str) -> None:
        if chat is not None:
            chat.kill()
        self.stats.chat_failures += 1
        self.stderr.flush()
        tail = (self.work / "stderr.txt").read_text(encoding="utf-8", errors="replace")[-2000:]
        self.problem(f"{buyer.name}: the chat {what}\n{tail}")
        buyer.position = len(buyer.script)  # this buyer's script cannot go on

    def run(self) -> Stats:
        buyer = self.new_buyer()
        while sum(self.stats.kills.values()) < self.target and self.stats.chat_failures < 3:
            if buyer.position >= len(buyer.script):
                buyer = self.new_buyer()
            self.life(buyer)
        self.stderr.close()
        self.shadow.store.close()
        return self.stats


# ---------------------------------------------------------------------------------------------


def run(
    kills: int, seed: int, lanes: int, keep: Path | None, chat_module: str = "bot.cli"
) -> tuple[Stats, float]:
    root = Path(tempfile.mkdtemp(prefix="crash-")) if keep is None else keep
    started = time.monotonic()
    per_lane = [kills // lanes + (1 if i < kills % lanes else 0) for i in range(lanes)]
    workers = [Lane(i, n, seed, root, chat_module) for i, n in enumerate(per_lane) if n > 0]
    results: list[Stats] = []
    errors: list[BaseException] = []

    def work(lane: Lane) -> None:
        try:
            results.append(lane.run())
        except BaseException as exc:  # reported below; a lane must not vanish silently
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(lane,)) for lane in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    total = Stats()
    for stats in results:
        total.add(stats)
    if keep is None:
        shutil.rmtree(root, ignore_errors=True)
    return total, time.monotonic() - started


def summary(stats: Stats, seconds: float, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "seed": args.seed,
        "lanes": args.lanes,
        "kills": sum(stats.kills.values()),
        "kills_by_moment": dict(sorted(stats.kills.items())),
        "buyers": stats.buyers,
        "scripts_finished": stats.scripts_finished,
        "lines_acknowledged": stats.lines_acknowledged,
        "answers_acknowledged": stats.answers_acknowledged,
        "answers_checked": stats.answers_checked,
        "in_flight_saved": stats.in_flight_saved,
        "in_flight_not_saved": stats.in_flight_not_saved,
        "lost": stats.lost,
        "mismatched_prompts": stats.mismatched_prompts,
        "unexpected_output": stats.unexpected_output,
        "unreadable_files": stats.unreadable_files,
        "partial_states": stats.partial_states,
        "chat_failures": stats.chat_failures,
        "wall_seconds": round(seconds, 1),
        "problems": stats.problems,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=50, help="at least this many SIGKILLs")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--lanes", type=int, default=2, help="data directories played at once")
    parser.add_argument("--keep", type=Path, help="keep the data directories here")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument(
        "--chat-module",
        default="bot.cli",
        help="module run as `python -m MODULE chat ...` (to check the checks with a broken chat)",
    )
    args = parser.parse_args(argv)
    stats, seconds = run(args.kills, args.seed, max(1, args.lanes), args.keep, args.chat_module)
    result = summary(stats, seconds, args)
    ok = not (
        stats.lost
        or stats.mismatched_prompts
        or stats.unexpected_output
        or stats.unreadable_files
        or stats.chat_failures
    )
    if args.json:
        print(json.dumps(result, indent=1, ensure_ascii=False))
        return 0 if ok else 1
    moments = ", ".join(f"{k} {v}" for k, v in result["kills_by_moment"].items())
    rows = [
        ("kills", f"{result['kills']}  ({moments})"),
        ("buyers", f"{result['buyers']}  ({result['scripts_finished']} finished their script)"),
        ("lines acknowledged", result["lines_acknowledged"]),
        ("answers acknowledged", result["answers_acknowledged"]),
        ("answers checked", result["answers_checked"]),
        (
            "line in flight saved",
            f"{result['in_flight_saved']} / not saved {result['in_flight_not_saved']}",
        ),
        ("lost", result["lost"]),
        ("mismatched prompts", result["mismatched_prompts"]),
        ("unexpected output", result["unexpected_output"]),
        ("unreadable files", result["unreadable_files"]),
        ("partly saved lines", result["partial_states"]),
        ("chat failures", result["chat_failures"]),
        ("wall time", f"{result['wall_seconds']} s ({args.lanes} lanes, seed {args.seed})"),
    ]
    print("crash test: SIGKILL the terminal chat at random moments")
    for label, value in rows:
        print(f"  {label:<22} {value}")
    for problem in stats.problems[:10]:
        print("\nPROBLEM " + problem)
    print("\nOK: nothing acknowledged was lost" if ok else "\nFAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

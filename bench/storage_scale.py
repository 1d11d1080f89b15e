"""Storage at scale: build 100,000 tenders, time start-up, /hervat's listing and acknowledgements.

Run ``python bench/storage_scale.py [--tenders 100000] [--json]``.

Every figure is a ratio against a baseline measured in the same run: the storage package of
``main``'s first commit that had it (``--baseline-ref``, exported with ``git archive``, read-only)
runs the same operations in a subprocess on the same data directory (the file layout is shared).
What is measured:

- ``build``: the current store creates the tenders (one person with 10,000, the rest ten each)
  through ``Store.create_tenders`` (100 at a time) and ``save_user`` from 32 threads, as buyers'
  actions would; ``seconds`` until the last call returned, ``total_seconds`` until the store was
  closed (its last checkpoint written and synced). With ``--build-baseline`` the baseline builds
  the same in a directory of its own (a ref with ``create_tenders``, e.g. ``main``);
- ``startup``: opening the data directory as the channels do (the baseline also checked every
  file before serving, as its ``open_store`` did), at 10 tenders and at the full size; the
  median of five opens (one for a baseline that checks every file);
- ``hervat``: listing the tenders of the person with 10,000 (the baseline decodes every file; the
  current store reads its index; ``tender_page`` is the ten-item page a menu needs), and
  ``menus_current``: /hervat, /verwijder, turning a page and picking a tender through the
  conversation, beside ``menus_10_tenders``, the same at 10 tenders (target: p95 within 50 ms);
- ``ack``: 100 buyers answering at once (get person, get tender, set the answer and move the
  tender's state on as the engine does, save; ``--ack-with-user`` also saves the person's
  document each time), time from the start of the answer until its save returned (durable),
  p50/p95 and answers per second.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HEAVY = "tg-10000"
HEAVY_COUNT = 10_000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# -- operations, run in a subprocess against whichever ``storage`` is first on the path --------


def op_build(root: Path, tenders: int) -> dict[str, Any]:
    from storage import Store

    store = Store(root)
    people = [(HEAVY, min(HEAVY_COUNT, tenders))]
    rest = tenders - people[0][1]
    people += [(f"tg-{n}", 10) for n in range(rest // 10)]
    started = time.perf_counter()

    def make(person: tuple[str, int]) -> None:
        key, count = person
        for start in range(0, count, 100):
            metas = [
                {"name": f"Aanbesteding {n}", "created": "2026-01-01"}
                for n in range(start, min(count, start + 100))
            ]
            store.create_tenders(key, metas)
        store.save_user(key, {"mode": "asking", "active": None, "seq": 1})

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(make, people))
    built = time.perf_counter() - started
    store.close()
    return {
        "seconds": round(built, 1),
        "tenders": tenders,
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def op_startup(root: Path, runs: int = 5) -> dict[str, Any]:
    """Open the directory as the channels do and serve the heavy person's first read; the median
    of ``runs`` opens in this process (a single open is a few milliseconds, most of them in the
    journal's fsyncs, whose time on a shared disk varies several-fold from one call to the next).
    The baseline's open checked every file first: that is timed once."""
    from storage import Store

    times: list[float] = []
    checks_every_file = False
    while len(times) < (1 if checks_every_file else runs):
        started = time.perf_counter()
        store = Store(root)
        if hasattr(store, "check_in_background"):
            store.check_in_background(lambda bad: None)
        else:
            store.check()  # what the baseline's open_store did before serving anyone
            checks_every_file = True
        first = store.get_user(HEAVY)
        times.append(time.perf_counter() - started)
        assert first is not None or not any(root.iterdir())
        if hasattr(store, "close"):
            store.close()
    return {"ms": ms(statistics.median(times)), "runs": len(times)}


def op_hervat(root: Path, runs: int) -> dict[str, Any]:
    from storage import Store

    store = Store(root)
    listing: list[float] = []
    count = 0
    for _ in range(runs):
        started = time.perf_counter()
        count = len(store.list_tenders(HEAVY))
        listing.append(time.perf_counter() - started)
    result: dict[str, Any] = {"tenders": count, "list_p95_ms": ms(p95(listing))}
    if hasattr(store, "tender_page"):
        paging: list[float] = []
        for run in range(runs):
            started = time.perf_counter()
            store.tender_page(HEAVY, (run % 10) * 10, 10)
            paging.append(time.perf_counter() - started)
        result["page_p95_ms"] = ms(p95(paging))
    return result


def op_ack(root: Path, buyers: int, rounds: int, with_user: int = 0) -> dict[str, Any]:
    """Each buyer answers as the conversation engine handles an ordinary answer: load the person
    and the tender, set the answer, move the tender's state on (prompt number, history, skipped,
    update id: all kept with the tender so that an answer is one write), save. The person's own
    document is saved only when it changes (a mode or menu change, not an answer); with
    ``with_user`` 1 it is changed and saved with every answer too (this op's earlier form)."""
    from storage import Store

    store = Store(root)
    keys = [f"tg-ack{n}" for n in range(buyers)]
    tender_ids = {}
    for key in keys:
        tender_ids[key] = store.create_tender(key, {"name": "x"}).id
        store.save_user(key, {"mode": "asking", "active": tender_ids[key], "seq": 1})
    barrier = threading.Barrier(buyers)
    latencies: list[float] = []
    lock = threading.Lock()

    def answer(key: str) -> None:
        for round_ in range(rounds):
            barrier.wait()
            started = time.perf_counter()
            user = store.get_user(key)
            assert user is not None
            tender = store.get_tender(key, tender_ids[key])
            assert tender is not None
            qid = f"q{round_}"
            tender.answers[qid] = f"antwoord {round_} " * 20
            state = tender.state
            seq = max(int(user["seq"]), int(state.get("seq", 0))) + 1
            state["seq"] = state["update_id"] = seq
            state["history"] = [*state.get("history", []), qid][-200:]
            state["skipped"] = [s for s in state.get("skipped", []) if s != qid]
            if with_user:
                user["seq"] = seq
            if hasattr(store, "save_session"):  # what the engine does with the current store
                store.save_session(key, user if with_user else None, tender)
            else:
                store.save_tender(key, tender)
                if with_user:
                    store.save_user(key, user)
            with lock:
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=buyers) as pool:
        list(pool.map(answer, keys))
    wall = time.perf_counter() - started
    return {
        "p50_ms": ms(statistics.median(latencies)),
        "p95_ms": ms(p95(latencies)),
        "answers_per_s": round(len(latencies) / wall),
    }


def op_menus(root: Path, runs: int) -> dict[str, Any]:
    """/hervat and /verwijder through the conversation (each with its /annuleren), turning a
    page, and picking a tender on the second page of /verwijder (up to its confirmation)."""
    from flows.engine import Conversation
    from flows.events import Event
    from storage import Store

    store = Store(root)
    newest = store.tender_page(HEAVY, 0, 1)[0]
    if newest:  # a person at work on their newest tender, as after /nieuw
        store.save_user(HEAVY, {"mode": "asking", "active": newest[0]["id"], "seq": 1})
    conversation = Conversation(store, buttons=True)
    steps: dict[str, list[Event]] = {
        "hervat": [Event.cmd("hervat")],
        "verwijder": [Event.cmd("verwijder")],
        "page": [Event.cmd("volgende_pagina")],
        "pick": [Event.typed("2")],
    }
    setup = {"page": [Event.cmd("hervat")], "pick": [Event.cmd("verwijder")]}
    result: dict[str, Any] = {"tenders": store.count_tenders(HEAVY)}
    for name, events in steps.items():
        times: list[float] = []
        for _ in range(runs):
            for event in setup.get(name, []):
                conversation.handle(HEAVY, event)
            started = time.perf_counter()
            for event in events:
                conversation.handle(HEAVY, event)
            times.append(time.perf_counter() - started)
            conversation.handle(HEAVY, Event.cmd("annuleren"))
        result[f"{name}_p95_ms"] = ms(p95(times))
    return result


OPS: dict[str, Callable[..., Any]] = {
    "build": op_build,
    "startup": op_startup,
    "hervat": op_hervat,
    "menus": op_menus,
    "ack": op_ack,
}


# -- the driver ---------------------------------------------------------------------------------


def run_op(code: Path, op: str, *args: Any) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code), "PYTHONDONTWRITEBYTECODE": "1"}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--op", op, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=code,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{op} failed under {code}:\n{out.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def export_baseline(ref: str, into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", ref, "storage"], capture_output=True, check=True
    )
    into.mkdir(parents=True)
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


def ratio(new: float, old: float) -> float:
    return round(new / old, 3) if old else float("inf")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--op", choices=sorted(OPS))
    parser.add_argument("args", nargs="*")
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--buyers", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--baseline-ref", default="4b63fe5")
    parser.add_argument(
        "--build-baseline", action="store_true", help="also time the baseline's build"
    )
    parser.add_argument(
        "--ack-with-user",
        action="store_true",
        help="ack: save the person's document with every answer too (not what the engine does)",
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.op:
        op_args = [Path(args.args[0]), *map(int, args.args[1:])]
        print(json.dumps(OPS[args.op](*op_args)))
        return 0

    work = Path(tempfile.mkdtemp(prefix="storage-scale-"))
    try:
        old = export_baseline(args.baseline_ref, work / "baseline")
        big, small = work / "big", work / "small"
        results: dict[str, Any] = {"tenders": args.tenders, "baseline": args.baseline_ref}
        results["build"] = run_op(REPO, "build", big, args.tenders)
        if args.build_baseline:
            results["build_baseline"] = run_op(old, "build", work / "big-old", args.tenders)
            shutil.rmtree(work / "big-old", ignore_errors=True)
        run_op(REPO, "build", small, 10)
        for size, root in (("small", small), ("big", big)):
            results[f"startup_{size}"] = {
                "current": run_op(REPO, "startup", root),
                "baseline": run_op(old, "startup", root),
            }
        results["hervat"] = {
            "current": run_op(REPO, "hervat", big, 20),
            "baseline": run_op(old, "hervat", big, 3),
        }
        results["menus_current"] = run_op(REPO, "menus", big, 20)
        results["menus_10_tenders"] = run_op(REPO, "menus", small, 20)
        ack = (args.buyers, args.rounds, int(args.ack_with_user))
        results["ack"] = {
            "current": run_op(REPO, "ack", work / "ack-new", *ack),
            "baseline": run_op(old, "ack", work / "ack-old", *ack),
            "with_user": args.ack_with_user,
        }
        startup = results["startup_big"]["current"]["ms"], results["startup_small"]["current"]["ms"]
        results["ratios"] = {
            "startup_100k_over_10": ratio(*startup),
            "startup_100k_vs_baseline": ratio(startup[0], results["startup_big"]["baseline"]["ms"]),
            "hervat_list_vs_baseline": ratio(
                results["hervat"]["current"]["list_p95_ms"],
                results["hervat"]["baseline"]["list_p95_ms"],
            ),
            **{
                f"{name}_10k_over_10": ratio(
                    results["menus_current"][f"{name}_p95_ms"],
                    results["menus_10_tenders"][f"{name}_p95_ms"],
                )
                for name in ("hervat", "verwijder", "page", "pick")
            },
            "ack_p95_vs_baseline": ratio(
                results["ack"]["current"]["p95_ms"], results["ack"]["baseline"]["p95_ms"]
            ),
            "ack_p50_vs_baseline": ratio(
                results["ack"]["current"]["p50_ms"], results["ack"]["baseline"]["p50_ms"]
            ),
            "ack_per_s_vs_baseline": ratio(
                results["ack"]["current"]["answers_per_s"],
                results["ack"]["baseline"]["answers_per_s"],
            ),
        }
        if args.build_baseline:
            results["ratios"]["build_total_vs_baseline"] = ratio(
                results["build"]["total_seconds"], results["build_baseline"]["total_seconds"]
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        for key, value in results.items():
            print(f"{key:>14}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

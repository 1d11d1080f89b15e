"""`make bench`: every benchmark and the crash test in one run, written to bench/RESULTS.md.

Each figure is compared with its target from the evidence issue. Timings are ratios against a
baseline measured in the same run wherever a baseline exists, because these machines are shared and
noisy; absolute milliseconds are given for context.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import telegram

from bench import save_cost

HERE = Path(__file__).resolve().parent


def machine() -> dict[str, str]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{os.cpu_count()} × {cpu}",
        "memory": mem,
        "os": platform.platform(),
        "python": platform.python_version(),
        "python-telegram-bot": telegram.__version__,
        "disk (data dir)": tempfile.gettempdir(),
    }


def verdict(ok: bool) -> str:
    return "✅ gehaald" if ok else "❌ niet gehaald"


def isolated(module: str, *args: str) -> Any:
    """One benchmark in a fresh interpreter, so imports and caches of another cannot skew it."""
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
        cwd=HERE.parent,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench.{module} mislukte:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout)


def run_crash(kills: int) -> dict[str, Any]:
    script = HERE / "crash.py"
    if not script.exists():
        return {"error": "bench/crash.py ontbreekt"}
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(script), "--kills", str(kills), "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    try:
        report: dict[str, Any] = json.loads(result.stdout)
    except json.JSONDecodeError:
        report = {"error": (result.stderr or result.stdout)[-2000:]}
    report["exit_code"] = result.returncode
    report["wall_s"] = round(time.perf_counter() - started, 1)
    return report


def write_results(results: dict[str, Any], path: Path) -> None:
    m = results["machine"]
    lines = [
        "# Benchmark results",
        "",
        "Produced by `make bench` (`python -m bench.run`); every number below comes from that one",
        "run. Reproduce with `make bench`; the raw figures are in `bench/results.json`.",
        "",
        "## Machine",
        "",
        *[f"- {k}: {v}" for k, v in m.items()],
        "",
        "## Targets",
        "",
        "| # | what | target | measured | result |",
        "|---|---|---|---|---|",
    ]
    pu = results["per_update"]
    at10k = next(r for r in pu if r["stored_tenders"] == max(x["stored_tenders"] for x in pu))
    save = results["save_cost"]
    docs = results["documents"]
    fair = results["fairness"]
    mem = results["memory"]
    crash = results["crash"]
    total_mem = mem["rss_bot_mb"] + (mem["rss_document_worker_mb"] or 0)
    rows = [
        (
            "1",
            "throughput at 10,000 stored tenders vs PTB echo bot",
            "ratio ≥ 0.5",
            f"{at10k['ratio_to_echo']} ({at10k['updates_per_s']} vs {at10k['echo_updates_per_s']} updates/s)",
            verdict(at10k["ratio_to_echo"] >= 0.5),
        ),
        (
            "2",
            "save one answer, 10,000 vs 10 stored tenders",
            "ratio ≤ 1.5",
            f"{save['ratio_10k_10']} ({save['sizes']['10000']['median_ms']} vs {save['sizes']['10']['median_ms']} ms median)",
            verdict(save["ratio_10k_10"] <= 1.5),
        ),
        (
            "3",
            "documents: chat + .docx + .md + chart, warm",
            "p95 < 500 ms",
            f"p95 {docs['set']['p95_ms']} ms (p50 {docs['set']['p50_ms']} ms)",
            verdict(docs["set"]["p95_ms"] < 500),
        ),
        (
            "4",
            "other buyers' p95 while one buyer downloads in a loop",
            "≤ 2 × quiet p95",
            f"{fair['p95_ratio']} × ({fair['with_document_load']['p95_ms']} vs {fair['quiet']['p95_ms']} ms)",
            verdict(fair["p95_ratio"] <= 2),
        ),
        (
            "5",
            "resident memory, 1,000 buyers mid-preparation",
            "< 200 MB",
            f"bot {mem['rss_bot_mb']} MB + document worker {mem['rss_document_worker_mb']} MB = {total_mem:.1f} MB",
            verdict(total_mem < 200),
        ),
        (
            "crash",
            f"SIGKILL of the terminal chat at random moments ({crash.get('kills', '?')} kills)",
            "nothing lost",
            f"lost {crash.get('lost', '?')}, wrong prompt {crash.get('mismatched_prompts', '?')}, "
            f"{crash.get('answers_checked', '?')} answers checked",
            verdict(crash.get("exit_code") == 0 and crash.get("lost") == 0),
        ),
    ]
    lines += [f"| {' | '.join(str(c) for c in row)} |" for row in rows]
    lines += ["", "## 1. Per-update cost", ""]
    lines += [
        "| stored tenders | updates/s | echo updates/s | ratio | handling p50 / p95 / p99 ms | echo p50 / p95 / p99 ms |",
        "|---|---|---|---|---|---|",
    ]
    for r in pu:
        h, e = r["handling"], r["echo_handling"]
        lines.append(
            f"| {r['stored_tenders']:,} | {r['updates_per_s']} | {r['echo_updates_per_s']} | {r['ratio_to_echo']} "
            f"| {h['p50_ms']} / {h['p95_ms']} / {h['p99_ms']} | {e['p50_ms']} / {e['p95_ms']} / {e['p99_ms']} |"
        )
    lines += [
        "",
        "Where one update's time goes (one update in flight, mean per update):",
        "",
        "| stored tenders | total ms | durable save (fsync file + directory) | conversation without save | PTB and delivery | echo total |",
        "|---|---|---|---|---|---|",
        *[
            f"| {r['stored_tenders']:,} | {b['total']} | {b['durable_save']} | {b['conversation_without_save']} | {b['ptb_and_delivery']} | {r['echo_handling']['mean_ms']} |"
            for r in pu
            for b in [r["breakdown_ms_per_update"]]
        ],
    ]
    lines += [
        "",
        f"{pu[0]['buyers']} buyers go through the complete Telegram playbook ({pu[0]['updates']} updates), "
        "throughput with all of them active at once, handling time with one update in flight.",
        "",
        "## 2. Save cost",
        "",
        "| stored tenders | median ms | p95 ms |",
        "|---|---|---|",
        *[f"| {int(k):,} | {v['median_ms']} | {v['p95_ms']} |" for k, v in save["sizes"].items()],
        "",
        "## 3. Documents (warm)",
        "",
        "| output | p50 ms | p95 ms |",
        "|---|---|---|",
        *[f"| {k} | {v['p50_ms']} | {v['p95_ms']} |" for k, v in docs.items()],
        "",
        "## 4. Fairness",
        "",
        f"{fair['buyers']} buyers answer while one buyer requests documents in a loop "
        f"({fair['downloads_during_load']} document sets made meanwhile, in the worker process).",
        f"Quiet p95 {fair['quiet']['p95_ms']} ms, with load {fair['with_document_load']['p95_ms']} ms.",
        "",
        "## 5. Memory",
        "",
        f"{mem['buyers']} buyers, {mem['updates_each']} updates each. Bot process at start "
        f"{mem['rss_bot_start_mb']} MB, after {mem['rss_bot_mb']} MB; document worker "
        f"{mem['rss_document_worker_mb']} MB.",
        "",
        "## Crash test",
        "",
        "```",
        json.dumps(crash, indent=2),
        "```",
    ]
    if results.get("notes"):
        lines += ["", "## Notes", "", *results["notes"]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="small budgets, for a smoke run")
    parser.add_argument("--out", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)
    quick = args.quick
    results: dict[str, Any] = {"machine": machine()}
    print("save cost ...", flush=True)
    base = Path(tempfile.mkdtemp(prefix="inkoopkompas-save-"))
    try:
        results["save_cost"] = save_cost.measure(base, 60 if quick else 300)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    print("per-update cost ...", flush=True)
    results["per_update"] = isolated("per_update", "--buyers", "5" if quick else "20")
    print("documents ...", flush=True)
    results["documents"] = isolated("documents", "--repeats", "10" if quick else "30")
    print("fairness ...", flush=True)
    results["fairness"] = isolated("fairness", "--buyers", "4" if quick else "10")
    print("memory ...", flush=True)
    results["memory"] = isolated("memory", "--buyers", "100" if quick else "1000")
    print("crash test ...", flush=True)
    results["crash"] = run_crash(5 if quick else 50)
    notes_file = HERE / "NOTES.md"
    if notes_file.exists():
        results["notes"] = notes_file.read_text(encoding="utf-8").splitlines()
    (HERE / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    write_results(results, args.out)
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())

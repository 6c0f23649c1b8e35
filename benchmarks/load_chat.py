"""Bounded load test of `citeqa chat`: N simultaneous users over 127.0.0.1, p50/p95 latency and errors.

    python benchmarks/load_chat.py                      # starts `citeqa chat` on a free port, 20 users x 10 turns
    python benchmarks/load_chat.py --url http://127.0.0.1:7860/ --users 20 --requests 10
    python benchmarks/load_chat.py --no-lock            # the server lets workers call the Assistant concurrently

Each user is its own gradio_client session (its own chat history, so follow-ups are condensed as in the browser)
and sends --requests chat turns back to back through the same `/chat` event the page uses; all users start
together behind a barrier. The question mix: the app's examples, gold-set questions in English and Chinese,
follow-ups ("and what about Canada?") and out-of-scope questions. The run is bounded: users x requests turns,
each with a timeout. A turn counts as an error when the call raises or times out, or the reply is the app's
internal-error card. Exit status 1 when any turn failed.

Without --url the script starts `python -m citeqa.cli chat` (the repo's index; built first if needed) in a
subprocess, waits for it, and stops it by its pid at the end; its log goes to bench-output/load_chat_server.log.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench-output"
GOLD = REPO / "corpus" / "gold" / "gold.jsonl"
FOLLOWUPS = ["and what about Canada?", "那加拿大呢？", "why?", "and in 2021?"]
OUT_OF_SCOPE = ["How do I make sourdough bread at home?", "澳大利亚的首都是哪里？"]
INTERNAL_ERROR_MARK = "The error was logged"


def question_mix(limit: int = 40) -> list[str]:
    from citeqa.app.ui import EXAMPLES

    gold = []
    if GOLD.exists():
        for line in GOLD.read_text(encoding="utf-8").splitlines()[:limit]:
            gold.append(json.loads(line)["question"])
    mix: list[str] = []
    for i, q in enumerate([*EXAMPLES, *gold]):
        mix.append(q)
        if i % 4 == 3:
            mix.append(FOLLOWUPS[(i // 4) % len(FOLLOWUPS)])
        if i % 9 == 8:
            mix.append(OUT_OF_SCOPE[(i // 9) % len(OUT_OF_SCOPE)])
    return mix


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}; see {OUT / 'load_chat_server.log'}")
        try:
            with urllib.request.urlopen(url + "gradio_api/info", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"server at {url} not ready after {timeout:.0f} s")


def start_server(lock: bool, ready_timeout: float) -> tuple[str, subprocess.Popen[bytes]]:
    OUT.mkdir(exist_ok=True)
    port = free_port()
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", CITEQA_CHAT_LOCK="1" if lock else "0")
    log = (OUT / "load_chat_server.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "citeqa.cli", "chat", "--port", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        wait_ready(url, proc, ready_timeout)
    except BaseException:
        proc.terminate()
        raise
    return url, proc


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux /proc), 0.0 when unknown."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def run_user(
    url: str, user: int, requests: int, mix: list[str], barrier: threading.Barrier, timeout: float
) -> list[tuple[float, str | None]]:
    """One session: `requests` chat turns back to back. Returns (seconds, error or None) per turn."""
    from gradio_client import Client

    client = Client(url, verbose=False, httpx_kwargs={"timeout": timeout})
    results: list[tuple[float, str | None]] = []
    barrier.wait()
    for i in range(requests):
        question = mix[(user * 7 + i) % len(mix)]
        started = time.perf_counter()
        error = None
        try:
            job = client.submit(question, api_name="/chat")
            _, messages = job.result(timeout=timeout)
            reply = json.dumps(messages[-1], ensure_ascii=False) if messages else ""
            if INTERNAL_ERROR_MARK in reply:
                error = "internal error card"
            elif "cq-card" not in reply:
                error = "no answer card"
        except Exception as exc:  # any failure of the turn counts; the run goes on
            error = f"{exc.__class__.__name__}: {exc}"[:200]
        results.append((time.perf_counter() - started, error))
    client.close()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="a running `citeqa chat` (default: start one on a free port)")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--requests", type=int, default=10, help="chat turns per user")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per turn")
    parser.add_argument("--ready-timeout", type=float, default=300.0, help="seconds to wait for the server")
    parser.add_argument("--no-lock", action="store_true", help="started server: concurrent Assistant calls")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.users <= 200 or not 1 <= args.requests <= 1000:
        parser.error("keep the run bounded: 1-200 users, 1-1000 requests each")

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    proc = None
    if args.url:
        url = args.url.rstrip("/") + "/"
        wait_ready(url, None, args.ready_timeout)
    else:
        url, proc = start_server(lock=not args.no_lock, ready_timeout=args.ready_timeout)
    try:
        mix = question_mix()
        # warm-up: one turn so model and cache warm-up does not count against the first users
        run_user(url, 0, 1, mix, threading.Barrier(1), args.timeout)
        barrier = threading.Barrier(args.users)
        server_cpu = cpu_seconds(proc.pid) if proc is not None else 0.0
        client_cpu = time.process_time()
        started = time.perf_counter()
        with ThreadPoolExecutor(args.users) as pool:
            futures = [
                pool.submit(run_user, url, u, args.requests, mix, barrier, args.timeout) for u in range(args.users)
            ]
            results = [r for f in futures for r in f.result()]
        wall = time.perf_counter() - started
        server_cpu = cpu_seconds(proc.pid) - server_cpu if proc is not None else 0.0
        client_cpu = time.process_time() - client_cpu
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
    latencies = [t for t, err in results if err is None]
    errors = [err for _, err in results if err is not None]
    figures = {
        "users": args.users,
        "requests_per_user": args.requests,
        "turns": len(results),
        "errors": len(errors),
        "lock": not args.no_lock if proc is not None else None,
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else None,
        "wall_s": round(wall, 2),
        "turns_per_s": round(len(results) / wall, 1),
        "server_cpu_ms_per_turn": round(server_cpu / len(results) * 1000, 1) if proc is not None else None,
        "client_cpu_ms_per_turn": round(client_cpu / len(results) * 1000, 1),
    }
    print(
        f"{figures['users']} users x {figures['requests_per_user']} turns = {figures['turns']} turns "
        f"in {figures['wall_s']} s ({figures['turns_per_s']} turns/s): "
        f"p50 {figures['p50_ms']} ms, p95 {figures['p95_ms']} ms, max {figures['max_ms']} ms, "
        f"errors {figures['errors']}"
    )
    print(
        f"  CPU per turn: server {figures['server_cpu_ms_per_turn']} ms, "
        f"load client {figures['client_cpu_ms_per_turn']} ms (both share the machine's cores)"
    )
    for err in sorted(set(errors))[:10]:
        print(f"  error: {err}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=1) + "\n", encoding="utf-8")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())

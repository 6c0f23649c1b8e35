"""Speed and memory of the local LLM server (packaged Gemma-3-270M on llama.cpp), printed, never asserted.

Assemble time (into a fresh temp folder), server start-up, prompt and decode tokens/s as llama.cpp's own
`timings` report them, and the server process's RSS, for each thread count asked for. On a shared machine the
figures move with the load average, which is printed beside them.

    python benchmarks/bench_llm.py [--threads 2 1] [--repeat 3] [--prompt-words 300] [--decode 64]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from citeqa.qa.llm.local_server import LocalGgufServer, packaged_gemma

REPO = Path(__file__).resolve().parents[1]
# a fixed, project-written English prompt (~1.3 tokens a word)
SENTENCE = "the policy asks firms to bring factories home while costs of labour and parts keep rising"


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set size of a process in MB, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if line.startswith("Vm")
    )
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def one_run(client: httpx.Client, base_url: str, prompt: str, decode: int) -> tuple[float, float, int]:
    reply = client.post(
        f"{base_url}/completions",
        json={"prompt": prompt, "max_tokens": decode, "temperature": 0, "ignore_eos": True, "cache_prompt": False},
    )
    reply.raise_for_status()
    t = reply.json()["timings"]
    return t["prompt_per_second"], t["predicted_per_second"], t["prompt_n"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[2, 1])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--prompt-words", type=int, default=300)
    ap.add_argument("--decode", type=int, default=64)
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        packaged_gemma(tmp)
        print(f"assemble (fresh folder, incl. sha256): {time.perf_counter() - started:.2f} s")
        started = time.perf_counter()
        packaged_gemma(tmp)
        print(f"assemble again (stamp check): {(time.perf_counter() - started) * 1000:.1f} ms")
    model = packaged_gemma(REPO / ".cache" / "llm")
    words = SENTENCE.split()
    prompt = " ".join(words[i % len(words)] for i in range(args.prompt_words))
    for threads in args.threads:
        with LocalGgufServer(model, threads=threads) as server, httpx.Client(timeout=600, trust_env=False) as client:
            idle_rss, _ = rss_mb(server.pid)
            runs = [one_run(client, server.base_url, prompt, args.decode) for _ in range(args.repeat)]
            rss, peak = rss_mb(server.pid)
            pp = statistics.median(r[0] for r in runs)
            tg = statistics.median(r[1] for r in runs)
            print(
                f"threads={threads}: start-up {server.startup_seconds:.2f} s; prompt {pp:.0f} tok/s "
                f"({runs[0][2]} tokens); decode {tg:.1f} tok/s ({args.decode} tokens); "
                f"RSS idle {idle_rss:.0f} MB, after runs {rss:.0f} MB, peak {peak:.0f} MB; "
                f"load {os.getloadavg()[0]:.2f}"
            )
            print("   runs (prompt tok/s, decode tok/s):", [(round(a), round(b, 1)) for a, b, _ in runs])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed and memory figures for `citeqa build` and `citeqa ask` (issue 3 targets), printed, never asserted.

Each figure is a whole process measured from outside (wall time, peak RSS from the kernel's rusage), plus a
ratio against a fixed numpy reference workload timed in the same run, so figures from a noisy shared machine
can be compared between runs.

    python benchmarks/bench_ask.py [--questions corpus/gold/gold.jsonl] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"warm p50 ms": 30, "warm p95 ms": 100, "cold build s": 40, "first answer s": 5, "peak RSS MB": 1024}


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS MB, stdout) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        args,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    proc.stdin.write(stdin or "")  # type: ignore[union-attr]
    proc.stdin.close()  # type: ignore[union-attr]
    out = proc.stdout.read()  # type: ignore[union-attr]
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"command failed: {' '.join(args)}")
    return wall, usage.ru_maxrss / 1024, out


def reference_seconds() -> float:
    """A fixed CPU workload (numpy matmuls, one thread) to express figures as machine-independent ratios."""
    import numpy as np

    a = np.random.default_rng(0).standard_normal((256, 256)).astype(np.float32)
    started = time.perf_counter()
    for _ in range(200):
        a = (a @ a) / 256.0
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=Path, default=REPO / "corpus" / "gold" / "gold.jsonl")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each whole-process figure (median kept)")
    args = parser.parse_args()
    citeqa = [sys.executable, "-m", "citeqa.cli"]
    questions = [json.loads(line)["question"] for line in args.questions.read_text(encoding="utf-8").splitlines()]
    ref = statistics.median(reference_seconds() for _ in range(3))
    print(f"reference workload: {ref * 1000:.0f} ms (numpy, 1 thread)")

    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CITEQA_INDEX_DIR": str(Path(tmp) / "index"), "OMP_NUM_THREADS": "1"}
        builds = [run([*citeqa, "build", "--force"], env) for _ in range(args.repeat)]
        build_s = statistics.median(b[0] for b in builds)
        build_rss = max(b[1] for b in builds)
        firsts = [run([*citeqa, "ask", "--json", "what local-content threshold does USMCA set"], env)]
        firsts += [run([*citeqa, "ask", "--json", "《芯片与科学法》拨款多少？"], env) for _ in range(args.repeat - 1)]
        first_s = statistics.median(f[0] for f in firsts)
        wall, jsonl_rss, out = run([*citeqa, "ask", "--jsonl", "-"], env, stdin="\n".join(questions) + "\n")
    rows = [json.loads(line) for line in out.splitlines()]
    totals = [r["timings_ms"]["total"] for r in rows if "timings_ms" in r]
    retrieve = [r["timings_ms"]["retrieve"] for r in rows if "timings_ms" in r]
    figures = {
        "warm p50 ms": statistics.median(totals),
        "warm p95 ms": percentile(totals, 95),
        "cold build s": build_s,
        "first answer s": first_s,
        "peak RSS MB": max(build_rss, jsonl_rss, *(f[1] for f in firsts)),
    }
    print(
        f"{len(totals)} questions in one --jsonl process ({wall:.1f} s wall, retrieve p50 "
        f"{statistics.median(retrieve):.1f} ms)"
    )
    print(f"{'figure':<16}{'value':>10}{'target':>10}{'x reference':>13}  met")
    for name, value in figures.items():
        seconds = value / 1000 if name.endswith("ms") else value
        ratio = "" if name.startswith("peak") else f"{seconds / ref:.2f}"
        met = "yes" if value <= TARGETS[name] else "NO"
        print(f"{name:<16}{value:>10.1f}{TARGETS[name]:>10}{ratio:>13}  {met}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Scale curve of one pool: embedded Chroma vs a Chroma server vs exact in-memory numpy search.

Synthetic chunks: random unit vectors of 512 dimensions (like USE-m3), fixed seed. For each size: build throughput
(batches of 1,000, our own embeddings), top-10 query p50/p95 over 200 queries through Chroma's HNSW (embedded and
server), exact search (matrix @ q, argsort) p50/p95, the time to read all vectors back from the server once, and the
peak process RSS (psutil RSS if installed). Prints a Markdown table, the break-even pool size for "read once +
exact search" against N server HNSW queries, and writes bench-output/scale.png.

    python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--queries 200]
"""

from __future__ import annotations

import argparse
import contextlib
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 512
BATCH = 1000
K = 10
CHROMA = Path(sys.executable).with_name("chroma")
OUT = Path(__file__).resolve().parents[1] / "bench-output"


def rss_mb() -> float:
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # peak, KiB on Linux


def unit_vectors(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.standard_normal((n, DIM), dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def pct(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def chroma_server(path: Path):
    port = free_port()
    log = open(path.parent / "server.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        import chromadb

        deadline = time.monotonic() + 60
        while True:
            try:
                client = chromadb.HttpClient(host="127.0.0.1", port=port)
                client.heartbeat()
                break
            except Exception:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("chroma server did not start; see server.log") from None
                time.sleep(0.3)
        yield client
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def build(client, name: str, vectors: np.ndarray) -> float:
    col = client.create_collection(name, metadata={"hnsw:space": "cosine"})
    t = time.perf_counter()
    for a in range(0, len(vectors), BATCH):
        ids = [f"c{i}" for i in range(a, min(a + BATCH, len(vectors)))]
        col.add(ids=ids, embeddings=vectors[a : a + BATCH], documents=[f"chunk {i}" for i in ids])
    return len(vectors) / (time.perf_counter() - t)


def hnsw_latency(client, name: str, queries: np.ndarray) -> tuple[float, float]:
    col = client.get_collection(name)
    col.query(query_embeddings=queries[:1], n_results=K, include=["distances"])  # warm
    times = []
    for q in queries:
        t = time.perf_counter()
        col.query(query_embeddings=q.reshape(1, -1), n_results=K, include=["distances"])
        times.append(time.perf_counter() - t)
    return pct(times)


def read_all(client, name: str) -> tuple[float, np.ndarray]:
    col = client.get_collection(name)
    t = time.perf_counter()
    parts, offset = [], 0
    n = col.count()
    while offset < n:
        data = col.get(include=["embeddings"], limit=10000, offset=offset)
        parts.append(np.asarray(data["embeddings"], dtype=np.float32))
        offset += 10000
    matrix = np.concatenate(parts)
    return time.perf_counter() - t, matrix


def exact_latency(matrix: np.ndarray, queries: np.ndarray) -> tuple[float, float]:
    times = []
    for q in queries:
        t = time.perf_counter()
        sims = matrix @ q
        np.argsort(-sims)[:K]
        times.append(time.perf_counter() - t)
    return pct(times)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # run the finally blocks: stop the server, drop the tmp
    import chromadb

    rng = np.random.default_rng(20261201)
    queries = unit_vectors(rng, args.queries)
    tmp = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    rows = []
    try:
        embedded = chromadb.PersistentClient(path=str(tmp / "embedded"))
        with chroma_server(tmp / "server") as server:
            for n in sizes:
                vectors = unit_vectors(np.random.default_rng(n), n)
                name = f"pool{n}"
                r = {"n": n}
                r["build_emb"] = build(embedded, name, vectors)
                r["build_srv"] = build(server, name, vectors)
                r["emb"] = hnsw_latency(embedded, name, queries)
                r["srv"] = hnsw_latency(server, name, queries)
                r["load_s"], matrix = read_all(server, name)
                r["exact"] = exact_latency(matrix, queries)
                r["rss"] = rss_mb()
                rows.append(r)
                del matrix, vectors
                print(f"done {n}: {r}", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        "| chunks | build emb. (vec/s) | build server (vec/s) | HNSW emb. p50/p95 ms | HNSW server p50/p95 ms "
        "| exact numpy p50/p95 ms | read all from server s | peak RSS MB |"
    )
    print("| --: | --: | --: | --: | --: | --: | --: | --: |")
    for r in rows:
        print(
            f"| {r['n']:,} | {r['build_emb']:,.0f} | {r['build_srv']:,.0f} | {r['emb'][0]:.2f} / {r['emb'][1]:.2f} "
            f"| {r['srv'][0]:.2f} / {r['srv'][1]:.2f} | {r['exact'][0]:.3f} / {r['exact'][1]:.3f} "
            f"| {r['load_s']:.2f} | {r['rss']:.0f} |"
        )
    print()
    print("Break-even: read once + exact beats N server HNSW queries when load + N*exact < N*hnsw,")
    print("i.e. N > load / (hnsw - exact) (p50 per-query costs):")
    for r in rows:
        gain_ms = r["srv"][0] - r["exact"][0]
        n_star = r["load_s"] * 1000 / gain_ms if gain_ms > 0 else float("inf")
        load_ms = r["load_s"] * 1000
        print(f"- {r['n']:,} chunks: load {load_ms:.0f} ms, saves {gain_ms:.2f} ms/query -> N* = {n_star:,.0f}")
    # pool size where the load costs as much as N queries save: load grows ~linearly with n, fit it
    ns = np.array([r["n"] for r in rows], dtype=float)
    if len(rows) >= 2:
        load_per_vec = np.polyfit(ns, [r["load_s"] for r in rows], 1)
        exact_per_vec = np.polyfit(ns, [r["exact"][0] / 1000 for r in rows], 1)
        hnsw_s = float(np.median([r["srv"][0] for r in rows])) / 1000
        for q in (1, 10, 100, 1000):
            # load(n) + q*exact(n) = q*hnsw  ->  n = (q*hnsw - a0 - q*b0) / (a1 + q*b1)
            n_be = (q * hnsw_s - load_per_vec[1] - q * exact_per_vec[1]) / (load_per_vec[0] + q * exact_per_vec[0])
            print(f"- N = {q} questions: read-once + exact is cheaper up to ~{max(n_be, 0):,.0f} chunks")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    OUT.mkdir(exist_ok=True)
    fig, ax = plt.subplots(figsize=(6, 4))
    for key, label in (("emb", "HNSW embedded"), ("srv", "HNSW server"), ("exact", "exact numpy")):
        ax.plot(ns, [r[key][0] for r in rows], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("pool size (chunks, 512-d)")
    ax.set_ylabel("top-10 query p50 (ms)")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(OUT / "scale.png", dpi=120)
    print(f"\nwrote {OUT / 'scale.png'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

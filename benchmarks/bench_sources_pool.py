"""Issue 10: one real question's retrieval latency with a synthetic source pool of 10,000 chunks.

The paper's index is built in a temp folder; the pool is written to <index>/sources/ (chroma/ + manifest.json, the
layout `citeqa.index.sources_index` reads) through the project's own backend (`EmbeddedChroma.add`, collection
`source-usem3`) with random text from the paper's words and random 512-d unit vectors in place of USE-m3 vectors
(embedding 10,000 chunks would take minutes on this machine and search cost does not depend on the values). Then
`Retriever.retrieve` p50/p95 over gold questions, without and with the pool (both retrievers alive, alternated per
question), and the pool's own `SourcesIndex.search` p50/p95.

    python benchmarks/bench_sources_pool.py [--chunks 10000] [--questions 50]
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from citeqa.eval.gold import load_gold
from citeqa.index.backends import EmbeddedChroma
from citeqa.index.sources_index import COLLECTION, MANIFEST, _build_key, sources_index_path
from citeqa.index.store import ensure_index
from citeqa.qa.retrieve import Retriever
from citeqa.settings import load_settings


def pct(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def make_pool(settings, n: int, rng: np.random.Generator, words: list[str]) -> float:
    folder = sources_index_path(settings)
    folder.mkdir(parents=True, exist_ok=True)
    backend = EmbeddedChroma(folder / "chroma")
    n_sources = 50
    started = time.perf_counter()
    for a in range(0, n, 1000):
        idx = range(a, min(a + 1000, n))
        vectors = rng.standard_normal((len(idx), 512)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        backend.add(
            COLLECTION,
            [f"syn{i % n_sources}:{i}" for i in idx],
            vectors,
            ["".join(rng.choice(words, 60)) for _ in idx],
            [{"source_id": f"syn{i % n_sources}", "locator": f"para {i}"} for i in idx],
        )
    seconds = time.perf_counter() - started
    sources = {
        f"syn{s}": {
            "sha256": "0" * 64,
            "chunks": n // n_sources,
            "chunks_total": n // n_sources,
            "truncated": False,
            "title": f"synthetic {s}",
            "url": "",
            "footnotes": [],
            "indexed_at": "",
        }
        for s in range(n_sources)
    }
    (folder / MANIFEST).write_text(json.dumps({"key": _build_key(settings), "sources": sources}), encoding="utf-8")
    backend.close()
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--chunks", type=int, default=10000)
    ap.add_argument("--questions", type=int, default=50)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-sources-"))
    try:
        settings = load_settings(index_dir=tmp / "index")
        t = time.perf_counter()
        index = ensure_index(settings)
        print(f"paper index built in {time.perf_counter() - t:.1f} s")
        gold = load_gold(settings.corpus_path / "gold" / "gold.jsonl")
        questions = [g.question for g in gold.items if g.in_scope][: args.questions]
        plain = Retriever(index, settings)
        assert plain._sources is None
        rng = np.random.default_rng(10)
        text = "".join(p["text"] for p in json.loads((settings.corpus_path / "paper.json").read_text())["paragraphs"])
        words = [text[i : i + 2] for i in range(0, len(text) - 2, 2)]
        add_s = make_pool(settings, args.chunks, rng, words)
        t = time.perf_counter()
        pooled = Retriever(index, settings)
        open_s = time.perf_counter() - t
        assert pooled._sources is not None and len(pooled._sources.chunks) == args.chunks
        for r in (plain, pooled):  # warm: the first call pays lazy initialisation
            r.retrieve(questions[0])
        times: dict[str, list[float]] = {"without pool": [], "with pool": []}
        for q in questions:
            for name, r in (("without pool", plain), ("with pool", pooled)):
                t = time.perf_counter()
                r.retrieve(q)
                times[name].append(time.perf_counter() - t)
        search = []
        for _ in range(200):
            v = rng.standard_normal(512).astype(np.float32)
            v /= np.linalg.norm(v)
            t = time.perf_counter()
            pooled._sources.search(v, settings.k_sources)
            search.append(time.perf_counter() - t)
        print(f"pool: {args.chunks:,} chunks added in {add_s:.1f} s; Retriever with the pool opened in {open_s:.2f} s")
        print(f"{len(questions)} gold questions, k_sources={settings.k_sources}\n")
        print("| retrieval | p50 ms | p95 ms |")
        print("| --- | --: | --: |")
        for name, samples in times.items():
            p50, p95 = pct(samples)
            print(f"| `Retriever.retrieve` {name} | {p50:.1f} | {p95:.1f} |")
        p50, p95 = pct(search)
        print(f"| `SourcesIndex.search` alone (200 random vectors) | {p50:.2f} | {p95:.2f} |")
        ratio = np.median(times["with pool"]) / np.median(times["without pool"])
        print(f"\nratio with/without (p50): {ratio:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

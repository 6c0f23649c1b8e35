"""Query-likelihood reranking of answer sentences (UPR, Sachan et al. 2022) with the packaged Gemma-3-270M, as an
ablation: does log P(question | sentence) pick the sentence holding a key fact more often than the rules or the
learned ranker, and what does it cost per question? Printed, never asserted.

For each answerable gold item, the extractive answerer's candidates are recorded (as `make train` records them)
and the learned ranker's top K are rescored by the language model: the question's own tokens are forced after a
prompt holding the sentence (a llama.cpp grammar of token ids, so every candidate scores the same tokenization;
llama.cpp's server returns no prompt log-probabilities) and their log-probabilities summed. Top-1 = the first
candidate holds a key fact.

    python benchmarks/bench_query_likelihood.py [--sets gold,blind-j] [--limit 20] [--k 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import httpx
import numpy as np

from citeqa.qa.assistant import Assistant
from citeqa.qa.llm.local_server import LocalGgufServer, packaged_gemma
from citeqa.qa.sentence_ranker import rule_scores
from citeqa.qa.train_sentence_ranker import _subset, collect
from citeqa.settings import load_settings

REPO = Path(__file__).resolve().parents[1]
PROMPT = "Passage: {sentence}\nPlease write a question based on this passage.\nQuestion:"  # UPR's instruction


def question_log_likelihood(client: httpx.Client, base: str, question_ids: list[int], sentence: str) -> float:
    grammar = "root ::= " + " ".join(f"<[{i}]>" for i in question_ids)
    reply = client.post(
        f"{base}/completion",
        json={
            "prompt": PROMPT.format(sentence=sentence),
            "grammar": grammar,
            "n_predict": len(question_ids),
            "n_probs": 1,
            "temperature": 0,
            "cache_prompt": False,
        },
    )
    reply.raise_for_status()
    return float(sum(p["logprob"] for p in reply.json()["completion_probabilities"][: len(question_ids)]))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sets", default="gold,blind-j,blind-k")
    ap.add_argument("--limit", type=int, default=20, help="answerable questions per set")
    ap.add_argument("--k", type=int, default=5, help="learned top-K candidates the model rescores")
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    print(f"load average at start: {' '.join(f'{x:.2f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    settings = load_settings()
    assistant = Assistant(settings)
    from citeqa.eval.gold import load_gold

    names = [s for s in args.sets.split(",") if s]
    sets = {n: _subset(load_gold(settings.corpus_path / "gold" / f"{n}.jsonl").items, args.limit) for n in names}
    sets = {n: [i for i in items if i.kind != "out-of-scope"] for n, items in sets.items()}
    questions, _ = collect(assistant, sets)
    ranker = assistant.answerer.sentence_ranker
    if ranker is None:
        print("the learned ranker is not loaded (answer_selection = rules?)")
        return 1
    model = packaged_gemma(REPO / ".cache" / "llm")
    top1 = {"rules": [], "learned": [], "query likelihood": [], "learned + QL (rank fusion)": []}
    seconds = []
    with LocalGgufServer(model, threads=args.threads) as server, httpx.Client(timeout=120) as client:
        base = server.base_url.rsplit("/v1", 1)[0]
        for q in questions:
            learned = ranker.scores(q.x)
            top = list(np.argsort(-learned, kind="stable")[: args.k])
            ids = client.post(f"{base}/tokenize", json={"content": " " + q.item.question}).json()["tokens"]
            started = time.perf_counter()
            ql = np.array([question_log_likelihood(client, base, ids, q.texts[i]) for i in top])
            seconds.append(time.perf_counter() - started)
            fused = {i: 1 / (60 + r) for r, i in enumerate(top)}
            for r, j in enumerate(np.argsort(-ql, kind="stable")):
                fused[top[j]] += 1 / (60 + r)
            top1["rules"].append(q.y[int(np.argmax(rule_scores(q.x)))])
            top1["learned"].append(q.y[top[0]])
            top1["query likelihood"].append(q.y[top[int(np.argmax(ql))]])
            top1["learned + QL (rank fusion)"].append(q.y[max(fused, key=fused.get)])
    print(f"{len(questions)} labelled questions from {', '.join(names)}; QL rescoring the learned top {args.k}")
    print("| ranking | top-1 holds a key fact |\n| --- | --: |")
    for name, hits in top1.items():
        print(f"| {name} | {np.mean(hits):.3f} |")
    print(
        f"query likelihood cost per question: p50 {statistics.median(seconds):.2f} s, max {max(seconds):.2f} s "
        f"({args.k} candidates, {args.threads} thread(s))"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

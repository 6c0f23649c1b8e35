"""Train the answer-sentence ranker: `python -m citeqa.qa.train_sentence_ranker` (or `make train`).

For every answerable gold item, the real assistant answers it with the rules while the extractive answerer's
candidate sentences (the top passages' sentences) and their features are recorded; a candidate is labelled 1 when
it holds one of the item's key facts (any acceptable form, compared as the eval compares). A logistic regression over
the features is the ranker. The report is leave-one-set-out on whole answers: each held-out set is answered again with
a ranker fitted on the other sets, and its key facts and citations are scored beside the rules' on the same run, so
no figure quoted for a set was fitted on that set. The shipped ranker is fitted on all sets.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.qa.sentence_ranker import FEATURES, CandidateSentence, LearnedRanker, model_path
from citeqa.qa.train_answerability import DEFAULT_SETS, _subset, coefficient_table, fit, write_doc

C = 1.0  # L2 strength (not tuned: the leave-one-set-out figures below are for this value only)
DOC_BEGIN, DOC_END = "<!-- train:begin -->", "<!-- train:end -->"
METRICS = ("key_fact_accuracy", "citation_recall", "citation_precision", "hit@5")


@dataclass
class Question:
    set: str
    item: Any
    x: np.ndarray  # candidate features (rows)
    y: np.ndarray  # 1 = the candidate holds a key fact
    texts: list[str]  # the candidate sentences, in the rows' order


def holds_key_fact(text: str, key_facts: Sequence[Sequence[str]]) -> bool:
    from citeqa.eval.metrics import normalize

    t = normalize(text)
    return any(normalize(form) in t for fact in key_facts for form in fact if form.strip())


@contextmanager
def _recording(answerer: Any) -> Iterator[list[tuple[np.ndarray, list[str]]]]:
    """Record the answerer's candidate features as it computes them, answering with the rules (the first call of a
    question is its own candidates; later ones are its parts'). The answerer is restored after."""
    calls: list[tuple[np.ndarray, list[str]]] = []
    compute = answerer.candidate_features

    def record(question: str, language: str, candidates: list[CandidateSentence]) -> np.ndarray:
        x = compute(question, language, candidates)
        calls.append((x, [c.text for c in candidates]))
        return x

    previous = vars(answerer).get("candidate_features")
    answerer.candidate_features = record
    try:
        with _ranked_by(answerer, None):
            yield calls
    finally:
        if previous is None:
            del answerer.candidate_features  # the instance attribute goes: the method shows through again
        else:
            answerer.candidate_features = previous


@contextmanager
def _ranked_by(answerer: Any, ranker: LearnedRanker | None) -> Iterator[None]:
    previous = answerer.sentence_ranker
    answerer.sentence_ranker = ranker
    try:
        yield
    finally:
        answerer.sentence_ranker = previous


def collect(
    assistant: Any, sets: dict[str, Sequence[Any]], tick: Callable[[str], None] | None = None
) -> tuple[list[Question], dict[str, list[Any]]]:
    """Each answerable item's candidates with labels, and every item's result under the rules."""
    from citeqa.eval.metrics import score_answer

    questions, results = [], {}
    with _recording(assistant.answerer) as calls:
        for name, items in sets.items():
            results[name] = []
            for item in items:
                calls.clear()
                answer = assistant.ask(item.question)
                results[name].append(score_answer(item, answer))
                # a refused question recorded no candidates of its own; a source answer's are a source's
                from_source = any(c.kind == "source" for c in answer.citations)
                if item.kind == "out-of-scope" or not item.key_facts or not answer.answered or from_source:
                    continue
                x, texts = calls[0]
                y = np.array([holds_key_fact(t, item.key_facts) for t in texts], dtype=int)
                if y.any():  # a question whose passages hold no key fact teaches the ranker nothing
                    questions.append(Question(name, item, x, y, texts))
            if tick:
                tick(f"{name}: {len(items)} questions")
    return questions, results


def _stack(questions: Sequence[Question]) -> tuple[np.ndarray, np.ndarray]:
    return np.vstack([q.x for q in questions]), np.concatenate([q.y for q in questions])


def ranker_of(questions: Sequence[Question], c: float = C) -> LearnedRanker:
    x, y = _stack(questions)
    f = fit(x, y, c)
    return LearnedRanker(FEATURES, f.means, f.scales, f.coefficients, f.intercept)


def top1(questions: Sequence[Question], score: Callable[[np.ndarray], np.ndarray]) -> float | None:
    """Share of questions whose best-scored candidate holds a key fact."""
    hits = [float(q.y[int(np.argmax(score(q.x)))]) for q in questions]
    return float(np.mean(hits)) if hits else None


def _answer_with(assistant: Any, ranker: LearnedRanker | None, items: Sequence[Any]) -> list[Any]:
    from citeqa.eval.metrics import score_answer

    with _ranked_by(assistant.answerer, ranker):
        return [score_answer(item, assistant.ask(item.question)) for item in items]


def _summary(results: Sequence[Any]) -> dict[str, Any]:
    from citeqa.eval.metrics import aggregate

    answerable = [r for r in results if r.kind != "out-of-scope"]
    metrics = aggregate(answerable)
    answered = [len(r.answer) for r in answerable if r.answered]
    chars = round(float(np.mean(answered)), 1) if answered else None
    return {m: metrics.get(m) for m in METRICS} | {"n": len(results), "answer_chars": chars}


def train(
    assistant: Any,
    questions: Sequence[Question],
    rules: dict[str, list[Any]],
    sets: dict[str, Sequence[Any]],
    tick: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    from citeqa.qa.sentence_ranker import rule_scores

    per_set: dict[str, Any] = {}
    pooled_rules: list[Any] = []
    pooled_learned: list[Any] = []
    for name, items in sets.items():
        train_q = [q for q in questions if q.set != name]
        held = [q for q in questions if q.set == name]
        if not train_q:
            continue
        ranker = ranker_of(train_q)
        learned = _answer_with(assistant, ranker, items)
        per_set[name] = {
            "rules": _summary(rules[name]),
            "learned": _summary(learned),
            "top1_rules": top1(held, rule_scores),
            "top1_learned": top1(held, ranker.scores),
            "n_labelled": len(held),
        }
        pooled_rules += rules[name]
        pooled_learned += learned
        if tick:
            r, lrn = per_set[name]["rules"], per_set[name]["learned"]
            tick(f"{name}: key facts rules {_f(r['key_fact_accuracy'])} learned {_f(lrn['key_fact_accuracy'])}")
    final = ranker_of(questions)
    y = np.concatenate([q.y for q in questions])
    return {
        "format": 1,
        "kind": "logistic-regression",
        "features": list(FEATURES),
        "means": [round(float(v), 6) for v in final.means],
        "scales": [round(float(v), 6) for v in final.scales],
        "coefficients": [round(float(v), 6) for v in final.coefficients],
        "intercept": round(final.intercept, 6),
        "report": {
            "trained_on": {s: sum(q.set == s for q in questions) for s in sets},
            "n_questions": len(questions),
            "n_candidates": len(y),
            "n_positive": int(y.sum()),
            "C": C,
            "leave_one_set_out": per_set,
            "pooled": {"rules": _summary(pooled_rules), "learned": _summary(pooled_learned)},
        },
    }


def _f(v: float | None) -> str:
    return "—" if v is None else f"{v:.3f}"


def report_markdown(model: dict[str, Any]) -> str:
    r = model["report"]
    lines = [
        DOC_BEGIN,
        "## Training report (generated by `python -m citeqa.qa.train_sentence_ranker`)",
        "",
        f"{r['n_questions']} answerable questions whose top passages hold a key fact, {r['n_candidates']} candidate "
        f"sentences, {r['n_positive']} holding a key fact; logistic regression (L2, C={r['C']}).",
        "",
        "### Leave-one-set-out: whole answers, rules vs learned (the honest figures)",
        "",
        "Each row: the set answered with a ranker fitted on the other sets. Top-1 = the best-scored candidate holds a "
        "key fact (labelled questions only).",
        "",
        "| held-out set | key facts rules | key facts learned | citation recall rules / learned "
        "| citation precision rules / learned | top-1 rules / learned |",
        "| :-- | --: | --: | --: | --: | --: |",
    ]
    for s, m in r["leave_one_set_out"].items():
        ru, le = m["rules"], m["learned"]
        lines.append(
            f"| {s} | {_f(ru['key_fact_accuracy'])} | {_f(le['key_fact_accuracy'])} "
            f"| {_f(ru['citation_recall'])} / {_f(le['citation_recall'])} "
            f"| {_f(ru['citation_precision'])} / {_f(le['citation_precision'])} "
            f"| {_f(m['top1_rules'])} / {_f(m['top1_learned'])} |"
        )
    ru, le = r["pooled"]["rules"], r["pooled"]["learned"]
    lines.append(
        f"| **pooled** | {_f(ru['key_fact_accuracy'])} | {_f(le['key_fact_accuracy'])} "
        f"| {_f(ru['citation_recall'])} / {_f(le['citation_recall'])} "
        f"| {_f(ru['citation_precision'])} / {_f(le['citation_precision'])} | |"
    )
    lines += ["", *coefficient_table(model), "", DOC_END]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, assistant: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citeqa.qa.train_sentence_ranker", description=__doc__)
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS), help="gold set names under corpus/gold/")
    parser.add_argument("--limit", type=int, help="smoke runs: only the first N answerable questions of each set")
    parser.add_argument("--out", type=Path, help="ranker JSON (default: corpus/models/sentence_ranker.json)")
    parser.add_argument("--doc", type=Path, help="report Markdown (default: docs/answer-selection.md; '-': none)")
    args = parser.parse_args(argv)

    from citeqa.eval.gold import load_gold
    from citeqa.settings import load_settings

    settings = assistant.settings if assistant is not None else load_settings()
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    gold_dir = settings.corpus_path / "gold"
    sets = {name: _subset(load_gold(gold_dir / f"{name}.jsonl").items, args.limit) for name in names}
    started = time.perf_counter()
    if assistant is None:
        from citeqa.qa.assistant import Assistant

        assistant = Assistant(settings.replace(answer_selection="rules"))
    say = lambda msg: print(msg, file=sys.stderr)  # noqa: E731
    questions, rules = collect(assistant, sets, say)
    if not questions:
        print("no labelled question: nothing to train on", file=sys.stderr)
        return 1
    model = train(assistant, questions, rules, sets, say)
    out = args.out or model_path(settings.corpus_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    doc = args.doc or settings.root / "docs" / "answer-selection.md"
    if str(doc) != "-":
        write_doc(doc, report_markdown(model), title="Answer selection")
    pooled = model["report"]["pooled"]
    print(
        f"wrote {out} in {time.perf_counter() - started:.1f} s; leave-one-set-out key facts: rules "
        f"{_f(pooled['rules']['key_fact_accuracy'])}, learned {_f(pooled['learned']['key_fact_accuracy'])}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

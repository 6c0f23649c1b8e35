"""Gold-set evaluation: gold loading and validation, per-question scoring, metrics, aggregation, compare,
thresholds and ablations.

Every metric is defined in one line in corpus/gold/README.md. In short (all means are macro, per question):

- relevance: an evidence item is relevant when its text contains an expected evidence substring, or its id equals
  an expected entry (both sides NFKC-normalised, casefolded, whitespace removed);
- hit@k: a relevant item among the first k evidence items; MRR: 1/rank of the first relevant item (0 if none);
- nDCG@10: binary gains, DCG = sum rel_i/log2(i+1) over ranks 1..10; ideal DCG over min(R, 10) relevant items,
  R = number of relevant items in the returned evidence list (at least 1);
- footnotes in evidence: expected footnote ids found among the evidence item ids / expected footnotes (this is
  what marker following changes; not one of the issue's metrics but needed to see the follow-off ablation);
- citation precision/recall (ALCE-style, footnote level): cited = footnote ids of answer.citations;
  precision = |cited ∩ expected|/|cited| (items citing nothing are left out), recall = |cited ∩ expected|/|expected|;
  only items whose gold lists footnotes;
- key-fact accuracy: fraction of an item's key facts present in answer.answer (a fact is present when any of its
  forms occurs), averaged over items with key facts;
- refusal precision/recall: refused = answered is false; positives = out-of-scope items;
- latency p50/p95: percentiles (linear interpolation) of timings_ms.total.

Out-of-scope items count only in refusal and latency metrics.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from citeqa.eval.gold import KINDS, LANGUAGES, GoldItem, normalize

K_VALUES = (1, 3, 5, 10)
NDCG_K = 10  # metric name -> (label, higher is better); the order is the order of every table and chart
METRICS: dict[str, tuple[str, bool]] = {
    "hit@1": ("evidence hit@1", True),
    "hit@3": ("evidence hit@3", True),
    "hit@5": ("evidence hit@5", True),
    "hit@10": ("evidence hit@10", True),
    "mrr": ("evidence MRR", True),
    "ndcg@10": ("evidence nDCG@10", True),
    "evidence_footnote_recall": ("expected footnotes in evidence", True),
    "citation_precision": ("footnote citation precision", True),
    "citation_recall": ("footnote citation recall", True),
    "key_fact_accuracy": ("key-fact accuracy", True),
    "refusal_precision": ("refusal precision", True),
    "refusal_recall": ("refusal recall", True),
    "latency_p50_ms": ("latency p50 (ms)", False),
    "latency_p95_ms": ("latency p95 (ms)", False),
}
# quality metrics: gated by thresholds and by --compare (latency depends on the machine, so it is only shown)
GATED = tuple(m for m in METRICS if not m.startswith("latency"))

# --------------------------------------------------------------------------- scoring one question


def is_relevant(evidence_id: str, evidence_text: str, expected: Sequence[str]) -> bool:
    text = normalize(evidence_text)
    return any(entry == evidence_id or normalize(entry) in text for entry in expected)


def dcg(relevant: Sequence[bool], k: int = NDCG_K) -> float:
    return sum(1.0 / math.log2(rank + 1) for rank, rel in enumerate(relevant[:k], start=1) if rel)


def ndcg(relevant: Sequence[bool], k: int = NDCG_K) -> float:
    """Binary nDCG@k; the ideal ranking puts min(R, k) relevant items first, R = relevant items in the list (>= 1)."""
    n_relevant = max(1, sum(bool(r) for r in relevant))
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(n_relevant, k) + 1))
    return dcg(relevant, k) / ideal


@dataclass
class QuestionResult:
    """One gold item run through the assistant, with its per-question scores (None = not applicable)."""

    id: str
    question: str
    language: str
    kind: str
    answered: bool
    answer: str
    error: str = ""
    evidence_ids: list[str] = field(default_factory=list)
    relevant: list[bool] = field(default_factory=list)  # per evidence rank
    first_relevant_rank: int | None = None
    cited: list[str] = field(default_factory=list)
    expected_footnotes: list[str] = field(default_factory=list)
    key_facts: list[str] = field(default_factory=list)  # first form of each fact, for reports
    key_facts_found: list[bool] = field(default_factory=list)
    latency_ms: float | None = None
    top_similarity: float | None = None
    confidence: str = ""  # the answer's high | medium | low
    answerability: float | None = None  # the answer's P(answerable), when the answerability model ran
    answerer: str = ""  # which answerer wrote it: extractive, llm:<model>, extractive (llm fallback)
    llm: dict[str, Any] = field(default_factory=dict)  # llm answerer: support counts and fallback reason
    scores: dict[str, float | None] = field(default_factory=dict)

    @property
    def in_scope(self) -> bool:
        return self.kind != "out-of-scope"

    @property
    def refused(self) -> bool:
        return not self.answered and not self.error

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuestionResult:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    return getattr(obj, name, default)


def score_answer(item: GoldItem, answer: Any, error: str = "") -> QuestionResult:
    """Score one Answer (or its to_dict(), or None when asking raised `error`) against its gold item."""
    answer = {} if answer is None else answer
    evidence = list(_get(answer, "evidence") or [])
    citations = list(_get(answer, "citations") or [])
    answered = bool(_get(answer, "answered", False))
    text = str(_get(answer, "answer") or "")
    timings = _get(answer, "timings_ms") or {}
    ids = [str(_get(e, "id", "")) for e in evidence]
    relevant = [is_relevant(i, str(_get(e, "text", "")), item.evidence) for i, e in zip(ids, evidence, strict=True)]
    cited = list(dict.fromkeys(str(_get(c, "footnote_id", "")) for c in citations))
    answer_norm = normalize(text)
    found = [any(normalize(form) in answer_norm for form in fact) for fact in item.key_facts]
    latency = timings.get("total") if isinstance(timings, Mapping) else None
    similarity = _get(answer, "top_similarity")
    probability = _get(answer, "answerability")
    result = QuestionResult(
        id=item.id,
        question=item.question,
        language=item.language,
        kind=item.kind,
        answered=answered,
        answer=text,
        error=error,
        evidence_ids=ids,
        relevant=relevant,
        first_relevant_rank=next((rank for rank, rel in enumerate(relevant, start=1) if rel), None),
        cited=cited,
        expected_footnotes=list(item.footnotes),
        key_facts=[fact[0] for fact in item.key_facts],
        key_facts_found=found,
        latency_ms=float(latency) if latency is not None and not error else None,
        top_similarity=float(similarity) if similarity is not None else None,
        confidence=str(_get(answer, "confidence") or ""),
        answerability=float(probability) if probability is not None else None,
        answerer=str(_get(answer, "answerer") or ""),
    )
    result.scores = question_scores(result)
    return result


def question_scores(r: QuestionResult) -> dict[str, float | None]:
    """Per-question values of the mean-type metrics (None where the metric does not apply to the item)."""
    scores: dict[str, float | None] = dict.fromkeys(m for m in METRICS if not m.startswith(("refusal", "latency")))
    if not r.in_scope:
        return scores
    for k in K_VALUES:
        scores[f"hit@{k}"] = 1.0 if any(r.relevant[:k]) else 0.0
    scores["mrr"] = 1.0 / r.first_relevant_rank if r.first_relevant_rank else 0.0
    scores["ndcg@10"] = ndcg(r.relevant)
    expected = set(r.expected_footnotes)
    if expected:
        scores["evidence_footnote_recall"] = len(expected.intersection(r.evidence_ids)) / len(expected)
        correct = len(expected.intersection(r.cited))
        scores["citation_recall"] = correct / len(expected)
        scores["citation_precision"] = correct / len(r.cited) if r.cited else None
    if r.key_facts:
        scores["key_fact_accuracy"] = sum(r.key_facts_found) / len(r.key_facts)
    return scores


# --------------------------------------------------------------------------- aggregation


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolation percentile (numpy's default), q in 0..100."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100.0
    low = math.floor(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else None


def aggregate(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Metric values over a set of results, plus counts (n, n_scored per metric, refused, errors)."""
    out: dict[str, Any] = {}
    for name in METRICS:
        if name.startswith(("refusal", "latency")):
            continue
        out[name] = _mean(r.scores.get(name) for r in results)
    refused = [r for r in results if r.refused]
    positives = [r for r in results if not r.in_scope]
    correct = sum(1 for r in refused if not r.in_scope)
    out["refusal_precision"] = correct / len(refused) if refused else None
    out["refusal_recall"] = correct / len(positives) if positives else None
    latencies = [r.latency_ms for r in results if r.latency_ms is not None]
    p50, p95 = percentile(latencies, 50), percentile(latencies, 95)
    out["latency_p50_ms"] = round(p50, 2) if p50 is not None else None
    out["latency_p95_ms"] = round(p95, 2) if p95 is not None else None
    out = {name: out[name] for name in METRICS}  # keep the canonical order
    for name, value in out.items():
        if isinstance(value, float) and not name.startswith("latency"):
            out[name] = round(value, 6)
    out["n"] = len(results)
    out["n_in_scope"] = sum(r.in_scope for r in results)
    out["n_refused"] = len(refused)
    out["n_errors"] = sum(1 for r in results if r.error)
    return out


CONFIDENCE_LEVELS = ("high", "medium", "low")


def decided_right(r: QuestionResult) -> bool:
    """The answer/refuse decision was right: an answerable question answered, an out-of-scope one refused."""
    return not r.error and (r.answered if r.in_scope else r.refused)


def calibration(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """Per confidence level: how many, the share decided right, and the key-fact share of its answered
    answerable questions (does "high" mean more often right than "low"?). Levels without questions are left out."""
    out: dict[str, Any] = {}
    for level in (*CONFIDENCE_LEVELS, ""):
        group = [r for r in results if r.confidence == level]
        if not group:
            continue
        answered = [r.scores.get("key_fact_accuracy") for r in group if r.answered and r.in_scope]
        out[level or "none"] = {
            "n": len(group),
            "n_answered": sum(r.answered for r in group),
            "accuracy": round(sum(decided_right(r) for r in group) / len(group), 6),
            "key_fact_accuracy": None if _mean(answered) is None else round(_mean(answered) or 0.0, 6),
        }
    return out


def reliability_bins(results: Sequence[QuestionResult], bins: int = 5) -> list[dict[str, Any]]:
    """Predicted P(answerable) in equal-width bins against the observed share of answerable questions."""
    scored = [r for r in results if r.answerability is not None and not r.error]
    out = []
    for i in range(bins):
        lo, hi = i / bins, (i + 1) / bins
        group = [r for r in scored if lo <= (r.answerability or 0.0) < hi or (i == bins - 1 and r.answerability == 1.0)]
        out.append(
            {
                "low": lo,
                "high": hi,
                "n": len(group),
                "mean_p": round(_mean(r.answerability for r in group) or 0.0, 6) if group else None,
                "answerable_share": round(sum(r.in_scope for r in group) / len(group), 6) if group else None,
            }
        )
    return out


def group_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """{"overall": ..., "by_language": {lang: ...}, "by_kind": {kind: ...}, "calibration": {level: ...}}
    (only groups that have items)."""
    return {
        "overall": aggregate(results),
        "by_language": {
            lang: aggregate([r for r in results if r.language == lang])
            for lang in LANGUAGES
            if any(r.language == lang for r in results)
        },
        "by_kind": {
            kind: aggregate([r for r in results if r.kind == kind])
            for kind in KINDS
            if any(r.kind == kind for r in results)
        },
        "calibration": calibration(results),
    }


def failure_reasons(r: QuestionResult) -> list[str]:
    """Why a question counts against the assistant (empty when it passed every check)."""
    reasons = []
    if r.error:
        return [f"error: {r.error}"]
    if not r.in_scope:
        if r.answered:
            reasons.append("answered an out-of-scope question")
        return reasons
    if not r.answered:
        reasons.append("refused an answerable question")
    if r.first_relevant_rank is None:
        reasons.append("no expected evidence retrieved")
    elif r.first_relevant_rank > 5:
        reasons.append(f"expected evidence only at rank {r.first_relevant_rank}")
    missing_fn = [f for f in r.expected_footnotes if f not in r.cited]
    if missing_fn:
        reasons.append("footnote(s) not cited: " + ", ".join(missing_fn))
    missing_facts = [f for f, ok in zip(r.key_facts, r.key_facts_found, strict=True) if not ok]
    if missing_facts and r.answered:
        reasons.append("key fact(s) missing: " + ", ".join(missing_facts))
    return reasons

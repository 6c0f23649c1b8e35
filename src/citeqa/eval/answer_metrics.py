"""Metrics of a written answer's own sentences (the llm answerer): ALCE-style citation recall and precision,
figure faithfulness, fallback rate and why.

ALCE judges support with an NLI model; none ships in a package here, so support is a stated proxy: a citation
supports an answer sentence when USE-m3 (multilingual) rates the sentence and the cited footnote's paper sentence at
least SUPPORT_COSINE alike *and* every figure of the sentence occurs in that paper sentence or the footnote.
- citation recall: answer sentences with at least one supporting citation / answer sentences;
- citation precision: citation markers that support the sentence they close / markers;
- figure faithfulness: figures of the answer found in the citations of their sentence / figures;
- fallback rate: questions answered by the extractive answerer because the model's reply failed validation or the
  model was unavailable / questions; with the failed check or error counted per reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from citeqa.figures import extract_figures, same_figure
from citeqa.qa.llm.validate import split_sentences

SUPPORT_COSINE = 0.5  # USE-m3 cross-lingual paraphrases score ~0.5-0.8; unrelated sentences of this paper ~0.2-0.4
FALLBACK = "extractive (llm fallback)"

Embed = Callable[[str], np.ndarray]


def answer_support(answer: Mapping[str, Any], embed: Embed) -> dict[str, int]:
    """Counts for one llm answer (all zero for a refusal or a fallback: nothing the model wrote is shown)."""
    counts = dict.fromkeys(("sentences", "supported", "markers", "markers_supported", "figures", "figures_backed"), 0)
    if not answer.get("answered") or not str(answer.get("answerer", "")).startswith("llm:"):
        return counts
    by_marker = {c["marker"]: c for c in answer.get("citations", [])}
    for sentence in split_sentences(str(answer.get("answer", ""))):
        counts["sentences"] += 1
        cited = [by_marker[f"[{m}]"] for m in dict.fromkeys(sentence.markers) if f"[{m}]" in by_marker]
        figures = extract_figures(sentence.text)
        vector = embed(sentence.text)
        support = []
        for c in cited:
            figures_there = extract_figures(c["quote"] + " " + c["text"])
            alike = float(embed(c["quote"]) @ vector) >= SUPPORT_COSINE
            support.append(alike and all(any(same_figure(f, g) for g in figures_there) for f in figures))
        counts["markers"] += len(cited)
        counts["markers_supported"] += sum(support)
        counts["supported"] += int(any(support))
        cited_figures = extract_figures(" ".join(c["quote"] + " " + c["text"] for c in cited))
        counts["figures"] += len(figures)
        counts["figures_backed"] += sum(any(same_figure(f, g) for g in cited_figures) for f in figures)
    return counts


def fallback_reason(answer: Mapping[str, Any]) -> str:
    """Why the extractive answer was shown: the first failed check, or "unavailable"; "" when no fallback."""
    if answer.get("answerer") != FALLBACK:
        return ""
    warning = next((w for w in answer.get("warnings", []) if w.endswith("extractive answer shown")), "")
    if warning.startswith("llm unavailable"):
        return "model unavailable"
    failed = [c["check"].removeprefix("repair: ") for c in answer.get("validation", []) if not c["ok"]]
    return failed[-1] if failed else "unknown"


def summary(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Aggregate per-question `llm` rows ({"support": counts, "fallback": reason, "answerer": name})."""
    total = Counter()
    for row in rows:
        total.update(row.get("support", {}))
    reasons = Counter(row["fallback"] for row in rows if row.get("fallback"))

    def ratio(a: str, b: str) -> float | None:
        return round(total[a] / total[b], 4) if total[b] else None

    return {
        "questions": len(rows),
        "answered_by_model": sum(str(r.get("answerer", "")).startswith("llm:") for r in rows),
        "citation_recall": ratio("supported", "sentences"),
        "citation_precision": ratio("markers_supported", "markers"),
        "figure_faithfulness": ratio("figures_backed", "figures"),
        "fallback_rate": round(sum(reasons.values()) / len(rows), 4) if rows else None,
        "fallback_reasons": dict(reasons.most_common()),
        "sentences": total["sentences"],
        "figures": total["figures"],
    }


__all__ = ["SUPPORT_COSINE", "answer_support", "fallback_reason", "summary"]

"""Train the answerability model: `python -m citeqa.qa.train_answerability` (or `make train`).

Features come from the real assistant (retrieval + the extractive answerer's candidates) over the gold sets;
label = the item is not of kind "out-of-scope". The report is leave-one-set-out: for each held-out set the model
is fitted on the other sets and its two thresholds are picked on those sets' own out-of-fold probabilities
(nested leave-one-set-out), so no figure quoted for a set was tuned on that set. The shipped model is fitted on
all sets, its thresholds picked on the out-of-fold probabilities of all sets. scikit-learn is needed here only.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.qa.answerability import FEATURES, model_path

DEFAULT_SETS = ("gold", *(f"blind-{c}" for c in "abcdefghijklmno"))  # both models train on these
MAX_FALSE_REFUSALS = 0.03  # target: answerable questions refused at most this share (first priority)
HIGH_PRECISION = (
    0.95  # "high" confidence: at least this share of the answered questions at or above t_high are answerable
)
C = 0.3  # L2 strength: chosen among 0.1, 0.3, 1, 3 on the pooled leave-one-set-out figures (docs/answerability.md)
DOC_BEGIN, DOC_END = "<!-- train:begin -->", "<!-- train:end -->"


@dataclass
class Row:
    set: str
    id: str
    question: str
    kind: str
    values: dict[str, float]

    @property
    def answerable(self) -> bool:
        return self.kind != "out-of-scope"


def collect(assistant: Any, sets: dict[str, Sequence[Any]], tick: Callable[[str], None] | None = None) -> list[Row]:
    """Features of every gold item, computed exactly as the answerer computes them at run time."""
    from citeqa.qa.answer import clean_question, detect_language

    rows = []
    for name, items in sets.items():
        for item in items:
            text, _ = clean_question(item.question, assistant.settings.max_question_chars)
            language = detect_language(text)
            retrieval = assistant.retriever.retrieve(text)
            values, _ = assistant.answerer.answerability_inputs(text, language, retrieval)
            rows.append(Row(name, item.id, item.question, item.kind, values))
        if tick:
            tick(f"{name}: {len(items)} questions")
    return rows


def _matrix(rows: Sequence[Row]) -> tuple[np.ndarray, np.ndarray]:
    x = np.array([[r.values[f] for f in FEATURES] for r in rows], dtype=float)
    y = np.array([r.answerable for r in rows], dtype=int)
    return x, y


@dataclass
class Fit:
    means: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray
    intercept: float

    def predict(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.means) / self.scales
        return 1.0 / (1.0 + np.exp(-np.clip(z @ self.coefficients + self.intercept, -40, 40)))


def fit(x: np.ndarray, y: np.ndarray, c: float = C) -> Fit:
    from sklearn.linear_model import LogisticRegression

    means = x.mean(axis=0)
    scales = x.std(axis=0)
    scales[scales < 1e-9] = 1.0  # a constant feature (e.g. none quoted in a small subset) contributes nothing
    model = LogisticRegression(C=c, max_iter=2000).fit((x - means) / scales, y)
    return Fit(means, scales, model.coef_[0].astype(float), float(model.intercept_[0]))


def pick_thresholds(
    p: np.ndarray, y: np.ndarray, max_false_refusals: float = MAX_FALSE_REFUSALS
) -> tuple[float, float]:
    """t_refuse: the highest threshold refusing at most `max_false_refusals` of the answerable questions (so the
    most out-of-scope ones refused under that constraint), half-way between two answerable probabilities.
    t_high: the lowest threshold above which at least HIGH_PRECISION of the questions are answerable."""
    answerable = np.sort(p[y == 1])
    if len(answerable) == 0:
        return 0.5, 0.5
    k = math.floor(max_false_refusals * len(answerable) + 1e-9)
    if k == 0:
        t_refuse = float(answerable[0])
    elif k >= len(answerable):
        t_refuse = float(answerable[-1])
    else:
        t_refuse = float((answerable[k - 1] + answerable[k]) / 2)
    t_high = 1.0
    for t in sorted(set(p[p >= t_refuse].tolist())):
        above = y[p >= t]
        if len(above) and above.mean() >= HIGH_PRECISION:
            t_high = float(t)
            break
    return round(t_refuse, 4), round(max(t_high, t_refuse), 4)


def auc(p: np.ndarray, y: np.ndarray) -> float | None:
    if len(set(y.tolist())) < 2:
        return None
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(y, p))


def outcome(p: np.ndarray, y: np.ndarray, t_refuse: float, t_high: float) -> dict[str, Any]:
    refused = p < t_refuse
    low = (p >= t_refuse) & (p < t_high)
    ans, oos = y == 1, y == 0
    share = lambda mask, of: float(mask[of].mean()) if of.any() else None  # noqa: E731
    return {
        "n": len(y),
        "n_answerable": int(ans.sum()),
        "n_out_of_scope": int(oos.sum()),
        "answerable_refused": share(refused, ans),
        "out_of_scope_refused": share(refused, oos),
        "answerable_low": share(low, ans),
        "out_of_scope_low": share(low, oos),
        "auc": auc(p, y),
    }


def out_of_fold(rows: Sequence[Row], sets: Sequence[str]) -> np.ndarray:
    """Leave-one-set-out probabilities: each set predicted by a model fitted on the other sets."""
    x, y = _matrix(rows)
    names = np.array([r.set for r in rows])
    p = np.zeros(len(rows))
    for s in sets:
        held = names == s
        if held.all() or len(set(y[~held].tolist())) < 2:
            p[held] = float(y.mean())  # nothing else to learn from (tiny subsets only)
            continue
        p[held] = fit(x[~held], y[~held]).predict(x[held])
    return p


def leave_one_set_out(rows: Sequence[Row], sets: Sequence[str]) -> dict[str, Any]:
    """Per held-out set: fit on the others, thresholds from the others' own out-of-fold probabilities."""
    x, y = _matrix(rows)
    names = np.array([r.set for r in rows])
    per_set: dict[str, Any] = {}
    pooled_p, pooled_y, pooled_refused, pooled_low = [], [], [], []
    for s in sets:
        held = names == s
        train = [r for r in rows if r.set != s]
        others = [t for t in sets if t != s]
        if not train or len(set(y[~held].tolist())) < 2:
            continue
        t_refuse, t_high = pick_thresholds(out_of_fold(train, others), y[~held])
        p = fit(x[~held], y[~held]).predict(x[held])
        per_set[s] = {**outcome(p, y[held], t_refuse, t_high), "t_refuse": t_refuse, "t_high": t_high}
        pooled_p.append(p)
        pooled_y.append(y[held])
        pooled_refused.append(p < t_refuse)
        pooled_low.append((p >= t_refuse) & (p < t_high))
    pooled: dict[str, Any] = {}
    if pooled_p:
        p, yy = np.concatenate(pooled_p), np.concatenate(pooled_y)
        refused, low = np.concatenate(pooled_refused), np.concatenate(pooled_low)
        pooled = {
            "n": len(yy),
            "answerable_refused": float(refused[yy == 1].mean()) if (yy == 1).any() else None,
            "out_of_scope_refused": float(refused[yy == 0].mean()) if (yy == 0).any() else None,
            "answerable_low": float(low[yy == 1].mean()) if (yy == 1).any() else None,
            "out_of_scope_low": float(low[yy == 0].mean()) if (yy == 0).any() else None,
            "auc": auc(p, yy),
        }
    return {"per_set": per_set, "pooled": pooled}


def reliability(p: np.ndarray, y: np.ndarray, bins: int = 5) -> list[dict[str, Any]]:
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for lo, hi in itertools.pairwise(edges):
        mask = (p >= lo) & ((p < hi) if hi < 1 else (p <= hi))
        out.append(
            {
                "bin": f"{lo:.1f}–{hi:.1f}",
                "n": int(mask.sum()),
                "mean_p": float(p[mask].mean()) if mask.any() else None,
                "answerable_share": float(y[mask].mean()) if mask.any() else None,
            }
        )
    return out


def train(rows: Sequence[Row], sets: Sequence[str]) -> dict[str, Any]:
    """The shipped model (fitted on all rows) and its report."""
    sets = [s for s in sets if any(r.set == s for r in rows)]
    x, y = _matrix(rows)
    if len(set(y.tolist())) < 2:
        raise ValueError("training needs answerable and out-of-scope questions")
    final = fit(x, y)
    oof = out_of_fold(rows, sets)
    t_refuse, t_high = pick_thresholds(oof, y)
    loso = leave_one_set_out(rows, sets)
    return {
        "format": 1,
        "kind": "logistic-regression",
        "features": list(FEATURES),
        "means": [round(float(v), 6) for v in final.means],
        "scales": [round(float(v), 6) for v in final.scales],
        "coefficients": [round(float(v), 6) for v in final.coefficients],
        "intercept": round(final.intercept, 6),
        "thresholds": {"refuse": t_refuse, "high": t_high},
        "report": {
            "trained_on": {s: int(sum(r.set == s for r in rows)) for s in sets},
            "n": len(rows),
            "n_out_of_scope": int((y == 0).sum()),
            "max_false_refusals": MAX_FALSE_REFUSALS,
            "high_precision": HIGH_PRECISION,
            "C": C,
            "leave_one_set_out": loso,
            "out_of_fold_all_sets": outcome(oof, y, t_refuse, t_high),
            "reliability_out_of_fold": reliability(oof, y),
            "in_sample_auc": auc(final.predict(x), y),
        },
    }


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.1f}%"


def coefficient_table(model: dict[str, Any]) -> list[str]:
    """The Markdown lines of a logistic regression's features, their standardization and coefficients."""
    lines = ["### Features and coefficients (standardized)", "", "| feature | mean | scale | coefficient |"]
    lines.append("| :-- | --: | --: | --: |")
    for f, mean, scale, coef in zip(
        model["features"], model["means"], model["scales"], model["coefficients"], strict=True
    ):
        lines.append(f"| `{f}` | {mean:.3f} | {scale:.3f} | {coef:+.3f} |")
    return [*lines, f"| intercept | | | {model['intercept']:+.3f} |"]


def report_markdown(model: dict[str, Any]) -> str:
    r = model["report"]
    loso = r["leave_one_set_out"]
    lines = [
        DOC_BEGIN,
        "## Training report (generated by `python -m citeqa.qa.train_answerability`)",
        "",
        f"Trained on {r['n']} questions ({r['n_out_of_scope']} out-of-scope): "
        + ", ".join(f"{s} {n}" for s, n in r["trained_on"].items())
        + f". Logistic regression (L2, C={r['C']}) over standardized features.",
        "",
        f"Shipped thresholds (picked on the out-of-fold probabilities of all sets): refuse below "
        f"**{model['thresholds']['refuse']}**, low confidence below **{model['thresholds']['high']}**. "
        f"Rule: refuse at most {_pct(r['max_false_refusals'])} of the answerable questions, then refuse as many "
        f'out-of-scope ones as that allows; "high" where at least {_pct(r["high_precision"])} are answerable.',
        "",
        "### Leave-one-set-out (the honest figures)",
        "",
        "Each row: model fitted on the other sets, thresholds picked on their out-of-fold probabilities.",
        "",
        "| held-out set | n | answerable refused | out-of-scope refused | answerable low | out-of-scope low | AUC "
        "| t_refuse | t_high |",
        "| :-- | --: | --: | --: | --: | --: | --: | --: | --: |",
    ]
    for s, m in loso["per_set"].items():
        auc_text = "—" if m["auc"] is None else f"{m['auc']:.3f}"
        lines.append(
            f"| {s} | {m['n']} | {_pct(m['answerable_refused'])} | {_pct(m['out_of_scope_refused'])} "
            f"| {_pct(m['answerable_low'])} | {_pct(m['out_of_scope_low'])} | {auc_text} "
            f"| {m['t_refuse']} | {m['t_high']} |"
        )
    pooled = loso["pooled"]
    if pooled:
        auc_text = "—" if pooled["auc"] is None else f"{pooled['auc']:.3f}"
        lines.append(
            f"| **pooled** | {pooled['n']} | {_pct(pooled['answerable_refused'])} "
            f"| {_pct(pooled['out_of_scope_refused'])} | {_pct(pooled['answerable_low'])} "
            f"| {_pct(pooled['out_of_scope_low'])} | {auc_text} | | |"
        )
    lines += ["", *coefficient_table(model), ""]
    lines += ["### Reliability (out-of-fold, all sets)", "", "| P(answerable) | n | mean P | answerable share |"]
    lines.append("| :-- | --: | --: | --: |")
    for b in r["reliability_out_of_fold"]:
        mean_p = "—" if b["mean_p"] is None else f"{b['mean_p']:.2f}"
        lines.append(f"| {b['bin']} | {b['n']} | {mean_p} | {_pct(b['answerable_share'])} |")
    lines += ["", DOC_END]
    return "\n".join(lines)


def write_doc(path: Path, block: str, title: str = "Answerability") -> None:
    """Replace the generated block of the doc (the hand-written rest stays), or start the doc."""
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        if DOC_BEGIN in text and DOC_END in text:
            head, rest = text.split(DOC_BEGIN, 1)
            text = head + block + rest.split(DOC_END, 1)[1]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    else:
        text = f"# {title}\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def _subset(items: Sequence[Any], limit: int | None) -> list[Any]:
    """All items, or the first `limit` answerable and `limit` out-of-scope ones (the sets list those last)."""
    if not limit:
        return list(items)
    answerable = [i for i in items if i.kind != "out-of-scope"][:limit]
    return answerable + [i for i in items if i.kind == "out-of-scope"][:limit]


def main(argv: Sequence[str] | None = None, assistant: Any = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m citeqa.qa.train_answerability", description=__doc__)
    parser.add_argument("--sets", default=",".join(DEFAULT_SETS), help="gold set names under corpus/gold/")
    parser.add_argument(
        "--limit", type=int, help="smoke runs: only the first N answerable and N out-of-scope questions of each set"
    )
    parser.add_argument("--out", type=Path, help="model JSON (default: corpus/models/answerability.json)")
    parser.add_argument("--doc", type=Path, help="report Markdown (default: docs/answerability.md; '-' for none)")
    parser.add_argument("--features", type=Path, help="also write the per-question features here (JSON)")
    args = parser.parse_args(argv)

    from citeqa.eval.gold import load_gold
    from citeqa.settings import load_settings

    settings = assistant.settings if assistant is not None else load_settings(answerability="off")
    names = [s.strip() for s in args.sets.split(",") if s.strip()]
    gold_dir = settings.corpus_path / "gold"
    sets = {name: _subset(load_gold(gold_dir / f"{name}.jsonl").items, args.limit) for name in names}
    started = time.perf_counter()
    if assistant is None:
        from citeqa.qa.assistant import Assistant

        # features do not depend on the model: answer with the rules while collecting them
        assistant = Assistant(settings.replace(answerability="off"))
    rows = collect(assistant, sets, lambda msg: print(msg, file=sys.stderr))
    model = train(rows, names)
    out = args.out or model_path(settings.corpus_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(model, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    if args.features:
        args.features.write_text(
            json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=0) + "\n", encoding="utf-8"
        )
    doc = args.doc or settings.root / "docs" / "answerability.md"
    if str(doc) != "-":
        write_doc(doc, report_markdown(model))
    pooled = model["report"]["leave_one_set_out"]["pooled"]
    print(
        f"wrote {out} in {time.perf_counter() - started:.1f} s; thresholds {model['thresholds']}; "
        f"leave-one-set-out pooled: answerable refused {_pct(pooled.get('answerable_refused'))}, "
        f"out-of-scope refused {_pct(pooled.get('out_of_scope_refused'))}, AUC {pooled.get('auc')}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

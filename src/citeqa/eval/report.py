"""Eval reports: rich tables for the terminal, a Markdown report, PNG charts (matplotlib, Agg backend)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from citeqa.eval.compare import Comparison
from citeqa.eval.metrics import GATED, METRICS, QuestionResult, failure_reasons, reliability_bins
from citeqa.eval.runner import Evaluation

# one line per metric: the same text goes into report.md and corpus/gold/README.md
DEFINITIONS: dict[str, str] = {
    "hit@k": "share of answerable questions with a relevant evidence item among the first k "
    "(relevant = its text contains an expected evidence substring, compared without whitespace/case)",
    "mrr": "mean of 1/rank of the first relevant evidence item (0 when none is returned)",
    "ndcg@10": "binary-gain DCG@10 divided by the ideal DCG over min(R, 10) items, "
    "R = relevant items in the returned evidence list (at least 1)",
    "evidence_footnote_recall": "expected footnotes that appear among the evidence items / expected footnotes "
    "(what marker following adds; questions with expected footnotes)",
    "citation_precision": "ALCE-style at footnote level: cited footnotes that are expected ones / cited footnotes "
    "(questions with expected footnotes that cite at least one)",
    "citation_recall": "expected footnotes that the answer cites / expected footnotes "
    "(questions with expected footnotes)",
    "key_fact_accuracy": "share of a question's key facts found in the answer text (any acceptable form, "
    "whitespace/case-insensitive), averaged over answerable questions with key facts",
    "refusal_precision": "out-of-scope questions among the refused ones (refused = answered is false)",
    "refusal_recall": "refused questions among the out-of-scope ones",
    "latency": "p50/p95 of the answer time (timings_ms.total), in milliseconds",
    "calibration": "per confidence level: questions, share decided right (answerable answered, out-of-scope "
    "refused) and key-fact accuracy of its answered answerable questions",
}

TABLE_METRICS = tuple(METRICS)
CHART_METRICS = GATED
ABLATION_METRICS = (
    "hit@1",
    "hit@3",
    "hit@5",
    "hit@10",
    "mrr",
    "ndcg@10",
    "evidence_footnote_recall",
    "citation_precision",
    "citation_recall",
    "key_fact_accuracy",
    "refusal_precision",
    "refusal_recall",
    "latency_p50_ms",
)
SHORT = {
    "hit@1": "hit@1",
    "hit@3": "hit@3",
    "hit@5": "hit@5",
    "hit@10": "hit@10",
    "mrr": "MRR",
    "ndcg@10": "nDCG@10",
    "evidence_footnote_recall": "fn in evid",
    "citation_precision": "cite P",
    "citation_recall": "cite R",
    "key_fact_accuracy": "key facts",
    "refusal_precision": "refuse P",
    "refusal_recall": "refuse R",
    "latency_p50_ms": "p50 ms",
    "latency_p95_ms": "p95 ms",
}


def fmt(name: str, value: Any) -> str:
    if value is None:
        return "—"
    if name.startswith("latency"):
        return f"{value:.1f}"
    return f"{value:.3f}"


def fmt_delta(name: str, value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:+.1f}" if name.startswith("latency") else f"{value:+.3f}"


def group_columns(metrics: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    """[(column title, metric dict)]: overall, each language, each kind."""
    columns = [("overall", metrics["overall"])]
    columns += [(lang, m) for lang, m in metrics["by_language"].items()]
    columns += [(kind, m) for kind, m in metrics["by_kind"].items()]
    return columns


# --------------------------------------------------------------------------- terminal


def metrics_table(metrics: Mapping[str, Any], title: str = "gold-set metrics") -> Any:
    from rich.table import Table

    columns = group_columns(metrics)
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    for name, m in columns:
        table.add_column(f"{name}\n(n={m['n']})", justify="right")
    for metric in TABLE_METRICS:
        table.add_row(METRICS[metric][0], *(fmt(metric, m.get(metric)) for _, m in columns))
    return table


def ablation_table(ablations: Sequence[Mapping[str, Any]]) -> Any:
    from rich.table import Table

    table = Table(title="ablations (overall)", title_justify="left")
    table.add_column("variant")
    for metric in ABLATION_METRICS:
        table.add_column(SHORT[metric], justify="right")
    for run in ablations:
        if run["skipped"]:
            table.add_row(run["name"], f"[dim]skipped: {run['skipped']}[/dim]")
            continue
        overall = run["metrics"]["overall"]
        table.add_row(run["name"], *(fmt(m, overall.get(m)) for m in ABLATION_METRICS))
    return table


def compare_table(comparison: Comparison, old_name: str) -> Any:
    from rich.table import Table

    table = Table(title=f"compared with {old_name} (tolerance {comparison.tolerance})", title_justify="left")
    for col in ("metric", "old", "new", "delta", ""):
        table.add_column(col, justify="left" if col in {"metric", ""} else "right")
    for d in comparison.deltas:
        flag = "[red]REGRESSED[/red]" if d.regressed else ""
        style = "red" if d.regressed else None
        table.add_row(
            METRICS[d.metric][0],
            fmt(d.metric, d.old),
            fmt(d.metric, d.new),
            fmt_delta(d.metric, d.delta),
            flag,
            style=style,
        )
    return table


# --------------------------------------------------------------------------- Markdown


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]], text_columns: int = 1) -> str:
    """A GitHub Markdown table: the first `text_columns` columns left-aligned, the (numeric) rest right-aligned."""
    sep = [":--" if i < text_columns else "--:" for i in range(len(header))]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def metrics_markdown(metrics: Mapping[str, Any]) -> str:
    columns = group_columns(metrics)
    header = ["metric"] + [f"{name} (n={m['n']})" for name, m in columns]
    rows = [[METRICS[metric][0]] + [fmt(metric, m.get(metric)) for _, m in columns] for metric in TABLE_METRICS]
    return _md_table(header, rows)


def ablations_markdown(ablations: Sequence[Mapping[str, Any]]) -> str:
    header = ["variant", "what changes"] + [SHORT[m] for m in ABLATION_METRICS]
    rows = []
    for run in ablations:
        if run["skipped"]:
            note = f"{run['description']} — skipped: {run['skipped']}"
            rows.append([run["name"], note] + [""] * len(ABLATION_METRICS))
            continue
        overall = run["metrics"]["overall"]
        rows.append([run["name"], run["description"]] + [fmt(m, overall.get(m)) for m in ABLATION_METRICS])
    return _md_table(header, rows, text_columns=2)


def calibration_markdown(calibration: Mapping[str, Any]) -> str:
    rows = [
        [level, str(c["n"]), str(c["n_answered"]), fmt("accuracy", c["accuracy"]), fmt("kf", c["key_fact_accuracy"])]
        for level, c in calibration.items()
    ]
    return _md_table(["confidence", "questions", "answered", "decided right", "key facts (answered)"], rows)


def definitions_markdown() -> str:
    return "\n".join(f"- **{name}**: {text}." for name, text in DEFINITIONS.items())


def failures_markdown(results: Sequence[QuestionResult], limit: int = 60) -> str:
    failing = [(r, failure_reasons(r)) for r in results]
    failing = [(r, why) for r, why in failing if why]
    if not failing:
        return "Every question passed every check."
    rows = []
    for r, why in failing[:limit]:
        question = r.question if len(r.question) <= 70 else r.question[:67] + "…"
        rows.append([r.id, r.language, r.kind, question, "; ".join(why)])
    more = f"\n\n… and {len(failing) - limit} more (see results.json)." if len(failing) > limit else ""
    table = _md_table(["id", "lang", "kind", "question", "why"], rows, text_columns=5)
    return f"{len(failing)} of {len(results)} questions failed a check.\n\n{table}{more}"


def markdown_report(evaluation: Evaluation, comparison: Comparison | None = None, old_name: str = "") -> str:
    data = evaluation.to_dict()
    versions = ", ".join(f"{k} {v}" for k, v in data["versions"].items() if v)
    parts = [
        "# citeqa gold-set evaluation",
        "",
        f"- created: {data['created']}",
        f"- gold: `{data['gold']['path']}` ({data['gold']['items']} questions"
        + (f", first {evaluation.limit}" if evaluation.limit else "")
        + f", sha256 {data['gold']['sha256'][:12]})",
        f"- settings hash: `{data['settings_hash']}` — `{json.dumps(evaluation.settings, ensure_ascii=False)}`",
        f"- versions: {versions}",
        f"- run time: {data['seconds']} s",
    ]
    if evaluation.gold_problems:
        parts.append(f"- skipped gold lines: {'; '.join(evaluation.gold_problems)}")
    if evaluation.gold_warnings:
        parts.append(f"- gold warnings: {'; '.join(evaluation.gold_warnings)}")
    parts += ["", "## Metrics", "", metrics_markdown(data["metrics"]), "", "![metrics](metrics.png)", ""]
    if data["metrics"].get("calibration"):
        parts += ["## Confidence calibration", "", calibration_markdown(data["metrics"]["calibration"]), ""]
        if any(r.answerability is not None for r in evaluation.results):
            parts += ["![reliability](reliability.png)", ""]
    parts += ["### Definitions", "", definitions_markdown(), ""]
    if evaluation.ablations:
        parts += ["## Ablations", "", ablations_markdown(evaluation.ablations), "", "![ablations](ablations.png)", ""]
    if comparison is not None:
        rows = [
            [
                METRICS[d.metric][0],
                fmt(d.metric, d.old),
                fmt(d.metric, d.new),
                fmt_delta(d.metric, d.delta),
                "REGRESSED" if d.regressed else "",
            ]
            for d in comparison.deltas
        ]
        parts += [f"## Compared with `{old_name}` (tolerance {comparison.tolerance})", ""]
        parts += [f"- {n}" for n in comparison.notes]
        parts += ["", _md_table(["metric", "old", "new", "delta", "regressed"], rows), ""]
    parts += ["## Failures", "", failures_markdown(evaluation.results), ""]
    return "\n".join(parts)


# --------------------------------------------------------------------------- charts


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def chart_metrics(metrics: Mapping[str, Any], path: Path) -> Path:
    """Grouped bars: quality metrics by language (top) and by kind (bottom), overall as the first bar."""
    plt = _pyplot()
    panels = [("by language", metrics["by_language"]), ("by kind", metrics["by_kind"])]
    fig, axes = plt.subplots(len(panels), 1, figsize=(13, 8.5), constrained_layout=True)
    labels = [SHORT[m] for m in CHART_METRICS]
    palette = plt.get_cmap("tab10")
    for ax, (title, groups) in zip(axes, panels, strict=True):
        series = [("overall", metrics["overall"]), *groups.items()]
        width = 0.8 / len(series)
        for i, (name, m) in enumerate(series):
            xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(CHART_METRICS))]
            values = [m.get(metric) for metric in CHART_METRICS]
            color = "0.55" if name == "overall" else palette(i - 1)
            present = [(x, v) for x, v in zip(xs, values, strict=True) if v is not None]
            bars = ax.bar(
                [x for x, _ in present],
                [v for _, v in present],
                width=width * 0.95,
                label=f"{name} (n={m['n']})",
                color=color,
            )
            ax.bar_label(bars, labels=[f"{v:.2f}" for _, v in present], rotation=90, padding=2, fontsize=7)
        ax.set_xticks(range(len(CHART_METRICS)), labels)
        ax.set_ylim(0, 1.12)
        ax.set_yticks([0, 0.2, 0.4, 0.6, 0.8, 1.0])
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.set_title(f"citeqa gold-set metrics {title}", loc="left", fontsize=12)
        ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncols=len(series), fontsize=9, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
    overall = metrics["overall"]
    fig.supxlabel(
        f"overall latency p50 {fmt('latency_p50_ms', overall['latency_p50_ms'])} ms, "
        f"p95 {fmt('latency_p95_ms', overall['latency_p95_ms'])} ms · no bar: metric does not apply to the group "
        "(refusal P/R need refusals / out-of-scope items; retrieval and citation metrics skip out-of-scope items)",
        fontsize=9,
        color="0.35",
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def chart_ablations(ablations: Sequence[Mapping[str, Any]], path: Path) -> Path:
    """Heat map: variants (rows) × quality metrics (columns), each cell annotated with its value."""
    import numpy as np

    plt = _pyplot()
    metrics = list(CHART_METRICS)
    rows = [a for a in ablations]
    grid = np.full((len(rows), len(metrics)), np.nan)
    for i, run in enumerate(rows):
        if run["skipped"]:
            continue
        for j, m in enumerate(metrics):
            value = run["metrics"]["overall"].get(m)
            grid[i, j] = np.nan if value is None else value
    fig, ax = plt.subplots(figsize=(13, 0.55 * len(rows) + 1.8), constrained_layout=True)
    cmap = plt.get_cmap("RdYlGn").copy()
    cmap.set_bad("0.9")
    ax.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=0.3, vmax=1.0, aspect="auto")
    ax.set_xticks(range(len(metrics)), [SHORT[m] for m in metrics])
    ax.xaxis.tick_top()
    names = []
    for run in rows:
        p50 = run["metrics"].get("overall", {}).get("latency_p50_ms") if not run["skipped"] else None
        names.append(f"{run['name']}  ({fmt('latency_p50_ms', p50)} ms)" if p50 is not None else run["name"])
    ax.set_yticks(range(len(rows)), names)
    for i, run in enumerate(rows):
        if run["skipped"]:
            ax.text(len(metrics) / 2 - 0.5, i, "skipped: " + run["skipped"][:90], ha="center", va="center", fontsize=9)
            continue
        for j in range(len(metrics)):
            value = grid[i, j]
            color = "white" if not np.isnan(value) and value < 0.45 else "black"
            label = "—" if np.isnan(value) else f"{value:.2f}"
            ax.text(j, i, label, ha="center", va="center", fontsize=10, color=color)
    ax.set_title("ablations: overall metrics per variant (row label: p50 latency)", loc="left", fontsize=12, pad=12)
    for spine in ax.spines.values():
        spine.set_visible(False)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def chart_reliability(results: Sequence[QuestionResult], path: Path) -> Path:
    """Reliability diagram: mean predicted P(answerable) per bin against the observed answerable share."""
    plt = _pyplot()
    bins = [b for b in reliability_bins(results) if b["n"]]
    fig, ax = plt.subplots(figsize=(6, 5.5), constrained_layout=True)
    ax.plot([0, 1], [0, 1], color="0.6", linestyle="--", label="perfectly calibrated")
    ax.plot([b["mean_p"] for b in bins], [b["answerable_share"] for b in bins], marker="o", label="observed (per bin)")
    for b in bins:
        ax.annotate(f"n={b['n']}", (b["mean_p"], b["answerable_share"]), textcoords="offset points", xytext=(4, -12))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("predicted P(answerable)")
    ax.set_ylabel("share of questions that are answerable")
    ax.set_title("answerability reliability", loc="left")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- all outputs


def write_outputs(
    evaluation: Evaluation, out: Path, comparison: Comparison | None = None, old_name: str = ""
) -> list[Path]:
    """results.json, report.md, metrics.png (reliability.png, ablations.png) in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    results = out / "results.json"
    results.write_text(json.dumps(evaluation.to_dict(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    written.append(results)
    report = out / "report.md"
    report.write_text(markdown_report(evaluation, comparison, old_name), encoding="utf-8")
    written.append(report)
    written.append(chart_metrics(evaluation.metrics, out / "metrics.png"))
    if any(r.answerability is not None for r in evaluation.results):
        written.append(chart_reliability(evaluation.results, out / "reliability.png"))
    if evaluation.ablations:
        written.append(chart_ablations(evaluation.ablations, out / "ablations.png"))
    return written

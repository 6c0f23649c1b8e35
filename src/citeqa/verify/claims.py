"""The claim check: does a cited source support the paper sentence that cites it?

Input: the claim (a sentence of the paper), passages of the cited source with similarities the caller computed
with an embedder (this module loads no model), and optionally the footnote's own text as a witness (reference
titles often carry the figure: "Inside the $220bn American Cleantech Project Boom").

Verdicts, decided on the passages that are about the claim: at least ``thresholds.similar`` alike, or at least
``thresholds.similar_with_figure`` and stating one of the claim's (non-date) figures:
- supported: one such passage states every claim figure (the witness may supply some); a claim with no figures
  needs ``thresholds.supported_without_figures`` instead, since similarity is then the only evidence.
- mismatch: a claim figure that no similar passage (nor the witness) confirms is contradicted by one: a figure of
  the same kind, plausibly the same quantity, that no other claim figure accounts for ($52 billion against $39
  billion). Another date contradicts only in a passage that states every other claim figure (elsewhere dates
  mostly place the passage, not the claim); a footnote's dates are publication dates and never contradict.
- partial: similar passages, only some figures (or, for a figure-less claim, not similar enough to support).
- not_found: nothing resembles the claim (and no witness contradicts it).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from citeqa.figures import Figure, FigureMatch, classify, compare, extract_figures, family

VERDICTS = ("supported", "partial", "mismatch", "not_found")
WITNESS = "witness"
THRESHOLDS_FILE = Path("corpus") / "claimcheck" / "thresholds.json"


@dataclass(frozen=True)
class Passage:
    """A passage of a cited source; ``similarity`` to the claim is computed by the caller (cosine, embedder's)."""

    locator: str
    text: str
    similarity: float


@dataclass(frozen=True)
class CheckThresholds:
    """Similarity cut-offs, calibrated by ``python -m citeqa.verify.calibrate`` (corpus/claimcheck/thresholds.json)."""

    similar: float = 0.35  # a passage at least this alike is about the claim
    supported_without_figures: float = 0.55  # a claim with no figure to check needs a closer paraphrase
    # a passage stating one of the claim's figures (not a date: those are everywhere) is about the claim from here
    # on: a short English passage scores low against a long Chinese sentence even when it gives the same 627,000
    similar_with_figure: float = 0.25

    def __post_init__(self) -> None:
        for name in ("similar", "supported_without_figures", "similar_with_figure"):
            value = getattr(self, name)
            if not isinstance(value, int | float) or not -1.0 <= value <= 1.0:
                raise ValueError(f"claim-check threshold {name} must be a cosine similarity in [-1, 1], not {value!r}")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckThresholds:
        return cls(
            similar=float(data["similar"]),
            supported_without_figures=float(data["supported_without_figures"]),
            similar_with_figure=float(data.get("similar_with_figure", data["similar"])),
        )

    def to_dict(self) -> dict[str, float]:
        return asdict(self)


def default_thresholds_path() -> Path:
    """corpus/claimcheck/thresholds.json under CITEQA_HOME, else under the source checkout."""
    home = os.environ.get("CITEQA_HOME")
    root = Path(home) if home else Path(__file__).resolve().parents[3]
    return root / THRESHOLDS_FILE


def load_thresholds(path: Path | None = None) -> CheckThresholds:
    """The calibrated thresholds; a missing file is an error (silently checking with made-up cut-offs is worse)."""
    path = path or default_thresholds_path()
    try:
        return CheckThresholds.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read claim-check thresholds from {path}: {exc}") from exc


@dataclass(frozen=True)
class PassageEvidence:
    """One of the top passages as reported: how alike it is and how its figures compare with the claim's."""

    locator: str
    similarity: float
    text: str
    matched: int
    missing: int
    conflicting: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WitnessCheck:
    """The footnote's own text compared with the claim (figures only: a title has no similarity to speak of)."""

    text: str
    figures: list[Figure]
    match: FigureMatch

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "figures": [f.to_dict() for f in self.figures], **self.match.to_dict()}


@dataclass(frozen=True)
class ClaimVerdict:
    verdict: str
    # the decisive passage's similarity x the share of claim figures found (1.0 for a figure-less claim); 0 when no
    # passage decides (not_found, or a mismatch the witness alone shows)
    score: float
    evidence: str | None  # locator of the passage the verdict rests on, "witness", or None
    reason: str
    passages: list[PassageEvidence]  # top 3 by similarity
    claim_figures: list[Figure]
    source_figures: list[Figure]  # figures of the decisive passage
    matched: list[tuple[Figure, Figure, str]]  # claim figure, source figure, locator where found
    missing: list[Figure]
    conflicting: list[Figure]
    witness_figures: WitnessCheck | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "score": round(self.score, 4),
            "evidence": self.evidence,
            "reason": self.reason,
            "passages": [p.to_dict() for p in self.passages],
            "claim_figures": [f.to_dict() for f in self.claim_figures],
            "source_figures": [f.to_dict() for f in self.source_figures],
            "matched": [{"claim": c.to_dict(), "source": s.to_dict(), "where": w} for c, s, w in self.matched],
            "missing": [f.to_dict() for f in self.missing],
            "conflicting": [f.to_dict() for f in self.conflicting],
            "witness_figures": self.witness_figures.to_dict() if self.witness_figures else None,
        }


@dataclass
class _Read:
    """One passage read against the claim: per claim figure, its status and the source figure behind it."""

    passage: Passage
    figures: list[Figure]
    statuses: list[tuple[str, Figure | None]]


def check_claim(
    claim: str,
    passages: Sequence[Passage],
    *,
    thresholds: CheckThresholds,
    witness: str | None = None,
) -> ClaimVerdict:
    """Does any passage of the cited source support the claim? See the module docstring for the verdicts."""
    claim_figs = extract_figures(claim)
    ranked = sorted(passages, key=lambda p: p.similarity, reverse=True)
    reads = [_read(claim_figs, p) for p in ranked]
    top3 = [_evidence(r) for r in reads[:3]]
    wcheck, wstatus = _witness(claim_figs, witness)
    similar = [r for r in reads if _about_claim(r, claim_figs, thresholds)]

    def verdict(
        name: str, read: _Read | None, statuses: list[tuple[str, Figure | None, str]], why: str
    ) -> ClaimVerdict:
        found = sum(status == "matched" for status, _, _ in statuses)
        coverage = found / len(claim_figs) if claim_figs else 1.0
        sim = read.passage.similarity if read else 0.0
        return ClaimVerdict(
            verdict=name,
            score=max(0.0, sim) * coverage,
            evidence=read.passage.locator if read else (WITNESS if name == "mismatch" else None),
            reason=why,
            passages=top3,
            claim_figures=claim_figs,
            source_figures=read.figures if read else [],
            matched=[(c, s, w) for c, (st, s, w) in zip(claim_figs, statuses, strict=True) if st == "matched" and s],
            missing=[c for c, (st, _, _) in zip(claim_figs, statuses, strict=True) if st == "missing"],
            conflicting=[c for c, (st, _, _) in zip(claim_figs, statuses, strict=True) if st == "conflicting"],
            witness_figures=wcheck,
        )

    # supported: one passage (with the witness's help) states every figure
    need = thresholds.similar if claim_figs else thresholds.supported_without_figures
    for r in similar:
        combined = _merge([_located(r), wstatus])
        if r.passage.similarity >= need and all(st == "matched" for st, _, _ in combined):
            why = "states every figure of the claim" if claim_figs else "a close paraphrase (no figures to check)"
            return verdict("supported", r, combined, why)

    pooled = _merge([_located(r) for r in similar] + [wstatus])
    hard = _hard_conflicts(pooled)
    if hard:
        # the passage (or witness) that states the contradicting figure is the evidence
        culprit = next((r for r in similar if any(r.statuses[i][0] == "conflicting" for i in hard)), None)
        rivals = ", ".join(sorted({claim_figs[i].surface for i in hard}))
        return verdict("mismatch", culprit, pooled, f"the source states other values for {rivals}")
    if similar:
        best = max(similar, key=lambda r: (sum(st == "matched" for st, _ in r.statuses), r.passage.similarity))
        if claim_figs:
            why = "a similar passage, but not every figure of the claim is stated"
        else:
            why = "a related passage, not close enough to count as a paraphrase"
        return verdict("partial", best, pooled, why)
    return verdict("not_found", None, pooled, "no passage resembles the claim")


def _about_claim(r: _Read, claim_figs: list[Figure], thresholds: CheckThresholds) -> bool:
    if r.passage.similarity >= thresholds.similar:
        return True
    return r.passage.similarity >= thresholds.similar_with_figure and any(
        st == "matched" and family(c) != "time" for c, (st, _) in zip(claim_figs, r.statuses, strict=True)
    )


def _read(claim_figs: list[Figure], passage: Passage) -> _Read:
    figures = extract_figures(passage.text)
    return _Read(passage, figures, _statuses(tuple(claim_figs), tuple(figures)))


@lru_cache(maxsize=65536)
def _statuses(claim_figs: tuple[Figure, ...], figures: tuple[Figure, ...]) -> list[tuple[str, Figure | None]]:
    """classify(), with one exception: another date contradicts the claim's only where the passage states every
    other figure of the claim. A passage giving other years but none of the claim's amounts is most likely about
    another event (or just dated), not a contradiction; "in 1790" against "1791 年 12 月" alone is one."""
    statuses = classify(claim_figs, figures)
    others_found = all(st == "matched" for c, (st, _) in zip(claim_figs, statuses, strict=True) if family(c) != "time")
    if others_found:
        return statuses
    return [
        ("missing", None) if st == "conflicting" and family(c) == "time" else (st, s)
        for c, (st, s) in zip(claim_figs, statuses, strict=True)
    ]


def _located(r: _Read) -> list[tuple[str, Figure | None, str]]:
    return [(st, s, r.passage.locator) for st, s in r.statuses]


def _witness(
    claim_figs: list[Figure], witness: str | None
) -> tuple[WitnessCheck | None, list[tuple[str, Figure | None, str]]]:
    """The witness's figure comparison, and its statuses for pooling. A footnote's dates are when the source was
    published, not what it states, so a date there never contradicts the claim (it may still match it)."""
    if not witness:
        return None, [("missing", None, WITNESS)] * len(claim_figs)
    figures = extract_figures(witness)
    statuses = [
        ("missing", None, WITNESS) if st == "conflicting" and family(c) == "time" else (st, s, WITNESS)
        for c, (st, s) in zip(claim_figs, classify(claim_figs, figures), strict=True)
    ]
    return WitnessCheck(witness, figures, compare(claim_figs, figures)), statuses


def _merge(columns: list[list[tuple[str, Figure | None, str]]]) -> list[tuple[str, Figure | None, str]]:
    """Per claim figure, the best status over several sources: matched beats conflicting beats missing."""
    rank = {"matched": 2, "conflicting": 1, "missing": 0}
    if not columns:
        return []
    out = []
    for row in zip(*columns, strict=True):
        out.append(max(row, key=lambda t: rank[t[0]]))
    return out


def _hard_conflicts(pooled: list[tuple[str, Figure | None, str]]) -> list[int]:
    """Claim figures that some similar passage (or the witness) contradicts and none confirms: "35% -> 21%"
    against "35% -> 20%" (20% is nobody's), never against "to 21%" alone (35% is then only missing)."""
    return [i for i, (st, _, _) in enumerate(pooled) if st == "conflicting"]


def _evidence(r: _Read) -> PassageEvidence:
    statuses = [st for st, _ in r.statuses]
    return PassageEvidence(
        locator=r.passage.locator,
        similarity=round(r.passage.similarity, 4),
        text=r.passage.text,
        matched=statuses.count("matched"),
        missing=statuses.count("missing"),
        conflicting=statuses.count("conflicting"),
    )

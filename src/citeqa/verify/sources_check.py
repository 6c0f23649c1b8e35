"""`citeqa sources check`: for each reference footnote, does what it cites back the sentence that cites it?

The claim is the paper's sentence carrying the footnote's marker; the passages are the cited works' stored chunks
nearest to it (USE-m3 cosine, the embedder the thresholds are calibrated on); the footnote's own text is the
witness (titles often carry the figure). `check_claim` decides, comparing figures across languages and units with
the shared converter (citeqa.figures).

Verdicts beyond check_claim's: with no stored text the check runs on the footnote alone, which can show a
mismatch but never support; otherwise the row says why there was nothing to read: `not_fetched` (a URL nobody
fetched yet) or `unavailable` (no URL, or every fetch failed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa.figures import Figure, family
from citeqa.index.chunking import build_units
from citeqa.index.sources_index import EMBEDDER, SourcesIndex, footnote_labels, open_sources_index
from citeqa.ingest.corpus import load_corpus
from citeqa.ingest.source_store import SourceStore
from citeqa.settings import Settings
from citeqa.verify.claims import ClaimVerdict, Passage, check_claim, load_thresholds

PASSAGES = 8  # nearest chunks handed to check_claim per claim (only the similar ones count; 3 are reported)
# when a footnote backs several sentences, the row shows the most telling one: a contradiction first
PRIORITY = ("mismatch", "supported", "partial", "not_found")
Progress = Callable[[str, float], None]


@dataclass
class ClaimCheck:
    claim: str
    verdict: ClaimVerdict


@dataclass
class FootnoteCheck:
    footnote_id: str
    label: str  # p. 53 fn 2
    footnote: str
    works: list[dict[str, str]]  # id, title, url, state
    verdict: str  # supported | partial | mismatch | not_found | unavailable | not_fetched
    score: float
    reason: str
    claim: str
    passages: list[dict[str, Any]]
    decided: ClaimVerdict | None
    claims: list[ClaimCheck] = field(default_factory=list)

    def figures_compared(self) -> list[str]:
        """One line per claim figure: "390 亿美元 = $39 billion", "7500 美元 ≠ $5,000", "40% not stated"."""
        v = self.decided
        if v is None:
            return []
        lines = [f"{c.surface} = {s.surface}" for c, s, _ in v.matched]
        for c in v.conflicting:
            rivals = [s.surface for s in _rival_figures(v, c)]
            lines.append(f"{c.surface} ≠ {', '.join(rivals) or 'another value'}")
        lines += [f"{c.surface} not stated" for c in v.missing]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "footnote_id": self.footnote_id,
            "label": self.label,
            "footnote": self.footnote,
            "works": self.works,
            "verdict": self.verdict,
            "score": round(self.score, 4),
            "reason": self.reason,
            "claim": self.claim,
            "passages": self.passages,
            "figures_compared": self.figures_compared(),
            "check": self.decided.to_dict() if self.decided else None,
            "claims": [{"claim": c.claim, "verdict": c.verdict.verdict} for c in self.claims],
        }


def _rival_figures(v: ClaimVerdict, claim_figure: Figure) -> list[Figure]:
    pool = list(v.source_figures)
    if v.witness_figures is not None:
        pool += v.witness_figures.figures
    return [f for f in pool if family(f) == family(claim_figure) and f.kind == claim_figure.kind]


@dataclass
class CheckReport:
    rows: list[FootnoteCheck]
    stored_works: int

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.verdict] = out.get(row.verdict, 0) + 1
        return out

    def title(self) -> str:
        counts = ", ".join(f"{n} {v}" for v, n in sorted(self.counts().items()))
        return f"{len(self.rows)} reference footnotes checked ({self.stored_works} cited works stored): {counts}"

    def to_dict(self) -> dict[str, Any]:
        return {"counts": self.counts(), "stored_works": self.stored_works, "rows": [r.to_dict() for r in self.rows]}


def _thresholds_path(settings: Settings) -> Path | None:
    path = settings.corpus_path / "claimcheck" / "thresholds.json"
    return path if path.is_file() else None  # else load_thresholds' own default (the checkout's)


def check_footnotes(
    settings: Settings, footnote_ids: list[str] | None = None, progress: Progress | None = None
) -> CheckReport:
    """Check every reference footnote (or those named); KeyError for an id that is not a reference footnote."""
    from citeqa.index.sources_index import update_sources_index

    corpus = load_corpus(settings.corpus_path)
    paper = corpus.paper
    references = [f for f in paper.footnotes if f.kind == "reference"]
    if footnote_ids:
        known = {f.id: f for f in references}
        for fid in footnote_ids:
            if fid not in known:
                raise KeyError(f"{fid} is not a reference footnote of the paper (e.g. p4-fn2)")
        references = [known[fid] for fid in dict.fromkeys(footnote_ids)]
    citing: dict[str, list[str]] = {}
    for unit in build_units(corpus, settings.chunk_chars):
        if unit.kind == "paragraph":
            for sentence in unit.sentences:
                for fid in sentence.footnote_ids:
                    citing.setdefault(fid, []).append(sentence.text)
    update_sources_index(settings, corpus.sources, progress)  # a no-op unless a stored copy changed
    pool = open_sources_index(settings)
    store = SourceStore(settings.sources_path)
    thresholds = load_thresholds(_thresholds_path(settings))
    claims = [c for fn in references for c in citing.get(fn.id, [])]
    vectors = _embed(claims, settings) if pool is not None and claims else {}
    rows = []
    for n, fn in enumerate(references):
        if progress:
            progress(f"checking {fn.id} ({n + 1}/{len(references)})", n / max(len(references), 1))
        works = corpus.source_for_footnote(fn.id)
        states = {w.id: store.state(w.id).state for w in works}
        stored = [w.id for w in works if pool is not None and w.id in pool.works and pool.works[w.id].get("chunks")]
        checks = []
        for claim in citing.get(fn.id, []):
            passages = _passages(pool, vectors[claim], stored) if stored else []
            checks.append(ClaimCheck(claim, check_claim(claim, passages, thresholds=thresholds, witness=fn.text)))
        row = FootnoteCheck(
            footnote_id=fn.id,
            label=footnote_labels(paper, [fn.id])[0],
            footnote=fn.text,
            works=[{"id": w.id, "title": w.title, "url": w.url, "state": states[w.id]} for w in works],
            verdict="not_found",
            score=0.0,
            reason="no sentence of the paper carries this footnote's marker",
            claim="",
            passages=[],
            decided=None,
            claims=checks,
        )
        if checks:
            best = min(checks, key=lambda c: PRIORITY.index(c.verdict.verdict))
            v = best.verdict
            row.verdict, row.score, row.reason, row.claim, row.decided = v.verdict, v.score, v.reason, best.claim, v
            row.passages = [{**p.to_dict(), "source_id": _source_of(p.locator, stored)} for p in v.passages]
            if not stored and v.verdict != "mismatch":
                # nothing of the work was read: say why rather than "not found"
                never = any(w.url and states[w.id] == "not_fetched" for w in works)
                row.verdict = "not_fetched" if never else "unavailable"
                row.reason = _why_unread(works, states) + "; checked against the footnote's own text only"
        for p in row.passages:
            p["locator"] = p["locator"].split(" @ ", 1)[0]
        rows.append(row)
    if progress:
        progress("checked", 1.0)
    return CheckReport(rows, len(pool.works) if pool is not None else 0)


def _why_unread(works: list[Any], states: dict[str, str]) -> str:
    if not works:
        return "the footnote names no work"
    if all(not w.url for w in works):
        return "no URL in the footnote (add a copy with `citeqa sources add`)"
    if any(w.url and states[w.id] == "not_fetched" for w in works):
        return "not fetched yet (`citeqa sources fetch`)"
    return "the cited work could not be fetched"


def _embed(claims: list[str], settings: Settings) -> dict[str, Any]:
    from citeqa.index.embedders import get_embedder

    unique = list(dict.fromkeys(claims))
    vectors = get_embedder(EMBEDDER, "", settings.threads).embed_documents(unique)
    return dict(zip(unique, vectors, strict=True))


def _passages(pool: SourcesIndex | None, vector: Any, source_ids: list[str]) -> list[Passage]:
    """The nearest chunks of the cited works; the locator carries the work ("p. 1 @ src-…") to tell works apart."""
    if pool is None:
        return []
    return [
        Passage(f"{pool.chunks[i].locator} @ {pool.chunks[i].source_id}", pool.chunks[i].text, cosine)
        for i, cosine in pool.search(vector, PASSAGES, source_ids=source_ids)
    ]


def _source_of(locator: str, stored: list[str]) -> str:
    _, _, source_id = locator.partition(" @ ")
    return source_id or (stored[0] if len(stored) == 1 else "")


__all__ = ["CheckReport", "FootnoteCheck", "check_footnotes"]

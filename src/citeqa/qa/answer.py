"""What an answer is (Answer, Citation, Evidence), question hygiene, and the human rendering of an answer.

Every answerer produces an `Answer`; the CLI, the app and the evaluation read nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

from citeqa.textutil import cjk_ratio, is_han

NOT_COVERED = {
    "en": "Not covered by this paper: nothing in it answers this question.",
    "zh": "本文没有涉及这个问题。",
}


class QuestionError(ValueError):
    """The question cannot be answered as given (empty, too long)."""


@dataclass
class Citation:
    marker: str
    footnote_id: str
    page: int
    printed_page: int | None
    number: int
    text: str
    url: str
    quote: str  # the paper's sentence this footnote backs
    kind: str  # reference | note | source (a passage of a cited work's stored copy, when the paper cannot answer)
    # what the cited work says, when a copy of it is stored: verdict (supported | partial | mismatch | not_found),
    # reason, the best source passage, its locator and source id, the figures compared; None otherwise
    source_check: dict[str, Any] | None = None
    # kind "source" only (and only then in JSON): which work, where in it, the footnotes citing it, and the line
    # citing it ("source of p. 52 fn 2 — <authors>, '<title>', p. 1"); footnote_id/page/number/text above are the
    # first citing footnote's
    source_id: str = ""
    locator: str = ""
    footnote_ids: list[str] = field(default_factory=list)
    cite: str = ""


SOURCE_CITATION_FIELDS = ("source_id", "locator", "footnote_ids", "cite")


@dataclass
class Evidence:
    rank: int
    kind: str  # paragraph | footnote | source (a passage of a cited work's stored copy)
    id: str
    page: int
    printed_page: int | None
    section: str
    text: str
    score: float
    via: str  # retrieved | cited | source
    # footnotes this passage cites (itself, for a footnote; the footnotes citing the work, for a source)
    footnote_ids: list[str] = field(default_factory=list)
    # kind "source" only: which work, where in it, and how to cite it ("source of p. 52 fn 2 — <title>, p. 1")
    source_id: str = ""
    locator: str = ""
    url: str = ""
    source_title: str = ""
    cite: str = ""


@dataclass
class Answer:
    question: str
    answered: bool
    answer: str
    language: str
    citations: list[Citation] = field(default_factory=list)
    evidence: list[Evidence] = field(default_factory=list)
    english: list[list[str]] = field(default_factory=list)  # [chinese, english] pairs
    quote: str = ""  # the supporting passage, answer sentences included
    quote_id: str = ""  # its unit id (chunk or footnote) and where it stands
    quote_page: int | None = None
    quote_printed_page: int | None = None
    highlight: list[str] = field(default_factory=list)  # the answer sentences inside `quote`
    top_similarity: float = 0.0
    refusal_reason: str = ""  # why answered is false: low similarity, or names the paper never mentions
    timings_ms: dict[str, float] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    answerer: str = ""  # which answerer produced it: "extractive", later "llm:<model>", "extractive (llm fallback)"
    confidence: str = ""  # high | medium | low: how sure the answerer is that this answers (or rightly refuses)
    answerability: float | None = None  # P(the paper answers this), from corpus/models/answerability.json
    # llm answerer: each validation check of the model's reply (check, ok, detail); empty for extractive answers
    validation: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for citation in data["citations"]:
            # the paper's own citations keep their schema to the byte: the source fields are for source citations
            if citation["kind"] != "source":
                for name in SOURCE_CITATION_FIELDS:
                    citation.pop(name, None)
        return data

    @property
    def from_source(self) -> bool:
        """Answered from a cited work's stored copy rather than from the paper."""
        return any(c.kind == "source" for c in self.citations)


# --------------------------------------------------------------------------- question hygiene


def clean_question(raw: str, max_chars: int) -> tuple[str, list[str]]:
    """Strip control characters and collapse space; refuse empty and over-long questions."""
    if not isinstance(raw, str):
        raise QuestionError("question must be text")
    if len(raw) > 64 * max_chars:  # refuse megabytes before cleaning them character by character (seconds)
        raise QuestionError(
            f"the question is too long ({len(raw)} characters; the limit is {max_chars}): ask it in a sentence"
        )
    text = "".join(" " if unicodedata.category(ch).startswith("C") else ch for ch in raw)
    text = re.sub(r"\s+", " ", text).strip()
    warnings = []
    if text != raw.strip():
        warnings.append("control characters or extra whitespace removed")
    if not text:
        raise QuestionError("the question is empty")
    if len(text) > max_chars:
        raise QuestionError(
            f"the question is too long ({len(text)} characters; the limit is {max_chars}): ask it in a sentence"
        )
    return text, warnings


def detect_language(text: str) -> str:
    """zh when the question is mostly Han characters, en when mostly Latin, other otherwise.

    Punctuation alone is no language: a zh question has at least one Han character (emoji-only and Korean
    questions are "other", answered in English)."""
    if cjk_ratio(text) >= 0.3 and any(is_han(c) for c in text):
        return "zh"
    letters = [c for c in text if c.isalpha()]
    if letters and sum(c.isascii() for c in letters) / len(letters) >= 0.7:
        return "en"
    return "other"


def format_answer(answer: Answer) -> str:
    """Human output: the answer, the numbered citation list, then the quoted supporting passage."""
    lines = [answer.answer]
    if answer.citations:
        lines.append("")
        lines.append("Citations:" if answer.language != "zh" else "引用：")
        for c in answer.citations:
            if c.kind == "source":  # "[1] source of p. 52 fn 2 — <authors>, '<title>', p. 1"
                lines.append(f"{c.marker} {c.cite}" + (f" <{c.url}>" if c.url else ""))
                continue
            printed = f"p. {c.printed_page}" if c.printed_page else f"PDF page {c.page}"
            lines.append(f"{c.marker} {printed}, footnote {c.number}: {c.text}")
            if c.source_check:
                check = c.source_check
                said = f"“{check['passage']}” ({check['locator']})" if check.get("passage") else check["reason"]
                lines.append(f"    the source ({check['verdict']}): {said}")
    if answer.answered and answer.quote:
        lines.append("")
        if answer.from_source:
            lines.append("Source passage:" if answer.language != "zh" else "来源原文：")
        else:
            lines.append("Supporting passage:" if answer.language != "zh" else "原文：")
        lines.append(f"  “{answer.quote}”")
    for w in answer.warnings:
        lines.append(f"(note: {w})")
    return "\n".join(lines)


__all__ = ["Answer", "Citation", "Evidence", "QuestionError", "clean_question", "detect_language", "format_answer"]

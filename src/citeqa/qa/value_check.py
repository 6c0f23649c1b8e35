"""Does the answer state the kind of value the question asks for, about what the question asks it of?

A near miss is an on-topic question asking for a figure, percentage or date the paper does not give ("how much did
TSMC invest in Arizona", "what tariff rate did Trump put on Chinese goods"). Retrieval finds the passage on the
topic, and the answer quotes it without the value, or with a value of that kind from a sentence about something
else (ARRA's 2.3 billion beside TSMC's delay; the USMCA's 75% share beside the trade war's "sharply raised
tariffs"). Two checks catch both:

- *absent*: no answer sentence (nor an explanatory note it cites) states a value of the asked kind;
- *unbound*: the sentences that do state one share little of the question's weight (rare question terms, IDF over
  the paper's sentences) compared with the best answer sentence: the value belongs to another subject.

A note shown with a sentence is read with it, and a note that is itself the answer sentence is read with the
sentence citing it (the USMCA thresholds are in a note whose text never names the USMCA).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from citeqa.figures import extract_figures
from citeqa.index.chunking import Unit
from citeqa.qa.answerability import ASKS
from citeqa.qa.decompose import asking_parts
from citeqa.qa.intent import CITATION_INTENT_RE, EXPLANATION_INTENT_RE, JUDGEMENT_INTENT_RE, WORK_DETAIL_RE
from citeqa.qa.sentence_ranker import tokens

# an amount or number: not "哪几个因素" / "几项措施中哪一项" (which few of them: a list), nor "cost" as a topic word
AMOUNT_RE = re.compile(
    r"\bhow (?:much|many|big|large)\b|\bwhat (?:amount|number|figure|sum|value|total)\b|\bbudget\b"
    r"|多少|金额|数额|总额|几比几",
    re.I,
)
AMOUNT_FEW_RE = re.compile(r"(?<![哪这那])几[个家项所座位名万亿千百十]")
WHICH_ONE_RE = re.compile(r"哪一?[项个家种条点部些]|哪几")
# the question asks for a whole ("how much does the IRA spend in total", 总共/一共/总额/总规模)
TOTAL_RE = re.compile(
    r"\bin total\b|\btotal (?:amount|cost|size|spending|funding|investment|\$)|\boverall\b|\bthe whole\b"
    r"|\baltogether\b|总共|一共|总额|总规模|总支出|总投资|整个.{0,6}(?:规模|花|投)",
    re.I,
)
# a day, not a year or a month ("what date did Biden sign the CHIPS Act" answered with "2022 年 8 月")
DAY_RE = re.compile(
    r"\b(?:what|which|on what|the exact|exact) (?:exact )?(?:date|day)\b|哪一?天|哪一?日|几月几[日号]|几号|具体日期",
    re.I,
)
# a rate of a named kind ("tariff rate", "关税税率", "加征关税的具体税率"): its percentage must stand in a clause naming
# that kind, not in one about another rate (the tax cut's 35% -> 21% beside "trade war tariffs")
RATE_KINDS: dict[str, tuple[str, ...]] = {
    "tariff": ("关税",),
    "duty": ("关税", "税"),
    "duties": ("关税", "税"),
    "tax": ("税",),
    "interest": ("利率", "利息"),
    "unemployment": ("失业",),
    "inflation": ("通胀", "通货膨胀"),
}
_RATE_EN_RE = re.compile(
    r"\b("
    + "|".join(RATE_KINDS)
    + r")s? (?:\w+ ){0,2}?rates?\b|\brates? (?:of|on) (?:\w+ ){0,2}?("
    + "|".join(RATE_KINDS)
    + r")",
    re.I,
)
_RATE_ZH_RE = re.compile(r"(关税|所得税|失业|通胀|利息)[^，。？?,；;]{0,6}?(?:税率|率)")
CLAUSE_RE = re.compile(r"(?:[^，；;。！？!?,]|,(?!\s))+")  # "7,500" stays whole
# a figure stated as a part or a cap of a whole ("其中拨款 23 亿美元", "最高 7500 美元", "up to $7,500", "per car")
PART_OF_RE = re.compile(r"(?:其中|最高|最多|每[辆个家年人台]|单[个项]|up to|per \w+|each)\s*\S{0,6}\s*$", re.I)
# the value kinds (figures.py) that answer each asked kind: a count of votes is a ratio (51∶50), a share a percent
ACCEPTED: dict[str, frozenset[str]] = {
    "amount": frozenset({"money", "count", "ratio", "percent"}),
    "percent": frozenset({"percent", "ratio"}),
    "date": frozenset({"year", "date"}),
    "day": frozenset({"date"}),  # a date to the day (figures.py unit "day")
}
NOUNS = {"amount": "amount or number", "percent": "percentage", "date": "date", "day": "date to the day"}
PLURALS = {"amount": "amounts and numbers", "percent": "percentages", "date": "dates", "day": "dates"}
# a value sentence covering less than this share of the best answer sentence's question weight is about another
# subject; chosen on the development sets (below 0.4: 24 near misses, 2 answerable questions; 0.5: 28 / 3)
BIND_RATIO = 0.4


def asked_kinds(question: str) -> list[str]:
    """The kinds of value the question asks for, the most specific first ("税率是多少" asks a percentage)."""
    out = []
    if ASKS["percent"].search(question):
        out.append("percent")
    if DAY_RE.search(question):
        out.append("day")
    elif ASKS["date"].search(question):
        out.append("date")
    if AMOUNT_RE.search(question) or (AMOUNT_FEW_RE.search(question) and not WHICH_ONE_RE.search(question)):
        out.append("amount")
    return out


def exempt(question: str) -> bool:
    """Questions whose value lies outside the answer sentences' own figures: a source or a cited work's details (the
    reference states its date), a why-question or one asking the author's verdict (a figure in it is context)."""
    return any(
        p.search(question) for p in (CITATION_INTENT_RE, WORK_DETAIL_RE, EXPLANATION_INTENT_RE, JUDGEMENT_INTENT_RE)
    )


@dataclass(frozen=True)
class AnswerSentence:
    """One answer sentence as the check reads it: its text with what is shown or cited with it."""

    text: str  # the sentence, its explanatory notes, or a note with the sentence citing it
    passage: str  # its paragraph (across chunks), or the footnote's id
    position: int  # its place among the passage's sentences
    # the works it cites: a reference's date is when a report came out or a speech was given, which answers "on
    # what day was the 100-day review released" (the sentence says June 2021, the reference June 8, 2021)
    references: str = ""


@dataclass(frozen=True)
class ValueVerdict:
    reason: str = ""  # why the answer does not answer; "" when it does
    rescue: int | None = None  # index of a candidate stating the value, to add to the answer instead


class ValueCheck:
    """IDF weights of the paper's tokens and which sentence cites each footnote, computed once."""

    def __init__(self, units: Sequence[Unit]) -> None:
        sentences = [s for u in units for s in u.sentences]
        df = Counter(t for s in sentences for t in tokens(s.text))
        self._n = len(sentences)
        self._df = df
        self.citing: dict[str, str] = {}
        for u in units:
            if u.kind == "paragraph":
                for s in u.sentences:
                    for fid in s.footnote_ids:
                        self.citing.setdefault(fid, s.text)

    def idf(self, token: str) -> float:
        return math.log((self._n + 1) / (self._df.get(token, 0) + 1))

    def weight(self, q_tokens: set[str], text: str) -> float:
        """How much of the question's weight a text holds."""
        return sum(self.idf(t) for t in q_tokens & tokens(text))

    def check(
        self,
        question: str,
        tokens_of: Callable[[str], set[str]],
        answer: Sequence[AnswerSentence],
        candidates: Iterable[AnswerSentence] = (),
    ) -> ValueVerdict:
        """Absent or unbound value (see the module's doc). A question of several parts is refused only when every
        part asks for a value and none is answered; `tokens_of` gives a text's question tokens (English ones with
        the paper's Chinese forms)."""
        if not answer or exempt(question):
            return ValueVerdict()
        parts = asking_parts(question)
        if not parts:
            return self._check_part(question, tokens_of(question), answer, candidates)
        verdicts = [self._check_part(p, tokens_of(p), answer, ()) for p in parts]
        return verdicts[0] if all(v.reason for v in verdicts) else ValueVerdict()

    def _check_part(
        self, question: str, q_tokens: set[str], answer: Sequence[AnswerSentence], candidates: Iterable[AnswerSentence]
    ) -> ValueVerdict:
        """Refused when every kind of value asked is absent or unbound. An absent one may be supplied by the sentence
        just before or after the first answer sentence (in its paragraph, across chunks) when that states it and
        holds the rarest question word the answer sentence holds ("锂电池 对华依赖 多少": the share is stated in
        the next sentence)."""
        kinds = asked_kinds(question)
        if not kinds:
            return ValueVerdict()
        weights = [self.weight(q_tokens, a.text) for a in answer]
        best = max(weights)
        stems = rate_kind(question)
        if stems and "percent" in kinds and not AMOUNT_RE.search(question[: _rate_start(question)]):
            kinds = [k for k in kinds if k != "amount"]  # "关税税率是多少": the 多少 is the rate's
        absent, unbound = [], []
        for kind in kinds:
            holding = [w for a, w in zip(answer, weights, strict=True) if _states(_read(a, kind), kind)]
            if not holding:
                absent.append(kind)
            elif best > 0 and max(holding) < BIND_RATIO * best:
                unbound.append(kind)
            elif kind == "percent" and stems and not any(_states(a.text, kind, stems) for a in answer):
                unbound.append(kind)  # percentages of another rate
        if len(absent) + len(unbound) < len(kinds):
            if "amount" in kinds and self._only_parts(question, answer):
                return ValueVerdict("the passages state only part of the total asked")
            return ValueVerdict()
        shared = q_tokens & tokens(answer[0].text)
        if absent and not unbound and shared:
            subject = max(shared, key=self.idf)  # the rarest question word the answer holds: what it is about
            for i, c in enumerate(candidates):
                if (
                    c.passage == answer[0].passage
                    and abs(c.position - answer[0].position) == 1
                    and any(_states(c.text, k) for k in absent)
                    and subject in tokens(c.text)
                ):
                    return ValueVerdict(rescue=i)
        if absent:
            return ValueVerdict(absent_reason(absent[0]))
        return ValueVerdict(f"the {PLURALS[unbound[0]]} the passages state are about something else")

    def _only_parts(self, question: str, answer: Sequence[AnswerSentence]) -> bool:
        """A question asking for a whole amount whose answer states amounts only as parts or caps of one: "how much
        does the IRA spend in total" answered with "最高 7500 美元的补贴" (up to 7,500 per car)."""
        if not TOTAL_RE.search(question):
            return False
        amounts = [
            (a.text, f)
            for a in answer
            for f in extract_figures(a.text)
            if f.kind in ("money", "count") and f.span[0] >= 0
        ]
        return bool(amounts) and all(PART_OF_RE.search(text[: f.span[0]]) for text, f in amounts)


def absent_reason(kind: str) -> str:
    """The refusal reason for an asked kind of value no answer sentence states."""
    return f"the passages on this topic state no {NOUNS[kind]}"


def rate_kind(question: str) -> tuple[str, ...]:
    """The Chinese stems of the kind of rate the question asks for ("tariff rate" -> 关税), () for none named."""
    if m := _RATE_EN_RE.search(question):
        return RATE_KINDS[(m.group(1) or m.group(2)).lower()]
    if m := _RATE_ZH_RE.search(question):
        return ("税",) if m.group(1) == "所得税" else (m.group(1),)
    return ()


def _read(sentence: AnswerSentence, kind: str) -> str:
    return f"{sentence.text} {sentence.references}" if kind == "day" else sentence.text


def _rate_start(question: str) -> int:
    m = _RATE_EN_RE.search(question) or _RATE_ZH_RE.search(question)
    return m.start() if m else len(question)


def _states(text: str, kind: str, stems: tuple[str, ...] = ()) -> bool:
    """Does the text state a value of the kind (a percentage in a clause naming one of `stems`, when given)?"""
    if stems:
        return any(
            any(s in clause.group(0) for s in stems) and _states(clause.group(0), kind)
            for clause in CLAUSE_RE.finditer(text)
        )
    return any(f.kind in ACCEPTED[kind] and (kind != "day" or f.unit == "day") for f in extract_figures(text))


__all__ = [
    "ACCEPTED",
    "BIND_RATIO",
    "DAY_RE",
    "AnswerSentence",
    "ValueCheck",
    "ValueVerdict",
    "absent_reason",
    "asked_kinds",
    "exempt",
]

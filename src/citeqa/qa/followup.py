"""Condense a follow-up message with the previous turn into a standalone question (no model, no LLM).

A chat user asks "How much did US imports from Mexico grow?" and then "and what about Canada?" or "那加拿大呢？".
Retrieval sees one question at a time, so the follow-up has to carry its subject. The rules, tried in order:

1. **standalone** – no previous question, an empty message, or a long message (more than 12 English words or
   20 CJK characters): the message is used as it is.
2. **substitute** – the message is little more than a *subject* from the small gazetteer below (a place, a person,
   a law, an industry, a year) plus follow-up words: "Canada?", "and what about Canada?", "in 2022?", "那加拿大呢？".
   When the previous question names a subject *of the same kind*, its last such subject is replaced by the new
   one(s), written in the previous question's language ("… from Mexico …" -> "… from Canada …").
   A year range ("from 2021 to 2022") is not swapped: the follow-up is appended (rule 3).
3. **append** – such a bare follow-up with nothing of that kind to replace, or a longer message with a subject
   that opens with a follow-up cue ("and", "also", "but", "what about", "那", "还有", "至于", … or ends in "呢"):
   previous question + " " + message.
4. **context** – a follow-up with no subject of its own that opens with a cue, refers back ("it", "they",
   "that", "它", "其", "该"…, but not "this paper" / "本文"), or is a bare question word ("why?", "为什么？"):
   the message followed by the previous question in brackets. The *topic* for the next turn stays the previous question,
   so "why?" / "when?" chains do not nest.
5. Anything else is standalone: a message with its own subject and no cue is a new question.

The previous question is the previous turn's *condensed* question, so "and Canada?" then "and Vietnam?" works.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from citeqa.textutil import cjk_ratio

MAX_FOLLOWUP_WORDS = 12
MAX_FOLLOWUP_CJK = 20
MAX_SHORT_WORDS = 2  # "why?", "and then?" carry no subject of their own
MAX_SHORT_CJK = 5  # "为什么？", "什么时候？"


@dataclass(frozen=True)
class Subject:
    """A gazetteer entry: one thing a question can be about, with its English and Chinese names."""

    kind: str  # place | person | law | industry | year
    en: str
    zh: str
    aliases: tuple[str, ...] = ()  # extra surface forms (matched case-insensitively, whole words for Latin)


GAZETTEER: tuple[Subject, ...] = (
    # places
    Subject("place", "the United States", "美国", ("United States", "USA", "U.S.", "US", "America")),
    Subject("place", "China", "中国", ("Chinese",)),
    Subject("place", "Mexico", "墨西哥", ("Mexican",)),
    Subject("place", "Canada", "加拿大", ("Canadian",)),
    Subject("place", "Vietnam", "越南", ("Viet Nam", "Vietnamese")),
    Subject("place", "Japan", "日本", ("Japanese",)),
    Subject("place", "South Korea", "韩国", ("Korea", "Korean")),
    Subject("place", "India", "印度", ("Indian",)),
    Subject("place", "Germany", "德国", ("German",)),
    Subject("place", "the European Union", "欧盟", ("European Union", "EU", "Europe", "欧洲")),
    Subject("place", "Asia", "亚洲", ("Asian",)),
    Subject("place", "Taiwan", "台湾", ()),
    # people (and their administrations)
    Subject("person", "Obama", "奥巴马", ()),
    Subject("person", "Trump", "特朗普", ()),
    Subject("person", "Biden", "拜登", ()),
    Subject("person", "Hamilton", "汉密尔顿", ("Alexander Hamilton",)),
    # laws, agreements, programmes
    Subject(
        "law",
        "the CHIPS and Science Act",
        "《芯片与科学法》",
        ("CHIPS and Science Act", "CHIPS Act", "芯片与科学法", "芯片法案", "芯片法"),
    ),
    Subject(
        "law",
        "the Inflation Reduction Act",
        "《通胀削减法》",
        ("Inflation Reduction Act", "IRA", "通胀削减法", "通胀削减法案"),
    ),
    Subject(
        "law",
        "the Infrastructure Investment and Jobs Act",
        "《基础设施投资和就业法》",
        (
            "Infrastructure Investment and Jobs Act",
            "infrastructure act",
            "infrastructure law",
            "基础设施投资和就业法",
            "基础设施法",
        ),
    ),
    Subject(
        "law",
        "the Tax Cuts and Jobs Act",
        "《减税和就业法》",
        ("Tax Cuts and Jobs Act", "TCJA", "减税和就业法", "减税法案"),
    ),
    Subject(
        "law",
        "the American Recovery and Reinvestment Act",
        "《美国复兴和再投资法》",
        ("American Recovery and Reinvestment Act", "Recovery Act", "ARRA", "美国复兴和再投资法"),
    ),
    Subject("law", "the Buy American Act", "《购买美国货法》", ("Buy American Act", "购买美国货法")),
    Subject("law", "the USMCA", "《美国—墨西哥—加拿大协定》", ("USMCA", "美墨加协定", "美国—墨西哥—加拿大协定")),
    Subject("law", "NAFTA", "《北美自由贸易协定》", ("North American Free Trade Agreement", "北美自由贸易协定")),
    # industries
    Subject("industry", "semiconductors", "半导体", ("semiconductor", "chips", "chip", "芯片")),
    Subject("industry", "clean energy", "清洁能源", ()),
    Subject("industry", "electric vehicles", "新能源汽车", ("electric vehicle", "EVs", "EV", "电动汽车")),
    Subject("industry", "cars", "汽车", ("car", "autos", "auto", "automobiles", "automotive")),
    Subject("industry", "steel and aluminium", "钢铝", ("steel", "aluminium", "aluminum", "钢铁")),
    Subject("industry", "batteries", "锂电池", ("battery", "lithium batteries", "电池")),
)

YEAR_RE = re.compile(r"(?<!\d)((?:19|20)\d\d)(?:\s*年)?(?!\d)")

EN_CUE_RE = re.compile(
    r"^(?:and|but|also|plus|same|likewise)\b|^(?:and\s+|but\s+|so\s+)?(?:what|how)\s+about\b|^(?:and\s+)?what\s+of\b",
    re.IGNORECASE,
)
ZH_CUE_RE = re.compile(r"^(?:那么|那|还有|另外|至于|而|再|又|同样)|呢[？?！!。\s]*$")
EN_ANAPHOR_RE = re.compile(r"\b(?:it|its|they|them|their|this|that|these|those|he|she|his|her|him)\b", re.I)
ZH_ANAPHOR_RE = re.compile(r"它们|它|其|该|此|这些|那些|这个|那个|他们|他|她")
# words that contain an anaphor character without referring back ("其他", "应该", "因此")
ZH_NOT_ANAPHOR_RE = re.compile(r"其他|其它|尤其|其中|其实|应该|因此|此外|如此|彼此|从此|由此")
WH_RE = re.compile(
    r"\b(?:why|when|how|where|who|what|which)\b|为什么|为何|什么时候|何时|怎么|如何|哪里|哪些|谁|多少", re.I
)
# references to the paper itself are not references to the previous turn
PAPER_SELF_RE = re.compile(
    r"\b(?:this|the)\s+(?:paper|article|study|author)s?\b|本文|该文|这篇(?:文章|论文)|作者", re.I
)
# words a bare follow-up may carry besides its subject ("and what about the", "那…呢")
FILLER_RE = re.compile(
    r"\b(?:and|but|also|so|then|what|how|about|of|for|in|under|with|the|a|an|case|same|too|please)\b"
    r"|那么|那|还有|另外|至于|呢|的|情况|又|同样|如何|怎么样|怎样|[\s\W_]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Mention:
    subject: Subject
    start: int
    end: int

    @property
    def key(self) -> tuple[str, str]:
        return (self.subject.kind, self.subject.en)


@dataclass(frozen=True)
class Condensed:
    """The outcome of condensing one message."""

    message: str  # what the user typed (whitespace collapsed)
    question: str  # the standalone question to retrieve with
    rule: str  # standalone | substitute | append | context
    topic: str  # the previous question to use for the next turn

    @property
    def is_followup(self) -> bool:
        return self.rule != "standalone"


def _is_chinese(text: str) -> bool:
    return cjk_ratio(text) >= 0.3


def _alias_pattern(alias: str) -> str:
    escaped = re.escape(alias)
    if alias.isascii():
        # whole words; "US" and "IRA" only in capitals, so "us" / "ira" in prose do not count
        return rf"(?<![A-Za-z]){escaped}(?![A-Za-z])"
    return escaped


_ALIASES: list[tuple[str, Subject, bool]] = sorted(
    (
        (alias, subject, alias.isupper() and len(alias) <= 4)
        for subject in GAZETTEER
        for alias in {subject.en, subject.zh, subject.en.removeprefix("the "), *subject.aliases}
    ),
    key=lambda item: -len(item[0]),
)


def find_subjects(text: str) -> list[Mention]:
    """Gazetteer subjects and years in `text`, longest match first, without overlaps, in text order."""
    taken: list[tuple[int, int]] = []
    found: list[Mention] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e in taken)

    for alias, subject, case_sensitive in _ALIASES:
        flags = 0 if case_sensitive else re.IGNORECASE
        for m in re.finditer(_alias_pattern(alias), text, flags):
            if free(m.start(), m.end()):
                taken.append((m.start(), m.end()))
                found.append(Mention(subject, m.start(), m.end()))
    for m in YEAR_RE.finditer(text):
        if free(m.start(), m.end()):
            taken.append((m.start(), m.end()))
            found.append(Mention(Subject("year", m.group(1), m.group(1) + "年"), m.start(), m.end()))
    return sorted(found, key=lambda mention: mention.start)


def _too_long(message: str) -> bool:
    if _is_chinese(message):
        return sum(1 for ch in message if "\u4e00" <= ch <= "\u9fff") > MAX_FOLLOWUP_CJK
    return len(message.split()) > MAX_FOLLOWUP_WORDS


def _is_short(message: str) -> bool:
    """ "why?", "how so?", "为什么？": a bare question word, too short to be a question on its own."""
    if not WH_RE.search(message):
        return False
    if _is_chinese(message):
        return sum(1 for ch in message if "\u4e00" <= ch <= "\u9fff") <= MAX_SHORT_CJK
    return len(message.split()) <= MAX_SHORT_WORDS


def _has_cue(message: str) -> bool:
    return bool(EN_CUE_RE.search(message) or ZH_CUE_RE.search(message))


def _refers_back(message: str) -> bool:
    text = ZH_NOT_ANAPHOR_RE.sub(" ", PAPER_SELF_RE.sub(" ", message))
    return bool(EN_ANAPHOR_RE.search(text) or ZH_ANAPHOR_RE.search(text))


def _is_bare(message: str, mentions: list[Mention]) -> bool:
    """Only subjects plus filler words ("Canada?", "and in 2022?", "加拿大的情况呢")."""
    rest = message
    for mention in sorted(mentions, key=lambda m: -m.start):
        rest = rest[: mention.start] + " " + rest[mention.end :]
    return not FILLER_RE.sub("", rest)


def _name(subject: Subject, chinese: bool) -> str:
    if subject.kind == "year":
        return subject.zh if chinese else subject.en
    if chinese:
        return subject.zh
    return subject.en


def _substitute(previous: str, target: Mention, new: list[Mention]) -> str:
    chinese = _is_chinese(previous)
    names = list(dict.fromkeys(_name(m.subject, chinese) for m in new))
    joiner = "和" if chinese else " and "
    replacement = joiner.join(names)
    before = previous[: target.start]
    # "the" before a replaced English name: keep one article at most ("the Mexico" never appears)
    if not chinese and replacement.startswith("the ") and before.lower().endswith("the "):
        replacement = replacement[4:]
    if target.subject.kind == "year" and previous[target.end - 1 : target.end] == "年" and chinese:
        replacement = replacement.removesuffix("年") + "年"
    return before + replacement + previous[target.end :]


def condense(message: str, previous: str | None) -> Condensed:
    """Turn `message` into a standalone question using the previous turn's question (see the module rules)."""
    text = re.sub(r"\s+", " ", message or "").strip()
    prev = re.sub(r"\s+", " ", previous or "").strip()
    if not text or not prev or _too_long(text):
        return Condensed(text, text, "standalone", text)
    mentions = find_subjects(text)
    cue = _has_cue(text)
    if mentions and _is_bare(text, mentions):
        kind = mentions[-1].subject.kind
        new = [m for m in mentions if m.subject.kind == kind]
        before = find_subjects(prev)
        known = {m.key for m in before}
        same_kind = [m for m in before if m.subject.kind == kind]
        if kind == "year" and len(same_kind) > 1:
            same_kind = []  # a year range ("from 2021 to 2022") is not one subject to swap
        if same_kind and not any(m.key in known for m in new):
            question = _substitute(prev, same_kind[-1], new)
            return Condensed(text, question, "substitute", question)
    if mentions and (cue or _is_bare(text, mentions)):
        question = f"{prev} {text}"
        return Condensed(text, question, "append", question)
    if not mentions and (cue or _refers_back(text) or _is_short(text)):
        question = f"{text}（{prev}）" if _is_chinese(text) else f"{text} ({prev})"
        return Condensed(text, question, "context", prev)
    return Condensed(text, text, "standalone", text)


__all__ = ["GAZETTEER", "Condensed", "Subject", "condense", "find_subjects"]

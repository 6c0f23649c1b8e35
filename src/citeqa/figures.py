"""Figures in Chinese or English text, normalised so that one quantity written two ways compares equal.

390 亿美元 = $39 billion = 39 billion dollars = US$39bn; 1299 万人 = 12.99 million; 75% = 75 percent = 百分之七十五;
2017 年 12 月 = December 2017; 2022 年 is a year, never a count. The one converter the product shares: the extractive
answerer's English rendering, the claim check, LLM-answer validation.

Normal forms (``Figure.value``):
- money: amount in the currency's units (``unit`` = USD | CNY | EUR); count: the number (``unit`` = people, years,
  months, weeks, days or "");  percent: 75.0 (``unit`` = % | pp); ratio: 2.61 (``unit`` = x for "2.61 倍",
  : for a vote of 51∶50, value a / b); year: 2022.0 (``unit`` = year).
- date: yyyymmdd as a number, 0 for what is not written (December 2017 = 20171200); ``unit`` says the granularity:
  day | month | quarter | half (a quarter or half is keyed by its first month).
``precision`` is half a unit of the last digit written, in value units ("$39 billion" ±0.5e9, "390 亿" ±0.5e8): two
figures are the same when they agree within the rounding of the less precise one.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

KINDS = ("money", "count", "percent", "year", "date", "ratio")
MONTH_NAMES = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

# a hedged figure ("nearly 40 billion", "超过 2240 亿") stands for values this far from it on its side: this share
# of the value, or twice its rounding if wider ("about 13 million" covers 12-14 million, "about 100,000" not 90,000)
HEDGE_WINDOW = 0.05
# a source figure of the same kind contradicts a claim figure only if it could be the same quantity: within this
# factor for amounts and counts ($52 billion vs $39 billion), within this many years for dates. A $7,500 credit in
# the same passage as a $39 billion fund is another quantity, not a contradiction.
CONFLICT_FACTOR = 10.0
CONFLICT_YEARS = 10

SCALES = {
    "trillion": 1e12,
    "tn": 1e12,
    "trn": 1e12,
    "billion": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "million": 1e6,
    "mn": 1e6,
    "m": 1e6,
    "thousand": 1e3,
    "k": 1e3,
    "万亿": 1e12,
    "亿": 1e8,
    "万": 1e4,
    "千": 1e3,
}
# a bare number at these scales with no noun ("832.5 billion", "3890 亿") is an amount whose currency is unstated
AMOUNT_SCALES = {"trillion", "tn", "trn", "billion", "bn", "b", "万亿", "亿"}
CURRENCIES = {
    "$": "USD",
    "us$": "USD",
    "u.s.$": "USD",
    "u.s. $": "USD",
    "usd": "USD",
    "dollar": "USD",
    "dollars": "USD",
    "美元": "USD",
    "美金": "USD",
    "元": "CNY",
    "元人民币": "CNY",
    "人民币": "CNY",
    "rmb": "CNY",
    "cny": "CNY",
    "yuan": "CNY",
    "¥": "CNY",
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "euros": "EUR",
    "欧元": "EUR",
}
CURRENCY_SIGNS = {"USD": "$", "CNY": "¥", "EUR": "€"}
DURATIONS = {"年": "years", "个月": "months", "周": "weeks", "天": "days"}
DURATION_UNITS = {"decades", "years", "months", "weeks", "days"}

_CN_DIGITS = {
    "零": 0,
    "〇": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}
_CN_UNITS = {"十": 10, "百": 100, "千": 1000}
_EN_ONES = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
_EN_TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}


@dataclass(frozen=True)
class Figure:
    """One figure found in a text. ``surface`` is the text as written (without hedge words), ``span`` its offsets."""

    kind: str
    value: float
    unit: str
    surface: str
    span: tuple[int, int]
    precision: float = 0.0
    hedge: str = ""  # about | over | under | ""
    scale: str = ""  # the magnitude word as written: 亿, 万亿, 万, billion, bn, ... ("" when none)
    noun: bool = field(default=False, compare=False)  # a classifier or noun follows (38 万人): not a bare amount

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "value": self.value,
            "unit": self.unit,
            "surface": self.surface,
            "span": list(self.span),
            "precision": self.precision,
            "hedge": self.hedge,
            "english": english_rendering(self),
        }


@dataclass(frozen=True)
class FigureMatch:
    """Claim figures sorted against a source's: found (with the source figure), missing (the source has no figure
    of that kind), conflicting (the source has figures of that kind that could be the same quantity, none equal
    and none accounted for by another claim figure)."""

    matched: list[tuple[Figure, Figure]]
    missing: list[Figure]
    conflicting: list[Figure]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.conflicting

    def to_dict(self) -> dict[str, Any]:
        return {
            "matched": [{"claim": c.to_dict(), "source": s.to_dict()} for c, s in self.matched],
            "missing": [f.to_dict() for f in self.missing],
            "conflicting": [f.to_dict() for f in self.conflicting],
        }


# --------------------------------------------------------------------------- patterns

_NUM = r"(?<![\d.,])(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?!\d)"
_CNN = r"[零〇一二两三四五六七八九十百千]+(?:点[零〇一二三四五六七八九]+)?"
_EWN = (
    r"\b(?:(?:twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety)(?:[- ](?:one|two|three|four|five|six|seven"
    r"|eight|nine))?|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen"
    r"|sixteen|seventeen|eighteen|nineteen)\b"
)
_ANY = rf"(?P<n>{_NUM}|{_CNN}|{_EWN})"
_ARABIC_OR_WORD = rf"(?P<n>{_NUM}|{_EWN})"
_ARABIC_OR_CN = rf"(?P<n>{_NUM}|{_CNN})"
_EN_SCALE = r"(?:[\s-]*(?P<sc>trillion|billion|million|thousand)\b|\s?(?P<sa>tn|trn|bn|mn)\b)"
_MONTHS = (
    r"January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec"
)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")

# spans that hold digits but no figure: URLs, footnote markers, page/volume/section numbers, ordinals, model names
_MASKS = [
    re.compile(r"https?://\S+|www\.\S+", re.I),
    re.compile(r"\[\d+\]"),
    re.compile(r"\b(?:pp?|vol|no|sec|art|ch|fig)\.\s*\d+(?:\s*[-–—]\s*\d+)?", re.I),
    re.compile(r"\b(?:section|chapter|title|page|pages|article|rule|figure|table|item)\s+\d+(?:\s*[-–—]\s*\d+)?", re.I),
    re.compile(r"(?<![A-Za-z.])(?:H\.\s?R\.|S\.|P\.\s?L\.|Public Law|§)\s*\d+(?:[-–]\d+)?"),
    re.compile(r"\b\d+(?:st|nd|rd|th)\b", re.I),
    re.compile(r"第\s*\d+(?:\s*[-–—]\s*\d+)?(?!\s*季)"),
    re.compile(r"\b(?!(?:mid|pre|post|late|early|end|fiscal|since)-)[A-Za-z]+-\d+\b", re.I),  # COVID-19, F-35
    re.compile(r"\b\d+(?:nm|GW|MW|kW|GWh|MWh|kWh|km|kg|G)\b"),
    re.compile(r"\b\d{4}s\b"),  # the 2020s
    re.compile(r"\b\d{1,2}:\d{2}\s*(?:a\.m\.|p\.m\.|am|pm)", re.I),
    re.compile(r"\d+(?:\.\d+)?\s*(?:纳米|公里|千米|公斤|千克|吨|米|小时|分钟|平方)"),
]
_MEASURE_AFTER = re.compile(
    r"\s*-?\s*(?:nanomet(?:er|re)s?|kilomet(?:er|re)s?|miles?|kilograms?|tons?|tonnes?|degrees?|mph|acres?|square"
    r"|sq|feet|ft|met(?:er|re)s?|inch(?:es)?|hours?|minutes?|seconds?|°)\b",
    re.I,
)
_PREFIX_HEDGE = re.compile(
    r"(?:(?P<about>大约|约|大概)|(?P<under>将近|接近|(?<![最附])近|不到|不足|低于|少于)"
    r"|(?P<over>超过|逾|至少|多于|高于)"
    r"|\b(?P<about_en>about|around|approximately|approx\.|roughly|some|an estimated|circa|c\.)"
    r"|\b(?P<under_en>nearly|almost|close to|less than|under|below|fewer than|just under|not quite)"
    r"|\b(?P<over_en>more than|over|above|upwards of|at least|just over|in excess of|exceeding|exceeded))\s*$",
    re.I,
)
_SUFFIX_HEDGE = re.compile(r"^\s*(?:(?P<about>左右)|(?P<over>以上|之多|\+)|(?P<under>以下|以内))")
_RANGE_SEP = re.compile(r"^\s*(?:-|–|—|~|～|〜|至|到|to)\s*$")
_SENTENCE_END = re.compile(r"[。！？；;!?\n]|\.(?=\s)")


@dataclass
class _Cand:
    start: int
    end: int
    kind: str
    value: float
    unit: str
    precision: float
    scale: str = ""
    hedge: str = ""
    noun: bool = False
    raw: float = 0.0  # the number as written, before any scale: for range propagation
    raw_precision: float = 0.5
    naked: bool = False  # no unit and no scale written ("5" in "5–10%")


def _parse_number(s: str) -> tuple[float, float] | None:
    """(value, precision) of an Arabic, Chinese or English numeral; None when it is not one."""
    s = s.strip()
    if not s:
        return None
    if s[0].isdigit():
        plain = s.replace(",", "")
        decimals = len(plain.split(".")[1]) if "." in plain else 0
        return float(plain), 0.5 * 10.0**-decimals
    if s[0] in _CN_DIGITS or s[0] in _CN_UNITS:
        return _parse_cn(s)
    return _parse_en_words(s)


def _parse_cn(s: str) -> tuple[float, float] | None:
    """Simple Chinese numerals below 10,000: 七十五, 十七, 两千, 六十二点五."""
    whole, _, frac = s.partition("点")
    total, digit = 0, None
    for ch in whole:
        if ch in "零〇" and total and digit is None:
            continue  # 一百零五: the zero only marks the empty tens place
        if ch in _CN_DIGITS:
            if digit is not None:  # 二〇二三: digit strings are years or codes, not numerals we parse
                return None
            digit = _CN_DIGITS[ch]
        elif ch in _CN_UNITS:
            total += (1 if digit is None else digit) * _CN_UNITS[ch]
            digit = None
        else:
            return None
    total += digit or 0
    if not frac:
        return float(total), 0.5
    decimals = "".join(str(_CN_DIGITS[c]) for c in frac)
    return float(f"{total}.{decimals}"), 0.5 * 10.0 ** -len(decimals)


def _parse_en_words(s: str) -> tuple[float, float] | None:
    total = 0
    for word in re.split(r"[- ]+", s.lower()):
        if word in _EN_TENS:
            total += _EN_TENS[word]
        elif word in _EN_ONES:
            total += _EN_ONES[word]
        else:
            return None
    return float(total), 0.5


def _clean(value: float) -> float:
    """Drop float noise (1.7 x 1e12 = 1700000000000.0002) so values print and compare cleanly."""
    return float(f"{value:.12g}")


def _mask(text: str) -> str:
    """The text with digit-bearing non-figures blotted out, same length so spans stay true."""
    chars = list(text.translate(_FULLWIDTH))
    for pattern in _MASKS:
        for m in pattern.finditer("".join(chars)):
            chars[m.start() : m.end()] = "\x00" * (m.end() - m.start())
    return "".join(chars)


_FULLWIDTH = str.maketrans(
    "０１２３４５６７８９％．，＄\u00a0\u2009\u202f",
    "0123456789%.,$   ",
)


# ----------------------------------------------------------------------------- extractors, most specific first


def _cn_dates(text: str) -> Iterable[_Cand]:
    pattern = re.compile(
        r"(?P<y>\d{4})\s*年\s*(?:(?P<m>\d{1,2})\s*月(?:\s*(?P<d>\d{1,2})\s*[日号])?"
        r"|(?:第\s*)?(?P<q>[1-4一二三四])\s*季度|(?P<h>[上下])半年)"
    )
    for m in pattern.finditer(text):
        year = int(m["y"])
        if m["q"]:
            quarter = int(m["q"]) if m["q"].isdigit() else _CN_DIGITS[m["q"]]
            yield _date(m, year, 3 * quarter - 2, 0, "quarter")
        elif m["h"]:
            yield _date(m, year, 1 if m["h"] == "上" else 7, 0, "half")
        elif 1 <= int(m["m"]) <= 12:
            yield _date(m, year, int(m["m"]), int(m["d"] or 0), "day" if m["d"] else "month")


def _en_dates(text: str) -> Iterable[_Cand]:
    day_first = re.compile(rf"\b(?P<d>\d{{1,2}})\s+(?P<mon>{_MONTHS})\.?,?\s+(?P<y>\d{{4}})\b")
    month_first = re.compile(rf"\b(?P<mon>{_MONTHS})\.?\s+(?:(?P<d>\d{{1,2}}),?\s+|,?\s*(?:of\s+)?)(?P<y>\d{{4}})\b")
    for pattern in (day_first, month_first):  # "25 January 2021" before "January 2021" takes it
        for m in pattern.finditer(text):
            month = _month_number(m["mon"])
            yield _date(m, int(m["y"]), month, int(m["d"] or 0), "day" if m["d"] else "month")
    for m in re.finditer(r"\b(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})\b", text):
        if 1 <= int(m["m"]) <= 12:
            yield _date(m, int(m["y"]), int(m["m"]), int(m["d"]), "day")
    quarter = re.compile(
        r"\b(?:Q(?P<q>[1-4])\s*(?P<y>\d{4})|(?P<y2>\d{4})\s*Q(?P<q2>[1-4])"
        r"|(?:the\s+)?(?P<qw>first|second|third|fourth)\s+quarter\s+(?:of\s+)?(?P<y3>\d{4}))\b",
        re.I,
    )
    words = {"first": 1, "second": 2, "third": 3, "fourth": 4}
    for m in quarter.finditer(text):
        q = int(m["q"] or m["q2"] or words[(m["qw"] or "first").lower()])
        yield _date(m, int(m["y"] or m["y2"] or m["y3"]), 3 * q - 2, 0, "quarter")
    half = re.compile(
        r"\b(?:H(?P<h>[12])\s*(?P<y>\d{4})|(?:the\s+)?(?P<hw>first|second)\s+half\s+(?:of\s+)?(?P<y2>\d{4}))\b", re.I
    )
    for m in half.finditer(text):
        first = (m["h"] == "1") if m["h"] else (m["hw"] or "").lower() == "first"
        yield _date(m, int(m["y"] or m["y2"]), 1 if first else 7, 0, "half")


def _month_number(name: str) -> int:
    return next(i for i, full in enumerate(MONTH_NAMES, 1) if full.lower().startswith(name.lower()[:3]))


def _date(m: re.Match[str], year: int, month: int, day: int, unit: str) -> _Cand:
    return _Cand(m.start(), m.end(), "date", float(year * 10000 + month * 100 + day), unit, 0.0)


def _percents(text: str) -> Iterable[_Cand]:
    unit_re = r"\s*(?P<pu>%|percent\b|per\s+cent\b|pct\b|percentage\s+points?\b|个百分点)"
    for m in re.finditer(_ANY + unit_re, text, re.I):
        parsed = _parse_number(m["n"])
        if parsed:
            unit = "pp" if ("point" in m["pu"].lower() or m["pu"] == "个百分点") else "%"
            yield _Cand(m.start(), m.end(), "percent", parsed[0], unit, parsed[1], raw=parsed[0])
    for m in re.finditer(rf"百分之(?P<n>{_NUM}|{_CNN})", text):
        parsed = _parse_number(m["n"])
        if parsed:
            yield _Cand(m.start(), m.end(), "percent", parsed[0], "%", parsed[1])
    # 十分之三 = three in ten = 30%: "three tenths of parents" is the same statement as "30% of parents"
    for m in re.finditer(rf"(?P<d>{_NUM}|{_CNN})\s*分之\s*(?P<n>{_NUM}|{_CNN})", text):
        yield from _fraction(m, m["n"], m["d"])
    small = r"\d{1,3}|one|two|three|four|five|six|seven|eight|nine|ten|hundred"
    for m in re.finditer(rf"\b(?P<n>{small})\s+(?:in|out\s+of)\s+(?:every\s+)?(?P<d>{small})\b", text, re.I):
        yield from _fraction(m, m["n"], "100" if m["d"].lower() == "hundred" else m["d"])


def _fraction(m: re.Match[str], numerator: str, denominator: str) -> Iterable[_Cand]:
    n, d = _parse_number(numerator), _parse_number(denominator)
    if n and d and 0 < n[0] < d[0] <= 1000:
        # one significant figure of a fraction is worth about half a step of 1/d
        yield _Cand(m.start(), m.end(), "percent", _clean(100 * n[0] / d[0]), "%", 50 / d[0])


def _money(text: str) -> Iterable[_Cand]:
    prefix = re.compile(
        rf"(?P<cur>US\s?\$|U\.S\.\s?\$|USD\s?|\$|€|EUR\s?|¥|RMB\s?|CNY\s?)\s*(?P<n>{_NUM}){_EN_SCALE}?"
        r"(?:\s?(?P<sl>b|m|k)\b)?",
        re.I,
    )
    for m in prefix.finditer(text):
        scale = (m["sc"] or m["sa"] or m["sl"] or "").lower()
        currency = CURRENCIES.get(re.sub(r"\s", "", m["cur"].lower()), "USD")
        yield _amount(m, "money", currency, scale)
    suffix = re.compile(
        rf"{_ARABIC_OR_WORD}{_EN_SCALE}?\s*(?:(?:US|U\.S\.|American)\s+)?(?P<cw>dollars?|USD|yuan|RMB|euros?)\b", re.I
    )
    for m in suffix.finditer(text):
        yield _amount(m, "money", CURRENCIES[m["cw"].lower()], (m["sc"] or m["sa"] or "").lower())
    chinese = re.compile(
        rf"{_ARABIC_OR_CN}\s*(?P<h1>[余多])?\s*(?P<cs>万亿|亿|万|千)?\s*(?P<h2>[余多])?\s*"
        r"(?P<cc>美元|美金|元人民币|元|欧元)"
    )
    for m in chinese.finditer(text):
        cand = _amount(m, "money", CURRENCIES[m["cc"]], m["cs"] or "")
        if cand and (m["h1"] or m["h2"]):
            cand.hedge = "over"
        if cand:
            yield cand


def _amount(m: re.Match[str], kind: str, unit: str, scale: str) -> _Cand | None:
    parsed = _parse_number(m["n"])
    if not parsed:
        return None
    factor = SCALES.get(scale, 1.0)
    return _Cand(
        m.start(),
        m.end(),
        kind,
        _clean(parsed[0] * factor),
        unit,
        _clean(parsed[1] * factor),
        scale=scale,
        raw=parsed[0],
        raw_precision=parsed[1],
        naked=not scale,
    )


def _scaled_counts(text: str) -> Iterable[_Cand]:
    english = re.compile(rf"{_ARABIC_OR_WORD}{_EN_SCALE}(?P<ppl>\s+(?:people|persons|individuals))?", re.I)
    for m in english.finditer(text):
        cand = _amount(m, "count", "people" if m["ppl"] else "", (m["sc"] or m["sa"] or "").lower())
        if cand:
            cand.noun = bool(m["ppl"])
            yield cand
    chinese = re.compile(
        rf"{_ARABIC_OR_CN}\s*(?P<h1>[余多])?\s*(?P<cs>万亿|亿|万)\s*(?P<h2>[余多])?\s*"
        r"(?P<cl>人次|人|个|名|家|辆|台|件|项|座|所|户|吨|套|张|份|次)?"
    )
    for m in chinese.finditer(text):
        cand = _amount(m, "count", "people" if m["cl"] == "人" else "", m["cs"])
        if cand:
            cand.noun = bool(m["cl"])
            cand.hedge = "over" if (m["h1"] or m["h2"]) else ""
            yield cand


def _ratios(text: str) -> Iterable[_Cand]:
    for m in re.finditer(rf"{_ARABIC_OR_CN}\s*(?P<h1>多)?\s*倍(?P<h2>多)?", text):
        parsed = _parse_number(m["n"])
        if parsed:
            hedge = "over" if (m["h1"] or m["h2"]) else ""
            yield _Cand(m.start(), m.end(), "ratio", parsed[0], "x", parsed[1], hedge=hedge)
    for m in re.finditer(rf"{_ARABIC_OR_WORD}(?:[\s-]*(?:times|fold)\b|x\b)", text, re.I):
        parsed = _parse_number(m["n"])
        if parsed:
            yield _Cand(m.start(), m.end(), "ratio", parsed[0], "x", parsed[1])
    for m in re.finditer(r"\b(?:twice|double|doubled|tripled|trebled|quadrupled)\b(?!-digit)", text, re.I):
        factor = {"twice": 2, "double": 2, "doubled": 2, "tripled": 3, "trebled": 3, "quadrupled": 4}
        factor = factor[m.group(0).lower()]
        yield _Cand(m.start(), m.end(), "ratio", float(factor), "x", 0.5)
    votes = re.compile(
        r"(?<![\d.])(?P<a>\d{1,4})\s*[∶:]\s*(?P<b>\d{1,4})(?![\d:])"
        r"|(?<![\d.])(?P<a2>\d{1,4})\s*(?:-|–|to)\s*(?P<b2>\d{1,4})(?=\s+(?:vote|votes|margin)\b)"
        r"|(?<=vote of )(?P<a3>\d{1,4})\s*(?:-|–|to)\s*(?P<b3>\d{1,4})"
        # "passed 51-50", "a 7-2 ruling": winner first; an ascending pair (5-10) is a range, not a tally
        r"|(?<![\d.,\-–])(?P<a4>\d{1,3})[-–](?P<b4>\d{1,3})"
        r"(?![\d%\-–]|[.,]\d|\s*(?:%|percent|per cent|[A-Za-z]*illion)\b)",
        re.I,
    )
    for m in votes.finditer(text):
        a, b = int(m["a"] or m["a2"] or m["a3"] or m["a4"]), int(m["b"] or m["b2"] or m["b3"] or m["b4"])
        if m["a4"] and a < b:
            continue
        if b:
            yield _Cand(m.start(), m.end(), "ratio", _clean(a / b), ":", 1e-9)


def _years(text: str) -> Iterable[_Cand]:
    pattern = re.compile(
        r"(?<![\d.,$€¥])(?P<y>\d{4})(?!\d|,\d{3}|\.\d|\s*(?:个|名|家|项|所|座|位|人|票|辆|台|件|种|次))"
        r"(?P<nian>\s*年)?(?P<decade>代)?"
    )
    for m in pattern.finditer(text):
        year = int(m["y"])
        if m["decade"]:
            continue  # 1990 年代 is a decade
        if (m["nian"] and 1000 <= year <= 2199) or (not m["nian"] and 1600 <= year <= 2199):
            yield _Cand(m.start(), m.end(), "year", float(year), "year", 0.0)


def _counts(text: str) -> Iterable[_Cand]:
    chinese = re.compile(
        rf"{_ARABIC_OR_CN}\s*(?P<h1>[余多])?\s*"
        # no 届: 近三届政府 is "the last three administrations", a reference, not a figure to check
        r"(?P<cl>个月|个|名|家|项|所|座|位|人|票|辆|台|件|年|天|周|岁|种|次)(?P<h2>[多余])?"
    )
    for m in chinese.finditer(text):
        parsed = _parse_number(m["n"])
        if not parsed:
            continue
        value = parsed[0]
        unit = DURATIONS.get(m["cl"], "people" if m["cl"] in "人名" else "")
        # 一个/一项 is an article, not a count; a duration of 2017 年 is a year (taken earlier)
        if (value < 2 and not m["n"][0].isdigit()) or (unit in DURATION_UNITS and value >= 1000):
            continue
        hedge = "over" if (m["h1"] or m["h2"]) else ""
        yield _Cand(m.start(), m.end(), "count", value, unit, parsed[1], hedge=hedge, noun=True, raw=value)
    english = re.compile(rf"{_ARABIC_OR_WORD}(?P<dur>[\s-]+(?:decades?|years?|months?|weeks?|days?)\b)?", re.I)
    for m in english.finditer(text):
        after = text[m.end() : m.end() + 12]
        if _MEASURE_AFTER.match(after):
            continue
        stripped = after.lstrip()
        if stripped and _CJK.match(stripped[0]):
            continue  # a bare number before Chinese text needs a classifier (4 纳米, 第 2 期 are not counts)
        parsed = _parse_number(m["n"])
        if not parsed:
            continue
        unit = ""
        if m["dur"]:
            word = m["dur"].strip(" -").lower()
            unit = word if word.endswith("s") else word + "s"
        yield _Cand(
            m.start(),
            m.end(),
            "count",
            parsed[0],
            unit,
            parsed[1],
            noun=bool(unit),
            raw=parsed[0],
            raw_precision=parsed[1],
            naked=not unit and m["n"][0].isdigit(),
        )


_EXTRACTORS: list[Callable[[str], Iterable[_Cand | None]]] = [
    _cn_dates,
    _en_dates,
    _percents,
    _money,
    _scaled_counts,
    _ratios,
    _years,
    _counts,
]


def extract_figures(text: str) -> list[Figure]:
    """Every figure in the text, in order. Earlier extractors win overlaps: a date before a year, money before a
    count, so 2240 亿美元 is money and 2022 年 12 月 a date, never a count."""
    return list(_extract(text or ""))


@lru_cache(maxsize=8192)
def _extract(text: str) -> tuple[Figure, ...]:
    masked = _mask(text)
    taken: list[_Cand] = []
    for extractor in _EXTRACTORS:
        for cand in extractor(masked):
            if cand is None or any(c.start < cand.end and cand.start < c.end for c in taken):
                continue
            taken.append(cand)
    taken.sort(key=lambda c: c.start)
    _propagate_ranges(masked, taken)
    _infer_currency(masked, taken)
    out = []
    for c in taken:
        if c.kind != "year" and c.kind != "date" and not c.hedge:
            c.hedge = _hedge(masked, c)
        out.append(
            Figure(
                kind=c.kind,
                value=_clean(c.value),
                unit=c.unit,
                surface=text[c.start : c.end],
                span=(c.start, c.end),
                precision=c.precision,
                hedge=c.hedge,
                scale=c.scale,
                noun=c.noun,
            )
        )
    return tuple(out)


def _propagate_ranges(text: str, cands: list[_Cand]) -> None:
    """5–10% is two percentages and $5-10 billion two amounts: a bare first number takes the second's unit."""
    for first, second in itertools.pairwise(cands):
        if not first.naked or not _RANGE_SEP.match(text[first.end : second.start]):
            continue
        if first.kind == "count" and second.kind in ("percent", "money", "count", "ratio") and not second.naked:
            factor = SCALES.get(second.scale, 1.0)
            first.kind, first.unit, first.scale, first.noun = second.kind, second.unit, second.scale, second.noun
            first.value, first.precision = _clean(first.raw * factor), _clean(first.raw_precision * factor)
            first.naked = False
        elif first.kind == "money" and second.scale and second.kind in ("money", "count"):
            factor = SCALES[second.scale]
            first.scale, first.value = second.scale, _clean(first.raw * factor)
            first.precision = _clean(first.raw_precision * factor)
            first.naked = False


def _infer_currency(text: str, cands: list[_Cand]) -> None:
    """ "from $389 billion to 463.2 billion", "从 3890 亿增至 4632 亿美元": a bare amount in a sentence that states a
    currency is in that currency."""
    bounds = [0, *(m.end() for m in _SENTENCE_END.finditer(text)), len(text) + 1]
    for lo, hi in itertools.pairwise(bounds):
        inside = [c for c in cands if lo <= c.start < hi]
        currencies = {c.unit for c in inside if c.kind == "money"}
        if len(currencies) != 1:
            continue
        for c in inside:
            if c.kind == "count" and c.scale in AMOUNT_SCALES and not c.noun:
                c.kind, c.unit = "money", next(iter(currencies))


def _hedge(text: str, c: _Cand) -> str:
    before = _PREFIX_HEDGE.search(text[max(0, c.start - 24) : c.start])
    after = _SUFFIX_HEDGE.match(text[c.end : c.end + 4])
    for m in (before, after):
        if m:
            name = next(k for k, v in m.groupdict().items() if v)
            return name.removesuffix("_en")
    return ""


# --------------------------------------------------------------------------- comparison


def _family(kind: str) -> str:
    return "time" if kind in ("year", "date") else kind


def is_bare_amount(f: Figure) -> bool:
    """39 billion, 3890 亿: an amount at money scale with no currency and no noun; may be compared with money."""
    return f.kind == "count" and f.scale in AMOUNT_SCALES and not f.noun


def _comparable_kind(a: Figure, b: Figure) -> bool:
    """Could a and b measure the same kind of thing (before looking at values)?"""
    if {a.kind, b.kind} == {"money", "count"}:
        return is_bare_amount(a) or is_bare_amount(b)
    if _family(a.kind) != _family(b.kind):
        return False
    if a.kind == "count":
        # durations only meet durations of the same unit; other nouns (jobs, 人, institutes) do not matter
        if a.unit in DURATION_UNITS or b.unit in DURATION_UNITS:
            return a.unit == b.unit
        return True
    return _family(a.kind) == "time" or a.unit == b.unit


def _interval(f: Figure) -> tuple[int, int]:
    """The days a year or date covers, as [first, last] ordinals."""
    if f.kind == "year":
        y = int(f.value)
        return date(y, 1, 1).toordinal(), date(y, 12, 31).toordinal()
    v = int(f.value)
    y, m, d = v // 10000, (v // 100) % 100 or 1, v % 100
    if f.unit == "day":
        start = date(y, m, max(d, 1)).toordinal()
        return start, start
    months = {"month": 1, "quarter": 3, "half": 6}.get(f.unit, 12)
    end_m = m + months
    end = date(y + (end_m - 1) // 12, (end_m - 1) % 12 + 1, 1).toordinal() - 1
    return date(y, m, 1).toordinal(), end


def _within(hedged: Figure, x: float, tol: float) -> bool:
    v = hedged.value
    window = max(tol, 2 * hedged.precision, HEDGE_WINDOW * abs(v))
    if hedged.hedge == "over":
        return v - tol <= x <= v + window
    if hedged.hedge == "under":
        return v - window <= x <= v + tol
    return abs(x - v) <= window


def same_figure(a: Figure, b: Figure) -> bool:
    """Same kind (a bare 39 billion may be money), equal within the rounding of the less precise side, hedges
    widening that on their own side. A year matches a date inside it (2017 ~ December 2017), never a count."""
    if not _comparable_kind(a, b):
        return False
    if _family(a.kind) == "time":
        (a0, a1), (b0, b1) = _interval(a), _interval(b)
        return (a0 <= b0 and b1 <= a1) or (b0 <= a0 and a1 <= b1)
    tol = max(a.precision, b.precision) + 1e-9 * max(abs(a.value), abs(b.value), 1.0)
    if a.hedge and b.hedge:
        window = max(tol, 2 * max(a.precision, b.precision), HEDGE_WINDOW * max(abs(a.value), abs(b.value)))
        return abs(a.value - b.value) <= window
    if a.hedge:
        return _within(a, b.value, tol)
    if b.hedge:
        return _within(b, a.value, tol)
    return abs(a.value - b.value) <= tol


def _plausible_rival(claim: Figure, source: Figure) -> bool:
    """A same-kind source figure that could be the claim's quantity stated differently (so a contradiction)."""
    if not _comparable_kind(claim, source):
        return False
    if _family(claim.kind) == "time":
        years = abs(_interval(claim)[0] - _interval(source)[0]) / 365.25
        return years <= CONFLICT_YEARS
    if claim.kind in ("money", "count"):
        a, b = abs(claim.value), abs(source.value)
        return min(a, b) > 0 and max(a, b) / min(a, b) <= CONFLICT_FACTOR
    return True


def classify(claim_figures: Sequence[Figure], source_figures: Sequence[Figure]) -> list[tuple[str, Figure | None]]:
    """Per claim figure, in order: ("matched", the equal source figure), ("conflicting", a same-kind source figure
    that could be the same quantity, none equal) or ("missing", None).

    A rival must be a source figure that no claim figure accounts for: against "from 35% to 21%", the source
    "to 21%" leaves 35% missing (its 21% is the claim's own), while "from 35% to 20%" contradicts 21%."""
    claimed = {i for i, s in enumerate(source_figures) if any(same_figure(c, s) for c in claim_figures)}
    unclaimed = [s for i, s in enumerate(source_figures) if i not in claimed]
    out: list[tuple[str, Figure | None]] = []
    for c in claim_figures:
        hit = next((s for s in source_figures if same_figure(c, s)), None)
        rival = next((s for s in unclaimed if _plausible_rival(c, s)), None) if hit is None else None
        out.append(("matched", hit) if hit is not None else ("conflicting", rival) if rival else ("missing", None))
    return out


def compare(claim_figures: Sequence[Figure], source_figures: Sequence[Figure]) -> FigureMatch:
    """Each claim figure is matched (an equal source figure), conflicting (the source states that kind of figure,
    plausibly the same quantity, with other values only) or missing (the source does not state it)."""
    statuses = classify(claim_figures, source_figures)
    return FigureMatch(
        matched=[(c, s) for c, (status, s) in zip(claim_figures, statuses, strict=True) if s and status == "matched"],
        missing=[c for c, (status, _) in zip(claim_figures, statuses, strict=True) if status == "missing"],
        conflicting=[c for c, (status, _) in zip(claim_figures, statuses, strict=True) if status == "conflicting"],
    )


def family(f: Figure) -> str:
    """The comparison family: year and date are one (time); a bare amount sits with money."""
    return "money" if is_bare_amount(f) else _family(f.kind)


# --------------------------------------------------------------------------- English rendering


def _fmt(value: float) -> str:
    return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"


def _plain(value: float) -> str:
    value = round(value, 4)
    return str(int(value)) if value == int(value) else f"{value:g}"


def _digits(value: float) -> str:
    """One decimal at least ("39.0", the house style for billions), more when written: 2.79, never rounded off."""
    value = round(value, 6)
    return f"{value:,.1f}" if round(value, 1) == value else f"{value:,.6f}".rstrip("0")


def _magnitude(value: float) -> str:
    """English magnitude words for a value at its own scale."""
    if abs(value) >= 1e12:
        return f"{_plain(value / 1e12)} trillion"
    if abs(value) >= 1e9:
        return f"{_digits(value / 1e9)} billion"
    if abs(value) >= 1e6:
        return f"{_plain(value / 1e6)} million"
    return _fmt(value) if value == int(value) else _plain(value)


def _amount_text(f: Figure) -> str:
    if f.scale == "万亿":
        return f"{_plain(f.value / 1e12)} trillion"  # 2.79 万亿 -> 2.79 trillion (english.py rounded it to 2.8)
    if f.scale == "亿":
        yi = f.value / 1e8  # 亿 = 100 million: 390 亿 -> 39.0 billion; 5 亿 -> 500 million
        return f"{_digits(yi / 10)} billion" if yi >= 10 else f"{_plain(yi * 100)} million"
    if f.scale in ("万", "千", "") and f.value == int(f.value):
        return _fmt(f.value)  # 38 万 -> 380,000
    return _magnitude(f.value)


def english_rendering(f: Figure, *, with_hedge: bool = False) -> str:
    """The figure as an English reader writes it: $39.0 billion, $1.7 trillion, $7,500, 380,000 people, 75%,
    December 2017 (the format of english.render_figures, so that it can delegate here)."""
    if f.kind == "money":
        text = CURRENCY_SIGNS.get(f.unit, f.unit + " ") + _amount_text(f)
    elif f.kind == "count":
        text = _amount_text(f) + {"people": " people"}.get(f.unit, f" {f.unit}" if f.unit in DURATION_UNITS else "")
    elif f.kind == "percent":
        text = f"{_plain(f.value)}%" if f.unit == "%" else f"{_plain(f.value)} percentage points"
    elif f.kind == "ratio":
        text = ":".join(re.findall(r"\d+", f.surface)[:2]) if f.unit == ":" else f"{_plain(f.value)} times"
    elif f.kind == "year":
        text = str(int(f.value))
    else:
        text = _date_text(f)
    if with_hedge and f.hedge:
        text = {"about": "about ", "over": "more than ", "under": "nearly "}[f.hedge] + text
    return text


def _date_text(f: Figure) -> str:
    v = int(f.value)
    year, month, day = v // 10000, (v // 100) % 100, v % 100
    if f.unit == "quarter":
        return f"Q{(month - 1) // 3 + 1} {year}"
    if f.unit == "half":
        return f"H{1 if month <= 6 else 2} {year}"
    name = MONTH_NAMES[month - 1] if 1 <= month <= 12 else str(month)
    return f"{name} {day}, {year}" if f.unit == "day" else f"{name} {year}"

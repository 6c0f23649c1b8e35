"""English questions as students type them, rewritten into the words retrieval and the scope checks know.

"mfg jobs in sept '23", "biden's buy american EO", "what did the bls say": the embedders, the CC-CEDICT lexicon and
the names check see "mfg", "EO" and "bls" as unknown words (the names check even refused "EO" as a name the paper
never mentions). Three general rules, none keyed to a question:
- common English abbreviations of written and chat English (a fixed list of dictionary abbreviations);
- the standard acronyms of US agencies and laws whose full names the glossary holds (BLS, BEA, IIJA, TCJA, ARRA;
  deriving acronyms from every glossary name was tried and dropped: it made PRC "Pew Research Center");
- short year forms: '17 -> 2017, 2000-09 -> 2000-2009, q3 -> third quarter.
Chinese questions get the same treatment where students type differently from the paper: short years
("23年上半年" -> 2023年上半年) and the colloquial names of people the paper names formally (川普 -> 特朗普).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

# standard abbreviations (Merriam-Webster's / Oxford's lists of abbreviations, chat English); only ones with a
# single common reading in questions about economics and policy
ABBREVIATIONS: dict[str, str] = {
    "mfg": "manufacturing", "mfr": "manufacturer", "mfrs": "manufacturers", "manuf": "manufacturing",
    "govt": "government", "gov't": "government", "govts": "governments", "admin": "administration",
    "admins": "administrations", "dems": "Democrats", "dem": "Democratic", "gop": "Republicans",
    "eo": "executive order", "eos": "executive orders", "yr": "year", "yrs": "years", "avg": "average",
    "approx": "approximately", "pct": "percent", "w/": "with",
    "w/o": "without", "b/c": "because", "bc": "because", "intl": "international", "natl": "national",
    "dept": "department", "depts": "departments", "econ": "economic", "ppl": "people", "infra": "infrastructure",
    "semis": "semiconductors", "ev": "electric vehicle", "evs": "electric vehicles", "pres": "president",
    "r&d": "research and development", "jan": "January", "feb": "February",
    "mar": "March", "apr": "April", "jun": "June", "jul": "July", "aug": "August", "sep": "September",
    "sept": "September", "oct": "October", "nov": "November", "dec": "December", "vs": "versus",
    "thru": "through", "tho": "though", "bn": "billion", "mn": "million",
    # the standard acronyms of US agencies and laws whose full names the glossary holds
    "bls": "Bureau of Labor Statistics", "bea": "Bureau of Economic Analysis",
    "iija": "Infrastructure Investment and Jobs Act", "tcja": "Tax Cuts and Jobs Act",
    "arra": "American Recovery and Reinvestment Act",
}  # fmt: skip
# colloquial renderings of names the paper writes in the standard form (川普 is Taiwan's and the internet's Trump)
CHINESE_ALIASES: dict[str, str] = {"川普": "特朗普", "老美": "美国"}
# "23年上半年" is 2023: a two-digit year before 年, unless it counts years ("近30年来", "过去10年", "20年间")
CHINESE_SHORT_YEAR_RE = re.compile(
    r"(?<![\d.])(?<!近)(?<!过去)(?<!这)(?<!前)(?<!后)(?<!最近)(\d{2})(?=\s*年(?![来间内里多左右前后代]))"
)
QUARTERS = {"1": "first", "2": "second", "3": "third", "4": "fourth"}
# "'17", "’09" (not a closing quote after a word: "the 'buy american' rule")
SHORT_YEAR_RE = re.compile(r"(?<![\w'’])['’](\d{2})(?!\d)")
YEAR_RANGE_RE = re.compile(r"\b((?:19|20)(\d{2}))\s*[-–—~]\s*(\d{2})\b(?!\s*%)")
QUARTER_RE = re.compile(r"\bq([1-4])\b", re.IGNORECASE)
WORD_RE = re.compile(r"(?<![\w&/'’])([A-Za-z][A-Za-z&/'’]*[A-Za-z/])(?![\w&/])")


def expand_casual(question: str, glossary: Mapping[str, str]) -> str:
    """The question with abbreviations, the glossary's acronyms and short years written out (English only;
    the caller leaves Chinese questions alone)."""
    # the glossary's own acronyms (IRA, USMCA) stay: the glossary and the names check know them as written
    known = {a.lower() for en in glossary.values() for a in re.findall(r"\b[A-Z]{2,6}\b", en)}

    def word(m: re.Match[str]) -> str:
        token = m.group(1)
        low = token.lower().replace("’", "'")
        if low in known:
            return token
        expansion = ABBREVIATIONS.get(low)
        return token if expansion is None else expansion

    text = YEAR_RANGE_RE.sub(lambda m: f"{m.group(1)}-{m.group(1)[:2]}{m.group(3)}", question)
    text = SHORT_YEAR_RE.sub(lambda m: _full_year(m.group(1)), text)
    text = QUARTER_RE.sub(lambda m: f"{QUARTERS[m.group(1)]} quarter", text)
    return WORD_RE.sub(word, text)


def expand_casual_chinese(question: str) -> str:
    """A Chinese question with short years written out and colloquial names in the paper's form."""
    for alias, name in CHINESE_ALIASES.items():
        question = question.replace(alias, name)

    return CHINESE_SHORT_YEAR_RE.sub(lambda m: _full_year(m.group(1)), question)


def _full_year(two: str) -> str:
    """'23 -> 2023, '98 -> 1998: questions about this paper ask about 1950-2049."""
    return ("20" if int(two) < 50 else "19") + two


__all__ = ["ABBREVIATIONS", "CHINESE_ALIASES", "expand_casual", "expand_casual_chinese"]

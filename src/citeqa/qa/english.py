"""English rendering of a Chinese sentence's key figures and names, from the paper's glossary.

Amounts: 390 亿美元 -> $39.0 billion; 1.7万亿美元 -> $1.7 trillion; 7500 美元 -> $7,500.
Dates: 2017 年 12 月 -> December 2017. Names and laws: corpus/glossary.json.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from citeqa.figures import MONTH_NAMES

NUM = r"(\d+(?:\.\d+)?)"
TRILLION_RE = re.compile(NUM + r"\s*万亿(美元)?")
YI_RE = re.compile(NUM + r"\s*亿(美元|人)?")
WAN_RE = re.compile(NUM + r"\s*万(美元|人|个)?(?!亿)")
DOLLAR_RE = re.compile(r"(?<![\d.万亿])" + NUM + r"\s*美元")
MONTH_RE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?")
PERCENT_RE = re.compile(NUM + r"\s*%")


def _fmt(value: float) -> str:
    return f"{value:,.1f}" if value != int(value) else f"{int(value):,}"


def _billions(yi: float) -> str:
    """亿 = 100 million: 390 亿 -> 39.0 billion; 5 亿 -> 500 million."""
    if yi >= 10:
        return f"{yi / 10:,.1f} billion"
    return f"{_fmt(yi * 100)} million"


def render_figures(text: str) -> list[tuple[str, str]]:
    """(Chinese surface form, English rendering) for every amount and date in the text, in order."""
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []

    def add(m: re.Match[str], english: str) -> None:
        if any(s < m.end() and m.start() < e for s, e in taken):
            return
        taken.append((m.start(), m.end()))
        found.append((m.start(), m.group(0).strip(), english))

    for m in TRILLION_RE.finditer(text):
        add(m, ("$" if m.group(2) else "") + f"{_fmt(float(m.group(1)))} trillion")
    for m in YI_RE.finditer(text):
        unit = {"美元": "$", "人": ""}.get(m.group(2) or "", "")
        suffix = " people" if m.group(2) == "人" else ""
        add(m, f"{unit}{_billions(float(m.group(1)))}{suffix}")
    for m in WAN_RE.finditer(text):
        value = float(m.group(1)) * 10_000
        add(m, ("$" if m.group(2) == "美元" else "") + _fmt(value) + (" people" if m.group(2) == "人" else ""))
    for m in DOLLAR_RE.finditer(text):
        add(m, f"${_fmt(float(m.group(1)))}")
    for m in MONTH_RE.finditer(text):
        month = MONTH_NAMES[int(m.group(2)) - 1] if 1 <= int(m.group(2)) <= 12 else m.group(2)
        day = f" {int(m.group(3))}," if m.group(3) else ""
        add(m, f"{month}{day} {m.group(1)}")
    return [(zh, en) for _, zh, en in sorted(found)]


ENGLISH_AMOUNT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(trillion|tn|billion|bn|million|mn|thousand)\b", re.IGNORECASE)
# the Chinese unit an English magnitude is written in, and the factor: $39 billion = 390 亿, 3.85 million = 385 万
CHINESE_MAGNITUDE = {"trillion": 1.0, "billion": 10.0, "million": 100.0, "thousand": 0.1}
CHINESE_MAGNITUDE |= {"tn": 1.0, "bn": 10.0, "mn": 100.0}  # "$245bn", as the press writes it
LARGE_NUMBER_RE = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,]|\.\d)|(?<![\d.,])\d{5,}(?![\d.,])")


def number_translations(question: str) -> list[tuple[str, str]]:
    """(the number as the English question writes it, the number its Chinese text uses): "$39 billion" ->
    ("39", "390") as in "390 亿美元"; "380,000" -> ("380000", "38") as in "38 万". The reverse of render_figures."""
    out = []
    for m in ENGLISH_AMOUNT_RE.finditer(question):
        out.append((m.group(1), _plain(float(m.group(1)) * CHINESE_MAGNITUDE[m.group(2).lower()])))
    # "380,000 jobs" is "38 万" in the paper; "1,500,000,000" is "15 亿"
    for m in LARGE_NUMBER_RE.finditer(question):
        value = float(m.group(0).replace(",", ""))
        if value >= 1e4:
            out.append((m.group(0).replace(",", ""), _plain(value / 1e8 if value >= 1e8 else value / 1e4)))
    return out


def chinese_number_forms(question: str) -> list[str]:
    """The numbers an English question's amounts take in Chinese text, so they can meet the paper's figures."""
    return [chinese for _, chinese in number_translations(question)]


def _plain(value: float) -> str:
    value = round(value, 4)
    return str(int(value)) if value == int(value) else f"{value:g}"


class GlossaryError(RuntimeError):
    """corpus/glossary.json is missing, unreadable or malformed (a broken resource: the CLI exits 3)."""


@lru_cache(maxsize=4)
def _glossary_file(path: Path) -> dict[str, Any]:
    """corpus/glossary.json, read once. It is hand-curated (tracked in git, no command rebuilds it), and without it
    answers change silently (English names stop matching the paper's terms): a missing or broken file is an error."""
    fix = "restore it from git (git checkout -- corpus/glossary.json)"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise GlossaryError(f"{path} is missing; {fix}") from exc
    except OSError as exc:
        raise GlossaryError(f"cannot read {path}: {exc.strerror or exc}; {fix}") from exc
    except UnicodeDecodeError as exc:
        raise GlossaryError(f"{path} is unreadable (not UTF-8 text); {fix}") from exc
    except json.JSONDecodeError as exc:
        raise GlossaryError(f"{path} is not valid JSON ({exc.msg}, line {exc.lineno}); {fix}") from exc
    if not isinstance(data, dict):
        raise GlossaryError(f'{path} is malformed: expected an object with "terms"; {fix}')
    for key, required in (("terms", True), ("aliases", False)):
        table = data.get(key, None if required else {})
        if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in table.items()):
            raise GlossaryError(f'{path} is malformed: "{key}" must map text to text; {fix}')
    return data


def load_glossary(path: Path) -> dict[str, str]:
    """Chinese term -> English name (GlossaryError when the file is missing or broken)."""
    return dict(_glossary_file(path)["terms"])


def load_aliases(path: Path) -> dict[str, str]:
    """Other spellings of the paper's terms (美墨加协定 -> 《美国—墨西哥—加拿大协定》)."""
    return {k: v for k, v in _glossary_file(path).get("aliases", {}).items() if not k.startswith("_")}


def render_terms(text: str, glossary: dict[str, str]) -> list[tuple[str, str]]:
    """Glossary terms in the text, longest first, never one inside another already taken."""
    found: list[tuple[int, str, str]] = []
    taken: list[tuple[int, int]] = []
    for term in sorted(glossary, key=len, reverse=True):
        start = text.find(term)
        if start < 0:
            continue
        end = start + len(term)
        if any(s < end and start < e for s, e in taken):
            continue
        taken.append((start, end))
        found.append((start, term, glossary[term]))
    return [(zh, en) for _, zh, en in sorted(found)]


def render_english(text: str, glossary: dict[str, str]) -> list[tuple[str, str]]:
    """Names first (as they appear), then figures: what an English reader needs to use the sentence."""
    return render_terms(text, glossary) + render_figures(text)


def english_query_terms(question: str, glossary: dict[str, str]) -> list[str]:
    """Chinese glossary terms whose English name an English question uses (for query expansion and
    lexical matching): the whole name, or all but one word of a name of three or more words
    ("manufacturing incentives" finds "manufacturing incentives program")."""
    q = question.lower()
    q_words = set(re.findall(r"[a-z0-9]+", q))
    whole: list[str] = []
    partial: list[str] = []
    for zh, en in glossary.items():
        term = zh.strip("《》“”")
        for name in (n.strip().lower() for n in re.split(r"[(),]", en) if len(n.strip()) > 3):
            words = [w for w in re.findall(r"[a-z0-9]+", name) if w not in _NAME_STOPWORDS]
            if re.search(r"(?<![a-z])" + re.escape(name) + r"(?![a-z])", q):
                whole.append(term)
                break
            if len(words) >= 3 and sum(w in q_words for w in words) >= len(words) - 1:
                partial.append(term)
                break
    # a partial match that overlaps a whole one is the same phrase read twice ("Buy American" is not
    # "Buy American Act"): keep the whole match only
    partial = [p for p in partial if not any(p in w or w in p for w in whole)]
    return list(dict.fromkeys(whole + partial))


_NAME_STOPWORDS = {"the", "of", "and", "for", "in", "on", "a", "an", "to"}


def without_glossary_names(question: str, glossary: dict[str, str]) -> str:
    """The question with the English names the glossary translates cut out ("Buy American and Hire American"):
    names go through the glossary whole, and their words looked up one by one only add noise (American -> 美元)."""
    return _glossary_names_re(tuple(sorted(glossary.values()))).sub(" ", question)


@lru_cache(maxsize=4)
def _glossary_names_re(english_names: tuple[str, ...]) -> re.Pattern[str]:
    """One pattern for all the glossary's English names, longest first, compiled once per glossary."""
    names = sorted(
        # names of four letters or more: cutting acronyms too ("IRA") measured one gold question worse
        {n.strip() for en in english_names for n in re.split(r"[(),]", en) if len(n.strip()) > 3},
        key=len,
        reverse=True,
    )
    alternatives = "|".join(re.escape(name) for name in names) or r"(?!)"
    return re.compile(r"(?<![A-Za-z])(?:" + alternatives + r")(?![A-Za-z])", re.IGNORECASE)

"""The law or administration a question asks about, and whether the answer speaks of it or of another one.

A near miss often asks of one law what the paper states of another: "how did the Senate vote on the CHIPS Act"
finds the only vote the paper gives, the IRA's 51:50; "how many factory jobs were added under Trump" finds Biden's
380,000. The answer sentence then names a different law (or president) of the same kind and never the one asked
about. The laws are the paper's own (the glossary's 《…》 titles, with their English names, acronyms and aliases);
the presidents are the three the paper treats. An answer that names neither (the House vote sentence, "在众议院，法
案以 220∶207 表决通过") is read with the sentence before it, which names its law.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from citeqa.qa.scope import acronym

# the administrations the paper compares, by Chinese name: their English and colloquial Chinese forms
PRESIDENTS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "奥巴马": (("obama",), ()),
    "特朗普": (("trump",), ("川普",)),
    "拜登": (("biden",), ()),
}


@dataclass(frozen=True)
class Subject:
    chinese: str  # the paper's name ("《芯片与科学法》", "拜登")
    english: str  # its English name, for English replies ("Inflation Reduction Act (IRA)")
    kind: str  # "law" | "president": only a subject of the same kind contrasts with the one asked about
    forms: tuple[str, ...]  # Chinese forms
    english_forms: re.Pattern[str]  # English forms, matched in lower case


class Subjects:
    """The paper's laws and presidents, found in questions and answers."""

    def __init__(self, glossary: Mapping[str, str], aliases: Mapping[str, str]) -> None:
        subjects = []
        for chinese, english in glossary.items():
            if not chinese.startswith("《"):
                continue
            bare = chinese.strip("《》")
            forms = (chinese, bare, *(a for a, target in aliases.items() if target == chinese))
            kind = "law" if bare.endswith(("法", "协定")) else "document"  # a strategy or report is not a law
            subjects.append(Subject(chinese, english, kind, forms, _english_pattern(_law_names(english))))
        for chinese, (english_names, variants) in PRESIDENTS.items():
            pattern = _english_pattern(english_names)
            subjects.append(Subject(chinese, english_names[0].title(), "president", (chinese, *variants), pattern))
        self.subjects = subjects

    def named_in(self, text: str) -> list[Subject]:
        lower = text.lower()
        return [s for s in self.subjects if any(f in text for f in s.forms) or s.english_forms.search(lower)]

    def contrasted(self, question: str, texts: Sequence[str]) -> tuple[list[Subject], list[Subject]]:
        """The subjects the question names that the texts never name while they name another of the same kind,
        and those others; ([], []) when the answer speaks of something asked (a question naming the CHIPS Act and
        Trump's tax law is answered in part by a sentence on the CHIPS Act), or of nothing of that kind."""
        asked = self.named_in(question)
        told = self.named_in(" ".join(texts))
        if any(s in told for s in asked):
            return [], []
        missing = [s for s in asked if s not in told and any(t.kind == s.kind and t not in asked for t in told)]
        others = [t for t in told if t not in asked and any(t.kind == s.kind for s in missing)]
        return missing, others


def _law_names(english: str) -> tuple[str, ...]:
    """ "Inflation Reduction Act (IRA)" -> the full name, the bracketed acronym, the initials, and the
    capitalised first word + "act" ("CHIPS and Science Act" -> "chips act")."""
    bracket = re.search(r"\(([^)]+)\)", english)
    full = re.sub(r"\s*\([^)]*\)", "", english).strip()
    # the bracketed acronym, else the initials ("USMCA", not "USA"; "TCJA")
    names = [full, bracket.group(1) if bracket else acronym(full)]
    first = full.split()[0]
    if first.isupper() and len(first) >= 3:
        names.append(f"{first} act")
    return tuple(n.lower() for n in names if n)


def _english_pattern(names: Sequence[str]) -> re.Pattern[str]:
    return re.compile(r"(?<![a-z])(?:" + "|".join(re.escape(n) for n in names) + r")(?![a-z])")


__all__ = ["PRESIDENTS", "Subject", "Subjects"]

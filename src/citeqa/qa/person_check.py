"""Does an answer to "who holds / took over / negotiated …" name a person the question does not already name?

A near miss asks for a person the paper never names: "who took over as Speaker after McCarthy was ousted", "who
heads the National Semiconductor Technology Center". Retrieval finds the passage on McCarthy or on the centre, and
the answer names no one, or only the people the question names itself. The check applies to questions asking for
one person in a role (a role or an act of office beside who/谁/哪位), not to "who is part of it" (members are
groups) nor to a cited work's authors (citation questions are answered from the reference).

People in the answer are the words jieba tags as personal names (not followed by 政府, 任内, …: "拜登政府组建" names an
administration), minus the ones CC-CEDICT glosses only in lower
case (ordinary words the tagger mistakes for names), and Latin "First Last" names; a name counts as the question's
when the question writes it, or the capitalised words of its glossary entry ("麦卡锡" -> "Kevin McCarthy").
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from citeqa.qa.decompose import asking_parts
from citeqa.qa.intent import CITATION_INTENT_RE, WORK_DETAIL_RE
from citeqa.qa.subjects import PRESIDENTS

WHO_RE = re.compile(
    r"\bwho\b|\bwhom\b|谁|哪位|何人|哪个人"
    r"|\bwhich (?:president|official|senator|secretary|person|politician|lawmaker)\b",
    re.I,
)
# a role one person holds, or an act of office only a person performs
ROLE_RE = re.compile(
    r"speaker|negotiat|\bheads?\b|\bheaded\b|\bchair|\bleads?\b|\bled\b|director|secretary|advis[eo]r"
    r"|representative|\bUSTR\b|governor|senator|\bCEO\b|minister|took over|succeed|replaced|\bsigned\b|appointed"
    r"|nominated|founder|\bpresident\b"
    r"|议长|谈判|负责人|主任|领导|牵头|总统|部长|顾问|代表|主席|州长|议员|总裁|首席执行官|局长|发言人|接任|继任|担任|签署"
    r"|任命|提名|创始人|执掌",
    re.I,
)
# "拜登政府组建…" names an administration, the context of the role, not a person holding it
ADMINISTRATION_WORDS = frozenset({"政府", "政权", "时期", "任内", "执政", "当局"})
PRESIDENCY_RE = re.compile(r"总统|政府|任内|任上|任期|\bpresident|\badministration|\bterm\b", re.I)
PERSON_TAGS = frozenset({"nr", "nrt", "nrfg"})
GLOSSED_PERSON_RE = re.compile(r"[A-Z][a-z]+ [A-Z][a-z]+, .+")
LATIN_NAME_RE = re.compile(r"\b[A-Z][a-z]+ [A-Z][a-z]+\b")
CAPITALISED_RE = re.compile(r"[A-Z][a-z]{2,}")


def asks_for_a_person(question: str) -> bool:
    """One person in a role asked for; every part of a multi-part question must ask one."""
    if CITATION_INTENT_RE.search(question) or WORK_DETAIL_RE.search(question):
        return False
    parts = asking_parts(question) or [question]
    return all(WHO_RE.search(p) and ROLE_RE.search(p) for p in parts)


class PersonCheck:
    def __init__(self, glossary: Mapping[str, str], common_words: Collection[str]) -> None:
        self.glossary = glossary
        self.common_words = frozenset(common_words)
        # jieba tags 奥巴马 as a place: the presidents, and the glossary's people (a name and a role: "Kevin
        # McCarthy, House Speaker"; "White House" alone is no person), are known names
        known = [*PRESIDENTS, *(k for k, v in glossary.items() if GLOSSED_PERSON_RE.fullmatch(v))]
        self.known_re = re.compile("|".join(map(re.escape, sorted(known, key=len, reverse=True))))

    def people(self, text: str, administrations: bool = False) -> set[str]:
        """The people a text names; `administrations`: also "拜登政府" (the answer to "which president's term")."""
        import jieba.posseg as pseg

        words = list(pseg.cut(text))
        found = {
            w.word
            for w, after in zip(words, [*words[1:], None], strict=True)
            if w.flag in PERSON_TAGS
            and len(w.word) >= 2
            and w.word not in self.common_words
            and (administrations or after is None or after.word not in ADMINISTRATION_WORDS)
        }
        for m in self.known_re.finditer(text):
            if administrations or not text[m.end() :].lstrip().startswith(tuple(ADMINISTRATION_WORDS)):
                found.add(m.group(0))
        return found | set(LATIN_NAME_RE.findall(text))

    def named_by(self, name: str, question: str) -> bool:
        lower = question.lower()
        # the glossary's name before its gloss ("Kevin McCarthy, House Speaker": not "House" nor "Speaker")
        english = self.glossary.get(name, "").split(",")[0]
        return name in question or any(w.lower() in lower for w in CAPITALISED_RE.findall(english))

    def names_no_one_new(self, question: str, texts: Sequence[str]) -> bool:
        """Does the question ask for a person while the texts name no one it does not name itself?"""
        if not asks_for_a_person(question):
            return False
        people = self.people(" ".join(texts), administrations=bool(PRESIDENCY_RE.search(question)))
        return not any(not self.named_by(p, question) for p in people)


__all__ = ["PersonCheck", "asks_for_a_person"]

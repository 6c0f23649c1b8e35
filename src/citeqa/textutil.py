"""Small text helpers shared by the parser, chunker and answerer: display width, CJK tests, line joining."""

from __future__ import annotations

import re
import unicodedata

# a four-digit year of the 20th or 21st century standing alone ("2022年" and "in 2022", not "120220")
YEAR_RE = re.compile(r"(?<!\d)(?:19|20)\d{2}(?!\d)")

URL_RE = re.compile(r"https?://[^\s，。；、）》]+")
# characters a wrapped URL may continue with on the next line
URL_CONTINUATION_RE = re.compile(r"^[A-Za-z0-9\-._~/?#\[\]@!$&'()*+,;=%:]+")


def is_cjk(ch: str) -> bool:
    """True for characters that take a full display cell (Han, kana, full-width punctuation)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def display_width(text: str, ambiguous: float = 0.5) -> float:
    """Width of a line as the PDF laid it out: CJK characters count 1, everything else 0.5.

    `ambiguous` is the width of East-Asian-ambiguous characters (“ ” ‘ ’ — · …): Chinese typesetting sets them
    full width (pass 1.0 for Chinese body text), English text half width (the default).
    """
    total = 0.0
    for ch in text:
        kind = unicodedata.east_asian_width(ch)
        total += 1.0 if kind in ("W", "F") else ambiguous if kind == "A" else 0.5
    return total


# Han ideographs: the unified blocks, extension A, compatibility ideographs, extensions B-H, and 〇
HAN_RE = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]")


def is_han(ch: str) -> bool:
    """True for a Chinese character (not kana, not Hangul, not full-width punctuation)."""
    return HAN_RE.match(ch) is not None


def _reads_as_chinese(ch: str) -> bool:
    """A full-width character that Chinese text is made of: Han, or full-width punctuation, digits and Latin.
    Kana, Hangul and other full-width scripts are not Chinese; emoji and symbols are no script at all."""
    if is_han(ch):
        return True
    if not is_cjk(ch):
        return False
    category = unicodedata.category(ch)
    return not (category in ("Lo", "Lm") or category.startswith("S"))


def cjk_ratio(text: str) -> float:
    """The share of the non-space characters that read as Chinese (Han and full-width punctuation)."""
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if _reads_as_chinese(c)) / len(chars)


def continues_url(left: str, right: str) -> bool:
    """Does `right` carry on a URL that `left` ends with? ("https://home." + "treasury.gov/...")"""
    tokens = left.split()
    if not tokens or not re.match(r"https?://", tokens[-1]):
        return False
    head = URL_CONTINUATION_RE.match(right)
    if not head:
        return False
    if tokens[-1].endswith("."):
        # a final dot may end the sentence: only a host or path fragment continues it ("treasury.gov/...",
        # "org/series/..."), not a number that opens the next page's text ("2.79 万亿美元")
        first = head.group(0)
        host_like = re.search(r"[a-z0-9]\.[a-z]{2,}", first)
        return (first[0].islower() or first[0].isdigit()) and ("/" in first or bool(host_like))
    return True


def join_wrapped(left: str, right: str) -> str:
    """Join two hard-wrapped lines: Chinese without a space, English with one, URLs re-joined."""
    left = left.rstrip()
    right = right.lstrip()
    if not left:
        return right
    if not right:
        return left
    a, b = left[-1], right[0]
    if continues_url(left, right):
        return left + right
    if a in "-/" and not is_cjk(b):
        # a word or URL broken at a hyphen or slash: "62-" + "68", "statements-" + "releases"
        return left + right
    if is_cjk(a) or is_cjk(b):
        return left + right
    return left + " " + right


def normalize_space(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def strip_trailing_punct(url: str) -> str:
    return url.rstrip(".,;。，；)）")


QUOTED_RE = re.compile(r"['\"‘“《「]([^'\"’”》」]{4,200})['\"’”》」]")


def squash(text: str) -> str:
    """Lower case, letters, digits and CJK only, for verbatim matching across PDF stray spaces and hyphens."""
    return re.sub(r"[^a-z0-9\u4e00-\u9fff]", "", text.lower())


def quoted_spans(question: str) -> list[str]:
    """Quoted titles or phrases long enough to identify a passage: three Latin words or four CJK characters."""
    return [
        span
        for span in QUOTED_RE.findall(question)
        if len(re.findall(r"[A-Za-z0-9]+", span)) >= 3 or len(re.sub(r"[^\u4e00-\u9fff]", "", span)) >= 4
    ]


def singular_forms(word: str) -> list[str]:
    """The word and its likely singulars ("tariffs" -> "tariff", "subsidies" -> "subsidy", "Americans" -> "American"):
    dictionaries and the paper's English mostly use the singular."""
    forms = [word]
    if word.endswith("ies") and len(word) > 4:
        forms.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 4:
        forms.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        forms.append(word[:-1])
    return forms

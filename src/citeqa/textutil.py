"""Small text helpers shared by the parser, chunker and answerer: display width, CJK tests, line joining."""

from __future__ import annotations

import re
import unicodedata

URL_RE = re.compile(r"https?://[^\s，。；、）》]+")
# characters a wrapped URL may continue with on the next line
URL_CONTINUATION_RE = re.compile(r"^[A-Za-z0-9\-._~/?#\[\]@!$&'()*+,;=%:]+")


def is_cjk(ch: str) -> bool:
    """True for characters that take a full display cell (Han, kana, full-width punctuation)."""
    return unicodedata.east_asian_width(ch) in ("W", "F")


def display_width(text: str) -> float:
    """Width of a line as the PDF laid it out: CJK characters count 1, everything else 0.5."""
    return sum(1.0 if is_cjk(ch) else 0.5 for ch in text)


def cjk_ratio(text: str) -> float:
    chars = [c for c in text if not c.isspace()]
    if not chars:
        return 0.0
    return sum(1 for c in chars if is_cjk(c)) / len(chars)


def _continues_url(left: str, right: str) -> bool:
    """Does `right` carry on a URL that `left` ends with? ("https://home." + "treasury.gov/...")"""
    tokens = left.split()
    if not tokens or not re.match(r"https?://", tokens[-1]):
        return False
    head = URL_CONTINUATION_RE.match(right)
    if not head:
        return False
    if tokens[-1].endswith("."):
        # a final dot may end the sentence: only a host or path fragment continues it
        first = head.group(0)
        return (first[0].islower() or first[0].isdigit()) and ("/" in first or "." in first)
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
    if _continues_url(left, right):
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

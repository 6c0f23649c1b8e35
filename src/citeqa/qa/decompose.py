"""Multi-part questions cut into their parts, so that each part finds its own passage.

"how close was the vote in the senate, and who cast the deciding vote?" asks two facts that stand in two places;
one retrieval for the whole question finds the first and returns one sentence for both. The cut is made where a
question visibly starts again: "?" or ";" between clauses, ", and who/what/…", "vs", 以及 / 还有 / 另外, "？" or
a typed space between Chinese clauses. Each part is retrieved together with the whole question (a part alone
loses its topic: "who cast the deciding vote" names no law).
"""

from __future__ import annotations

import re

from citeqa.textutil import cjk_ratio

MAX_PARTS = 3
# a new English clause: after ? or ; or before "and"/"also"/"plus" + a question or auxiliary word
_EN_SPLIT = re.compile(
    r"\s*[?;]\s+|,?\s+(?:and|also|plus|as well as)\s+(?=(?:how|what|which|who|whom|whose|when|where|why|is|are|was"
    r"|were|did|does|do|has|have|had|can|could)\b)|\s+(?:vs\.?|versus|compared (?:with|to))\s+",
    re.IGNORECASE,
)
# Chinese clauses also stand apart by a space when typed casually ("逆差2000年是多少 到2022年又涨到多少了")
_ZH_SPLIT = re.compile(r"[？?；;]+|[，,]?(?:以及|还有|另外|并且|同时)|(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff\d])")
_EN_WORD = re.compile(r"[A-Za-z0-9$%.]+")
_CJK = re.compile(r"[\u4e00-\u9fff]")


# a part of a question that asks something (not context: "麦卡锡被弹劾下台 众议院投票是多少比多少" is one question)
QUESTION_CUE_RE = re.compile(
    r"\b(?:what|how|which|who|whom|whose|when|where|why|whether)\b|\?|？|什么|哪|谁|怎么|怎样|如何|多少|几|吗|呢|啥|是否",
    re.I,
)


def asking_parts(question: str) -> list[str]:
    """The parts of a multi-part question that ask something themselves ([] for one question)."""
    parts = [p for p in question_parts(question) if QUESTION_CUE_RE.search(p)]
    return parts if len(parts) >= 2 else []


def question_parts(question: str) -> list[str]:
    """The parts of a multi-part question, in order, or [] when it is one question. A part needs three words
    (English) or four Chinese characters, so "and why?" or "多少？" alone does not count."""
    chinese = cjk_ratio(question) >= 0.3
    pieces = (_ZH_SPLIT if chinese else _EN_SPLIT).split(question.strip())
    parts = [p.strip(" ,，、。.") for p in pieces if p and _substantial(p, chinese)]
    return parts[:MAX_PARTS] if len(parts) >= 2 else []


def _substantial(piece: str, chinese: bool) -> bool:
    if chinese:
        return len(_CJK.findall(piece)) >= 4
    return len(_EN_WORD.findall(piece)) >= 3


__all__ = ["MAX_PARTS", "asking_parts", "question_parts"]

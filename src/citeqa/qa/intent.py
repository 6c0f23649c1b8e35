"""What a question asks for, read from its wording: a second part, a list, a cited work, the source of a
statement, the authors' own judgement. Plain patterns in both languages, shared by retrieval and answering."""

from __future__ import annotations

import re

# "…, and how many…" / two question marks / 分别: the answer needs a second passage
MULTI_PART_RE = re.compile(
    r"\band (?:how|what|which|who|when|where|why|by how)\b|\?.+\?|？.+？|分别|以及.*(?:多少|什么|哪)", re.IGNORECASE
)
# "which three reasons", "what four kinds", 哪些 / 三个原因: the answer is an enumeration
LIST_INTENT_RE = re.compile(
    r"\b(?:two|three|four|five|several)\b|哪些|哪[两三四五几]|[两三四五几]个|几点|几方面", re.IGNORECASE
)
ORDINAL_RE = re.compile(r"^(?:第[一二三四五六七八九十]+[，,、]|[一二三四五六七八九十]是|首先|其次|再次|最后[，,])")
# questions about a cited work itself (its journal, author, title): only these may be answered from a reference
WORK_INTENT_RE = re.compile(
    r"\b(journal|published|publish|article|author|authors|wrote|written|title|report|document)\b"
    r"|期刊|杂志|发表|作者|文章|标题|题目|报告|文件|文献",
    re.IGNORECASE,
)
# "the author" / 作者 of a question is this paper's author ("what does the author recommend"), not a cited work's
PAPER_AUTHOR_RE = re.compile(
    r"\b(?:the|this|its) (?:paper's |article's )?authors?(?:'s|’s)?\b(?!\s+of\b)|作者", re.IGNORECASE
)


def asks_about_a_work(question: str) -> bool:
    """Does the question ask about a cited work itself (its journal, title, report)? The paper's own author is
    not one: "what does the author recommend China do" wants the paper's conclusion, not a reference."""
    return bool(WORK_INTENT_RE.search(PAPER_AUTHOR_RE.sub(" ", question)))


# questions that ask for the source of a statement rather than the statement itself
CITATION_INTENT_RE = re.compile(
    r"\b(source|sources|footnote|cite[sd]?|citation|reference[sd]?|backs|backed|supports|supported|document"
    r"|rel(?:y|ies|ied) on|agency|organi[sz]ation|institution|outlet)\b"
    r"|\b(?:comes?|came) from\b|\bwhere (?:do|does|did) .{0,80}\bfrom\b|\bwho (?:came up with|estimated)\b"
    # the ways English asks for a statement's origin without naming a source: "where's that number from", "where
    # does the paper get ...", "which industry study is behind ...", "the report it leans on", "who said ..."
    r"|\bwhere(?:'s|’s| is| are| was| were) .{0,80}\bfrom\b|\bwhere (?:do|does|did) .{0,60}\b(?:get|find|take|draw)\b"
    r"|\b(?:lean|leans|leaned|leaning|draws?|drew) on\b|\bbehind (?:the|that|this|its) (?:\w+ )?"
    r"(?:estimate|figure|number|claim|stat|statistic|data|quote|point|argument)s?\b"
    r"|\bwho (?:said|says|stated|claimed|warned|called|described)\b"
    r"|\bwhat (?:data|figures|statistics|numbers) (?:does|did|do)\b"
    r"|\b(?:which|what(?:'s|’s| is)?) (?:the )?(?:[\w-]+ ){0,3}(?:report|study|survey|speech|remarks|fact sheet|dataset"
    r"|article|piece|publication|think[- ]tank)s?\b"
    r"|来源|出处|脚注|注释|引用|依据|援引|文献|机构|媒体|引自|出自|来自哪|哪里来|从哪|哪份|哪篇|引的|引了",
    re.IGNORECASE,
)
# "what does the paper conclude / argue", "in the author's view", 作者认为 / 怎么评价: the authors' own verdict
JUDGEMENT_INTENT_RE = re.compile(
    r"\b(?:conclu\w*|judge?\w*|argu\w*|think|thinks|view|opinion|believe\w*|assess\w*|evaluat\w*|verdict)\b"
    r"|认为|觉得|判断|评价|看法|观点|结论|怎么看|得出",
    re.IGNORECASE,
)
# the question asks why or how something is explained: a figure word in it ("占比降了") is context, not what is asked
EXPLANATION_INTENT_RE = re.compile(
    r"\bwhy\b|\bexplain\w*|\breasons?\b|为什么|为何|怎么解释|如何解释|原因", re.IGNORECASE
)
# the question checks a claim ("is it true that … in 2019", 真的…吗): a year in it may be the student's mistake,
# which the passage that states the right one answers
CLAIM_CHECK_RE = re.compile(
    r"\bis (?:it|this|that) (?:true|right|correct)\b|\btrue that\b|真的|是否|是不是|对吗|对不对|属实", re.IGNORECASE
)
# the student asks for advice on their own task ("how do i cite …", "what's a good library for …", 咋复习, 比较合适):
# below the similarity threshold such a question is not taken for one about the paper because it shares a word
ADVICE_RE = re.compile(
    r"\bhow (?:do|should|can|would) i\b|\bwhat(?:'s|’s| is|s) (?:a|the) (?:good|best)\b|\bany tips\b"
    r"|\bcan you (?:recommend|suggest)\b|[咋怎]么?(?:复习|准备|学习?|写)|比较合适|有什么建议|有啥建议"
    r"|推荐(?:一下|个|些)",
    re.IGNORECASE,
)
# the question names this paper itself (not "an author", "my paper")
THIS_PAPER_RE = re.compile(
    r"\b(?:the|this) (?:paper|article|study|essay|author)s?\b|本文|这篇|该文|文中|文章|作者", re.IGNORECASE
)
# inferential and evaluative sentences, where Chinese academic prose states its verdicts ("这表明…", "因此…")
EVALUATIVE_RE = re.compile(r"说明|表明|意味着|因此|可见|由此|总之|总体|归根结底|综上|实质|根本目的|直接目的")
# a question that names a part of the paper ("in the abstract", "the lit review footnote", 结语里) is about it
PAPER_PART_RE = re.compile(
    r"\b(?:abstract|summary|introduction|conclusion|lit(?:erature)? review|footnotes?|endnotes?|bibliography)\b"
    r"|提要|摘要|引言|结语|文献综述|脚注|注释|参考文献",
    re.IGNORECASE,
)
# the question points at this paper or its author ("according to the author", "the paper says", 文章最后): the
# student has read it here, so a low similarity (an evaluative or structural question) is no reason to refuse
PAPER_REFERENCE_RE = re.compile(
    r"\bauthors?\b|\b(?:the|this) (?:paper|article|study|essay)\b|\bthe intro\b|作者|文章|本文|论文|这篇|该文",
    re.IGNORECASE,
)
# the details of a cited work a reader looks up (its title, date, journal, pages): the answer shows the
# reference itself. Unlike WORK_INTENT_RE it leaves out "author"/作者, which usually means the paper's author
WORK_DETAIL_RE = re.compile(
    r"\b(journal|magazine|published|publish|wrote|written|title|headline|date|dated|issue|volume|pages?|url|link"
    r"|publisher)\b|期刊|杂志|发表|发布|标题|题目|哪天|日期|页码|网址|链接",
    re.IGNORECASE,
)

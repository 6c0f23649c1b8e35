"""Bibliography: the works the footnotes cite, parsed into fields, de-duplicated, exported as BibTeX and CSL-JSON."""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from citeqa.ingest.paper import Paper
from citeqa.textutil import URL_RE, normalize_space, strip_trailing_punct

MONTHS = "January|February|March|April|May|June|July|August|September|October|November|December"
EN_DATE_RE = re.compile(rf"\b({MONTHS})(?:\s+(\d{{1,2}}),)?\s+(\d{{4}})")
ZH_DATE_RE = re.compile(r"(\d{4})\s*年\s*(?:(\d{1,2})\s*月\s*(?:(\d{1,2})\s*日)?)?")
ZH_ISSUE_RE = re.compile(r"(\d{4})\s*年第\s*(\d+)\s*期")
EN_VOLUME_RE = re.compile(r"Vol\.\s*(\d+),\s*No\.\s*(\d+)")
PAGES_RE = re.compile(r"第\s*(\d+(?:\s*[-–]\s*\d+)?)\s*页|pp?\.\s*(\d+(?:\s*[-–]\s*\d+)?)")
EN_TITLE_RE = re.compile(r"[“\"](.+?)[,，]?[”\"]")
ZH_TITLE_RE = re.compile(r"《(.+?)》")


@dataclass
class Reference:
    """One cited work as it appears in one footnote."""

    footnote_id: str
    raw: str
    authors: str = ""
    title: str = ""
    container: str = ""
    date: str = ""  # ISO-like: 2023, 2023-05, 2023-05-25
    volume: str = ""
    issue: str = ""
    pages: str = ""
    url: str = ""
    language: str = "en"


@dataclass
class Source:
    """A cited work, once, with every footnote that cites it."""

    id: str
    authors: str
    title: str
    container: str
    date: str
    volume: str
    issue: str
    pages: list[str]
    url: str
    language: str
    footnotes: list[str] = field(default_factory=list)
    raw: list[str] = field(default_factory=list)
    variant_titles: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def split_references(text: str) -> list[str]:
    """A footnote may list several works separated by ';' or '；' (never inside quotes or 《》)."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(text):
        if ch in "“《":
            depth += 1
        elif ch in "”》":
            depth = max(0, depth - 1)
        elif ch in ";；" and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [p.strip().rstrip("。.") for p in parts if p.strip()]


def _iso_date(text: str) -> str:
    m = EN_DATE_RE.search(text)
    if m:
        month = MONTHS.split("|").index(m.group(1)) + 1
        day = f"-{int(m.group(2)):02d}" if m.group(2) else ""
        return f"{m.group(3)}-{month:02d}{day}"
    m = ZH_DATE_RE.search(text)
    if m:
        parts = [m.group(1)] + [f"{int(g):02d}" for g in m.groups()[1:] if g]
        return "-".join(parts)
    m = re.search(r"\b(19|20)\d{2}\b", text)
    return m.group(0) if m else ""


def parse_reference(raw: str, footnote_id: str) -> Reference:
    ref = Reference(footnote_id=footnote_id, raw=raw)
    url = URL_RE.search(raw)
    if url:
        ref.url = strip_trailing_punct(url.group(0))
    without_url = URL_RE.sub("", raw)
    pages = PAGES_RE.search(without_url)
    if pages:
        ref.pages = re.sub(r"\s+", "", pages.group(1) or pages.group(2))
    zh = ZH_TITLE_RE.search(without_url)
    en = EN_TITLE_RE.search(without_url)
    if zh and (not en or zh.start() < en.start()):
        ref.language = "zh"
        ref.title = zh.group(1)
        ref.authors = without_url[: zh.start()].strip(" ：:，,")
        rest = without_url[zh.end() :]
        container = ZH_TITLE_RE.search(rest)
        if container:
            ref.container = container.group(1)
        else:
            ref.container = rest.strip(" ，,").split("，")[0].strip()
        issue = ZH_ISSUE_RE.search(rest)
        if issue:
            ref.issue = issue.group(2)
        ref.date = _iso_date(rest)
    elif en:
        ref.title = en.group(1).strip().rstrip(",")
        ref.authors = without_url[: en.start()].strip(" ,")
        rest = without_url[en.end() :].strip(" ,")
        volume = EN_VOLUME_RE.search(rest)
        if volume:
            ref.volume, ref.issue = volume.group(1), volume.group(2)
        ref.date = _iso_date(rest)
        first = rest.split(",")[0].strip()
        if first and not re.match(rf"({MONTHS}|pp?\.|Vol\.|\d)", first):
            ref.container = first
    else:
        ref.title = normalize_space(without_url).rstrip(",，")
    return ref


def _source_key(ref: Reference) -> str:
    """Same URL, or same title when there is no URL, means the same work."""
    if ref.url:
        return "url:" + ref.url.lower().rstrip("/#")
    return "title:" + re.sub(r"\W+", "", ref.title.lower())


def _source_id(ref: Reference) -> str:
    """`src-` + hex for every work: the id names the work's folder in corpus/sources/ (see source_store)."""
    return "src-" + hashlib.sha1(_source_key(ref).encode("utf-8")).hexdigest()[:6]


def build_bibliography(paper: Paper) -> list[Source]:
    """Every reference footnote's works, merged into sources in order of first citation."""
    sources: dict[str, Source] = {}
    for fn in paper.footnotes:
        if fn.kind != "reference":
            continue
        for raw in split_references(fn.text):
            ref = parse_reference(raw, fn.id)
            key = _source_key(ref)
            if key not in sources:
                sources[key] = Source(
                    id=_source_id(ref),
                    authors=ref.authors,
                    title=ref.title,
                    container=ref.container,
                    date=ref.date,
                    volume=ref.volume,
                    issue=ref.issue,
                    pages=[],
                    url=ref.url,
                    language=ref.language,
                )
            src = sources[key]
            if fn.id not in src.footnotes:
                src.footnotes.append(fn.id)
            src.raw.append(raw)
            if ref.pages and ref.pages not in src.pages:
                src.pages.append(ref.pages)
            if ref.title != src.title and ref.title not in src.variant_titles:
                src.variant_titles.append(ref.title)
    return list(sources.values())


# --------------------------------------------------------------------------- exports


def _bibtex_escape(text: str) -> str:
    return re.sub(r"([&%$#_{}])", r"\\\1", text)


def to_bibtex(sources: list[Source]) -> str:
    entries = []
    for s in sources:
        kind = "article" if s.volume or s.issue or (s.language == "zh" and s.container) else "misc"
        fields = {
            "author": "{" + s.authors + "}" if s.authors else "",
            "title": s.title,
            "journal" if kind == "article" else "howpublished": s.container,
            "year": s.date[:4],
            "date": s.date,
            "volume": s.volume,
            "number": s.issue,
            "pages": "; ".join(s.pages),
            "url": s.url,
            "language": "chinese" if s.language == "zh" else "english",
            "note": "Cited in footnotes " + ", ".join(s.footnotes),
        }
        body = ",\n".join(f"  {k} = {{{_bibtex_escape(v) if k != 'url' else v}}}" for k, v in fields.items() if v)
        entries.append(f"@{kind}{{{s.id},\n{body}\n}}")
    return "\n\n".join(entries) + "\n"


def to_csl_json(sources: list[Source]) -> list[dict[str, Any]]:
    items = []
    for s in sources:
        item: dict[str, Any] = {
            "id": s.id,
            "type": "article-journal" if s.volume or s.issue else ("webpage" if s.url else "document"),
            "title": s.title,
            "language": "zh-CN" if s.language == "zh" else "en-US",
            "note": "Cited in footnotes " + ", ".join(s.footnotes),
        }
        if s.authors:
            names = re.split(r"、|, and | and ", s.authors)
            item["author"] = [{"literal": n.strip()} for n in names if n.strip()]
        if s.container:
            item["container-title"] = s.container
        if s.date:
            item["issued"] = {"date-parts": [[int(p) for p in s.date.split("-")]]}
        if s.volume:
            item["volume"] = s.volume
        if s.issue:
            item["issue"] = s.issue
        if s.pages:
            item["page"] = s.pages[0]
        if s.url:
            item["URL"] = s.url
        items.append(item)
    return items

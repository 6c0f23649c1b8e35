"""Paragraphs -> sentence-aware chunks with metadata; footnotes -> units of their own."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from citeqa.ingest.corpus import Corpus
from citeqa.ingest.paper import Paper, Paragraph

# a sentence ends after 。！？ (plus closing quotes), or after . ! ? followed by a space and a capital
SENTENCE_END_RE = re.compile(r"[。！？!?][”’」』）)]*|\.(?=\s+[A-Z“\"])")


@dataclass
class Sentence:
    text: str
    start: int  # offset in the paragraph
    end: int
    page: int
    footnote_ids: list[str] = field(default_factory=list)


@dataclass
class Unit:
    """One retrievable unit: a body chunk (kind "paragraph") or a footnote (kind "footnote")."""

    id: str
    kind: str
    text: str  # what the reader sees
    page: int
    printed_page: int | None
    section: list[str]
    footnote_ids: list[str]
    sentences: list[Sentence]
    paragraph_id: str = ""

    def embed_text(self, paper: Paper, attach_footnotes: bool, attach_heading: bool = False) -> str:
        """The text that gets embedded: body chunks may carry their section's heading (headings state the
        authors' verdicts, "就业状况有所改善，但重建中产阶级效果不佳") and their cited footnotes' titles."""
        if self.kind != "paragraph":
            return self.text
        text = self.text
        if attach_heading and self.section:
            text = heading_text(self.section[-1]) + "\n" + text
        if attach_footnotes and self.footnote_ids:
            text += "\n" + " ; ".join(footnote_title(paper.footnote(fid).text) for fid in self.footnote_ids)
        return text


def heading_text(heading: str) -> str:
    """A heading without its numbering: "（二）就业状况有所改善" -> "就业状况有所改善"."""
    return re.sub(r"^\s*(?:[一二三四五六七八九十]+、|[（(]\s*[一二三四五六七八九十]+\s*[)）])\s*", "", heading)


def footnote_title(text: str) -> str:
    """The quoted title(s) of a reference footnote, or the start of an explanatory note."""
    titles = re.findall(r"[“《]([^”》]+)[”》]", text)
    if titles:
        return " ; ".join(t.strip().rstrip(",") for t in titles[:3])
    return text[:80]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each non-blank sentence of a Chinese or English text (the paper's and the sources')."""
    spans = []
    start = 0
    for end in [*(m.end() for m in SENTENCE_END_RE.finditer(text)), len(text)]:
        if end > start and text[start:end].strip():
            spans.append((start, end))
        start = max(start, end)
    return spans


def split_sentences(paragraph: Paragraph) -> list[Sentence]:
    text = paragraph.text
    sentences = [Sentence(text[a:b].strip(), a, b, paragraph.page_at(a)) for a, b in sentence_spans(text)]
    for marker in paragraph.markers:
        # a marker closes the sentence it follows: "…完成。[3]" belongs to the sentence ending at its offset
        owner = next((s for s in sentences if s.start < marker.offset <= s.end), sentences[-1])
        if marker.footnote_id not in owner.footnote_ids:
            owner.footnote_ids.append(marker.footnote_id)
    return sentences


def chunk_paragraph(paragraph: Paragraph, printed: list[int | None], max_chars: int) -> list[Unit]:
    """Pack whole sentences into chunks of at most max_chars (a longer sentence stays whole)."""
    groups: list[list[Sentence]] = []
    for sentence in split_sentences(paragraph):
        if groups and sum(len(s.text) for s in groups[-1]) + len(sentence.text) <= max_chars:
            groups[-1].append(sentence)
        else:
            groups.append([sentence])
    units = []
    for i, group in enumerate(groups):
        fids = list(dict.fromkeys(fid for s in group for fid in s.footnote_ids))
        page = group[0].page
        units.append(
            Unit(
                id=f"{paragraph.id}-c{i}",
                kind="paragraph",
                text="".join(s.text if _is_cjk_end(s.text) else s.text + " " for s in group).strip(),
                page=page,
                printed_page=printed[page - 1],
                section=paragraph.section,
                footnote_ids=fids,
                sentences=group,
                paragraph_id=paragraph.id,
            )
        )
    return units


def _is_cjk_end(text: str) -> bool:
    return bool(text) and not text[-1].isascii()


# a bracketed editorial line (【责任编辑：李静】) is part of the page, not of the argument
EDITORIAL_RE = re.compile(r"^\s*【[^】]*】\s*$")
# works listed in one reference footnote are separated by ； or ;
WORK_SEPARATOR_RE = re.compile(r"[；;]\s*")


def build_units(corpus: Corpus, max_chars: int) -> list[Unit]:
    paper = corpus.paper
    units: list[Unit] = []
    for paragraph in paper.paragraphs:
        if not EDITORIAL_RE.match(paragraph.text):
            units.extend(chunk_paragraph(paragraph, paper.printed_pages, max_chars))
    for fn in paper.footnotes:
        units.append(
            Unit(
                id=fn.id,
                kind="footnote",
                text=fn.text,
                page=fn.page,
                printed_page=fn.printed_page,
                section=_section_of_footnote(paper, fn.cited_by),
                footnote_ids=[fn.id],
                sentences=footnote_sentences(fn.text, fn.page, fn.id),
            )
        )
    return units


def footnote_sentences(text: str, page: int, footnote_id: str) -> list[Sentence]:
    """One sentence per cited work, so an answer can quote the one work asked about, not all ten of p3-fn1."""
    sentences = []
    start = 0
    for m in [*WORK_SEPARATOR_RE.finditer(text), None]:
        end = m.start() + 1 if m else len(text)
        if text[start:end].strip():
            sentences.append(Sentence(text[start:end].strip(), start, end, page, [footnote_id]))
        start = m.end() if m else len(text)
    return sentences or [Sentence(text, 0, len(text), page, [footnote_id])]


def _section_of_footnote(paper: Paper, cited_by: list[str]) -> list[str]:
    return paper.paragraph(cited_by[0]).section if cited_by else []

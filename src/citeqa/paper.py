"""Seed text or PDF -> Paper: pages, sections, paragraphs, footnotes and the in-text markers that cite them.

Footnote numbering restarts on every page, so a footnote's identity is (page, number) and a marker `[n]`
resolves to footnote n *of the page the marker sits on*.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from citeqa.textutil import cjk_ratio, display_width, join_wrapped

RUNNING_HEADER = "美国制造业回流政策：实施效果与制约因素"
FOOTNOTE_START_RE = re.compile(r"^\[(\d{1,3})\]\u3000(.*)$")
MARKER_RE = re.compile(r"\[(\d{1,3})\](?!\u3000)")
PAGE_NUMBER_RE = re.compile(r"^\d{1,4}$")
HEADING1_RE = re.compile(r"^([一二三四五六七八九十]+)、\s*(.+)$")
HEADING2_RE = re.compile(r"^[（(]\s*([一二三四五六七八九十]+)\s*[)）]\s*(.+)$")
ABSTRACT_RE = re.compile(r"^〔提\s*要〕\s*")
# a line this much narrower than the full lines around it, ending a sentence, ends its paragraph
PARAGRAPH_END_SLACK = 1.5
PARAGRAPH_CLOSERS = ("。", "！", "？", "”", "）", "：", ".")
FULL_WIDTH_WINDOW = 5


class PaperError(ValueError):
    """The input cannot be read as a paper (empty, binary, no footnotes, unreadable PDF)."""


@dataclass
class Marker:
    footnote_id: str
    page: int
    number: int
    offset: int  # character offset in the paragraph text where the marker stood


@dataclass
class Footnote:
    page: int
    number: int
    printed_page: int | None
    text: str
    kind: str = "reference"  # reference | note
    cited_by: list[str] = field(default_factory=list)  # paragraph ids

    @property
    def id(self) -> str:
        return footnote_id(self.page, self.number)


@dataclass
class Paragraph:
    id: str
    text: str
    pages: list[int]
    printed_pages: list[int | None]
    section: list[str]
    markers: list[Marker] = field(default_factory=list)
    page_starts: list[list[int]] = field(default_factory=list)  # [offset, page] where each page begins

    @property
    def page(self) -> int:
        return self.pages[0]

    def page_at(self, offset: int) -> int:
        """The PDF page on which the character at `offset` was printed."""
        page = self.pages[0]
        for start, p in self.page_starts:
            if start <= offset:
                page = p
        return page

    @property
    def footnote_ids(self) -> list[str]:
        return list(dict.fromkeys(m.footnote_id for m in self.markers))


@dataclass
class Paper:
    title: str
    source: str
    page_count: int
    printed_pages: list[int | None]  # index i -> printed page of PDF page i+1
    sections: list[list[str]]
    paragraphs: list[Paragraph]
    footnotes: list[Footnote]

    def footnote(self, fid: str) -> Footnote:
        return self._footnote_index()[fid]

    def _footnote_index(self) -> dict[str, Footnote]:
        return {f.id: f for f in self.footnotes}

    def paragraph(self, pid: str) -> Paragraph:
        return {p.id: p for p in self.paragraphs}[pid]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for fn, raw in zip(self.footnotes, data["footnotes"], strict=True):
            raw["id"] = fn.id
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Paper:
        paragraphs = [
            Paragraph(
                **{k: v for k, v in p.items() if k != "markers"},
                markers=[Marker(**m) for m in p["markers"]],
            )
            for p in data["paragraphs"]
        ]
        footnotes = [Footnote(**{k: v for k, v in f.items() if k != "id"}) for f in data["footnotes"]]
        return cls(
            title=data["title"],
            source=data["source"],
            page_count=data["page_count"],
            printed_pages=data["printed_pages"],
            sections=data["sections"],
            paragraphs=paragraphs,
            footnotes=footnotes,
        )


def footnote_id(page: int, number: int) -> str:
    return f"p{page}-fn{number}"


# --------------------------------------------------------------------------- line classification


@dataclass
class _Line:
    page: int
    text: str


@dataclass
class _RawPage:
    body: list[str] = field(default_factory=list)
    footnotes: list[list[str]] = field(default_factory=list)  # each: [number-line, continuation...]
    footnote_numbers: list[int] = field(default_factory=list)
    page_number_before: int | None = None  # a bare page-number line just before this page


def _looks_like_footnote_continuation(previous_footnote: list[str] | None, line: str) -> bool:
    """A page may open with the tail of the previous page's last footnote (English, unterminated)."""
    if not previous_footnote:
        return False
    tail = previous_footnote[-1].rstrip()
    if tail.endswith(("。", ".", "）", ")")) and not tail.endswith("https://"):
        return False
    return cjk_ratio(line) < 0.3


def _split_pages(lines: list[str]) -> list[_RawPage]:
    """Group non-empty lines into pages; drop running headers and page numbers; separate footnotes."""
    pages: list[_RawPage] = []
    pending_break = True
    pending_number: int | None = None
    carried: list[str] | None = None  # the previous page's last footnote while its tail is being read
    for raw in lines:
        if not raw.strip():
            continue
        stripped = raw.strip()
        if stripped == RUNNING_HEADER or PAGE_NUMBER_RE.match(stripped):
            if PAGE_NUMBER_RE.match(stripped):
                pending_number = int(stripped)
            pending_break = True
            continue
        if pending_break or raw.startswith((" ", "\u3000", "\f")):
            carried = pages[-1].footnotes[-1] if pages and pages[-1].footnotes else None
            pages.append(_RawPage(page_number_before=pending_number))
            pending_break = False
            pending_number = None
        if carried is not None and _looks_like_footnote_continuation(carried, stripped):
            carried.append(stripped)
            continue
        carried = None
        page = pages[-1]
        start = FOOTNOTE_START_RE.match(stripped)
        if start:
            page.footnotes.append([stripped])
            page.footnote_numbers.append(int(start.group(1)))
        elif page.footnotes:
            page.footnotes[-1].append(stripped)
        else:
            page.body.append(stripped)
    return pages


def _printed_pages(pages: list[_RawPage]) -> list[int | None]:
    """Printed page numbers from any bare page-number line (it stands at the top of its page)."""
    for index, page in enumerate(pages):
        if page.page_number_before is not None:
            offset = page.page_number_before - (index + 1)
            return [i + 1 + offset for i in range(len(pages))]
    return [None] * len(pages)


def _local_full_widths(lines: list[_Line]) -> list[float]:
    """The width of a full line near each line (same page): justified lines vary by a few half-cells."""
    widths = [display_width(line.text) for line in lines]
    out = []
    for i, line in enumerate(lines):
        lo, hi = max(0, i - FULL_WIDTH_WINDOW), min(len(lines), i + FULL_WIDTH_WINDOW + 1)
        same_page = [widths[j] for j in range(lo, hi) if lines[j].page == line.page]
        out.append(max(same_page))
    return out


def _heading(text: str) -> tuple[int, str] | None:
    if display_width(text) > 30:
        return None
    m = HEADING1_RE.match(text)
    if m:
        return 1, f"{m.group(1)}、{m.group(2).strip()}"
    m = HEADING2_RE.match(text)
    if m:
        return 2, f"（{m.group(1)}）{m.group(2).strip()}"
    return None


def _footnote_kind(text: str) -> str:
    """Reference (names a work: quoted title, URL, pages) or explanatory note (prose that carries content)."""
    has_title = bool(re.search(r"[“\"《].+?[”\"》]", text))
    has_locator = bool(re.search(r"https?://|第\s*\d+(-\d+)?\s*页|pp?\.\s*\d", text))
    if has_title or has_locator:
        return "reference"
    return "note"


def _remove_markers(text: str, page: int, base: int) -> tuple[str, list[tuple[int, int, int]]]:
    """Strip `[n]` markers from a line; return clean text and (offset, page, n) for each."""
    out: list[str] = []
    found: list[tuple[int, int, int]] = []
    pos = 0
    length = 0
    for m in MARKER_RE.finditer(text):
        chunk = text[pos : m.start()]
        out.append(chunk)
        length += len(chunk)
        found.append((base + length, page, int(m.group(1))))
        pos = m.end()
        # "较少。[1] 从国内" -> drop the space the marker left between Chinese characters
        if pos < len(text) and text[pos] == " " and out and out[-1][-1:] and not out[-1][-1].isascii():
            pos += 1
    out.append(text[pos:])
    return "".join(out), found


def parse_text(text: str, source: str = "") -> Paper:
    """Parse PDF-extracted paper text (one line per PDF line) into a Paper."""
    if "\x00" in text:
        raise PaperError("input looks binary (NUL bytes), not extracted text")
    lines = text.splitlines()
    if not any(line.strip() for line in lines):
        raise PaperError("input is empty")
    pages = _split_pages(lines)
    printed = _printed_pages(pages)
    footnotes: dict[str, Footnote] = {}
    for index, page in enumerate(pages, start=1):
        for number, fn_lines in zip(page.footnote_numbers, page.footnotes, strict=True):
            body = FOOTNOTE_START_RE.match(fn_lines[0])
            joined = body.group(2) if body else fn_lines[0]
            for cont in fn_lines[1:]:
                joined = join_wrapped(joined, cont)
            fid = footnote_id(index, number)
            if fid in footnotes:
                raise PaperError(f"page {index} has two footnotes numbered {number}")
            footnotes[fid] = Footnote(index, number, printed[index - 1], joined.strip(), _footnote_kind(joined))
    if not footnotes:
        raise PaperError("no footnotes found (expected lines starting with '[n]' + U+3000)")

    body_lines = [_Line(i, t) for i, page in enumerate(pages, start=1) for t in page.body]
    full_widths = _local_full_widths(body_lines)
    paragraphs: list[Paragraph] = []
    sections: list[list[str]] = []
    section: list[str] = []
    current: list[_Line] = []

    def flush() -> None:
        if current:
            paragraphs.append(_make_paragraph(len(paragraphs), current, section, printed, footnotes))
            current.clear()

    for line, full_width in zip(body_lines, full_widths, strict=True):
        width = display_width(line.text)
        short = width < full_width - PARAGRAPH_END_SLACK
        head = _heading(line.text) if short and not line.text.endswith("。") else None
        if head:
            flush()
            level, name = head
            section = [*section[: level - 1], name] if level <= len(section) + 1 else [name]
            sections.append(list(section))
            continue
        if not current and ABSTRACT_RE.match(line.text):
            section = ["提要"]
            line = _Line(line.page, ABSTRACT_RE.sub("", line.text))
        current.append(line)
        if short and MARKER_RE.sub("", line.text).rstrip().endswith(PARAGRAPH_CLOSERS):
            flush()
            if section == ["提要"]:
                section = []  # the introduction that follows the abstract has no heading
    flush()
    _check_markers(paragraphs, footnotes)
    return Paper(
        title=RUNNING_HEADER,
        source=source,
        page_count=len(pages),
        printed_pages=printed,
        sections=sections,
        paragraphs=paragraphs,
        footnotes=list(footnotes.values()),
    )


def _make_paragraph(
    index: int,
    lines: list[_Line],
    section: list[str],
    printed: list[int | None],
    footnotes: dict[str, Footnote],
) -> Paragraph:
    text = ""
    markers: list[Marker] = []
    page_starts: list[list[int]] = []
    for line in lines:
        clean, found = _remove_markers(line.text, line.page, 0)
        joined = join_wrapped(text, clean)
        base = len(joined) - len(clean.lstrip())
        if not page_starts or page_starts[-1][1] != line.page:
            page_starts.append([base, line.page])
        text = joined
        for offset, page, number in found:
            fid = footnote_id(page, number)
            markers.append(Marker(fid, page, number, min(base + offset, len(text))))
    pid = f"para-{index:03d}"
    for m in markers:
        if m.footnote_id in footnotes and pid not in footnotes[m.footnote_id].cited_by:
            footnotes[m.footnote_id].cited_by.append(pid)
    pages = sorted({line.page for line in lines})
    printed_pages = [printed[p - 1] for p in pages]
    return Paragraph(pid, text, pages, printed_pages, list(section), markers, page_starts)


def _check_markers(paragraphs: list[Paragraph], footnotes: dict[str, Footnote]) -> None:
    dangling = [m.footnote_id for p in paragraphs for m in p.markers if m.footnote_id not in footnotes]
    if dangling:
        raise PaperError(f"markers with no footnote on their page: {', '.join(dangling[:5])}")


def parse_pdf(path: Path) -> Paper:
    """Extract a PDF's text with pypdf, page by page, and parse it like the seed text."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            raise PaperError(f"{path.name}: PDF is encrypted; decrypt it first")
        page_texts = [page.extract_text() or "" for page in reader.pages]
    except PaperError:
        raise
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as exc:
        raise PaperError(f"{path.name}: cannot read PDF ({exc.__class__.__name__}: {exc})") from exc
    lines: list[str] = []
    for text in page_texts:
        page_lines = [ln for ln in text.splitlines() if ln.strip()]
        if page_lines:
            # a leading space marks a new PDF page, exactly as in the seed text
            lines.append(" " + page_lines[0].lstrip())
            lines.extend(page_lines[1:])
    return parse_text("\n".join(lines), source=path.name)


def load_paper(path: Path) -> Paper:
    """Parse a seed `.txt` or a `.pdf` into a Paper; every failure is a PaperError with one clear line."""
    if not path.exists():
        raise PaperError(f"{path}: no such file")
    if path.suffix.lower() == ".pdf" or path.read_bytes()[:5] == b"%PDF-":
        return parse_pdf(path)
    data = path.read_bytes()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PaperError(f"{path.name}: not UTF-8 text (binary file?)") from exc
    return parse_text(text, source=path.name)

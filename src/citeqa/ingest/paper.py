"""Seed text or PDF -> Paper: pages, sections, paragraphs, footnotes and the in-text markers that cite them.

Footnote numbering restarts on every page, so a footnote's identity is (page, number) and a marker `[n]`
resolves to footnote n *of the page the marker sits on*.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from citeqa.textutil import cjk_ratio, continues_url, display_width, join_wrapped

RUNNING_HEADER = "美国制造业回流政策：实施效果与制约因素"
FOOTNOTE_START_RE = re.compile(r"^\[(\d{1,3})\]\u3000(.*)$")
MARKER_RE = re.compile(r"\[(\d{1,3})\](?!\u3000)")
PAGE_NUMBER_RE = re.compile(r"^\d{1,4}$")
HEADING1_RE = re.compile(r"^([一二三四五六七八九十]+)、\s*(.+)$")
HEADING2_RE = re.compile(r"^[（(]\s*([一二三四五六七八九十]+)\s*[)）]\s*(.+)$")
ABSTRACT_RE = re.compile(r"^〔提\s*要〕\s*")
# Layout of a paragraph: its first line is indented by two cells, its last line is usually short.
# A line this much narrower than a full line is "short"; justified lines vary by about a cell.
PARAGRAPH_END_SLACK = 1.5
PARAGRAPH_INDENT = 2.0
PARAGRAPH_CLOSERS = ("。", "！", "？", "”", "）", "：", ".")
LATIN_RUN_RE = re.compile(r"[ -~]+")
# a page needs this many all-Chinese lines to measure its own full width; otherwise the paper's is used
MIN_LINES_FOR_PAGE_WIDTH = 5


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
    """A page may open with the tail of the previous page's last footnote: the rest of a wrapped URL
    ("https://home." + "treasury.gov/..."), or Latin text carrying on an unfinished footnote."""
    if not previous_footnote:
        return False
    tail = previous_footnote[-1].rstrip()
    if continues_url(tail, line):
        return True
    if tail.endswith(("。", ".", "）", ")")):
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


def _measure(text: str) -> tuple[float, float]:
    """Width of a body line and how unsure that width is.

    Markers are superscripts (not counted); Chinese punctuation such as “ ” — is set full width. Latin runs
    (numbers, names) count half a cell per character, which is off by up to a quarter cell per run: digits are
    proportional and the typesetter puts gaps of its own around them.
    """
    clean = MARKER_RE.sub("", text).strip()
    return display_width(clean, ambiguous=1.0), 0.25 * len(LATIN_RUN_RE.findall(clean))


def _full_widths(lines: list[_Line], measures: list[tuple[float, float]]) -> dict[int, float]:
    """The width of a full line on each page: the most common width of its all-Chinese lines (measured exactly).

    The abstract may be set narrower than the body, so each page gets its own when it has enough such lines.
    """
    exact: dict[int, list[float]] = {}
    for line, (width, unsure) in zip(lines, measures, strict=True):
        if unsure == 0 and _heading(line.text) is None:
            exact.setdefault(line.page, []).append(round(width * 2) / 2)

    def mode(widths: list[float]) -> float:
        counts = Counter(widths)
        return max(counts, key=lambda w: (counts[w], w))  # ties: the wider one

    everything = [w for widths in exact.values() for w in widths]
    if everything:
        paper_width = mode(everything)
    else:  # no all-Chinese line at all: fall back to the widest lines
        ranked = sorted(w for w, _ in measures)
        paper_width = ranked[int(0.75 * (len(ranked) - 1))] if ranked else 0.0
    pages = {line.page for line in lines}
    return {
        page: mode(exact[page]) if len(exact.get(page, [])) >= MIN_LINES_FOR_PAGE_WIDTH else paper_width
        for page in pages
    }


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
    """Strip `[n]` markers from a line; return clean text and (offset, page, n) for each.

    The spaces a marker leaves between Chinese characters are layout, not text: "较少。[1] 从国内" ->
    "较少。从国内", "规则 [1] 条款" -> "规则条款"; between Latin words one space stays.
    """
    out = ""
    found: list[tuple[int, int, int]] = []
    pos = 0
    for m in MARKER_RE.finditer(text):
        out += text[pos : m.start()]
        pos = m.end()
        spaces_after = len(text[pos:]) - len(text[pos:].lstrip(" "))
        before = out.rstrip(" ")
        if before and not before[-1].isascii():  # Chinese text or punctuation before the marker
            out = before
            pos += spaces_after
        elif before != out and spaces_after:  # "rivalry [2] and": one space stays, after the marker
            out = before
            pos += spaces_after - 1
        found.append((base + len(out), page, int(m.group(1))))
    out += text[pos:]
    return out, found


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
    measures = [_measure(line.text) for line in body_lines]
    full_by_page = _full_widths(body_lines, measures)

    def is_short(i: int) -> bool:
        width, unsure = measures[i]
        return width + unsure < full_by_page[body_lines[i].page] - PARAGRAPH_END_SLACK

    def is_indented(i: int) -> bool:
        """Narrower than a full line by about the two-cell paragraph indent."""
        if i >= len(body_lines):
            return False
        width, unsure = measures[i]
        full = full_by_page[body_lines[i].page]
        low, high = full - PARAGRAPH_INDENT - PARAGRAPH_END_SLACK, full - PARAGRAPH_END_SLACK
        return low <= width - unsure and width + unsure <= high

    paragraphs: list[Paragraph] = []
    sections: list[list[str]] = []
    section: list[str] = []
    current: list[_Line] = []

    def flush() -> None:
        if current:
            paragraphs.append(_make_paragraph(len(paragraphs), current, section, printed, footnotes))
            current.clear()

    for i, line in enumerate(body_lines):
        short = is_short(i)
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
        # a paragraph ends with a sentence, on a short line or just before an indented one
        ends_sentence = MARKER_RE.sub("", line.text).rstrip().endswith(PARAGRAPH_CLOSERS)
        if ends_sentence and (short or is_indented(i + 1)):
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


@contextmanager
def _quiet_pypdf() -> Iterator[None]:
    """pypdf logs a warning per damaged object; the user gets one error line instead."""
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _extract_pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        with _quiet_pypdf():
            reader = PdfReader(str(path))
            # an empty user password (print/copy restrictions only) opens without asking anyone
            if reader.is_encrypted and not reader.decrypt(""):
                raise PaperError(f"{path.name}: PDF is encrypted with a password; decrypt it first")
            return [page.extract_text() or "" for page in reader.pages]
    except PaperError:
        raise
    except PdfReadError as exc:
        raise PaperError(f"{path.name}: cannot read PDF ({_one_line(exc)})") from exc
    except Exception as exc:  # a damaged PDF can fail anywhere inside pypdf; it is still bad input
        raise PaperError(f"{path.name}: cannot read PDF ({exc.__class__.__name__}: {_one_line(exc)})") from exc


def parse_pdf(path: Path) -> Paper:
    """Extract a PDF's text with pypdf, page by page, and parse it like the seed text."""
    page_texts = _extract_pdf_pages(path)
    if not any(text.strip() for text in page_texts):
        raise PaperError(f"{path.name}: the PDF has no extractable text (scanned images?)")
    lines: list[str] = []
    for text in page_texts:
        page_lines = [ln for ln in text.splitlines() if ln.strip()]
        if page_lines:
            # a leading space marks a new PDF page, exactly as in the seed text
            lines.append(" " + page_lines[0].lstrip())
            lines.extend(page_lines[1:])
    return parse_text("\n".join(lines), source=path.name)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or exc.__class__.__name__


def load_paper(path: Path) -> Paper:
    """Parse a seed `.txt` or a `.pdf` into a Paper; every failure is a PaperError with one clear line."""
    if not path.exists():
        raise PaperError(f"{path}: no such file")
    if not path.is_file():
        raise PaperError(f"{path}: not a file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PaperError(f"{path}: cannot read ({exc.strerror or exc})") from exc
    if path.suffix.lower() == ".pdf" or data[:5] == b"%PDF-":
        return parse_pdf(path)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PaperError(f"{path.name}: not UTF-8 text (binary file?)") from exc
    return parse_text(text, source=path.name)

"""The Gradio app: chat with footnote citations, citation lookup, and an "About this corpus" panel.

Two layers:
- *view functions* (``render_*``, ``footnote_records`` …) are pure: data in, escaped HTML out. Every piece of text
  that came from a user or from the corpus goes through ``esc`` or ``linkify``; only http(s) URLs become links,
  always with ``rel="noopener noreferrer"``. They are unit-tested without a browser.
- ``ChatService`` holds the loaded ``Assistant`` and turns UI events into view-function calls; it never raises
  to Gradio (errors are logged server-side, users see one friendly line). ``build_app`` wires it into Blocks.

The Assistant is read-only after loading. Calls into it are serialized by a lock by default (``serialize=True``):
requests take milliseconds, the machine has two cores, and the embedders' native code is not documented as
thread-safe; benchmarks/load_chat.py measures the queue with 20 simultaneous users.
"""

from __future__ import annotations

import html
import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa.answer import Answer, Citation, Evidence, QuestionError, clean_question
from citeqa.chunking import split_sentences
from citeqa.followup import Condensed, condense
from citeqa.settings import Settings
from citeqa.textutil import URL_RE, strip_trailing_punct

log = logging.getLogger("citeqa.app")

EXAMPLES: tuple[str, ...] = (
    "what local-content threshold does USMCA set",
    "How much did the CHIPS and Science Act allocate to the manufacturing incentives program?",
    "What constrains the reshoring of US manufacturing?",
    "《通胀削减法》对购买新能源汽车提供多少补贴？",
    "美国制造业回流面临哪些制约因素？",
    "拜登政府如何加强“买美国货”规定？",
)
NOT_COVERED_TITLE = "Not covered by this paper · 本文未涉及"
MAX_TURNS = 30  # chat history kept per session (older turns drop off the top)
USER_ECHO_CHARS = 400  # a very long message is echoed shortened
CONCURRENCY = 8  # Gradio workers per event; calls into the Assistant are serialized by a lock anyway
QUEUE_MAX = 256  # requests waiting beyond this get "queue full" instead of growing memory
LOOKUP_PASSAGES = 6
GENERIC_ERROR = "Something went wrong while answering. The error was logged; please try again or rephrase."

# --------------------------------------------------------------------------- escaping primitives


def esc(text: object) -> str:
    """HTML-escape text for element content and attribute values (quotes included)."""
    return html.escape("" if text is None else str(text), quote=True)


def safe_url(url: str) -> str | None:
    """The URL when it is a plain http(s) URL, else None (never a javascript: or data: link)."""
    url = (url or "").strip()
    if re.fullmatch(r"https?://[^\s\"'<>`]+", url):
        return url
    return None


def link(url: str, label: str | None = None) -> str:
    """An external link that opens in a new tab and cannot reach back to this page."""
    ok = safe_url(url)
    if ok is None:
        return esc(label if label is not None else url)
    return f'<a href="{esc(ok)}" target="_blank" rel="noopener noreferrer">{esc(label if label else ok)}</a>'


def linkify(text: str) -> str:
    """Escape text and turn the http(s) URLs inside it into links."""
    out: list[str] = []
    pos = 0
    for m in URL_RE.finditer(text or ""):
        url = strip_trailing_punct(m.group(0))
        out.append(esc(text[pos : m.start()]))
        out.append(link(url))
        pos = m.start() + len(url)
    out.append(esc((text or "")[pos:]))
    return "".join(out)


def page_label(printed_page: int | None, page: int) -> str:
    """ "p. 57" for the page printed in the journal, else the PDF page."""
    return f"p. {printed_page}" if printed_page else f"PDF page {page}"


def _lang(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text or "") else "en"


# --------------------------------------------------------------------------- answer views


def mark_sentences(passage: str, highlights: Iterable[str]) -> str:
    """Escape the passage and wrap every occurrence of the highlighted sentences in <mark>."""
    spans: list[tuple[int, int]] = []
    for sentence in highlights:
        sentence = (sentence or "").strip()
        if not sentence:
            continue
        start = passage.find(sentence)
        while start != -1:
            spans.append((start, start + len(sentence)))
            start = passage.find(sentence, start + len(sentence))
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, pos = [], 0
    for start, end in merged:
        out.append(esc(passage[pos:start]))
        out.append(f"<mark>{esc(passage[start:end])}</mark>")
        pos = end
    out.append(esc(passage[pos:]))
    return "".join(out)


def render_markers(text: str, citations: Sequence[Citation]) -> str:
    """Escape answer text; the citation markers ([1], [2]…) become superscripts naming page and footnote."""
    by_marker = {c.marker: c for c in citations}

    def sup(m: re.Match[str]) -> str:
        c = by_marker.get(m.group(0))
        if c is None:
            return m.group(0)
        title = f"{page_label(c.printed_page, c.page)}, footnote {c.number}"
        return f'<sup class="cq-marker" title="{esc(title)}">{esc(c.marker)}</sup>'

    return re.sub(r"\[\d+\]", sup, esc(text))


def _answer_lines(answer: Answer) -> list[str]:
    """The answer's own sentences: drop the "In English:" line and footnote echoes the cards show anyway."""
    echoes = {f"{c.marker} {c.text}".strip() for c in answer.citations}
    lines = []
    for line in (answer.answer or "").split("\n"):
        stripped = line.strip()
        if not stripped:
            continue
        if answer.english and stripped.startswith("In English:"):
            continue
        if stripped in echoes:
            continue
        lines.append(stripped)
    return lines


def render_english(pairs: Sequence[Sequence[str]]) -> str:
    """The bilingual block: the paper's Chinese wording next to its English rendering."""
    if not pairs:
        return ""
    rows = "".join(
        f'<tr><td lang="zh">{esc(zh)}</td><td class="cq-arrow">→</td><td>{esc(en)}</td></tr>' for zh, en in pairs
    )
    return (
        '<div class="cq-english"><div class="cq-label">In English — names and figures in this answer</div>'
        f'<table class="cq-pairs">{rows}</table></div>'
    )


def _source_line(source: Any) -> str:
    parts = [p for p in (source.authors, source.title and f"“{source.title}”", source.container, source.date) if p]
    return esc(", ".join(parts))


def render_citation(
    citation: Citation, sources: Sequence[Any] = (), shown: Sequence[str] = (), passage: str = ""
) -> str:
    """One citation card: marker, printed page, footnote number, the full reference, link, and what it backs.

    `shown` are sentences the reader already sees in the answer (no "Backs:" line repeats them); when the footnote
    itself is the quoted `passage`, the card points to it instead of printing the same text twice.
    """
    kind = "explanatory note" if citation.kind == "note" else "reference"
    head = (
        f'<span class="cq-marker-box">{esc(citation.marker)}</span> '
        f"<b>{esc(page_label(citation.printed_page, citation.page))}</b>"
        f' · footnote {esc(citation.number)} · <span class="cq-kind">{kind}</span>'
        f' <span class="cq-id">{esc(citation.footnote_id)}</span>'
    )
    if passage and citation.text.strip() == passage.strip():
        body = '<div class="cq-ref cq-meta">The footnote\'s full text is the supporting passage below.</div>'
    else:
        body = f'<div class="cq-ref" lang="{_lang(citation.text)}">{linkify(citation.text)}</div>'
    extra = ""
    if citation.url and safe_url(citation.url):
        extra += f'<div class="cq-url">Link: {link(citation.url)}</div>'
    for source in sources:
        extra += f'<div class="cq-source">Bibliography: {_source_line(source)}</div>'
    if citation.quote and citation.quote.strip() not in {s.strip() for s in shown}:
        extra += (
            f'<div class="cq-backs">Backs: <span lang="{_lang(citation.quote)}">“{esc(citation.quote)}”</span></div>'
        )
    return f'<li class="cq-cite">{head}{body}{extra}</li>'


def _passage_evidence(answer: Answer) -> Evidence | None:
    return next((e for e in answer.evidence if e.text == answer.quote), None)


def render_passage(answer: Answer) -> str:
    """The quoted supporting passage with the answer sentences highlighted."""
    if not answer.quote:
        return ""
    where = ""
    ev = _passage_evidence(answer)
    if ev is not None:
        kind = "footnote" if ev.kind == "footnote" else "paragraph"
        where = f" — {esc(page_label(ev.printed_page, ev.page))}, {kind}"
        if ev.section:
            where += f' · <span lang="zh">{esc(ev.section)}</span>'
    return (
        f'<div class="cq-passage"><div class="cq-label">Supporting passage{where}</div>'
        f'<blockquote lang="{_lang(answer.quote)}">{mark_sentences(answer.quote, answer.highlight)}</blockquote></div>'
    )


def render_evidence(evidence: Sequence[Evidence], title: str, limit: int | None = None, open_: bool = False) -> str:
    """A collapsible list of retrieved passages (rank, page, kind, score)."""
    items = list(evidence)[:limit] if limit else list(evidence)
    if not items:
        return ""
    rows = []
    for e in items:
        text = e.text if len(e.text) <= 240 else e.text[:240] + "…"
        via = " (cited by a retrieved passage)" if e.via == "cited" else ""
        rows.append(
            f'<li><span class="cq-meta">#{e.rank} · {esc(page_label(e.printed_page, e.page))} · {esc(e.kind)}'
            f' {esc(e.id)} · score {e.score:.3f}{via}</span><div lang="{_lang(text)}">{linkify(text)}</div></li>'
        )
    return (
        f'<details class="cq-evidence"{" open" if open_ else ""}><summary>{esc(title)} ({len(items)})</summary>'
        f"<ol>{''.join(rows)}</ol></details>"
    )


def render_condensed(condensed: Condensed | None) -> str:
    if condensed is None or not condensed.is_followup:
        return ""
    return (
        f'<div class="cq-condensed">Follow-up read as: <i lang="{_lang(condensed.question)}">'
        f"{esc(condensed.question)}</i></div>"
    )


def render_not_covered(answer: Answer, condensed: Condensed | None = None) -> str:
    """The refusal card: says plainly that the paper does not answer this, shows the nearest passages folded."""
    text = answer.answer or ""
    if text.startswith("Not covered by this paper:"):
        text = text.removeprefix("Not covered by this paper:").strip()
        text = text[:1].upper() + text[1:]
    reason = getattr(answer, "refusal_reason", "") or ""
    detail = f'<div class="cq-meta">{esc(reason)}</div>' if reason and reason not in text else ""
    return (
        '<div class="cq-card cq-notcovered">'
        f"{render_condensed(condensed)}"
        f'<div class="cq-nc-title">{NOT_COVERED_TITLE}</div>'
        f'<div class="cq-answer" lang="{_lang(text)}">{esc(text)}</div>{detail}'
        f"{render_evidence(answer.evidence, 'Nearest passages (too weak to answer from)', limit=3)}"
        "</div>"
    )


def render_answer(
    answer: Answer,
    sources_for: Callable[[str], Sequence[Any]] | None = None,
    condensed: Condensed | None = None,
) -> str:
    """An answer card: text with inline markers, bilingual block, citation cards, highlighted passage, evidence."""
    if not answer.answered:
        return render_not_covered(answer, condensed)
    body = "".join(
        f'<p lang="{_lang(line)}">{render_markers(line, answer.citations)}</p>' for line in _answer_lines(answer)
    )
    label = "Answer (the paper's words)" if answer.language != "zh" else "回答（原文）"
    cites = "".join(
        render_citation(c, sources_for(c.footnote_id) if sources_for else (), answer.highlight, answer.quote)
        for c in answer.citations
    )
    cites_html = (
        f'<div class="cq-label">Footnotes cited</div><ol class="cq-cites">{cites}</ol>'
        if cites
        else '<div class="cq-meta">No footnote backs this passage directly.</div>'
    )
    warnings = "".join(f'<div class="cq-meta">Note: {esc(w)}</div>' for w in answer.warnings)
    return (
        '<div class="cq-card">'
        f"{render_condensed(condensed)}"
        f'<div class="cq-label">{label}</div><div class="cq-answer">{body}</div>'
        f"{render_english(answer.english)}{cites_html}{render_passage(answer)}{warnings}"
        f"{render_evidence(answer.evidence, 'All retrieved evidence')}"
        "</div>"
    )


def render_user(message: str) -> str:
    """The user's message as text: escaped, shortened when very long."""
    text = message or ""
    if len(text) > USER_ECHO_CHARS:
        text = f"{text[:USER_ECHO_CHARS]}… ({len(message)} characters)"
    return f'<div class="cq-user" lang="{_lang(text)}">{esc(text)}</div>'


def render_error(message: str) -> str:
    return f'<div class="cq-card cq-error">{esc(message)}</div>'


# --------------------------------------------------------------------------- lookup and browse views


@dataclass
class CitingSentence:
    paragraph_id: str
    page: int
    printed_page: int | None
    text: str


@dataclass
class FootnoteRecord:
    id: str
    page: int
    printed_page: int | None
    number: int
    kind: str
    text: str
    citing: list[CitingSentence]
    sources: list[Any] = field(default_factory=list)

    @property
    def haystack(self) -> str:
        parts = [self.id, self.text, self.kind, f"p. {self.printed_page}", f"footnote {self.number}"]
        parts += [c.text for c in self.citing]
        parts += [f"{s.authors} {s.title} {s.container} {s.date}" for s in self.sources]
        return " ".join(parts).lower()


def citing_sentences(paper: Any, footnote_id: str, cited_by: Sequence[str]) -> list[CitingSentence]:
    """The sentences of the paper that carry the footnote's marker, with the page each sits on."""
    out = []
    for pid in cited_by:
        paragraph = paper.paragraph(pid)
        for s in split_sentences(paragraph):
            if footnote_id in s.footnote_ids:
                printed = paper.printed_pages[s.page - 1] if 0 < s.page <= len(paper.printed_pages) else None
                out.append(CitingSentence(pid, s.page, printed, s.text))
    return out


def footnote_records(corpus: Any) -> list[FootnoteRecord]:
    """Every footnote with where the paper cites it and the bibliography entries built from it."""
    paper = corpus.paper
    return [
        FootnoteRecord(
            id=fn.id,
            page=fn.page,
            printed_page=fn.printed_page,
            number=fn.number,
            kind=fn.kind,
            text=fn.text,
            citing=citing_sentences(paper, fn.id, fn.cited_by),
            sources=corpus.source_for_footnote(fn.id),
        )
        for fn in paper.footnotes
    ]


def _query_terms(query: str) -> list[str]:
    return [t for t in re.split(r"\s+", (query or "").strip().lower()) if t]


def filter_footnotes(records: Sequence[FootnoteRecord], query: str = "", kind: str = "all") -> list[FootnoteRecord]:
    """Records matching every whitespace-separated term (case-insensitive), optionally of one kind."""
    terms = _query_terms(query)
    out = []
    for r in records:
        if kind in ("reference", "note") and r.kind != kind:
            continue
        hay = r.haystack
        if all(t in hay for t in terms):
            out.append(r)
    return out


def render_citing(citing: Sequence[CitingSentence]) -> str:
    if not citing:
        return '<div class="cq-meta">Not cited in the body text.</div>'
    items = "".join(
        f'<li><b>{esc(page_label(c.printed_page, c.page))}</b> <span class="cq-id">{esc(c.paragraph_id)}</span> '
        f'<span lang="{_lang(c.text)}">“{esc(c.text)}”</span></li>'
        for c in citing
    )
    return f'<div class="cq-label">Cited in the paper at</div><ul class="cq-citing">{items}</ul>'


def render_footnote_record(r: FootnoteRecord) -> str:
    kind = "explanatory note" if r.kind == "note" else "reference"
    head = (
        f"<b>{esc(page_label(r.printed_page, r.page))}</b> · footnote {esc(r.number)} · "
        f'<span class="cq-kind">{kind}</span> <span class="cq-id">{esc(r.id)}</span>'
    )
    sources = "".join(f'<div class="cq-source">Bibliography: {_source_line(s)}</div>' for s in r.sources)
    return (
        f'<div class="cq-card cq-fn" data-footnote="{esc(r.id)}"><div>{head}</div>'
        f'<div class="cq-ref" lang="{_lang(r.text)}">{linkify(r.text)}</div>{sources}{render_citing(r.citing)}</div>'
    )


def render_footnote_list(records: Sequence[FootnoteRecord], query: str = "", kind: str = "all") -> str:
    shown = filter_footnotes(records, query, kind)
    what = f" matching “{esc(query.strip())}”" if query and query.strip() else ""
    noun = {"note": "explanatory notes", "reference": "reference footnotes"}.get(kind, "footnotes")
    total = len([r for r in records if kind not in ("note", "reference") or r.kind == kind])
    head = f'<div class="cq-count">{len(shown)} of {total} {noun}{what}</div>'
    if not shown:
        return head + '<div class="cq-meta">No footnote matches. Try fewer or other words (English or Chinese).</div>'
    return head + '<div class="cq-scroll">' + "".join(render_footnote_record(r) for r in shown) + "</div>"


def filter_sources(sources: Sequence[Any], query: str = "") -> list[Any]:
    terms = _query_terms(query)
    out = []
    for s in sources:
        hay = " ".join(
            [s.id, s.authors, s.title, s.container, s.date, s.url, *s.footnotes, *s.raw, *s.variant_titles]
        ).lower()
        if all(t in hay for t in terms):
            out.append(s)
    return out


def render_source_list(corpus: Any, records: Sequence[FootnoteRecord], query: str = "") -> str:
    """Bibliography entries with the footnotes that cite them and where those footnotes sit in the paper."""
    by_id = {r.id: r for r in records}
    shown = filter_sources(corpus.sources, query)
    what = f" matching “{esc(query.strip())}”" if query and query.strip() else ""
    out = [
        f'<div class="cq-count">{len(shown)} of {len(corpus.sources)} sources{what}</div>',
        '<div class="cq-scroll">',
    ]
    if not shown:
        out.append('<div class="cq-meta">No source matches. Try fewer or other words (English or Chinese).</div>')
    for s in shown:
        meta = [esc(s.authors)] if s.authors else []
        if s.container:
            meta.append(f"<i>{esc(s.container)}</i>")
        if s.date:
            meta.append(esc(s.date))
        if s.pages:
            meta.append("pp. " + esc("; ".join(s.pages)))
        url = f'<div class="cq-url">{link(s.url)}</div>' if s.url and safe_url(s.url) else ""
        cited = []
        for fid in s.footnotes:
            r = by_id.get(fid)
            if r is None:
                continue
            cited.append(
                f"<div><b>footnote {esc(r.number)}, {esc(page_label(r.printed_page, r.page))}</b>"
                f' <span class="cq-id">{esc(r.id)}</span>{render_citing(r.citing)}</div>'
            )
        out.append(
            f'<div class="cq-card cq-src" data-source="{esc(s.id)}">'
            f'<div class="cq-src-title" lang="{_lang(s.title)}">{esc(s.title or "(untitled)")}</div>'
            f'<div class="cq-meta">{" · ".join(meta)}</div>{url}{"".join(cited)}</div>'
        )
    out.append("</div>")
    return "".join(out)


def render_lookup(query: str, hits: Sequence[Any], paper: Any, in_scope: bool = True) -> str:
    """Claim lookup: the passages that support a claim (their footnote markers shown) and those footnotes."""
    if not hits:
        return '<div class="cq-meta">Nothing found.</div>'
    out = [f'<div class="cq-count">Passages for “{esc(query)}”</div>', '<div class="cq-scroll">']
    if not in_scope:
        out.append(
            '<div class="cq-card cq-notcovered"><div class="cq-nc-title">Weak match</div>'
            "No passage is close to this wording; these are the nearest ones. Check them before citing.</div>"
        )
    shown = 0
    seen_fn: set[str] = set()
    for hit in hits:
        unit = hit.unit
        if unit.kind != "paragraph" or shown >= LOOKUP_PASSAGES:
            continue
        shown += 1
        parts = []
        for s in unit.sentences:
            marks = "".join(
                f'<sup class="cq-marker" title="{esc(fid)}">fn {esc(paper.footnote(fid).number)}</sup>'
                for fid in s.footnote_ids
            )
            parts.append(f"{esc(s.text)}{marks}")
        fns = "".join(_footnote_line(paper.footnote(fid)) for fid in unit.footnote_ids)
        seen_fn.update(unit.footnote_ids)
        section = " / ".join(unit.section)
        out.append(
            f'<div class="cq-card cq-hit"><div class="cq-meta"><b>{esc(page_label(unit.printed_page, unit.page))}</b>'
            f' · <span lang="zh">{esc(section)}</span> · {esc(unit.id)}</div>'
            f'<blockquote lang="zh">{"".join(parts)}</blockquote>'
            + (f'<div class="cq-label">Its footnotes</div><ul class="cq-fnlist">{fns}</ul>' if fns else "")
            + "</div>"
        )
    direct = [h.unit for h in hits if h.unit.kind == "footnote" and h.unit.id not in seen_fn]
    if direct:
        items = "".join(_footnote_line(paper.footnote(u.id)) for u in direct)
        out.append(
            f'<div class="cq-card"><div class="cq-label">Footnotes matching the claim</div>'
            f'<ul class="cq-fnlist">{items}</ul></div>'
        )
    out.append("</div>")
    return "".join(out)


def _footnote_line(fn: Any) -> str:
    return (
        f"<li><b>{esc(page_label(fn.printed_page, fn.page))}, footnote {esc(fn.number)}</b> "
        f'<span class="cq-id">{esc(fn.id)}</span> <span lang="{_lang(fn.text)}">{linkify(fn.text)}</span></li>'
    )


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def render_about(corpus: Any, settings: Settings, manifest: dict[str, Any], index_path: Path | str = "") -> str:
    """Title, pages, counts, and the settings and manifest of the index being served."""
    paper = corpus.paper
    printed = [p for p in paper.printed_pages if p]
    pages = f"{paper.page_count} PDF pages"
    if printed:
        pages += f" (printed pages {printed[0]}–{printed[-1]})"
    notes = sum(1 for f in paper.footnotes if f.kind == "note")
    markers = sum(len(p.markers) for p in paper.paragraphs)
    facts = [
        ("Paper", f'<span lang="zh">{esc(paper.title)}</span>'),
        ("Pages", esc(pages)),
        ("Paragraphs", esc(len(paper.paragraphs))),
        (
            "Footnotes",
            esc(
                f"{len(paper.footnotes)} ({_n(notes, 'explanatory note')}, "
                f"{_n(len(paper.footnotes) - notes, 'reference')})"
            ),
        ),
        ("In-text markers", esc(markers)),
        ("Cited sources", esc(f"{len(corpus.sources)} in the bibliography")),
    ]
    rows = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    settings_rows = "".join(
        f"<tr><th>{esc(k)}</th><td><code>{esc(json.dumps(v, ensure_ascii=False))}</code></td></tr>"
        for k, v in settings.public_dict().items()
    )
    manifest_rows = "".join(
        f"<tr><th>{esc(k)}</th><td><code>{esc(json.dumps(v, ensure_ascii=False))}</code></td></tr>"
        for k, v in manifest.items()
    )
    where = f'<div class="cq-meta">Index: <code>{esc(index_path)}</code></div>' if index_path else ""
    return (
        f'<div class="cq-card"><div class="cq-label">This corpus</div><table class="cq-table">{rows}</table></div>'
        f'<div class="cq-card"><div class="cq-label">Index manifest</div>{where}'
        f'<table class="cq-table">{manifest_rows}</table></div>'
        f'<div class="cq-card"><div class="cq-label">Retrieval and answer settings</div>'
        f'<table class="cq-table">{settings_rows}</table></div>'
    )


# --------------------------------------------------------------------------- service (UI events -> views)


def new_session() -> dict[str, Any]:
    return {"messages": [], "topic": ""}


class ChatService:
    """Holds the loaded Assistant and answers UI events; never raises to the UI."""

    def __init__(self, assistant: Any, serialize: bool = True) -> None:
        self.assistant = assistant
        self.settings: Settings = assistant.settings
        self.corpus = assistant.corpus
        self._lock: Any = threading.Lock() if serialize else _NoLock()
        self.records = footnote_records(self.corpus)
        self._sources_by_fn: dict[str, list[Any]] = {r.id: r.sources for r in self.records}

    # -- chat
    def sources_for(self, footnote_id: str) -> list[Any]:
        return self._sources_by_fn.get(footnote_id, [])

    def answer_html(self, question: str, condensed: Condensed | None = None) -> tuple[str, bool]:
        """(HTML of the answer card, whether the question was accepted)."""
        try:
            with self._lock:
                answer = self.assistant.ask(question)
            return render_answer(answer, self.sources_for, condensed), True
        except QuestionError as exc:
            return render_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}."), False
        except Exception:
            log.exception("answering %r failed", question[:200])
            return render_error(GENERIC_ERROR), False

    def respond(self, message: str | None, session: dict[str, Any] | None) -> tuple[str, list[dict[str, str]], dict]:
        """Chat turn: returns (new textbox value, chatbot messages, session state)."""
        session = dict(session or new_session())
        messages = list(session.get("messages", []))
        text = message if isinstance(message, str) else ""
        try:
            clean_question(text, self.settings.max_question_chars)
        except QuestionError as exc:
            if not text.strip():
                _notify("Type a question first (English or Chinese).")
                return "", messages, session
            messages += [
                {"role": "user", "content": render_user(text)},
                {"role": "assistant", "content": render_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.")},
            ]
            session["messages"] = messages[-2 * MAX_TURNS :]
            return "", session["messages"], session
        condensed = condense(text, session.get("topic") or None)
        card, accepted = self.answer_html(condensed.question, condensed)
        messages += [{"role": "user", "content": render_user(text)}, {"role": "assistant", "content": card}]
        session["messages"] = messages[-2 * MAX_TURNS :]
        if accepted:
            session["topic"] = condensed.topic
        return "", session["messages"], session

    def ask_example(self, example: Any, session: dict[str, Any] | None) -> tuple[str, list[dict[str, str]], dict]:
        """An example was clicked: ask it as a new question (examples never condense with history)."""
        value = example[0] if isinstance(example, list | tuple) and example else example
        fresh = dict(session or new_session())
        fresh["topic"] = ""
        return self.respond(str(value or ""), fresh)

    # -- lookup
    def lookup(self, claim: str | None) -> str:
        try:
            text, _ = clean_question(claim or "", self.settings.max_question_chars)
        except QuestionError as exc:
            return render_error(f"{str(exc)[:1].upper()}{str(exc)[1:]}.".replace("question", "claim"))
        try:
            with self._lock:
                retrieval = self.assistant.retriever.retrieve(text)
            return render_lookup(text, retrieval.hits, self.corpus.paper, retrieval.in_scope)
        except Exception:
            log.exception("lookup %r failed", text[:200])
            return render_error(GENERIC_ERROR)

    def browse(self, query: str | None, view: str | None) -> str:
        try:
            query = (query or "")[:200]
            if view and view.startswith("Sources"):
                return render_source_list(self.corpus, self.records, query)
            kind = {"Notes": "note", "References": "reference"}.get(view or "", "all")
            return render_footnote_list(self.records, query, kind)
        except Exception:
            log.exception("browse %r failed", query)
            return render_error(GENERIC_ERROR)

    def about(self) -> str:
        index = self.assistant.retriever.index
        return render_about(self.corpus, self.settings, index.manifest, index.path)


class _NoLock:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _notify(message: str) -> None:
    """A toast in the browser when inside a Gradio event, a log line otherwise."""
    try:
        import gradio as gr
        from gradio.context import LocalContext

        if LocalContext.event_id.get(None) is not None:
            gr.Warning(message)
            return
    except Exception:  # a toast is a nicety: never let it break the turn
        log.debug("toast failed", exc_info=True)
    log.info(message)


# --------------------------------------------------------------------------- Gradio Blocks

CSS = """
.cq-header h1 { margin: 0 0 .2em 0; font-size: 1.5em; }
.cq-header .cq-sub { color: var(--neutral-500); }
.cq-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .7em .9em; margin: .4em 0;
  background: var(--background-fill-primary); line-height: 1.55; }
.cq-label { font-size: .78em; text-transform: uppercase; letter-spacing: .04em; color: var(--neutral-500);
  margin: .8em 0 .25em 0; font-weight: 600; }
.cq-card > .cq-label:first-child, .cq-card > .cq-condensed + .cq-label { margin-top: 0; }
.cq-answer p { margin: .15em 0 !important; font-size: 1.05em; }
.cq-marker, .cq-marker-box { color: var(--color-accent); font-weight: 700; }
.cq-marker { cursor: help; margin-left: 2px; }
ol.cq-cites { margin: .2em 0 !important; padding: 0 !important; list-style: none !important; }
li.cq-cite { margin: .3em 0 .6em 0 !important; padding: 0 0 0 .7em !important;
  border-left: 3px solid var(--color-accent); }
.cq-ref { margin: .15em 0; word-break: break-word; }
.cq-url, .cq-source, .cq-backs { font-size: .9em; margin: .1em 0; word-break: break-all; }
.cq-backs { word-break: normal; color: var(--neutral-500); }
.cq-kind { font-style: italic; }
.cq-id { font-family: var(--font-mono); font-size: .8em; color: var(--neutral-400); }
.cq-meta { font-size: .85em; color: var(--neutral-500); }
.cq-card blockquote { margin: .2em 0 !important; padding: .45em .8em !important;
  border-left: 3px solid #e3b341 !important; background: var(--background-fill-secondary); font-style: normal; }
.cq-card mark { background: #ffe58a; color: #111; padding: 0 .1em; border-radius: 2px; }
.cq-card a { padding: 0 !important; margin: 0 !important; }
.cq-english { margin: .5em 0; }
.cq-card table.cq-pairs, .cq-card table.cq-pairs tr { border: none !important; }
.cq-card table.cq-pairs { border-collapse: collapse; font-size: .95em; width: auto; margin: 0; }
.cq-card table.cq-pairs td { padding: .05em .6em .05em 0 !important; border: none !important; vertical-align: top;
  background: none !important; }
.cq-arrow { color: var(--neutral-400); }
.cq-notcovered { border-color: #d9822b !important; }
.cq-nc-title { font-weight: 700; color: #b35c00; margin-bottom: .2em; }
.cq-error { border-color: #c0392b !important; color: #c0392b; }
.cq-condensed { font-size: .85em; color: var(--neutral-500); margin-bottom: .4em; }
.cq-evidence { margin-top: .6em; font-size: .9em; }
.cq-evidence summary { cursor: pointer; color: var(--neutral-500); }
.cq-evidence ol { margin: .3em 0 0 1.4em !important; padding: 0 !important; }
.cq-evidence li { margin-bottom: .35em; }
.cq-user { white-space: pre-wrap; word-break: break-word; }
.cq-count { font-weight: 600; margin: .3em 0; }
.cq-scroll { max-height: 62vh; overflow-y: auto; padding-right: .3em; }
ul.cq-citing, ul.cq-fnlist { margin: .2em 0 .2em 1.2em !important; padding: 0 !important; }
.cq-citing li, .cq-fnlist li { margin: .2em 0; word-break: break-word; }
.cq-src-title { font-weight: 600; }
.cq-card table.cq-table, .cq-card table.cq-table tr { border: none !important; }
.cq-card table.cq-table { border-collapse: collapse; width: 100%; margin: 0; }
.cq-card table.cq-table th, .cq-card table.cq-table td { border: none !important;
  border-bottom: 1px solid var(--border-color-primary) !important; padding: .25em .8em .25em 0 !important;
  text-align: left; vertical-align: top; background: none !important; }
.cq-card table.cq-table th { white-space: nowrap; width: 14em; font-weight: 600; }
.cq-card table.cq-table td { word-break: break-word; }
"""


# after an answer arrives, bring the start of the latest question into view (long cards would otherwise show
# only their tail, because the chatbot scrolls to the bottom)
SCROLL_TO_LATEST_JS = """() => { setTimeout(() => {
  const asked = document.querySelectorAll('#cq-chat .cq-user');
  if (!asked.length) return;
  const last = asked[asked.length - 1];
  let box = last.parentElement;
  while (box && !(box.scrollHeight > box.clientHeight + 1 && /(auto|scroll)/.test(getComputedStyle(box).overflowY))) {
    box = box.parentElement;
  }
  if (box) box.scrollTop += last.getBoundingClientRect().top - box.getBoundingClientRect().top - 12;
}, 80); }"""


def _header(corpus: Any) -> str:
    paper = corpus.paper
    return (
        '<div class="cq-header"><h1>citeqa — ask the paper, see the footnotes</h1>'
        f'<div class="cq-sub"><span lang="zh">{esc(paper.title)}</span> · {esc(paper.page_count)} pages · '
        f"{esc(len(paper.footnotes))} footnotes · {esc(len(corpus.sources))} cited sources. "
        "Ask in English or Chinese; every answer quotes the paper and cites its footnotes.</div></div>"
    )


def build_app(assistant: Any, serialize: bool = True) -> Any:
    """The Blocks app for a loaded Assistant (queue configured; launch with ``launch_app``)."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    service = ChatService(assistant, serialize=serialize)
    corpus_dir = assistant.settings.corpus_path
    with gr.Blocks(title="citeqa", analytics_enabled=False) as demo:
        session = gr.State(new_session())
        gr.HTML(_header(service.corpus), elem_id="cq-header")
        with gr.Tabs():
            with gr.Tab("Chat · 问答", id="chat"):
                chatbot = gr.Chatbot(
                    value=[],
                    elem_id="cq-chat",
                    height="60vh",
                    autoscroll=False,
                    layout="panel",
                    show_label=False,
                    latex_delimiters=[],
                    sanitize_html=True,
                    allow_tags=False,
                    feedback_options=None,
                    buttons=[],
                    group_consecutive_messages=False,
                    placeholder=(
                        "<b>Ask about US manufacturing reshoring policy.</b><br>"
                        "Answers quote the paper, cite its footnotes (printed page and number) and link the sources. "
                        "Follow-ups such as “and what about Canada?” / “那加拿大呢？” keep the previous subject."
                    ),
                )
                with gr.Row():
                    message = gr.Textbox(
                        placeholder="Ask in English or Chinese… / 用中文或英文提问…",
                        show_label=False,
                        scale=8,
                        autofocus=True,
                        lines=1,
                        max_lines=4,
                        elem_id="cq-message",
                    )
                    send = gr.Button("Ask", variant="primary", scale=1, elem_id="cq-send")
                    clear = gr.Button("New chat", scale=1, elem_id="cq-clear")
                examples = gr.Dataset(
                    components=["textbox"],
                    samples=[[q] for q in EXAMPLES],
                    label="Example questions (click to ask)",
                    samples_per_page=len(EXAMPLES),
                    elem_id="cq-examples",
                )
            with gr.Tab("Citation lookup · 引文查找", id="lookup"):
                gr.Markdown("**Find the passages and footnotes behind a claim** (English or Chinese).")
                with gr.Row():
                    claim = gr.Textbox(
                        placeholder="e.g. USMCA rules of origin for cars / 劳动力短缺",
                        show_label=False,
                        scale=8,
                        elem_id="cq-claim",
                    )
                    find = gr.Button("Find", variant="primary", scale=1, elem_id="cq-find")
                lookup_out = gr.HTML(elem_id="cq-lookup-out", js_on_load=None)
                gr.Markdown(
                    "**Browse all footnotes and sources**: each shows where the paper cites it (page, sentence)."
                )
                with gr.Row():
                    browse_filter = gr.Textbox(
                        placeholder="Filter: CHIPS, Pew, 劳动力, p. 57, 2023 …",
                        show_label=False,
                        scale=6,
                        elem_id="cq-filter",
                    )
                    browse_view = gr.Radio(
                        ["All footnotes", "Notes", "References", "Sources"],
                        value="All footnotes",
                        show_label=False,
                        scale=5,
                        elem_id="cq-view",
                    )
                browse_out = gr.HTML(service.browse("", "All footnotes"), elem_id="cq-browse-list", js_on_load=None)
                gr.Markdown("**Download the bibliography** built from the footnotes:")
                with gr.Row():
                    gr.DownloadButton(
                        "BibTeX (bibliography.bib)", value=str(corpus_dir / "bibliography.bib"), elem_id="cq-bibtex"
                    )
                    gr.DownloadButton(
                        "CSL-JSON (bibliography.csl.json)",
                        value=str(corpus_dir / "bibliography.csl.json"),
                        elem_id="cq-csl",
                    )
            with gr.Tab("About this corpus", id="about"):
                gr.HTML(service.about(), elem_id="cq-about", js_on_load=None)

        hidden = {"api_visibility": "undocumented"}
        chat_io: dict[str, Any] = {"outputs": [message, chatbot, session]}
        # /chat is the same path the browser takes (session state included): scripts and the load test use it
        scroll = {"fn": None, "js": SCROLL_TO_LATEST_JS, **hidden}
        message.submit(service.respond, [message, session], api_name="chat", **chat_io).then(**scroll)
        send.click(service.respond, [message, session], **chat_io, **hidden).then(**scroll)
        examples.click(service.ask_example, [examples, session], **chat_io, **hidden).then(**scroll)
        clear.click(lambda: ("", [], new_session()), None, [message, chatbot, session], **hidden)
        chatbot.clear(new_session, None, session, **hidden)  # the chatbot's own trash button
        find.click(service.lookup, claim, lookup_out, api_name="lookup")
        claim.submit(service.lookup, claim, lookup_out, **hidden)
        browse_filter.change(service.browse, [browse_filter, browse_view], browse_out, api_name="browse")
        browse_view.change(service.browse, [browse_filter, browse_view], browse_out, **hidden)
    demo.queue(default_concurrency_limit=CONCURRENCY, max_size=QUEUE_MAX)
    demo.citeqa_service = service  # type: ignore[attr-defined]
    return demo


def launch_app(demo: Any, host: str = "127.0.0.1", port: int = 7860, **kwargs: Any) -> Any:
    """Serve on host:port: no share link, no error details to the browser, nothing fetched from the internet."""
    import gradio as gr

    theme = gr.themes.Default(
        font=["system-ui", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "sans-serif"],
        font_mono=["ui-monospace", "DejaVu Sans Mono", "monospace"],
    )
    return demo.launch(
        server_name=host,
        server_port=port,
        share=False,
        show_error=False,
        inbrowser=False,
        max_threads=64,
        footer_links=[],
        theme=theme,
        css=CSS,
        **kwargs,
    )


__all__ = [
    "EXAMPLES",
    "ChatService",
    "build_app",
    "citing_sentences",
    "esc",
    "filter_footnotes",
    "footnote_records",
    "launch_app",
    "linkify",
    "mark_sentences",
    "render_about",
    "render_answer",
    "render_citation",
    "render_error",
    "render_footnote_list",
    "render_lookup",
    "render_markers",
    "render_not_covered",
    "render_source_list",
    "render_user",
]

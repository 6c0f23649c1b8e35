"""View functions of the chat app: pure, data in and escaped HTML out.

Every piece of text that came from a user or from the corpus goes through ``esc`` or ``linkify``; only http(s)
URLs become links, always with ``rel="noopener noreferrer"``. Unit-tested without a browser (tests/test_app_views.py).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citeqa.index.chunking import split_sentences
from citeqa.qa.answer import Answer, Citation, Evidence
from citeqa.qa.followup import Condensed
from citeqa.settings import Settings
from citeqa.textutil import URL_RE, strip_trailing_punct

NOT_COVERED_TITLE = "Not covered by this paper · 本文未涉及"
USER_ECHO_CHARS = 400  # a very long message is echoed shortened
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
    if citation.kind == "source":
        return render_source_citation(citation)
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
    if citation.source_check:  # a copy of the cited work is stored: what it says, and whether it backs the claim
        check = citation.source_check
        said = check.get("passage") or ""
        where = f" ({esc(check['locator'])})" if check.get("locator") else ""
        extra += (
            f'<div class="cq-source-says">{render_verdict_badge(check["verdict"], check.get("reason", ""))} '
            f'The source says: <span lang="{_lang(said)}">“{esc(said)}”</span>{where}</div>'
        )
    return f'<li class="cq-cite">{head}{body}{extra}</li>'


def render_source_citation(citation: Citation) -> str:
    """A citation of a cited work's stored copy: the line citing it ("source of p. 53 fn 2 — <work>, p. 1"), the
    footnote(s) of the paper that cite the work, and the link."""
    head = (
        f'<span class="cq-marker-box">{esc(citation.marker)}</span> <b>{esc(citation.cite)}</b>'
        f' · <span class="cq-kind">cited source</span> <span class="cq-id">{esc(citation.source_id)}</span>'
    )
    where = page_label(citation.printed_page, citation.page)
    body = (
        f'<div class="cq-ref">Cited by {esc(where)}, footnote {esc(citation.number)}: '
        f'<span lang="{_lang(citation.text)}">{linkify(citation.text)}</span></div>'
        if citation.footnote_id
        else ""
    )
    extra = f'<div class="cq-url">Link: {link(citation.url)}</div>' if citation.url and safe_url(citation.url) else ""
    return f'<li class="cq-cite cq-cite-source">{head}{body}{extra}</li>'


def _passage_evidence(answer: Answer) -> Evidence | None:
    return next((e for e in answer.evidence if e.text == answer.quote), None)


def render_passage(answer: Answer) -> str:
    """The quoted supporting passage with the answer sentences highlighted."""
    if not answer.quote:
        return ""
    where = ""
    ev = _passage_evidence(answer)
    if ev is not None and ev.kind == "source":  # placed by its citation, not by a page of the paper
        where = f" — {esc(ev.cite)}"
    elif ev is not None:
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
        # a cited work's passage is placed by its citation ("source of p. 53 fn 2 — <title>, p. 1"), not a page
        where = esc(e.cite) if e.kind == "source" else f"{esc(page_label(e.printed_page, e.page))} · {esc(e.kind)}"
        rows.append(
            f'<li><span class="cq-meta">#{e.rank} · {where}'
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
    if answer.from_source:
        label = "Answer (a cited source's words)" if answer.language != "zh" else "回答（引用来源的原文）"
    else:
        label = "Answer (the paper's words)" if answer.language != "zh" else "回答（原文）"
    cites = "".join(
        render_citation(c, sources_for(c.footnote_id) if sources_for else (), answer.highlight, answer.quote)
        for c in answer.citations
    )
    cites_html = (
        f'<div class="cq-label">{"Sources cited" if answer.from_source else "Footnotes cited"}</div>'
        f'<ol class="cq-cites">{cites}</ol>'
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


def render_streaming(text: str) -> str:
    """The model's text while it is being written: plain, escaped, and marked unchecked until it ends."""
    return (
        f'<div class="cq-card cq-streaming"><p lang="{_lang(text)}">{esc(text)}</p>'
        '<p class="cq-muted">writing… the citations and figures are checked when it ends</p></div>'
    )


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


def filter_footnotes(
    records: Sequence[FootnoteRecord],
    query: str = "",
    kind: str = "all",
    checks: Mapping[str, Any] | None = None,
) -> list[FootnoteRecord]:
    """Records matching every whitespace-separated term (case-insensitive), optionally of one kind.

    kind "mismatch" keeps the footnotes whose claim check (``checks``: footnote id -> row with ``.verdict``) found
    a contradiction; without checks it keeps none rather than guessing.
    """
    terms = _query_terms(query)
    out = []
    for r in records:
        if kind in ("reference", "note") and r.kind != kind:
            continue
        if kind == "mismatch" and _verdict_of(checks, r.id) != "mismatch":
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


def render_footnote_record(r: FootnoteRecord, check: Any | None = None) -> str:
    """One footnote card; with its claim-check row (``.verdict``, ``.reason``) it carries a verdict badge."""
    kind = "explanatory note" if r.kind == "note" else "reference"
    badge = f" {render_verdict_badge(check.verdict, check.reason)}" if check is not None else ""
    head = (
        f"<b>{esc(page_label(r.printed_page, r.page))}</b> · footnote {esc(r.number)} · "
        f'<span class="cq-kind">{kind}</span> <span class="cq-id">{esc(r.id)}</span>{badge}'
    )
    why = ""
    if check is not None and check.verdict == "mismatch" and check.reason:
        # a contradiction is the one verdict a reader must act on: say why in the card, not only in a tooltip
        why = f'<div class="cq-meta cq-why">Claim check: {esc(check.reason)}</div>'
    sources = "".join(f'<div class="cq-source">Bibliography: {_source_line(s)}</div>' for s in r.sources)
    return (
        f'<div class="cq-card cq-fn" data-footnote="{esc(r.id)}"><div>{head}</div>{why}'
        f'<div class="cq-ref" lang="{_lang(r.text)}">{linkify(r.text)}</div>{sources}{render_citing(r.citing)}</div>'
    )


def render_footnote_list(
    records: Sequence[FootnoteRecord],
    query: str = "",
    kind: str = "all",
    checks: Mapping[str, Any] | None = None,
) -> str:
    """The browse list; ``checks`` (footnote id -> claim-check row) adds verdict badges and the mismatch filter."""
    shown = filter_footnotes(records, query, kind, checks)
    what = f" matching “{esc(query.strip())}”" if query and query.strip() else ""
    noun = {"note": "explanatory notes", "reference": "reference footnotes"}.get(kind, "footnotes")
    if kind == "mismatch":
        noun = "reference footnotes whose claim check found a mismatch"
        total = len([r for r in records if r.kind == "reference"])
    else:
        total = len([r for r in records if kind not in ("note", "reference") or r.kind == kind])
    head = f'<div class="cq-count">{len(shown)} of {total} {noun}{what}</div>'
    if kind == "mismatch" and checks is None:
        return head + '<div class="cq-meta">The claim check is not available right now (see the server log).</div>'
    if not shown:
        return head + '<div class="cq-meta">No footnote matches. Try fewer or other words (English or Chinese).</div>'
    cards = "".join(render_footnote_record(r, checks.get(r.id) if checks else None) for r in shown)
    return head + '<div class="cq-scroll">' + cards + "</div>"


# --------------------------------------------------------------------------- claim-check verdicts, fetch states

# verdict -> (label, colour class); labels say what the check can claim, no more (a footnote alone never "supports")
VERDICTS: dict[str, tuple[str, str]] = {
    "supported": ("supported", "cq-v-ok"),
    "partial": ("partly supported", "cq-v-partial"),
    "mismatch": ("mismatch", "cq-v-bad"),
    "not_found": ("not found in source", "cq-v-none"),
    "unavailable": ("source unavailable", "cq-v-none"),
    "not_fetched": ("source not fetched", "cq-v-none"),
}
SOURCE_STATES: dict[str, tuple[str, str]] = {
    "fetched": ("fetched", "cq-v-ok"),
    "added": ("added by hand", "cq-v-ok"),
    "failed": ("fetch failed", "cq-v-bad"),
    "not_fetched": ("not fetched", "cq-v-none"),
}


def _verdict_of(checks: Mapping[str, Any] | None, footnote_id: str) -> str:
    row = checks.get(footnote_id) if checks else None
    return str(getattr(row, "verdict", "")) if row is not None else ""


def _badge(attr: str, value: str, label: str, css: str, title: str = "") -> str:
    tip = f' title="{esc(title)}"' if title else ""
    return f'<span class="cq-badge {css}" {attr}="{esc(value)}"{tip}>{esc(label)}</span>'


def render_verdict_badge(verdict: str, reason: str = "") -> str:
    """A claim-check verdict as a coloured label (the reason as its tooltip); an unknown verdict shows as-is."""
    label, css = VERDICTS.get(verdict, (str(verdict or "unknown"), "cq-v-none"))
    return _badge("data-verdict", verdict, label, css, reason)


def render_state_badge(state: str, reason: str = "") -> str:
    """A cited work's fetch state as a coloured label."""
    label, css = SOURCE_STATES.get(state, (str(state or "unknown"), "cq-v-none"))
    return _badge("data-state", state, label, css, reason)


def source_state_counts(states: Mapping[str, Any]) -> dict[str, int]:
    """How many works are in each fetch state (``states``: source id -> SourceState), every state listed."""
    counts = dict.fromkeys(SOURCE_STATES, 0)
    for st in states.values():
        counts[st.state] = counts.get(st.state, 0) + 1
    return counts


def _counts_line(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {SOURCE_STATES.get(s, (s,))[0]}" for s, n in counts.items())


def _state_reason(st: Any) -> str:
    """Why a work has no copy, or that a later refresh failed; "" when there is nothing to say."""
    failure = getattr(st, "last_failure", None) or {}
    reason = st.reason or str(failure.get("reason", ""))
    if st.state in ("fetched", "added") and reason:
        return f"last refresh failed: {reason}"
    return reason


def render_source_states(sources: Sequence[Any], states: Mapping[str, Any], query: str = "") -> str:
    """Every cited work with the state of its local copy (and why a fetch failed), counts by state on top."""
    shown = filter_sources(sources, query)
    counts = source_state_counts({s.id: states[s.id] for s in sources if s.id in states})
    what = f" matching “{esc(query.strip())}”" if query and query.strip() else ""
    with_url = sum(1 for s in sources if s.url)
    out = [
        f'<div class="cq-count">{len(shown)} of {len(sources)} cited works{what} '
        f"({with_url} with a URL): {esc(_counts_line(counts))}</div>",
        '<div class="cq-scroll">',
    ]
    if not shown:
        out.append('<div class="cq-meta">No source matches. Try fewer or other words (English or Chinese).</div>')
    for s in shown:
        st = states.get(s.id)
        state = st.state if st is not None else "not_fetched"
        reason = _state_reason(st) if st is not None else ""
        detail = []
        if st is not None and state in ("fetched", "added"):
            if st.when:
                detail.append(f"stored {st.when}")
            if st.via:
                detail.append(f"via {st.via}")
            if st.bytes:
                detail.append(f"{st.bytes:,} bytes")
        elif not s.url:
            detail.append("no URL in the footnote: add a copy with `citeqa sources add`")
        if reason:
            detail.append(reason)
        url = f'<div class="cq-url">{link(s.url)}</div>' if s.url and safe_url(s.url) else ""
        out.append(
            f'<div class="cq-card cq-src-state" data-source="{esc(s.id)}">'
            f'<div><span class="cq-src-title" lang="{_lang(s.title)}">{esc(s.title or "(untitled)")}</span> '
            f'{render_state_badge(state, reason)} <span class="cq-id">{esc(s.id)}</span></div>{url}'
            f'<div class="cq-meta">{esc(" · ".join(detail))}</div></div>'
        )
    out.append("</div>")
    return "".join(out)


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


def render_about(
    corpus: Any,
    settings: Settings,
    manifest: dict[str, Any],
    index_path: Path | str = "",
    source_counts: Mapping[str, int] | None = None,
) -> str:
    """Title, pages, counts (works by fetch state when given), and the settings and manifest of the index."""
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
    if source_counts is not None:
        facts.append(("Local copies", esc(_counts_line(source_counts))))
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

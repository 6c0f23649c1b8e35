"""View functions of the Gradio app: escaped HTML out of Answers, footnotes and sources (no browser)."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from citeqa.app.ui import ChatService
from citeqa.app.views import (
    esc,
    filter_footnotes,
    footnote_records,
    link,
    linkify,
    mark_sentences,
    render_about,
    render_answer,
    render_citation,
    render_error,
    render_footnote_list,
    render_markers,
    render_not_covered,
    render_source_list,
    render_source_states,
    render_user,
    render_verdict_badge,
    source_state_counts,
)
from citeqa.qa.answer import Answer, Citation, Evidence
from citeqa.qa.followup import condense

XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'

SENTENCE = "规定当每辆汽车 75%（高于原规定的 62.5%）的零部件原产于成员国。"
QUOTE = f"协定收紧了汽车制造行业的原产地规则。{SENTENCE}此协定可防止转口。"


class _Tags(HTMLParser):
    """Collects start tags with their attributes, to check what a browser would build from the HTML."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(html: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(html)
    return parser.tags


def assert_inert(html: str) -> None:
    """No script element, no event-handler attribute, no javascript: link anywhere."""
    for tag, attrs in tags(html):
        assert tag not in {"script", "iframe", "object", "embed", "img"}, tag
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert not (value or "").strip().lower().startswith("javascript:"), (tag, name, value)


def citation(**changes: object) -> Citation:
    base = {
        "marker": "[1]",
        "footnote_id": "p8-fn1",
        "page": 8,
        "printed_page": 57,
        "number": 1,
        "text": "Office of the USTR, “USMCA Rules of Origin,” https://ustr.gov/usmca.",
        "url": "https://ustr.gov/usmca",
        "quote": SENTENCE,
        "kind": "reference",
    }
    base.update(changes)
    return Citation(**base)  # type: ignore[arg-type]


def answer(**changes: object) -> Answer:
    base = {
        "question": "what local-content threshold does USMCA set",
        "answered": True,
        "answer": f"{SENTENCE} [1]\nIn English: 75% → 75%",
        "language": "en",
        "citations": [citation()],
        "evidence": [
            Evidence(1, "paragraph", "para-015-c0", 8, 57, "一、路径 / （四）保护主义", QUOTE, 0.03, "retrieved")
        ],
        "english": [["75%", "75%"], ["零部件", "auto parts"]],
        "quote": QUOTE,
        "highlight": [SENTENCE],
    }
    base.update(changes)
    return Answer(**base)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- escaping


def test_esc_escapes_markup_and_quotes() -> None:
    assert esc(XSS) == "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=&quot;alert(2)&quot;&gt;"
    assert esc(None) == ""


def test_user_message_is_shown_as_text() -> None:
    html = render_user(XSS)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert_inert(html)
    assert [t for t, _ in tags(html)] == ["div"]


def test_very_long_user_message_is_shortened() -> None:
    html = render_user("长" * 5000)
    assert "(5000 characters)" in html
    assert len(html) < 2000


def test_links_only_for_http_and_always_noopener() -> None:
    html = link("https://example.org/a?b=1&c=2")
    ((tag, attrs),) = tags(html)
    assert tag == "a"
    assert attrs["href"] == "https://example.org/a?b=1&c=2"
    assert attrs["rel"] == "noopener noreferrer"
    assert attrs["target"] == "_blank"
    for bad in ("javascript:alert(1)", 'https://x.org/"onmouseover="alert(1)', "data:text/html,hi"):
        assert_inert(link(bad))
        assert not tags(link(bad))


def test_linkify_escapes_text_around_urls_and_strips_trailing_punctuation() -> None:
    html = linkify("See <b>this</b>: https://www.bls.gov/news.release/jolts.t01.htm. 完")
    assert "&lt;b&gt;this&lt;/b&gt;" in html
    ((_, attrs),) = tags(html)
    assert attrs["href"] == "https://www.bls.gov/news.release/jolts.t01.htm"
    assert html.endswith("</a>. 完")


# --------------------------------------------------------------------------- highlight and markers


def test_mark_sentences_highlights_the_answer_sentence_inside_the_passage() -> None:
    html = mark_sentences(QUOTE, [SENTENCE])
    assert html.count("<mark>") == 1
    assert re.search(r"<mark>规定当每辆汽车 75%.*成员国。</mark>", html)
    assert html.startswith("协定收紧") and html.endswith("此协定可防止转口。")


def test_mark_sentences_escapes_and_merges_overlaps() -> None:
    passage = "a <b> c. d & e. f."
    html = mark_sentences(passage, ["a <b> c.", "<b> c. d & e.", "missing"])
    assert html == "<mark>a &lt;b&gt; c. d &amp; e.</mark> f."
    assert mark_sentences("plain", []) == "plain"


def test_markers_become_superscripts_with_page_and_footnote() -> None:
    html = render_markers(f"{SENTENCE} [1] [7] <i>x</i>", [citation()])
    assert '<sup class="cq-marker" title="p. 57, footnote 1">[1]</sup>' in html
    assert "[7]" in html and "<sup" not in html.split("[7]")[0].split("</sup>")[-1]  # unknown marker left as text
    assert "&lt;i&gt;x&lt;/i&gt;" in html


# --------------------------------------------------------------------------- citations and answers


def test_citation_card_shows_printed_page_number_reference_and_link() -> None:
    html = render_citation(citation(quote="A sentence the answer does not show."))
    text = re.sub(r"<[^>]+>", "", html)
    assert "p. 57" in text and "footnote 1" in text and "reference" in text
    assert "USMCA Rules of Origin" in text
    assert "Backs:" in text
    hrefs = [a for t, a in tags(html) if t == "a"]
    assert hrefs and all(a["rel"] == "noopener noreferrer" for a in hrefs)
    assert {a["href"] for a in hrefs} == {"https://ustr.gov/usmca"}


def test_citation_card_without_printed_page_uses_pdf_page() -> None:
    assert "PDF page 8" in render_citation(citation(printed_page=None))


def test_citation_card_does_not_repeat_what_the_answer_shows() -> None:
    html = render_citation(citation(), shown=[SENTENCE])
    assert "Backs:" not in html
    note = citation(kind="note", text=QUOTE, url="")
    html = render_citation(note, shown=[SENTENCE], passage=QUOTE)
    assert "explanatory note" in html
    assert "supporting passage below" in html
    assert QUOTE not in html


def test_citation_card_escapes_footnote_text() -> None:
    html = render_citation(citation(text=f"Evil {XSS} https://ok.org/x", url="javascript:alert(1)", quote=XSS))
    assert_inert(html)
    assert [a["href"] for t, a in tags(html) if t == "a"] == ["https://ok.org/x"]


def test_answer_card_has_markers_bilingual_block_citations_and_highlighted_passage() -> None:
    html = render_answer(answer())
    assert_inert(html)
    text = re.sub(r"<[^>]+>", "", html)
    assert "75%" in text
    assert "cq-marker" in html  # inline [1]
    assert "In English" in text and "auto parts" in text
    assert "In English: 75%" not in text  # the raw line is replaced by the table
    assert "p. 57" in text and "footnote 1" in text
    assert f"<mark>{esc(SENTENCE)}</mark>" in html
    assert "Supporting passage" in text and "p. 57, paragraph" in text


def test_chinese_answer_has_no_english_block_and_drops_footnote_echo_lines() -> None:
    zh = answer(language="zh", english=[], answer=f"{SENTENCE} [1]\n[1] {citation().text}")
    html = render_answer(zh)
    assert "In English" not in html
    assert html.count("USMCA Rules of Origin") == 1  # in the citation card only
    assert "回答" in html


def test_answer_card_escapes_every_field() -> None:
    evil = answer(
        question=XSS,
        answer=f"{XSS} [1]",
        citations=[citation(text=XSS, quote=XSS)],
        english=[[XSS, XSS]],
        quote=f"{XSS} tail",
        highlight=[XSS],
        evidence=[Evidence(1, "paragraph", XSS, 8, 57, XSS, XSS, 0.1, "retrieved")],
        warnings=[XSS],
    )
    html = render_answer(evil, condensed=condense(XSS, "previous"))
    assert_inert(html)
    assert "&lt;script&gt;" in html


def test_not_covered_card_says_so_and_folds_nearest_passages() -> None:
    refused = answer(
        answered=False,
        answer="Not covered by this paper: nothing in it answers this question.",
        citations=[],
        quote="",
        highlight=[],
        english=[],
    )
    html = render_not_covered(refused)
    text = re.sub(r"<[^>]+>", "", html)
    assert "Not covered by this paper" in text
    assert "Nothing in it answers this question." in text
    assert "<details" in html and " open" not in html
    assert render_answer(refused) == html
    zh = render_not_covered(answer(answered=False, answer="本文没有涉及这个问题。", language="zh", evidence=[]))
    assert "本文没有涉及这个问题。" in zh and "<details" not in zh


def test_followup_rewrite_is_shown() -> None:
    condensed = condense("and what about Canada?", "How much did US imports from Mexico grow?")
    html = render_answer(answer(), condensed=condensed)
    assert "Follow-up read as" in html and "from Canada grow" in html
    assert "Follow-up read as" not in render_answer(answer(), condensed=condense("a new question", None))


def test_error_card_is_escaped() -> None:
    html = render_error(XSS)
    assert_inert(html)
    assert "cq-error" in html


# --------------------------------------------------------------------------- real corpus: browse, about, service


@pytest.fixture(scope="module")
def service(assistant) -> ChatService:
    return ChatService(assistant)


@pytest.mark.slow
def test_every_footnote_shows_where_it_is_cited(service: ChatService) -> None:
    records = footnote_records(service.corpus)
    assert len(records) == len(service.corpus.paper.footnotes)
    assert all(r.citing for r in records)  # every footnote is referenced from the body
    usmca = next(r for r in records if r.id == "p8-fn1")
    assert usmca.printed_page == 57 and usmca.kind == "note"
    assert any("原产地规则" in c.text and c.printed_page == 57 for c in usmca.citing)


@pytest.mark.slow
def test_filter_footnotes_by_words_and_kind(service: ChatService) -> None:
    records = service.records
    chips = filter_footnotes(records, "CHIPS")
    assert "p4-fn2" in {r.id for r in chips}
    assert all("chips" in r.haystack for r in chips)
    assert [r.id for r in filter_footnotes(records, "", "note")] == [r.id for r in records if r.kind == "note"]
    assert filter_footnotes(records, "chips 2022 commerce") and not filter_footnotes(records, "zzzz-nothing")
    html = render_footnote_list(records, "CHIPS")
    assert f"{len(chips)} of {len(records)} footnotes" in html
    assert "Cited in the paper at" in html
    assert_inert(render_footnote_list(records, XSS))


@pytest.mark.slow
def test_source_list_links_sources_to_footnotes_and_pages(service: ChatService) -> None:
    html = render_source_list(service.corpus, service.records, "Pew")
    assert "Pew" in html and "footnote" in html and "Cited in the paper at" in html
    assert_inert(html)
    assert "0 of" in render_source_list(service.corpus, service.records, "zzzz-nothing")


@pytest.mark.slow
def test_about_panel_has_title_counts_and_index_settings(service: ChatService) -> None:
    index = service.assistant.retriever.index
    html = render_about(service.corpus, service.settings, index.manifest, index.path)
    text = re.sub(r"<[^>]+>", "", html)
    assert service.corpus.paper.title in text
    assert f"{service.corpus.paper.page_count} PDF pages" in text
    assert "56 (" in text and "62 in the bibliography" in text
    assert "refusal_threshold" in text and "corpus_hash" in text


# --------------------------------------------------------------------------- claim-check verdicts and fetch states


def test_verdict_badge_has_label_colour_and_escapes() -> None:
    assert 'class="cq-badge cq-v-bad"' in render_verdict_badge("mismatch") and ">mismatch<" in render_verdict_badge(
        "mismatch"
    )
    assert "cq-v-ok" in render_verdict_badge("supported") and "cq-v-partial" in render_verdict_badge("partial")
    assert ">source not fetched<" in render_verdict_badge("not_fetched")
    assert 'data-verdict="unavailable"' in render_verdict_badge("unavailable")
    html = render_verdict_badge(XSS, reason=XSS)
    assert "&lt;script&gt;" in html and "cq-v-none" in html
    assert_inert(html)


@pytest.fixture(scope="module")
def checks(settings) -> dict:
    """The real claim check over the committed corpus (no stored copies: footnote text only, ~1 s)."""
    from citeqa.verify.sources_check import check_footnotes

    return {row.footnote_id: row for row in check_footnotes(settings).rows}


def test_footnote_list_shows_verdicts_and_filters_mismatches(settings, checks) -> None:
    from citeqa.ingest.corpus import load_corpus

    records = footnote_records(load_corpus(settings.corpus_path))
    mismatches = {fid for fid, row in checks.items() if row.verdict == "mismatch"}
    assert "p9-fn1" in mismatches  # its footnote's own text states other values than the sentence citing it
    shown = filter_footnotes(records, "", "mismatch", checks)
    assert {r.id for r in shown} == mismatches
    assert filter_footnotes(records, "", "mismatch", None) == []  # no check, no guessing
    html = render_footnote_list(records, "", "mismatch", checks)
    references = sum(r.kind == "reference" for r in records)
    assert f"{len(mismatches)} of {references} reference footnotes whose claim check found a mismatch" in html
    assert html.count('data-verdict="mismatch"') == len(mismatches) and "Claim check: " in html
    every = render_footnote_list(records, "", "all", checks)
    assert every.count('class="cq-badge') == len(checks)  # one badge per reference footnote, none on notes
    assert "not available" in render_footnote_list(records, "", "mismatch", None)
    assert_inert(render_footnote_list(records, XSS, "mismatch", checks))


def test_sources_view_lists_every_work_with_its_state(settings, tmp_path) -> None:
    from citeqa.ingest.corpus import load_corpus
    from citeqa.ingest.extract import Extracted, Segment
    from citeqa.ingest.source_store import AddedDocument, SourceStore

    works = load_corpus(settings.corpus_path).sources
    store = SourceStore(tmp_path / "sources")
    added, failed = works[0], next(w for w in works if w.url)
    text = Extracted("text", "A copy", [Segment("p. 1", "Some text.")], "test", "1")
    store.store(added.id, AddedDocument(body=b"Some text.", filename="copy.txt"), text)
    store.record_failure(failed.id, f"HTTP 404 {XSS}", status=404, url=failed.url)
    states = {w.id: store.state(w.id) for w in works}
    counts = source_state_counts(states)
    assert counts == {"fetched": 0, "added": 1, "failed": 1, "not_fetched": len(works) - 2}
    html = render_source_states(works, states)
    assert f"{len(works)} of {len(works)} cited works" in html
    assert f"0 fetched, 1 added by hand, 1 fetch failed, {len(works) - 2} not fetched" in html
    assert html.count("cq-src-state") == len(works)
    assert 'data-state="failed"' in html and "HTTP 404" in html and "&lt;script&gt;" in html
    assert 'data-state="added"' in html and "via added" in html
    assert_inert(html)
    assert "0 of" in render_source_states(works, states, "zzzz-nothing")


@pytest.mark.slow
def test_service_shows_verdicts_sources_and_counts(service: ChatService) -> None:
    html = service.browse("", "Mismatches")
    assert 'data-verdict="mismatch"' in html and "cq-error" not in html
    assert 'data-verdict="not_fetched"' in service.browse("", "All footnotes")
    assert service.claim_checks() is service.claim_checks()  # computed once
    works = len(service.corpus.sources)
    assert f"{works} of {works} cited works" in service.sources_view("")
    assert_inert(service.sources_view(XSS))
    assert f"Local copies</th><td>0 fetched, 0 added by hand, 0 fetch failed, {works} not fetched" in service.about()


@pytest.mark.slow
def test_service_fetch_refuses_what_is_not_a_cited_url_and_keeps_a_stored_copy(service: ChatService, tmp_path) -> None:
    from citeqa.ingest.extract import Extracted, Segment
    from citeqa.ingest.source_store import AddedDocument, SourceStore

    _, status = service.fetch_work("https://example.org/")  # not an id: nothing is fetched
    assert "Choose a cited work" in status
    assert "Choose a cited work" in service.fetch_work("src-000000")[1]
    no_url = next(s for s in service.corpus.sources if not s.url)
    assert "no URL" in service.fetch_work(no_url.id)[1]
    with_url = {s.id for s in service.corpus.sources if s.url}
    assert {sid for _, sid in service.fetchable()} == with_url
    work = next(s for s in service.corpus.sources if s.url)
    original = service.settings
    service.settings = original.replace(sources_dir=tmp_path / "sources")  # a private store, no network needed
    try:
        text = Extracted("text", "A copy", [Segment("p. 1", "Some text.")], "test", "1")
        SourceStore(tmp_path / "sources").store(work.id, AddedDocument(body=b"Some text."), text)
        html, status = service.fetch_work(work.id)
        assert "already has a stored copy" in status and 'data-state="added"' in html
    finally:
        service.settings = original


@pytest.mark.slow
def test_service_chat_turns_bad_input_and_followups(service: ChatService) -> None:
    box, messages, session = service.respond("   ", None)
    assert (box, messages) == ("", [])  # empty: nothing added, a toast instead
    box, messages, session = service.respond("x" * 5000, session)
    assert "too long" in messages[-1]["content"] and "cq-error" in messages[-1]["content"]
    assert session["topic"] == ""  # a refused message is not a topic
    _, messages, session = service.respond(XSS, session)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in messages[-2]["content"]
    assert_inert(messages[-2]["content"] + messages[-1]["content"])
    _, messages, session = service.respond("美国从墨西哥进口增长了多少？", new_session := {"messages": [], "topic": ""})
    assert new_session == {"messages": [], "topic": ""}  # state is copied, not mutated
    _, messages, session = service.respond("那加拿大呢？", session)
    assert "Follow-up read as" in messages[-1]["content"] and "加拿大" in messages[-1]["content"]
    assert session["topic"] == "美国从加拿大进口增长了多少？"
    assert len(messages) == 4


@pytest.mark.slow
def test_service_history_is_bounded(service: ChatService, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("citeqa.app.ui.MAX_TURNS", 2)
    session = None
    for q in ("CHIPS", "IRA", "USMCA"):
        _, messages, session = service.respond(q, session)
    assert len(messages) == 4 and "USMCA" in messages[-2]["content"]


@pytest.mark.slow
def test_service_errors_are_logged_not_shown(service: ChatService, monkeypatch, caplog) -> None:
    def boom(question: str) -> None:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(service.assistant, "ask", boom)
    _, messages, _ = service.respond("what local-content threshold does USMCA set", None)
    shown = messages[-1]["content"]
    assert "secret internal detail" not in shown and "Traceback" not in shown
    assert "logged" in shown
    assert any("secret internal detail" in (r.exc_text or str(r.exc_info)) for r in caplog.records)


@pytest.mark.slow
def test_service_lookup_finds_the_usmca_footnote(service: ChatService) -> None:
    html = service.lookup("汽车原产地规则 75% 零部件")
    assert "p8-fn1" in html and "p. 57" in html
    assert_inert(html)
    assert "cq-error" in service.lookup("   ")
    assert_inert(service.lookup(XSS))


def test_a_citation_whose_source_is_stored_shows_what_the_source_says():
    citation = Citation(
        "[1]", "p4-fn2", 4, 53, 2, "U.S. Senate Committee on Commerce, “The CHIPS Act of 2022”", "", "", "reference",
        source_check={
            "verdict": "supported",
            "reason": "every figure found",
            "passage": "The law provides <$39 billion> for manufacturing incentives.",
            "locator": "p. 1",
            "source_id": "src-abc123",
            "figures_compared": ["390 亿美元 = $39 billion"],
        },
    )  # fmt: skip
    html = render_citation(citation)
    assert 'data-verdict="supported"' in html and "The source says" in html and "(p. 1)" in html
    assert "&lt;$39 billion&gt;" in html and "<$39" not in html  # escaped
    plain = Citation("[1]", "p4-fn2", 4, 53, 2, "ref", "", "", "reference")
    assert "The source says" not in render_citation(plain)

"""The app and stored cited sources (issue 10): a source answer's card, a fetch in the app that the About panel and
the chat follow without a restart, and the setting that turns the app's fetch off.

The fetch is real: the work's footnote URL is pointed at a real HTTP server on 127.0.0.1 serving an invented text.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from pytest_httpserver import HTTPServer

from citeqa.app.ui import FETCH_OFF, ChatService, build_app
from citeqa.app.views import render_answer
from citeqa.qa.assistant import Assistant

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "fixtures" / "sources" / "chip_workforce.txt"


@pytest.mark.slow
def test_a_source_answer_card_cites_the_source_and_its_footnote(sourced) -> None:
    answer = sourced.assistant.ask(sourced.question)
    html = render_answer(answer)
    assert "Answer (a cited source&#x27;s words)" in html or "Answer (a cited source's words)" in html
    assert "Sources cited" in html and 'class="cq-cite cq-cite-source"' in html
    assert "source of p. 68 fn 4 — Semiconductor Industry Association" in html
    assert "Cited by p. 68, footnote 4" in html and "2,350 military veterans" in html
    assert "Supporting passage — source of p. 68 fn 4" in html


@pytest.fixture
def fetching(settings, assistant, session_index_dir: Path, tmp_path: Path, httpserver: HTTPServer):
    """A ChatService on a private copy of the index whose one work's URL points at the local server."""
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/chipping-away.txt").respond_with_data(
        FIXTURE.read_bytes(), content_type="text/plain; charset=utf-8"
    )
    shutil.copytree(session_index_dir, tmp_path / "index", symlinks=True)
    shutil.rmtree(tmp_path / "index" / "sources", ignore_errors=True)
    mine = settings.replace(
        index_dir=tmp_path / "index", sources_dir=tmp_path / "sources", allow_private_hosts=True, fetch_delay_s=0.0
    )
    service = ChatService(Assistant(mine))
    corpus = service.corpus
    work = next(w for w in corpus.sources if w.id == "src-4a09f1")
    served = dataclasses.replace(work, url=httpserver.url_for("/chipping-away.txt"))
    service.corpus = SimpleNamespace(paper=corpus.paper, sources=[served if w is work else w for w in corpus.sources])
    return service, work.id


@pytest.mark.slow
def test_a_fetch_in_the_app_updates_the_about_counts_and_the_chat(fetching, sourced) -> None:
    service, work = fetching
    question = sourced.question
    works = len(service.corpus.sources)
    assert f"0 fetched, 0 added by hand, 0 fetch failed, {works} not fetched" in service.about()
    card, accepted = service.answer_html(question)
    assert accepted and "cq-notcovered" in card
    _, status = service.fetch_work(work)
    assert f"Stored a copy of {work}" in status and "from now on" in status
    assert f"1 fetched, 0 added by hand, 0 fetch failed, {works - 1} not fetched" in service.about()
    card, accepted = service.answer_html(question)  # the same Assistant, no restart
    assert accepted and "Sources cited" in card and "2,350 military veterans" in card


@pytest.mark.slow
def test_the_fetch_event_refreshes_the_about_panel(assistant) -> None:
    demo = build_app(assistant)
    (fetch,) = [f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "fetch_event"]
    assert "cq-about" in {getattr(block, "elem_id", None) for block in fetch.outputs}


@pytest.mark.slow
def test_app_allow_fetch_off_hides_the_button_and_refuses_fetches(assistant) -> None:
    off = SimpleNamespace(
        settings=assistant.settings.replace(app_allow_fetch=False),
        corpus=assistant.corpus,
        retriever=assistant.retriever,
        ask=assistant.ask,
    )
    service = ChatService(off)
    work = next(s for s in service.corpus.sources if s.url)
    _, status = service.fetch_work(work.id)
    assert "turned off" in status and "app_allow_fetch" in status
    demo = build_app(off)
    assert not [f for f in demo.fns.values() if getattr(f.fn, "__name__", "") == "fetch_event"]
    blocks = {getattr(b, "elem_id", None): b for b in demo.blocks.values()}
    assert blocks["cq-fetch"].interactive is False and FETCH_OFF[:40] in str(blocks["cq-fetch-status"].value)

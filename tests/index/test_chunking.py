from citeqa.index.chunking import (
    build_units,
    chunk_paragraph,
    footnote_sentences,
    footnote_title,
    heading_text,
    split_sentences,
)
from citeqa.ingest.corpus import load_corpus
from citeqa.ingest.paper import Marker, Paragraph


def _paragraph() -> Paragraph:
    text = "第一句说明补贴。第二句给出数字 390 亿美元。第三句没有脚注！Fourth sentence. Fifth one?"
    return Paragraph(
        id="para-900",
        text=text,
        pages=[3, 4],
        printed_pages=[52, 53],
        section=["一、路径"],
        markers=[Marker("p3-fn1", 3, 1, text.index("第二句")), Marker("p4-fn2", 4, 2, text.index("第三句"))],
        page_starts=[[0, 3], [text.index("第三句"), 4]],
    )


def test_sentences_split_on_chinese_and_english_ends_and_carry_their_markers():
    sentences = split_sentences(_paragraph())
    assert [s.text for s in sentences] == [
        "第一句说明补贴。",
        "第二句给出数字 390 亿美元。",
        "第三句没有脚注！",
        "Fourth sentence.",
        "Fifth one?",
    ]
    # a marker right after "。" belongs to the sentence it closes, not the next one
    assert sentences[0].footnote_ids == ["p3-fn1"]
    assert sentences[1].footnote_ids == ["p4-fn2"]
    assert sentences[2].footnote_ids == []
    assert [s.page for s in sentences] == [3, 3, 4, 4, 4]


def test_chunks_pack_whole_sentences_under_the_limit():
    units = chunk_paragraph(_paragraph(), [50, 51, 52, 53], max_chars=20)
    assert all(len(u.text) <= 20 or len(u.sentences) == 1 for u in units)
    assert "".join(s.text for u in units for s in u.sentences).replace(" ", "") == _paragraph().text.replace(" ", "")
    assert units[0].footnote_ids == ["p3-fn1"]
    assert units[0].printed_page == 52


def test_real_corpus_units(settings):
    corpus = load_corpus(settings.corpus_path)
    units = build_units(corpus, settings.chunk_chars)
    footnotes = [u for u in units if u.kind == "footnote"]
    body = [u for u in units if u.kind == "paragraph"]
    assert len(footnotes) == len(corpus.paper.footnotes) == 56
    assert len({u.id for u in units}) == len(units)
    cited = {fid for u in body for fid in u.footnote_ids}
    assert cited == {f.id for f in corpus.paper.footnotes}, "every footnote is cited by some chunk"
    chips = next(u for u in body if "390 亿美元" in u.text)
    assert "p4-fn2" in chips.footnote_ids
    with_titles = chips.embed_text(corpus.paper, attach_footnotes=True)
    assert "The CHIPS Act of 2022" in with_titles
    assert "CHIPS" not in chips.embed_text(corpus.paper, attach_footnotes=False)


def test_footnote_title_prefers_quoted_titles():
    assert footnote_title("The White House, “Fact Sheet: Clean Energy,” January 8, 2010, https://x") == (
        "Fact Sheet: Clean Energy"
    )
    assert footnote_title("协定收紧了汽车制造行业的原产地规则").startswith("协定收紧")


def test_heading_text_drops_the_numbering():
    assert heading_text("（二）就业状况有所改善，但重建中产阶级效果不佳") == "就业状况有所改善，但重建中产阶级效果不佳"
    assert heading_text("三、美国制造业回流政策的效果评估") == "美国制造业回流政策的效果评估"
    assert heading_text("( 一 )推行产业立法") == "推行产业立法"
    assert heading_text("提要") == "提要"


def test_embed_text_can_carry_the_heading_and_the_footnote_titles(settings):
    corpus = load_corpus(settings.corpus_path)
    unit = next(u for u in build_units(corpus, 220) if u.kind == "paragraph" and u.footnote_ids and len(u.section) > 1)
    plain = unit.embed_text(corpus.paper, attach_footnotes=False)
    assert plain == unit.text
    both = unit.embed_text(corpus.paper, attach_footnotes=True, attach_heading=True)
    assert both.startswith(heading_text(unit.section[-1]) + "\n" + unit.text)
    assert len(both) > len(unit.embed_text(corpus.paper, attach_footnotes=True))


def test_reference_footnotes_split_into_one_sentence_per_work():
    text = "张三：《甲》，《期刊》2020 年第 1 期；Li Si, “B,” Journal C, 2023, pp.1-2; Wang Wu, “D,” 2019。"
    sentences = footnote_sentences(text, 3, "p3-fn1")
    assert [s.text for s in sentences] == [
        "张三：《甲》，《期刊》2020 年第 1 期；",
        "Li Si, “B,” Journal C, 2023, pp.1-2;",
        "Wang Wu, “D,” 2019。",
    ]
    assert all(s.footnote_ids == ["p3-fn1"] and s.page == 3 for s in sentences)
    assert [text[s.start : s.end].strip() for s in sentences] == [s.text for s in sentences]
    assert [s.text for s in footnote_sentences("One work only.", 1, "p1-fn1")] == ["One work only."]


def test_editorial_lines_are_not_units(settings):
    corpus = load_corpus(settings.corpus_path)
    assert any(p.text.startswith("【责任编辑") for p in corpus.paper.paragraphs)  # the paper keeps it
    assert not any("责任编辑" in u.text for u in build_units(corpus, 220))

"""Paper parser: the real seed (pages, footnotes, markers, headings, printed pages) and small crafted inputs."""

from __future__ import annotations

import re

import pytest

from citeqa.ingest.paper import (
    MARKER_RE,
    RUNNING_HEADER,
    Paper,
    PaperError,
    footnote_id,
    parse_text,
)
from citeqa.textutil import display_width, is_cjk, join_wrapped

IDSP = "\u3000"  # ideographic space: "[n]" + IDSP starts a footnote


# --------------------------------------------------------------------------- helpers for crafted inputs

FILLER = "美国政府通过推行产业立法收紧采购条款优化创新生态实施保护主义政策推动制造业回流改善国内就业状况增加供应链韧性"
FULL = 20  # characters in a full body line of the crafted pages


def zh(n: int, start: int = 0) -> str:
    """n Chinese characters without punctuation (so a line never ends a sentence by accident)."""
    text = (FILLER * (n // len(FILLER) + 2))[start : start + n]
    assert len(text) == n
    return text


def full(end: str = "", start: int = 0) -> str:
    return zh(FULL - len(end), start) + end


def indented(end: str = "", start: int = 0) -> str:
    """A paragraph's first line: two cells narrower than a full line (the PDF dropped the indent)."""
    return zh(FULL - 2 - len(end), start) + end


def cite(line: str, n: int, at: int = 5) -> str:
    """Put the marker [n] into a line (markers are superscripts: they take no width)."""
    return line[:at] + f"[{n}]" + line[at:]


def doc(*pages: list[str]) -> str:
    """Seed-like text: a blank line after every line; a page's first line starts with a space."""
    out: list[str] = []
    for lines in pages:
        for i, line in enumerate(lines):
            out.append(" " + line if i == 0 else line)
            out.append("")
    return "\n".join(out)


def body(markers: int = 1, start: int = 0) -> list[str]:
    """A six-line Chinese paragraph citing footnotes [1]..[markers] of its page."""
    lines = [indented(start=start)] + [full(start=start + k) for k in range(1, 5)] + [zh(6, start) + "。"]
    for n in range(1, markers + 1):
        lines[n - 1] = cite(lines[n - 1], n)
    return lines


def one_page(footnote_lines: list[str], markers: int = 1) -> Paper:
    return parse_text(doc(body(markers) + footnote_lines))


# --------------------------------------------------------------------------- the real seed


def test_seed_has_21_pages_and_56_footnotes(seed_paper):
    assert seed_paper.page_count == 21
    assert len(seed_paper.footnotes) == 56
    ids = [f.id for f in seed_paper.footnotes]
    assert len(set(ids)) == 56
    assert all(re.fullmatch(r"p\d+-fn\d+", i) for i in ids)


def test_footnote_numbering_restarts_on_every_page(seed_paper):
    by_page: dict[int, list[int]] = {}
    for f in seed_paper.footnotes:
        by_page.setdefault(f.page, []).append(f.number)
    for page, numbers in by_page.items():
        assert numbers == list(range(1, len(numbers) + 1)), page
    assert len([p for p, numbers in by_page.items() if 1 in numbers]) == 18  # pages 1, 2 and 18 have none
    assert sorted(by_page) == [p for p in range(1, 22) if p not in (1, 2, 18)]
    assert len(by_page[17]) == 6


def test_every_marker_resolves_to_one_footnote_on_its_own_page(seed_paper):
    footnotes = {f.id: f for f in seed_paper.footnotes}
    markers = [(p, m) for p in seed_paper.paragraphs for m in p.markers]
    assert len(markers) == 56
    for para, m in markers:
        matches = [f for f in seed_paper.footnotes if f.page == m.page and f.number == m.number]
        assert len(matches) == 1, m
        assert matches[0].id == m.footnote_id == footnote_id(m.page, m.number)
        assert footnotes[m.footnote_id].page == m.page
        # the marker sits on the page it says: the character just before it was printed there
        assert 0 < m.offset <= len(para.text)
        assert para.page_at(m.offset - 1) == m.page, (para.id, m)


def test_every_footnote_is_referenced(seed_paper):
    cited = {m.footnote_id for p in seed_paper.paragraphs for m in p.markers}
    assert cited == {f.id for f in seed_paper.footnotes}
    for f in seed_paper.footnotes:
        citing = [p.id for p in seed_paper.paragraphs if f.id in p.footnote_ids]
        assert f.cited_by == citing and citing, f.id


def test_no_running_headers_page_numbers_or_markers_left_in_text(seed_paper):
    for p in seed_paper.paragraphs:
        assert RUNNING_HEADER not in p.text
        assert not MARKER_RE.search(p.text), p.id
        assert IDSP not in p.text
        assert "  " not in p.text
    for f in seed_paper.footnotes:
        assert RUNNING_HEADER not in f.text
        assert not f.text.startswith("[")
    # "55" and the running header stood between "同" and "时" (PDF pages 5 and 6): the sentence is whole again
    para = next(p for p in seed_paper.paragraphs if "购买美国产品和服务；同时加强监管力度" in p.text)
    at = para.text.index("同时加强")
    assert para.page_at(at) == 5
    assert para.page_at(at + 1) == 6
    assert para.pages == [5, 6]


def test_no_space_left_between_chinese_characters(seed_paper):
    for p in seed_paper.paragraphs:
        for m in re.finditer(r"(.) (.)", p.text):
            assert not (is_cjk(m.group(1)) and is_cjk(m.group(2))), (p.id, p.text[m.start() - 5 : m.end() + 5])


def test_printed_pages_50_to_70(seed_paper):
    assert seed_paper.printed_pages == list(range(50, 71))
    assert seed_paper.footnote("p6-fn1").printed_page == 55  # the "55" line sits before PDF page 6
    assert seed_paper.footnote("p3-fn1").printed_page == 52
    for p in seed_paper.paragraphs:
        assert p.printed_pages == [page + 49 for page in p.pages]


def test_section_paths(seed_paper):
    tops = [s[0] for s in seed_paper.sections if len(s) == 1]
    assert [t[:2] for t in tops] == ["一、", "二、", "三、", "四、", "五、"]
    assert tops[0] == "一、美国激励制造业回流的路径"
    # the first subsection is printed "( 一 ) 推行产业立法" and still becomes a proper sub-heading
    assert ["一、美国激励制造业回流的路径", "（一）推行产业立法"] in seed_paper.sections
    assert ["五、结语"] in seed_paper.sections
    assert len(seed_paper.sections) == 19

    def section_of(snippet: str) -> list[str]:
        return next(p.section for p in seed_paper.paragraphs if snippet in p.text)

    assert section_of("奥巴马总统签署《美国复兴和再投资法》") == ["一、美国激励制造业回流的路径", "（一）推行产业立法"]
    assert section_of("严格的汽车原产地规则") == ["一、美国激励制造业回流的路径", "（四）实施保护主义政策"]
    assert section_of("美国私营部门的劳动力缺口") == ["四、美国制造业回流政策的制约因素", "（二）劳动力短缺的掣肘"]
    assert section_of("冷战结束后") == ["五、结语"]
    assert seed_paper.paragraphs[0].section == ["提要"]
    assert seed_paper.paragraphs[0].text.startswith("自 2008 年国际金融危机以来")
    assert seed_paper.paragraphs[1].section == []  # the introduction has no heading
    headings = {s[-1] for s in seed_paper.sections}
    for p in seed_paper.paragraphs:
        assert p.text not in headings
        assert not p.text.startswith(("一、", "( 一 )", "（一）"))


def test_usmca_footnote_is_a_note_with_the_thresholds(seed_paper):
    note = seed_paper.footnote("p8-fn1")
    assert note.kind == "note"
    for figure in ("75%", "62.5%", "70%"):
        assert figure in note.text
    assert [f.id for f in seed_paper.footnotes if f.kind == "note"] == ["p8-fn1"]
    # its marker stood in "汽车原产地规则 [1] 条款": gone without leaving spaces behind
    para = next(p for p in seed_paper.paragraphs if "p8-fn1" in p.footnote_ids)
    assert "严格的汽车原产地规则条款" in para.text
    (m,) = [m for m in para.markers if m.footnote_id == "p8-fn1"]
    assert para.text[: m.offset].endswith("原产地规则")


def test_footnote_lines_are_joined(seed_paper):
    fn = seed_paper.footnote("p3-fn1").text
    assert "《全球化》2017 年第 8 期，第 62-68 页" in fn  # "62-" + "68": no space
    assert "“From Offshoring to Reshoring: The Pendulum Swings,”" in fn  # English: one space
    assert "《美国制造业回流对中国国内价值链质量的影响研究》" in fn  # Chinese: no space
    assert seed_paper.footnote("p8-fn2").text.endswith(
        "https://home.treasury.gov/system/files/136/MadeInAmericaTaxPlan_Report.pdf."
    )
    assert "https://obamawhitehouse.archives.gov/sites/" in seed_paper.footnote("p12-fn3").text
    assert "/speeches-remarks/2022/03/04/remarks" in seed_paper.footnote("p6-fn3").text


@pytest.mark.parametrize(
    ("together", "why"),
    [
        ("第一，美国制造业领域投资显著增加。据统计，2009 年", "a full line that happens to end a sentence"),
        ("增加企业离岸生产成本。在收紧原产地规则方面", "a full line ending with 。 then a full line"),
        ("锂电池高度依赖对华进口。2023 年第 1 季度", "a full line ending with 。 then a line of numbers"),
        ("艺术娱乐业增加值占GDP比重从3.7%增长至4.4%。这表明", "a dense line of numbers measures narrow"),
        ("美国货物贸易逆差从4467亿美元攀升至8324亿美元。因此", "ditto"),
    ],
    ids=["first-second-third", "tariffs-then-rules-of-origin", "lithium-batteries", "gdp-shares", "trade-deficit"],
)
def test_paragraph_does_not_break_inside(seed_paper, together, why):
    assert any(together in p.text for p in seed_paper.paragraphs), why


@pytest.mark.parametrize(
    "first_words",
    [
        "尽管美国的供应链韧性有所增强",  # after a full last line "……中国位列第三。"; the next line is indented
        "美国制造业回流政策的根本目的在于",
        "在美国政府看来，制造业回流",
        "与民主党政府偏爱补贴和公共投资不同",
        "美国制造业长期受劳动力短缺问题困扰",
    ],
    ids=["china-dependence", "conclusion-3", "competition-2", "republican-tax-cuts", "labour-shortage"],
)
def test_paragraph_starts(seed_paper, first_words):
    assert any(p.text.startswith(first_words) for p in seed_paper.paragraphs)


def test_paragraph_count_and_ends(seed_paper):
    assert len(seed_paper.paragraphs) == 41
    for p in seed_paper.paragraphs[:-1]:
        assert p.text.endswith("。"), p.id
    assert seed_paper.paragraphs[-1].text == "【责任编辑：李静】"
    assert [p.id for p in seed_paper.paragraphs] == [f"para-{i:03d}" for i in range(41)]


def test_paper_round_trips_through_dict(seed_paper):
    again = Paper.from_dict(seed_paper.to_dict())
    assert again == seed_paper
    assert again.to_dict() == seed_paper.to_dict()


# --------------------------------------------------------------------------- crafted: line joining


@pytest.mark.parametrize(
    ("left", "right", "joined"),
    [
        ("美国制造业回流", "政策未达预期。", "美国制造业回流政策未达预期。"),
        ("From Offshoring to ", "Reshoring: The Pendulum", "From Offshoring to Reshoring: The Pendulum"),
        ("Journal of Economics and", "Finance, Vol.7", "Journal of Economics and Finance, Vol.7"),
        ("2017 年第 8 期，第 62-", "68 页", "2017 年第 8 期，第 62-68 页"),
        ("《全球化》2017", "年第 8 期", "《全球化》2017年第 8 期"),
        ("pp.39-56; Nurullah ", "Gur and Serif Dilek", "pp.39-56; Nurullah Gur and Serif Dilek"),
        ("https://", "www.iea.org/a.pdf.", "https://www.iea.org/a.pdf."),
        ("https://home.", "treasury.gov/a.pdf.", "https://home.treasury.gov/a.pdf."),
        ("https://x.gov/fact-sheet-23-", "billion-new.", "https://x.gov/fact-sheet-23-billion-new."),
        (
            "https://x.gov/speeches-remarks/2022/ ",
            "03/04/remarks/.",
            "https://x.gov/speeches-remarks/2022/03/04/remarks/.",
        ),
        ("https://obamawhi ", "tehouse.archives.gov/a.pdf.", "https://obamawhitehouse.archives.gov/a.pdf."),
        ("https://x.org/a.pdf.", "Accessed May 2023.", "https://x.org/a.pdf. Accessed May 2023."),
    ],
)
def test_join_wrapped(left, right, joined):
    assert join_wrapped(left, right) == joined


def test_display_width():
    assert display_width("美国") == 2.0
    assert display_width("GDP 2%") == 3.0
    assert display_width("“美”") == 2.0  # curly quotes are half width by default (English)...
    assert display_width("“美”", ambiguous=1.0) == 3.0  # ...and full width in Chinese typesetting


# --------------------------------------------------------------------------- crafted: footnotes and URLs


@pytest.mark.parametrize(
    ("lines", "url"),
    [
        (
            ["“Inflation Reduction Act 2022,” May 25, 2023, https://", "www.iea.org/policies/16277-ira-2022.pdf."],
            "https://www.iea.org/policies/16277-ira-2022.pdf",
        ),
        (
            [
                "The White House, “Fact Sheet,” 2010, https://obamawhitehouse.archives.gov/fact-sheet-23-",
                "billion-new-credits.",
            ],
            "https://obamawhitehouse.archives.gov/fact-sheet-23-billion-new-credits",
        ),
        (
            [
                "Treasury, “The Made in America Tax Plan,” April 2021, https://home.",
                "treasury.gov/system/files/136/Report.pdf.",
            ],
            "https://home.treasury.gov/system/files/136/Report.pdf",
        ),
        (
            [
                "“Remarks,” March 4, 2022, https://www.whitehouse.gov/speeches-remarks/2022/ ",
                "03/04/remarks-by-president/.",
            ],
            "https://www.whitehouse.gov/speeches-remarks/2022/03/04/remarks-by-president/",
        ),
    ],
    ids=["after-scheme", "after-hyphen", "after-dot", "after-slash-and-space"],
)
def test_wrapped_url_in_a_footnote_is_one_url(lines, url):
    from citeqa.ingest.bibliography import build_bibliography

    paper = one_page([f"[1]{IDSP}{lines[0]}", *lines[1:]])
    text = paper.footnote("p1-fn1").text
    assert url in text
    assert " " not in text[text.index("https://") :]
    (source,) = build_bibliography(paper)
    assert source.url == url


def test_footnote_continuing_over_several_lines():
    paper = one_page(
        [
            f"[1]{IDSP}Bureau of Economic Analysis, U.S. Department of Commerce, “U.S. Trade in Goods and ",
            "Services, 1960-Present,” https://www.bea.gov/news/2023/us-international-trade-goods-and-services-",
            "september-2023.",
            f"[2]{IDSP}韦宗友、张歆伟：《拜登政府“中产阶级外交政策”与中美关系》，《美国研究》",
            "2021 年第 4期，第 94 页。",
        ],
        markers=2,
    )
    assert [f.id for f in paper.footnotes] == ["p1-fn1", "p1-fn2"]
    assert paper.footnote("p1-fn1").text == (
        "Bureau of Economic Analysis, U.S. Department of Commerce, “U.S. Trade in Goods and Services, "
        "1960-Present,” https://www.bea.gov/news/2023/us-international-trade-goods-and-services-september-2023."
    )
    assert (
        paper.footnote("p1-fn2").text
        == "韦宗友、张歆伟：《拜登政府“中产阶级外交政策”与中美关系》，《美国研究》2021 年第 4期，第 94 页。"
    )
    # footnote lines never leak into the body
    assert all("Bureau" not in p.text and "韦宗友" not in p.text for p in paper.paragraphs)


def test_page_opening_with_the_tail_of_the_previous_pages_footnote():
    page1 = [*body(1), f"[1]{IDSP}The White House, “Remarks by President Biden on Delivering on Made in America"]
    page2 = [
        "Commitments,” March 4, 2022, https://www.whitehouse.gov/briefing-room/remarks/.",
        *body(1, start=3),
        f"[1]{IDSP}“Second page note source,” 2023, https://example.org/second.",
    ]
    paper = parse_text(doc(page1, page2))
    assert paper.page_count == 2
    assert paper.footnote("p1-fn1").text == (
        "The White House, “Remarks by President Biden on Delivering on Made in America Commitments,” "
        "March 4, 2022, https://www.whitehouse.gov/briefing-room/remarks/."
    )
    assert paper.footnote("p2-fn1").text.startswith("“Second page")
    assert [p.pages for p in paper.paragraphs] == [[1], [2]]
    assert all("Commitments" not in p.text for p in paper.paragraphs)
    assert paper.paragraphs[1].text.startswith(zh(5, 3))


def test_page_opening_with_the_rest_of_a_url_after_a_dot():
    page1 = [*body(1), f"[1]{IDSP}U.S. Department of the Treasury, “Tax Plan,” April 2021, https://home."]
    page2 = ["treasury.gov/system/files/136/MadeInAmericaTaxPlan_Report.pdf.", *body(0, start=2)]
    paper = parse_text(doc(page1, page2))
    assert paper.footnote("p1-fn1").text.endswith(
        "https://home.treasury.gov/system/files/136/MadeInAmericaTaxPlan_Report.pdf."
    )
    assert paper.paragraphs[-1].pages == [2]
    assert "treasury" not in paper.paragraphs[-1].text


def test_page_opening_after_a_page_number_and_running_header_with_a_footnote_tail():
    page1 = [*body(1), f"[1]{IDSP}“Value Added by Industry as a Percentage of Gross Domestic Product,” https://fred."]
    text = (
        doc(page1)
        + "\n12\n\n"
        + RUNNING_HEADER
        + "\n\nstlouisfed.org/release/tables?rid=331.\n\n"
        + "\n\n".join(body(0, 4))
    )
    paper = parse_text(text)
    assert paper.page_count == 2
    assert paper.printed_pages == [11, 12]
    assert paper.footnote("p1-fn1").text.endswith("https://fred.stlouisfed.org/release/tables?rid=331.")
    assert paper.paragraphs[-1].pages == [2]
    assert paper.paragraphs[-1].printed_pages == [12]


@pytest.mark.parametrize(
    ("last_footnote", "first_line"),
    [
        ("蒋瑛、谢勇、常群：《美国制造业回流对中国供应链安全的影响研究》，《亚太经济》2023 年", full(start=1)),
        ("“Total Construction Spending,” https://fred.stlouisfed.org/series/TLMFGCONS.", "2.79 万亿美元" + zh(14)),
        ("“Productivity,” https://www.bls.gov/productivity/tables/.", "2021—2022 年，" + zh(12)),
    ],
    ids=["unfinished-chinese-footnote", "url-then-decimal-number", "url-then-year"],
)
def test_body_text_after_a_footnote_at_the_page_end_stays_body(last_footnote, first_line):
    page1 = [*body(1), f"[1]{IDSP}{last_footnote}"]
    page2 = [first_line, *body(0, start=2)]
    paper = parse_text(doc(page1, page2))
    assert paper.footnote("p1-fn1").text == last_footnote
    assert paper.paragraphs[1].text.startswith(first_line)
    assert paper.paragraphs[1].pages == [2]


# --------------------------------------------------------------------------- crafted: markers


def test_two_pages_with_footnote_1_resolve_to_their_own_page():
    page1 = [*body(1), f"[1]{IDSP}“Alpha report,” 2020, https://example.org/alpha."]
    page2 = [*body(1, start=7), f"[1]{IDSP}“Beta report,” 2021, https://example.org/beta."]
    paper = parse_text(doc(page1, page2))
    (m1,) = paper.paragraphs[0].markers
    (m2,) = paper.paragraphs[1].markers
    assert (m1.footnote_id, m2.footnote_id) == ("p1-fn1", "p2-fn1")
    assert "Alpha" in paper.footnote(m1.footnote_id).text
    assert "Beta" in paper.footnote(m2.footnote_id).text
    assert paper.footnote("p1-fn1").cited_by == ["para-000"]
    assert paper.footnote("p2-fn1").cited_by == ["para-001"]


def test_paragraph_across_pages_cites_a_footnote_1_on_each_page():
    page1 = [indented(), cite(full(start=1), 1), full(start=2)]  # no sentence end: the paragraph runs on
    page1 += [f"[1]{IDSP}“Alpha,” 2020, https://example.org/alpha."]
    page2 = [full(start=3), cite(full(start=4), 1), zh(5) + "。", *body(0, 6)]
    page2 += [f"[1]{IDSP}“Beta,” 2021, https://example.org/beta."]
    paper = parse_text(doc(page1, page2))
    first = paper.paragraphs[0]
    assert first.pages == [1, 2]
    assert [m.footnote_id for m in first.markers] == ["p1-fn1", "p2-fn1"]
    for m in first.markers:
        assert first.page_at(m.offset - 1) == m.page
    assert first.page_starts == [[0, 1], [len(indented()) + 2 * FULL, 2]]
    assert first.text[: 5 + len(indented()) + FULL] == indented() + full(start=1) + full(start=2)[:5]


@pytest.mark.parametrize(
    ("line", "clean", "before"),
    [
        (
            "的成果较少。[1] 从国内政治和外交政策互动的视角出发探究",
            "的成果较少。从国内政治和外交政策互动的视角出发探究",
            "较少。",
        ),
        (
            "定包含十分严格的汽车原产地规则 [1] 条款要求享受关税减",
            "定包含十分严格的汽车原产地规则条款要求享受关税减",
            "规则",
        ),
        (
            "美国制造业出货量为5881亿美元，[1]为 1992 年以来的",
            "美国制造业出货量为5881亿美元，为 1992 年以来的",
            "美元，",
        ),
    ],
    ids=["after-full-stop", "spaces-both-sides", "no-space"],
)
def test_marker_with_spaces_between_chinese(line, clean, before):
    paper = parse_text(doc([indented(), line, *body(0, 3)[1:], f"[1]{IDSP}“Source,” 2020."]))
    para = paper.paragraphs[0]
    assert clean in para.text
    (m,) = para.markers
    assert para.text[: m.offset].endswith(before)
    assert m.footnote_id == "p1-fn1"


def test_marker_between_english_words_keeps_one_space():
    from citeqa.ingest.paper import _remove_markers

    assert _remove_markers("US rivalry [2] and supply chains", 1, 0) == ("US rivalry and supply chains", [(10, 1, 2)])
    assert _remove_markers("US rivalry[2] and", 1, 0) == ("US rivalry and", [(10, 1, 2)])
    assert _remove_markers("较少。[1] 从国内[2]", 3, 5) == ("较少。从国内", [(8, 3, 1), (11, 3, 2)])


# --------------------------------------------------------------------------- crafted: paragraphs, headings, pages


def test_paragraph_ends_before_an_indented_line_even_after_a_full_line():
    lines = [
        indented(),
        full(),
        full("。"),  # full width, ends a sentence; the next line is indented: a new paragraph
        indented(start=1),
        full("。", start=2),  # full width, ends a sentence; the next line is full: the same paragraph
        full(start=3),
        zh(7) + "。",  # short: the paragraph ends
        cite(indented(start=4), 1),
        zh(9, 5) + "。",
        f"[1]{IDSP}“Source,” 2020.",
    ]
    paper = parse_text(doc(lines))
    texts = [p.text for p in paper.paragraphs]
    assert len(texts) == 3, texts
    assert texts[0] == indented() + full() + full("。")
    assert texts[1] == indented(start=1) + full("。", start=2) + full(start=3) + zh(7) + "。"


def test_headings_and_section_paths():
    lines = [
        "一、美国激励制造业回流的路径",
        *body(1)[:-1],
        zh(4) + "。",
        "( 一 ) 推行产业立法",
        *body(0, 2),
        "（二）收紧“买美国货”条款",
        *body(0, 3),
        "二、美国制造业回流政策的实施动因",
        *body(0, 4),
        f"[1]{IDSP}“Source,” 2020.",
    ]
    paper = parse_text(doc(lines))
    assert paper.sections == [
        ["一、美国激励制造业回流的路径"],
        ["一、美国激励制造业回流的路径", "（一）推行产业立法"],
        ["一、美国激励制造业回流的路径", "（二）收紧“买美国货”条款"],
        ["二、美国制造业回流政策的实施动因"],
    ]
    assert [p.section for p in paper.paragraphs] == paper.sections


def test_printed_pages_from_a_page_number_line_and_none_without():
    page1 = [*body(1), f"[1]{IDSP}“One,” 2020."]
    page2 = [*body(1, 2), f"[1]{IDSP}“Two,” 2020."]
    page3 = [*body(1, 4), f"[1]{IDSP}“Three,” 2020."]
    with_number = doc(page1, page2) + "\n7\n\n" + RUNNING_HEADER + "\n\n" + doc(page3).lstrip(" ")
    paper = parse_text(with_number)
    assert paper.page_count == 3
    assert paper.printed_pages == [5, 6, 7]
    assert paper.footnote("p3-fn1").printed_page == 7
    assert parse_text(doc(page1, page2, page3)).printed_pages == [None, None, None]


# --------------------------------------------------------------------------- crafted: bad input


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        (" \n\n\u3000\n", "empty"),
        ("abc\x00def\n", "binary"),
        (doc(body(0)), "no footnotes"),
        (doc([*body(2), f"[1]{IDSP}“Only one,” 2020."]), "p1-fn2"),
        (doc([*body(1), f"[1]{IDSP}“One,” 2020.", f"[1]{IDSP}“Again,” 2020."]), "two footnotes numbered 1"),
    ],
    ids=["empty", "blank", "nul", "no-footnotes", "dangling-marker", "duplicate-footnote"],
)
def test_bad_text_raises_paper_error(text, message):
    with pytest.raises(PaperError, match=message):
        parse_text(text)


def test_marker_cannot_borrow_a_footnote_from_another_page():
    page1 = [*body(1), f"[1]{IDSP}“One,” 2020."]
    page2 = [*body(1, 3)]  # cites [1] but page 2 has no footnote 1
    with pytest.raises(PaperError, match="p2-fn1"):
        parse_text(doc(page1, page2))


def test_paper_error_is_a_value_error():
    assert issubclass(PaperError, ValueError)

"""Bibliography: references parsed from the footnotes, merged into sources, exported as BibTeX and CSL-JSON."""

from __future__ import annotations

import json
import re
from urllib.parse import urlparse

import pytest

from citeqa.ingest.bibliography import (
    build_bibliography,
    parse_reference,
    split_references,
    to_bibtex,
    to_csl_json,
)
from citeqa.textutil import URL_RE


@pytest.fixture(scope="module")
def sources(seed_paper):
    return build_bibliography(seed_paper)


def assert_valid_url(url: str) -> None:
    parts = urlparse(url)
    assert parts.scheme in ("http", "https"), url
    assert parts.netloc and "." in parts.netloc, url
    assert not re.search(r"\s", url), url
    assert not url.endswith("."), url
    assert "。" not in url and "，" not in url, url
    assert url.count("://") == 1, url


def by_title(sources, start: str):
    (match,) = [s for s in sources if s.title.startswith(start)]
    return match


# --------------------------------------------------------------------------- the real seed


def test_every_url_is_one_valid_url(seed_paper, sources):
    urls = [s.url for s in sources if s.url]
    assert len(urls) >= 50
    for url in urls:
        assert_valid_url(url)
    # every URL printed in a footnote made it into the bibliography whole
    for fn in seed_paper.footnotes:
        for m in URL_RE.finditer(fn.text):
            printed = m.group(0).rstrip(".。")
            assert any(s.url == printed for s in sources), (fn.id, printed)


def test_wrapped_urls_are_rejoined(sources):
    urls = {s.url for s in sources}
    assert "https://home.treasury.gov/system/files/136/MadeInAmericaTaxPlan_Report.pdf" in urls  # after a dot
    assert (
        "https://obamawhitehouse.archives.gov/sites/default/files/national_strategy_for_global_supply_chain_security.pdf"
        in urls
    )  # inside a word, with a trailing space
    assert (
        "https://www.whitehouse.gov/briefing-room/speeches-remarks/2022/03/04/"
        "remarks-by-president-biden-on-delivering-on-made-in-america-commitments/" in urls
    )  # after a slash, with a trailing space
    assert "https://www.iea.org/policies/16277-inflation-reduction-act-2022-sec-13401-clean-vehicle-credit" in urls
    assert "https://cn.nytimes.com/business/20230831/china-us-trade-supply-chain/" in urls  # no trailing "。"


def test_bea_trade_series_is_one_source_cited_by_several_footnotes(sources):
    bea = [s for s in sources if s.title.startswith("U.S. Trade in Goods and Services")]
    assert len(bea) == 1
    (src,) = bea
    assert src.footnotes == ["p9-fn2", "p15-fn1", "p17-fn1"]
    assert src.authors == "Bureau of Economic Analysis, U.S. Department of Commerce"
    assert src.url == "https://www.bea.gov/news/2023/us-international-trade-goods-and-services-september-2023"
    assert src.variant_titles == ["U.S. Trade in Goods and Services by Selected Countries and Areas, 1999-Present"]
    assert len(src.raw) == 3


def test_p3_fn1_splits_into_ten_works(seed_paper, sources):
    works = split_references(seed_paper.footnote("p3-fn1").text)
    assert len(works) == 10
    assert works[0].startswith("蒋瑛、谢勇、常群：")
    assert works[-1].startswith("Pan Hui and Zhu Di")
    assert not works[-1].endswith("。")
    cited = [s for s in sources if "p3-fn1" in s.footnotes]
    assert len(cited) == 10
    assert [s.language for s in cited] == ["zh"] * 7 + ["en"] * 3


@pytest.mark.parametrize(
    ("title", "authors", "journal", "year", "issue", "pages"),
    [
        ("美国制造业回流对中国供应链安全的影响研究", "蒋瑛、谢勇、常群", "亚太经济", "2023", "2", "75-86"),
        (
            "美国制造业回流政策对竞争力的影响——基于显示性比较优势指数的分析",
            "桑百川、王绍逾",
            "社会科学研究",
            "2022",
            "5",
            "71-82",
        ),
        ("特朗普“制造业回流”政策对我国产业政策的影响及应对", "王昌林、盛朝迅、苑生龙", "全球化", "2017", "8", "62-68"),
        ("美国制造业回流的影响因素分析", "宗永建、阎恬冬", "国际经济合作", "2014", "1", "53-55"),
        ("拜登政府“中产阶级外交政策”与中美关系", "韦宗友、张歆伟", "美国研究", "2021", "4", "94"),
    ],
    ids=["jiang", "sang", "wang-wrapped-pages", "zong-wrapped-journal", "wei"],
)
def test_chinese_journal_references(sources, title, authors, journal, year, issue, pages):
    src = by_title(sources, title)
    assert src.title == title
    assert src.language == "zh"
    assert (src.authors, src.container, src.date, src.issue, src.pages) == (authors, journal, year, issue, [pages])


def test_all_chinese_journal_articles_have_every_field(sources):
    articles = [s for s in sources if s.language == "zh" and s.issue]
    assert len(articles) == 8
    for s in articles:
        assert s.authors and s.title and s.container and re.fullmatch(r"\d{4}", s.date) and s.pages, s


def test_chinese_web_reference(sources):
    src = by_title(sources, "“脱钩”不易")
    assert src.container == "纽约时报中文网"
    assert src.date == "2023-08-31"
    assert src.footnotes == ["p17-fn6"]


def test_english_journal_references(sources):
    src = by_title(sources, "US–China Economic Rivalry")
    assert src.authors == "Nurullah Gur and Serif Dilek"
    assert src.container == "The Chinese Journal of International Politics"
    assert (src.volume, src.issue, src.date, src.pages) == ("16", "1", "2023", ["61–83"])
    pan = by_title(sources, "The ‘Manufacturing Reshoring’ Strategy")
    assert pan.container == "Eurasian Journal of Economics and Finance"


def test_english_web_references(sources):
    src = by_title(sources, "Fact Sheet: $2.3 Billion")
    assert src.authors == "The White House"
    assert src.date == "2010-01-08"
    assert src.url.endswith("fact-sheet-23-billion-new-clean-energy-manufacturing-tax-credits")
    pew = by_title(sources, "The Lost Decade of the Middle Class")
    assert (pew.container, pew.date) == ("Pew Research Center", "2012-08-22")
    nss = by_title(sources, "National Security Strategy of the United States")
    assert (nss.url, nss.pages, nss.date) == ("", ["29-30"], "2017-12")


def test_note_footnotes_are_not_sources_and_every_reference_is(seed_paper, sources):
    cited = {f for s in sources for f in s.footnotes}
    assert "p8-fn1" not in cited
    assert cited == {f.id for f in seed_paper.footnotes if f.kind == "reference"}
    assert len(sources) == 62
    assert sum(len(s.raw) for s in sources) == 64  # 10 works in p3-fn1 + one in each of 54 other references
    ids = [s.id for s in sources]
    assert len(set(ids)) == len(ids)


def test_bibliography_is_deterministic(seed_paper, sources):
    again = build_bibliography(seed_paper)
    assert [s.to_dict() for s in again] == [s.to_dict() for s in sources]


# --------------------------------------------------------------------------- exports


def test_bibtex_export(sources):
    bib = to_bibtex(sources)
    entries = re.split(r"\n\n(?=@)", bib.strip())
    assert len(entries) == len(sources)
    keys = []
    for entry, src in zip(entries, sources, strict=True):
        m = re.match(r"@(article|misc)\{([^,\s]+),\n", entry)
        assert m, entry[:80]
        keys.append(m.group(2))
        assert m.group(2) == src.id
        assert entry.endswith("\n}")
        depth = 0
        for ch in entry.replace("\\{", "").replace("\\}", ""):
            depth += {"{": 1, "}": -1}.get(ch, 0)
            assert depth >= 0, entry
        assert depth == 0, entry
        if src.url:
            assert f"  url = {{{src.url}}}" in entry
        assert "Cited in footnotes " + ", ".join(src.footnotes) in entry
    assert len(set(keys)) == len(keys)
    assert "title = {Fact Sheet: \\$2.3 Billion" in bib
    assert "Shipments, Inventories, \\& Orders" in bib
    jiang = entries[0]
    assert jiang.startswith("@article{")
    assert "journal = {亚太经济}" in jiang and "number = {2}" in jiang and "pages = {75-86}" in jiang


def test_csl_json_export(sources):
    items = to_csl_json(sources)
    assert json.loads(json.dumps(items, ensure_ascii=False)) == items
    assert [i["id"] for i in items] == [s.id for s in sources]
    for item, src in zip(items, sources, strict=True):
        assert item["title"] == src.title
        if src.url:
            assert item["URL"] == src.url
        if src.date:
            parts = item["issued"]["date-parts"][0]
            assert all(isinstance(p, int) for p in parts)
            assert "-".join(f"{p:02d}" if i else str(p) for i, p in enumerate(parts)) == src.date
    fraseur = next(i for i in items if i["title"].startswith("From Offshoring"))
    assert fraseur["type"] == "article-journal"
    assert fraseur["author"] == [{"literal": "Spencer Fraseur"}, {"literal": "Abdul Rasheed"}]
    assert (fraseur["volume"], fraseur["issue"], fraseur["page"]) == ("8", "1", "39-56")
    jiang = items[0]
    assert jiang["language"] == "zh-CN"
    assert [a["literal"] for a in jiang["author"]] == ["蒋瑛", "谢勇", "常群"]


# --------------------------------------------------------------------------- crafted references


def test_split_references_ignores_separators_inside_titles():
    text = "A. Author, “One; Two,” 2020; 张三：《甲；乙》，《期刊》2021 年第 1 期；“Three,” 2022."
    assert split_references(text) == [
        "A. Author, “One; Two,” 2020",
        "张三：《甲；乙》，《期刊》2021 年第 1 期",
        "“Three,” 2022",
    ]


def test_parse_chinese_reference():
    ref = parse_reference(
        "胡峰、王芳：《美国制造业回流的原因、影响及对策》，《科技进步与对策》2014 年第 9 期，第 75-79 页", "p3-fn1"
    )
    assert (ref.language, ref.authors, ref.title, ref.container) == (
        "zh",
        "胡峰、王芳",
        "美国制造业回流的原因、影响及对策",
        "科技进步与对策",
    )
    assert (ref.date, ref.issue, ref.pages, ref.url) == ("2014", "9", "75-79", "")


def test_parse_english_reference_with_url():
    raw = (
        "U.S. Department of Commerce, “Chips for America: A Strategy for the CHIPS for America Fund,” "
        "September 6, 2022, pp.11-12, https://www.nist.gov/system/files/documents/2022/09/13/CHIPS.pdf."
    )
    ref = parse_reference(raw, "p7-fn2")
    assert ref.authors == "U.S. Department of Commerce"
    assert ref.title == "Chips for America: A Strategy for the CHIPS for America Fund"
    assert (ref.date, ref.pages) == ("2022-09-06", "11-12")
    assert ref.url == "https://www.nist.gov/system/files/documents/2022/09/13/CHIPS.pdf"
    assert ref.raw == raw


def test_same_url_merges_and_different_urls_do_not():
    from citeqa.ingest.paper import parse_text

    idsp = "\u3000"
    lines = [
        "美国政府通过推行产业立法[1]收紧采购条款优化创新生态实施",
        "保护主义政策推动制造业回流改善[2]国内就业状况增加供应",
        "链韧性美国政府通过推行产[3]业立法收紧采购条款优化创新生",
        "态实施保护主义政策推动制造业回流。",
        f"[1]{idsp}“Trade Series,” https://www.bea.gov/trade.",
        f"[2]{idsp}“Trade Series by Country,” https://www.bea.gov/trade.",
        f"[3]{idsp}“Trade Series,” https://www.bea.gov/other.",
    ]
    paper = parse_text("\n\n".join(" " + line if i == 0 else line for i, line in enumerate(lines)))
    sources = build_bibliography(paper)
    assert [s.footnotes for s in sources] == [["p1-fn1", "p1-fn2"], ["p1-fn3"]]
    assert sources[0].variant_titles == ["Trade Series by Country"]

"""The shared figure converter: parsing, equality within rounding, comparison, English rendering."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from citeqa.figures import Figure, compare, english_rendering, extract_figures, same_figure

REPO = Path(__file__).resolve().parents[1]


def one(text: str) -> Figure:
    figures = extract_figures(text)
    assert len(figures) == 1, (text, figures)
    return figures[0]


def key(f: Figure) -> tuple[str, float, str]:
    return f.kind, f.value, f.unit


# --------------------------------------------------------------------------- parsing


@pytest.mark.parametrize(
    "text, kind, value, unit",
    [
        ("390 亿美元", "money", 39e9, "USD"),
        ("$39 billion", "money", 39e9, "USD"),
        ("39 billion dollars", "money", 39e9, "USD"),
        ("US$39bn", "money", 39e9, "USD"),
        ("$39.0 billion", "money", 39e9, "USD"),
        ("1.7万亿美元", "money", 1.7e12, "USD"),
        ("$1.7 trillion", "money", 1.7e12, "USD"),
        ("$1,700 billion", "money", 1.7e12, "USD"),
        ("7500 美元", "money", 7500, "USD"),
        ("$7,500", "money", 7500, "USD"),
        ("$245bn", "money", 245e9, "USD"),
        ("23 亿元", "money", 2.3e9, "CNY"),
        ("1299 万人", "count", 12.99e6, "people"),
        ("12.99 million", "count", 12.99e6, ""),
        ("38 万", "count", 380_000, ""),
        ("380,000", "count", 380_000, ""),
        ("832.5 billion", "count", 832.5e9, ""),  # no currency written: a bare amount
        ("17 个", "count", 17, ""),
        ("seventeen", "count", 17, ""),
        ("4年", "count", 4, "years"),
        ("four years", "count", 4, "years"),
        ("九年", "count", 9, "years"),
        ("75%", "percent", 75, "%"),
        ("75 percent", "percent", 75, "%"),
        ("75 per cent", "percent", 75, "%"),
        ("百分之七十五", "percent", 75, "%"),
        ("百分之六十二点五", "percent", 62.5, "%"),
        ("十分之三", "percent", 30, "%"),
        ("three in ten", "percent", 30, "%"),
        ("2 percentage points", "percent", 2, "pp"),
        ("2022 年", "year", 2022, "year"),
        ("in 2022", "year", 2022, "year"),
        ("2017 年 12 月", "date", 20171200, "month"),
        ("December 2017", "date", 20171200, "month"),
        ("2021年 1月 25日", "date", 20210125, "day"),
        ("January 25, 2021", "date", 20210125, "day"),
        ("25 January 2021", "date", 20210125, "day"),
        ("2021-01-25", "date", 20210125, "day"),
        ("2023 年第 1 季度", "date", 20230100, "quarter"),
        ("the first quarter of 2023", "date", 20230100, "quarter"),
        ("Q1 2023", "date", 20230100, "quarter"),
        ("2023 年上半年", "date", 20230100, "half"),
        ("the first half of 2023", "date", 20230100, "half"),
        ("2.61 倍", "ratio", 2.61, "x"),
        ("a 2.61-fold rise", "ratio", 2.61, "x"),
        ("51∶50", "ratio", 1.02, ":"),
        ("passed 51-50", "ratio", 1.02, ":"),
        ("by a vote of 50 to 49", "ratio", 50 / 49, ":"),
    ],
)
def test_parses_one_normalised_figure(text, kind, value, unit):
    f = one(text)
    assert (f.kind, f.unit) == (kind, unit)
    assert f.value == pytest.approx(value, rel=1e-9)


@pytest.mark.parametrize(
    "text, hedge",
    [
        ("nearly 40 billion", "under"),
        ("almost $40 billion", "under"),
        ("超过 2240 亿美元", "over"),
        ("more than $224 billion", "over"),
        ("约 40.3 万个工作岗位", "about"),
        ("about 13 million", "about"),
        ("维持在 50% 左右", "about"),
        ("19% 以上", "over"),
        ("12% 以下", "under"),
        ("40 余万人", "over"),
        ("两倍多", "over"),
        ("up to $7,500", ""),  # a cap is the figure itself
    ],
)
def test_hedges(text, hedge):
    assert one(text).hedge == hedge


def test_surface_and_span_point_into_the_text():
    text = "据统计，投资已超过 2240 亿美元，创造约 40.3 万个岗位。"
    for f in extract_figures(text):
        assert text[f.span[0] : f.span[1]] == f.surface
    assert [f.surface for f in extract_figures(text)] == ["2240 亿美元", "40.3 万个"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("5%–10%", [("percent", 5.0, "%"), ("percent", 10.0, "%")]),
        ("5–10%", [("percent", 5.0, "%"), ("percent", 10.0, "%")]),
        ("7.7%~10%", [("percent", 7.7, "%"), ("percent", 10.0, "%")]),
        ("rose from 20 to 35 percent", [("percent", 20.0, "%"), ("percent", 35.0, "%")]),
        ("$5-10 billion", [("money", 5e9, "USD"), ("money", 10e9, "USD")]),
        ("从 3890 亿增至 4632 亿美元", [("money", 389e9, "USD"), ("money", 463.2e9, "USD")]),
        ("from $389 billion to 463.2 billion", [("money", 389e9, "USD"), ("money", 463.2e9, "USD")]),
        ("2021—2022 年", [("year", 2021.0, "year"), ("year", 2022.0, "year")]),
        ("1980-2009", [("year", 1980.0, "year"), ("year", 2009.0, "year")]),
    ],
)
def test_ranges_are_two_figures_in_one_unit(text, expected):
    assert [key(f) for f in extract_figures(text)] == expected


@pytest.mark.parametrize(
    "text",
    [
        "https://www.bls.gov/opub/btn/volume-9/forty-2020-12345.htm",
        "Rutgers Business Review, Vol.8, No.1, pp.39-56",
        "《亚太经济》第 2 期，第 75-86 页",
        "the 117th Congress; Sec. 13401; Section 301",
        "正文[3]引用",
        "COVID-19 and the F-35",
        "台积电 4 纳米芯片",
        "一个重要原因是一次性征税",  # 一个 is an article, not a count
        "近三届政府",  # "the last three administrations"
        "1990 年代",
    ],
)
def test_digits_that_are_not_figures(text):
    assert [f for f in extract_figures(text) if f.kind != "year"] == []
    assert all(f.kind != "count" for f in extract_figures(text))


def test_a_year_is_never_a_count():
    assert key(one("2022 年")) == ("year", 2022.0, "year")
    assert key(one("2,022 jobs")) == ("count", 2022.0, "")
    assert not same_figure(one("2022 年"), one("2,022 jobs"))
    assert not same_figure(one("2022 年"), one("2022 个"))


# --------------------------------------------------------------------------- equality within rounding


@pytest.mark.parametrize(
    "a, b",
    [
        ("390 亿美元", "$39 billion"),
        ("390 亿美元", "$39.0 billion"),
        ("390 亿美元", "US$39bn"),
        ("390 亿美元", "39 billion dollars"),
        ("390 亿美元", "39 billion"),  # a bare amount may be money
        ("1.7万亿美元", "$1.7 trillion"),
        ("1299 万人", "12.99 million"),
        ("1299 万人", "about 13 million"),
        ("38 万", "380,000"),
        ("7500 美元", "$7,500"),
        ("75%", "百分之七十五"),
        ("十分之三", "30 percent"),
        ("2017 年 12 月", "December 2017"),
        ("2017 年 12 月", "December 18, 2017"),  # the less precise side decides
        ("2017 年", "December 18, 2017"),
        ("2023 年第 1 季度", "March 2023"),
        ("2023 年上半年", "Q2 2023"),
        ("nearly 40 billion", "390 亿美元"),
        ("超过 2240 亿美元", "$224 billion"),
        ("约 40.3 万个", "more than 400,000"),
        ("4000 亿美元", "$400 billion"),
        ("4年", "four years"),
        ("两倍多", "more than double"),
        ("51∶50", "51-50"),
    ],
)
def test_same_figure(a, b):
    assert same_figure(one(a), one(b))
    assert same_figure(one(b), one(a))


@pytest.mark.parametrize(
    "a, b",
    [
        ("8324 亿美元", "$832.5 billion"),
        ("2240 亿美元", "$220bn"),
        ("超过 2240 亿美元", "$220bn"),
        ("390 亿美元", "380 亿美元"),
        ("390 亿美元", "39 billion yuan"),  # another currency
        ("390 亿美元", "39 billion people"),  # a count of people is no amount of money
        ("2022 年", "2022 个"),
        ("2017 年 12 月", "November 2017"),
        ("2017 年", "January 2018"),
        ("75%", "75 percentage points"),
        ("about 100,000", "90,000"),
        ("nearly 40 billion", "41 billion"),  # nearly is below
        ("超过 2240 亿美元", "$223 billion"),  # over is above
        ("4年", "4 个"),  # a duration is not a count of things
        ("2.61 倍", "51∶50"),
    ],
)
def test_not_same_figure(a, b):
    assert not same_figure(one(a), one(b))
    assert not same_figure(one(b), one(a))


def test_compare_sorts_claim_figures():
    claim = extract_figures("2017 年 12 月，将企业所得税税率从 35% 降至 21%，并拨款 390 亿美元")
    result = compare(claim, extract_figures("In December 2017 the rate was cut from 35 percent to 20 percent."))
    assert [c.surface for c, _ in result.matched] == ["2017 年 12 月", "35%"]
    assert [c.surface for c in result.conflicting] == ["21%"]  # 20% is nobody's figure: a contradiction
    assert [c.surface for c in result.missing] == ["390 亿美元"]  # no money in the source at all
    assert not result.complete


def test_a_rival_the_claim_accounts_for_is_no_conflict():
    claim = extract_figures("税率从 35% 降至 21%")
    result = compare(claim, extract_figures("The law lowered the rate to 21 percent."))
    assert [c.surface for c, _ in result.matched] == ["21%"]
    assert [c.surface for c in result.missing] == ["35%"]  # the source's 21% is the claim's own
    assert result.conflicting == []


def test_a_figure_of_another_scale_is_another_quantity():
    claim = extract_figures("拨款 390 亿美元")
    assert compare(claim, extract_figures("a credit of up to $7,500")).missing == claim
    assert compare(claim, extract_figures("$52.7 billion in total")).conflicting == claim
    assert compare(claim, extract_figures("$2.3 billion for training")).missing == claim  # 17x smaller
    year = extract_figures("2009 年")
    assert compare(year, extract_figures("the Buy American Act of 1933")).missing == year  # decades away
    assert compare(year, extract_figures("in 2012")).conflicting == year


def test_witness_title_figure():
    title = "“Inside the $220bn American Cleantech Project Boom,” August 16, 2023, https://www.ft.com/content/3b19c51d"
    figures = extract_figures(title)
    assert [key(f) for f in figures] == [("money", 220e9, "USD"), ("date", 20230816.0, "day")]
    assert compare(extract_figures("投资已超过 2240 亿美元"), figures).conflicting[0].surface == "2240 亿美元"


# --------------------------------------------------------------------------- English rendering


@pytest.mark.parametrize(
    "text, english",
    [
        ("390 亿美元", "$39.0 billion"),
        ("23 亿美元", "$2.3 billion"),
        ("2240 亿美元", "$224.0 billion"),
        ("5 亿美元", "$500 million"),
        ("1.7万亿美元", "$1.7 trillion"),
        ("2.79万亿美元", "$2.79 trillion"),  # english.py rounded this to $2.8 trillion
        ("7500 美元", "$7,500"),
        ("40 万个", "400,000"),
        ("38 万人", "380,000 people"),
        ("15 亿人", "1.5 billion people"),
        ("2017 年 12 月", "December 2017"),
        ("2021年 1月 25日", "January 25, 2021"),
        ("2023 年第 1 季度", "Q1 2023"),
        ("75%", "75%"),
        ("2022 年", "2022"),
        ("$245bn", "$245.0 billion"),
        ("12.99 million", "12.99 million"),
        ("2.61 倍", "2.61 times"),
        ("51∶50", "51:50"),
    ],
)
def test_english_rendering(text, english):
    assert english_rendering(one(text)) == english


def test_english_rendering_with_hedge():
    assert english_rendering(one("超过 2240 亿美元"), with_hedge=True) == "more than $224.0 billion"


def _render_figures():
    try:
        from citeqa.qa.english import render_figures
    except ImportError:  # before the package restructuring
        from citeqa.english import render_figures
    return render_figures


def test_english_rendering_agrees_with_english_py_on_the_whole_paper():
    """english.py can delegate here: same output for every figure it renders, except where it rounded digits off."""
    render_figures = _render_figures()
    paper = json.loads((REPO / "corpus" / "paper.json").read_text(encoding="utf-8"))
    texts = [p["text"] for p in paper["paragraphs"]] + [f["text"] for f in paper["footnotes"]]
    compared = improved = 0
    for text in texts:
        mine = {f.span[0]: english_rendering(f) for f in extract_figures(text)}
        pos = 0
        for zh, en in render_figures(text):
            pos = text.find(zh, pos)
            assert pos in mine, (zh, text)
            compared += 1
            if mine[pos] != en:
                # only 2.79 万亿 -> "$2.8 trillion": the same amount, rounded to one decimal
                assert zh.endswith("万亿美元") and en == f"${float(mine[pos][1:].split()[0]):.1f} trillion", zh
                improved += 1
    assert compared > 80 and improved == 5


# --------------------------------------------------------------------------- properties (seeded random round trips)

_CN_DIGIT = "零一二三四五六七八九"


def chinese_numeral(n: int) -> str:
    """1..9999 in simple Chinese numerals (十七, 七十五, 三千零五)."""
    out, zero = "", False
    for unit, name in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        digit = n // unit % 10
        if digit:
            if zero:
                out += "零"
            out += ("" if (unit == 10 and digit == 1 and n < 20) else _CN_DIGIT[digit]) + name
            zero = False
        elif out:
            zero = True
    return out


@pytest.mark.parametrize("seed", range(5))
def test_property_yi_amounts_in_every_english_spelling(seed):
    rng = random.Random(seed)
    for _ in range(40):
        yi = rng.randint(10, 99_999)  # 亿 = 1e8: 10 亿 .. 99999 亿
        billions = f"{yi / 10:g}"
        zh = one(f"{yi} 亿美元")
        for english in (f"${billions} billion", f"{billions} billion dollars", f"US${billions}bn", f"${yi / 10:.1f}bn"):
            assert same_figure(zh, one(english)), (yi, english)
        assert not same_figure(zh, one(f"${(yi + 1) / 10:.1f} billion")), yi  # one 亿 apart: both exact
        assert same_figure(zh, one(english_rendering(zh)))  # the rendering parses back to the same figure


@pytest.mark.parametrize("seed", range(5))
def test_property_wan_counts(seed):
    rng = random.Random(seed)
    for _ in range(40):
        wan = rng.randint(1, 99_999)
        zh = one(f"{wan} 万人")
        assert zh.value == wan * 10_000
        assert same_figure(zh, one(f"{wan * 10_000:,} workers"))
        assert same_figure(zh, one(f"{wan / 100:g} million people"))
        assert not same_figure(zh, one(f"{(wan + 1) * 10_000:,} workers"))
        assert same_figure(zh, one(english_rendering(zh)))


@pytest.mark.parametrize("seed", range(3))
def test_property_percentages_in_chinese_numerals(seed):
    rng = random.Random(seed)
    for _ in range(40):
        n = rng.randint(1, 99)
        assert chinese_numeral(n) and one(f"百分之{chinese_numeral(n)}").value == n
        assert same_figure(one(f"百分之{chinese_numeral(n)}"), one(f"{n} percent"))
        assert not same_figure(one(f"百分之{chinese_numeral(n)}"), one(f"{n + 1}%"))


def test_property_chinese_numeral_counts():
    for n in (2, 9, 10, 11, 17, 20, 75, 99, 100, 105, 999, 3005):
        assert one(f"{chinese_numeral(n)}个").value == n, chinese_numeral(n)


@pytest.mark.parametrize("seed", range(3))
def test_property_dates(seed):
    rng = random.Random(seed)
    for _ in range(40):
        year, month, day = rng.randint(1900, 2099), rng.randint(1, 12), rng.randint(1, 28)
        month_zh, day_zh = one(f"{year} 年 {month} 月"), one(f"{year}年{month}月{day}日")
        assert english_rendering(day_zh) == f"{_MONTHS[month - 1]} {day}, {year}"
        assert key(one(english_rendering(month_zh))) == key(month_zh)
        assert key(one(english_rendering(day_zh))) == key(day_zh)
        assert same_figure(month_zh, day_zh) and same_figure(one(f"{year} 年"), day_zh)
        assert not same_figure(month_zh, one(f"{_MONTHS[month % 12]} {year + (month == 12)}"))
        assert one(f"{year} 年").kind == "year"


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]

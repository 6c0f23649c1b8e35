"""The value check: an answer must state the kind of value asked (an amount, a percentage, a date), in a sentence
about what the question asks it of; else the question is a near miss and is refused with the reason."""

from __future__ import annotations

import pytest

from citeqa.qa.sentence_ranker import tokens
from citeqa.qa.value_check import AnswerSentence, ValueCheck, asked_kinds, exempt, rate_kind


@pytest.mark.parametrize(
    ("question", "kinds"),
    [
        ("how much did the act provide?", ["amount"]),
        ("芯片法拨了多少钱", ["amount"]),
        ("法案以几比几通过", ["amount"]),
        ("what tariff rate did they set?", ["percent"]),  # a rate is a percentage
        ("企业所得税税率降到了多少", ["percent", "amount"]),
        ("when was the agreement reached?", ["date"]),
        ("协定是哪一年达成的", ["date"]),
        ("建了几个研究院", ["amount"]),
        ("回流政策主要卡在哪几个因素上", []),  # which few: a list, not a count
        ("提要里列的几项措施中，哪一项跟政府采购有关", []),
        ("what cost advantage did china have?", []),  # "cost" names the topic, asks no amount
        ("who signed the act?", []),
        ("what date did Biden sign the act?", ["day"]),  # a day, not a month
        ("那份行政令是哪天签的", ["day"]),
        ("奥巴马宣布设立NNMI是2012年3月几号？", ["day"]),
    ],
)
def test_the_kind_of_value_a_question_asks_for(question, kinds):
    assert asked_kinds(question) == kinds


@pytest.mark.parametrize(
    "question",
    [
        "which report is the 1.4 million figure from?",  # a source
        "哪天发布的那篇报告",  # a cited work's date: its reference states it
        "why did the share of manufacturing fall?",  # the share is context
        "作者怎么评价政策在稳定中产阶级规模上的作用",  # the author's verdict
    ],
)
def test_source_why_and_verdict_questions_are_exempt(question):
    assert exempt(question)


@pytest.fixture(scope="module")
def check(assistant) -> ValueCheck:
    return assistant.answerer.value_check


def _read(text: str, passage: str = "p", position: int = 0) -> AnswerSentence:
    return AnswerSentence(text, passage, position)


def test_an_answer_without_the_kind_asked_is_refused(check):
    answer = [_read("该中心是由产业界、大学和政府部门联合组成的公私联盟。")]
    verdict = check.check("国家半导体技术中心有多少名员工？", tokens, answer)
    assert verdict.reason == "the passages on this topic state no amount or number"


def test_an_answer_holding_the_kind_asked_passes(check):
    answer = [_read("2023 年第 1 季度，美国从中国进口锂电池数量占其进口总额的 87.9%。")]
    assert check.check("美国进口锂电池里中国占多大比例？", tokens, answer).reason == ""


def test_a_value_in_a_sentence_about_something_else_is_refused(check):
    """The percentage sits in a sentence about car parts; the sentence about tariffs states none."""
    answer = [
        _read("特朗普政府发起贸易战，通过大幅提高进口关税增加企业离岸生产成本。"),
        _read("协定规定每辆汽车 75% 的零部件原产于成员国。", "q"),
    ]
    verdict = check.check("特朗普贸易战对中国商品的关税税率是多少？", tokens, answer)
    assert verdict.reason == "the percentages the passages state are about something else"


def test_the_sentence_next_to_the_answer_may_supply_the_missing_value(check):
    answer = [_read("锂电池高度依赖对华进口。", "para-x", 3)]
    candidates = [
        _read("美国从墨西哥的进口额为 4000 亿美元。", "para-x", 2),  # next to it, but not about batteries
        _read("美国从中国进口锂电池数量占其进口总额的 87.9%。", "para-y", 4),  # another paragraph
        _read("美国从中国进口锂电池数量占其进口总额的 87.9%。", "para-x", 4),
    ]
    verdict = check.check("锂电池对华依赖多少", tokens, answer, candidates)
    assert verdict.rescue == 2 and verdict.reason == ""


def test_a_question_of_two_parts_is_refused_only_when_neither_is_answered(check):
    answer = [_read("特朗普表示他上任第一天将废除补贴电动汽车的税收抵免条款。")]
    # one part asks what Trump would do (answered), the other an amount (absent): not refused
    assert check.check("特朗普说上任后要怎么处理电车补贴？补贴原本最多给多少？", tokens, answer).reason == ""
    # both parts ask a value the answer lacks
    refused = check.check("特朗普哪一年说的？补贴原本最多给多少？", tokens, answer)
    assert refused.reason.startswith("the passages on this topic state no")


@pytest.mark.parametrize(
    "question",
    [
        "how much did the IIJA spend on roads?",  # the act is only named in a list of laws
        "国家半导体技术中心每年的预算是多少？",
    ],
)
def test_the_real_answerer_refuses_a_value_the_paper_never_gives(assistant, question):
    answer = assistant.ask(question)
    assert not answer.answered
    assert "state no amount" in answer.refusal_reason or "about something else" in answer.refusal_reason


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("what local-content threshold does USMCA set", "75%"),  # the value is in the note the sentence cites
        ("美国制造业就业人数2023年9月是多少", "1299"),
        ("by how much did the TCJA cut the corporate tax rate", "21%"),
        ("NNMI 计划建多少家研究院", "15"),
    ],
)
def test_the_real_answerer_still_answers_values_the_paper_gives(assistant, question, value):
    answer = assistant.ask(question)
    assert answer.answered, answer.refusal_reason
    assert value in answer.answer.replace(" ", "")


@pytest.mark.parametrize(
    "sentence",
    [
        "该法对购买新能源汽车提供最高 7500 美元的补贴。",  # a cap
        "2009 年，总统签署该法，其中拨款 23 亿美元提供税收抵免。",  # a part
    ],
)
def test_a_total_asked_but_only_a_part_or_a_cap_stated_is_refused(check, sentence):
    for question in ("该法总共花了多少钱？", "该法一共砸了多少钱"):
        verdict = check.check(question, tokens, [_read(sentence)])
        assert verdict.reason == "the passages state only part of the total asked", question


def test_a_total_stated_beside_its_parts_is_answered(check):
    sentence = "截至 9 月，私营部门的劳动力缺口为 857 万人，其中制造业劳动力缺口为 62.7 万人。"
    assert check.check("私营部门的劳动力缺口总共多少人？", tokens, [_read(sentence)]).reason == ""
    # without a whole asked for, a capped amount answers "how much"
    assert check.check("该法对新能源汽车补贴多少钱？", tokens, [_read("该法提供最高 7500 美元的补贴。")]).reason == ""


def test_a_day_asked_needs_a_day_in_the_answer_or_in_the_work_it_cites(check):
    month_only = "2021 年 6 月，拜登政府发布的《百日供应链评估报告》指出美国依赖特定国家。"
    question = "what day exactly was the 100-day supply chain review released?"
    assert (
        check.check(question, tokens, [_read(month_only)]).reason
        == "the passages on this topic state no date to the day"
    )
    # the cited report's reference dates it to the day
    cited = AnswerSentence(month_only, "p", 0, "The White House, “100-Day Reviews,” June 8, 2021, https://example.org.")
    assert check.check(question, tokens, [cited]).reason == ""
    assert check.check("那份行政令是哪天签的", tokens, [_read("2021年 1月 25日，拜登签署行政令。")]).reason == ""
    # a month answers "which month" and "when"
    assert check.check("报告是什么时候发布的", tokens, [_read(month_only)]).reason == ""


@pytest.mark.parametrize(
    ("question", "stems"),
    [
        ("what tariff rate did trump slap on chinese goods", ("关税",)),
        ("what rate of tariffs did Trump impose?", ("关税",)),
        ("特朗普政府对中国商品加征关税的具体税率是多少？", ("关税",)),
        ("by how much did the TCJA cut the corporate tax rate", ("税",)),
        ("企业所得税税率降到了多少", ("税",)),
        ("what share of parts must be made in the region?", ()),
    ],
)
def test_the_kind_of_rate_a_question_names(question, stems):
    assert rate_kind(question) == stems


def test_a_rate_of_another_kind_does_not_answer_a_named_rate(check):
    """The tax cut's 35% -> 21% sits in a sentence naming Trump and 税率, but it is no tariff."""
    tax_cut = _read("2017 年 12 月，特朗普签署《减税和就业法》，将企业所得税税率从 35% 降至 21%。")
    question = "特朗普对中国商品加征关税的税率是多少？"
    verdict = check.check(question, tokens, [tax_cut])
    assert verdict.reason == "the percentages the passages state are about something else"
    assert check.check("特朗普把企业所得税税率降到了多少？", tokens, [tax_cut]).reason == ""
    tariff = _read("特朗普政府对 2500 亿美元中国商品加征 25% 的关税。")
    assert check.check(question, tokens, [tariff]).reason == ""
    # an amount asked beside the rate is still an amount: the sentence's figures answer it
    both = "how much did the CHIPS Act appropriate, and to what level did Trump's law cut the corporate tax rate?"
    assert check.check(both, tokens, [_read("《芯片与科学法》拨款 390 亿美元设立制造激励计划。")]).reason == ""

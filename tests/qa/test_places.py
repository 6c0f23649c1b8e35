"""The gazetteer: places a question names, and the refusal when the answer sentences never name them."""

from __future__ import annotations

import pytest

from citeqa.qa.places import place_name, places_in, places_missing


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("where does vietnam rank on the cheapest countries list", ["越南"]),
        ("越南在排行榜上排第几", ["越南"]),
        ("How much did Intel's Ohio fab get?", ["俄亥俄"]),
        ("印尼和加州的工厂", ["印度尼西亚", "加利福尼亚"]),  # short Chinese forms count as the standard name
        ("印度尼西亚的投资", ["印度尼西亚"]),  # not also 印度
        ("factories in new mexico", ["新墨西哥"]),  # not also Mexico
        ("what did washington do about chips", []),  # the US government, not the state
        ("how did the us and china trade change", []),  # every passage is about them
        ("indiana or india?", ["印第安纳", "印度"]),
        ("india and indonesia", ["印度", "印度尼西亚"]),
        ("印度和印度尼西亚的工厂", ["印度", "印度尼西亚"]),
    ],
)
def test_places_a_question_names(question, places):
    assert places_in(question) == places


def test_a_place_counts_as_named_in_either_language():
    assert places_missing("where does vietnam rank", ["印度占据首位，中国位居第二"]) == ["越南"]
    assert places_missing("where does vietnam rank", ["越南排名第十"]) == []
    assert places_missing("越南排第几", ["Value of Goods Exported from China to Vietnam"]) == []
    names = [place_name("越南", "en"), place_name("欧盟", "en"), place_name("欧洲", "en"), place_name("越南", "zh")]
    assert names == ["Vietnam", "EU", "Europe", "越南"]


@pytest.mark.parametrize(
    "question",
    [
        # the paper names Canada and Vietnam elsewhere (USMCA, exports), never with these figures
        "how many manufacturing jobs did canada add in 2022?",
        "越南的制造业就业人数是多少？",
    ],
)
def test_a_place_the_answer_sentences_never_name_is_refused_with_the_reason(assistant, question):
    from citeqa.qa.answerers.extractive import NO_PLACE

    answer = assistant.ask(question)
    assert not answer.answered
    assert answer.refusal_reason.startswith(NO_PLACE)


@pytest.mark.parametrize(
    "question",
    [
        "what rank did mexico get on the lowest manufacturing cost list?",  # the ranking names Mexico
        "墨西哥的制造业成本排名是第几？",
        "where is tsmc's delayed fab, arizona?",
    ],
)
def test_a_place_the_answer_names_is_answered(assistant, question):
    assert assistant.ask(question).answered

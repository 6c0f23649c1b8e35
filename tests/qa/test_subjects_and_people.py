"""Near misses about another law or president than the one the passage treats, and questions for a person the
paper never names: refused with the reason; the questions the paper does answer stay answered."""

from __future__ import annotations

import pytest

from citeqa.qa.english import load_aliases, load_glossary
from citeqa.qa.person_check import PersonCheck, asks_for_a_person
from citeqa.qa.subjects import Subjects
from citeqa.settings import Settings

IRA_VOTE = "比如，2022年8月，《通胀削减法》在参议院以51∶50的微弱优势通过，共和党全体50名议员均投了反对票。"


@pytest.fixture(scope="module")
def subjects() -> Subjects:
    glossary = Settings().corpus_path / "glossary.json"
    return Subjects(load_glossary(glossary), load_aliases(glossary))


@pytest.mark.parametrize(
    "question", ["芯片法案在参议院是几比几通过的？", "What was the Senate vote on the CHIPS and Science Act?"]
)
def test_a_law_the_answer_replaces_with_another_is_contrasted(subjects, question):
    missing, others = subjects.contrasted(question, [IRA_VOTE])
    assert [s.chinese for s in missing] == ["《芯片与科学法》"]
    assert [s.english for s in others] == ["Inflation Reduction Act (IRA)"]


@pytest.mark.parametrize(
    ("question", "texts"),
    [
        ("ira senate vote count", [IRA_VOTE]),  # the law asked about
        ("芯片法案在参议院是几比几通过的？", ["在众议院，法案以220∶207表决通过。"]),  # no law named: no contrast
        # one of the two subjects asked about is answered
        ("how much did the CHIPS Act give, and what did Trump's tax law cut?", ["拜登签署《芯片与科学法》。"]),
        ("what does the USA require under the IRA?", [IRA_VOTE]),  # "USA" is not the USMCA
    ],
)
def test_no_contrast_when_the_answer_names_what_was_asked_or_nothing_of_its_kind(subjects, question, texts):
    assert subjects.contrasted(question, texts) == ([], [])


def test_a_president_contrasts_with_another_president_not_with_a_law(subjects):
    biden_jobs = "拜登政府推行的产业政策使其任内的制造业就业人数在 2021 年增加 38 万人。"
    missing, _ = subjects.contrasted("how many factory jobs were added under Trump?", [biden_jobs])
    assert [s.chinese for s in missing] == ["特朗普"]
    assert subjects.contrasted("how many jobs did the IRA create?", [biden_jobs]) == ([], [])


@pytest.mark.parametrize(
    ("question", "asks"),
    [
        ("Who took over as House Speaker after McCarthy was ousted?", True),
        ("麦卡锡被罢免以后，接任众议长的是谁？", True),
        ("which president signed the 1933 buy american act into law?", True),
        ("who is part of the national semiconductor technology center?", False),  # members: groups
        ("who cast the tie-breaking vote on the IRA?", False),  # no role asked
        ("who wrote the report the paper cites for the job figures?", False),  # a cited work's author
    ],
)
def test_which_questions_ask_for_one_person_in_a_role(question, asks):
    assert asks_for_a_person(question) is asks


def test_an_answer_naming_only_the_questions_own_people_names_no_one_new():
    check = PersonCheck({"麦卡锡": "Kevin McCarthy, House Speaker"}, common_words=())
    sentence = "2023年10月，共和党籍众议长麦卡锡被弹劾下台。"
    assert check.names_no_one_new("Who took over as House Speaker after McCarthy was ousted?", [sentence])
    assert not check.names_no_one_new("Who was the House Speaker ousted in October 2023?", [sentence])


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("芯片法案在参议院是几比几通过的？", "not of 《芯片与科学法》"),
        ("麦卡锡被罢免以后，接任众议长的是谁？", "name no one but the people the question names"),
        ("Who heads the National Semiconductor Technology Center?", "name no one but the people"),
    ],
)
def test_the_real_answerer_refuses_these_near_misses(assistant, question, reason):
    answer = assistant.ask(question)
    assert not answer.answered
    assert reason in answer.refusal_reason


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("IRA在参议院是几比几通过的？", "51∶50"),
        ("哪位总统签署了《美国复兴和再投资法》？", "奥巴马"),
        ("who cast the deciding vote on the IRA in the senate?", "哈里斯"),
    ],
)
def test_the_real_answerer_still_answers_the_law_and_person_it_states(assistant, question, value):
    answer = assistant.ask(question)
    assert answer.answered, answer.refusal_reason
    assert value in answer.answer

"""Question intents read from wording, and what they change in the answer."""

import pytest

from citeqa.qa.intent import CITATION_INTENT_RE, EVALUATIVE_RE, JUDGEMENT_INTENT_RE, PAPER_PART_RE, WORK_DETAIL_RE


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Where do the figures on manufacturing jobs come from?", True),
        ("Where did the paper get its FDI numbers from?", True),
        ("Who came up with the estimate of a skills gap?", True),
        ("这个说法引自哪里？", True),
        ("这组数据出自哪份报告？", True),
        ("作者引的是哪份白宫文件？", True),
        ("Which source backs the CHIPS figure?", True),
        ("where's that 627k number from?", True),
        ("Where does the paper get its description of the chip research centre?", True),
        ("Which industry study is behind the estimate of a skills gap?", True),
        ("Which think-tank report does the paper lean on here?", True),
        ("who said fabs need 90k technicians", True),
        ("what data does the paper use to say productivity rose?", True),
        ("What does the Reagan Institute report recommend?", False),
        ("What did the 2018 strategy say about supply chains?", False),
        ("Where is most US manufacturing located?", False),
        ("How many jobs came back to the US?", False),
        ("美国制造业增加值是多少？", False),
    ],
)
def test_citation_intent(question, expected):
    assert bool(CITATION_INTENT_RE.search(question)) is expected


@pytest.mark.parametrize(
    "question, expected",
    [
        ("What does the paper conclude about subsidies?", True),
        ("In the author's view, is reshoring sustainable?", True),
        ("Why does the paper judge the policy unsustainable?", True),
        ("作者怎么评价这一政策？", True),
        ("作者认为原因是什么？", True),
        ("How much did the CHIPS Act appropriate?", False),
        ("美国制造业就业人数是多少？", False),
    ],
)
def test_judgement_intent(question, expected):
    assert bool(JUDGEMENT_INTENT_RE.search(question)) is expected


def test_evaluative_sentences_are_recognised():
    assert EVALUATIVE_RE.search("这表明美国经济问题依旧存在。")
    assert EVALUATIVE_RE.search("因此，直接目的在于缓解经济问题。")
    assert not EVALUATIVE_RE.search("2022 年美国制造业增加值为 2.79 万亿美元。")


def test_a_judgement_question_lifts_inferential_sentences_only(assistant, monkeypatch):
    from citeqa.qa.sentence_ranker import RULE_WEIGHTS

    answerer, retriever = assistant.answerer, assistant.retriever
    monkeypatch.setattr(answerer, "sentence_ranker", None)  # the rules' scores, each candidate's own
    question = "作者由美国金融业增加值占GDP比重的变化得出什么判断？"
    retrieval = retriever.retrieve(question)

    def scores():
        return {(c.hit.unit.id, c.index): c for c in answerer._candidates(question, "zh", retrieval)}

    weight = RULE_WEIGHTS["judgement_cue"]
    assert weight > 0
    with_bonus = scores()
    monkeypatch.setitem(RULE_WEIGHTS, "judgement_cue", 0.0)
    without = scores()
    lifted = {k for k, c in with_bonus.items() if EVALUATIVE_RE.search(c.sentence.text)}
    assert lifted and len(lifted) < len(with_bonus)
    for key, c in with_bonus.items():
        assert c.score - without[key].score == pytest.approx(weight if key in lifted else 0.0)


def test_a_fact_question_gets_no_bonus(assistant, monkeypatch):
    from citeqa.qa.sentence_ranker import RULE_WEIGHTS

    answerer, retriever = assistant.answerer, assistant.retriever
    monkeypatch.setattr(answerer, "sentence_ranker", None)
    question = "美国金融业增加值占GDP比重是多少？"
    retrieval = retriever.retrieve(question)
    before = [c.score for c in answerer._candidates(question, "zh", retrieval)]
    monkeypatch.setitem(RULE_WEIGHTS, "judgement_cue", 5.0)
    assert [c.score for c in answerer._candidates(question, "zh", retrieval)] == before


def test_questions_naming_a_part_of_the_paper():
    assert PAPER_PART_RE.search("in the abstract, what problem do jobs ease?")
    assert PAPER_PART_RE.search("journals in the lit review footnote?")
    assert PAPER_PART_RE.search("结语里作者怎么说？")
    assert not PAPER_PART_RE.search("Who won the 2018 World Cup?")
    assert not PAPER_PART_RE.search("美国制造业就业人数是多少？")


def test_work_details_are_not_the_papers_author():
    assert WORK_DETAIL_RE.search("What is the exact title of the speech?")
    assert WORK_DETAIL_RE.search("报告是哪天发布的？")
    assert not WORK_DETAIL_RE.search("In the author's view, is reshoring sustainable?")
    assert not WORK_DETAIL_RE.search("作者认为原因是什么？")


def test_a_verdict_question_gets_no_source_line(assistant):
    answer = assistant.ask("In the author's view, is US reshoring policy sustainable in the long run?")
    assert answer.answered
    assert not any(line.startswith("Source") for line in answer.answer.splitlines())


@pytest.mark.parametrize(
    ("question", "about_a_work"),
    [
        ("What does the author recommend China do at home and abroad?", False),  # the paper's own author
        ("作者觉得中国应该怎么应对", False),
        ("who is the author of the report the paper cites for the 52% figure?", True),  # "report" is a work
        ("Which journal published the Fraseur article?", True),
        ("what did the authors of that pew study find", True),
    ],
)
def test_the_papers_own_author_is_not_a_cited_work(question, about_a_work):
    from citeqa.qa.intent import asks_about_a_work

    assert asks_about_a_work(question) is about_a_work

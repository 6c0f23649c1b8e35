"""Multi-part questions: cut where a question visibly starts again; each part adds its own best sentence."""

from __future__ import annotations

import pytest

from citeqa.qa.decompose import MAX_PARTS, question_parts


@pytest.mark.parametrize(
    ("question", "parts"),
    [
        (
            "how close was the vote in the senate, and who cast the deciding vote?",
            ["how close was the vote in the senate", "who cast the deciding vote?"],
        ),
        (
            "what did the law fund? when was it signed by the president?",
            ["what did the law fund", "when was it signed by the president?"],
        ),
        (
            "factory jobs in 1980 vs the record in september 2023",
            ["factory jobs in 1980", "the record in september 2023"],
        ),
        ("芯片法拨了多少钱？什么时候签署的法案？", ["芯片法拨了多少钱", "什么时候签署的法案"]),
        ("贸易逆差2000年是多少 到2022年又涨到多少了", ["贸易逆差2000年是多少", "到2022年又涨到多少了"]),
        ("拜登政府的补贴有多少，以及附加了哪些条件", ["拜登政府的补贴有多少", "附加了哪些条件"]),
    ],
)
def test_a_question_is_cut_where_it_starts_again(question: str, parts: list[str]) -> None:
    assert question_parts(question) == parts


@pytest.mark.parametrize(
    "question",
    [
        "what local-content threshold does USMCA set",
        "which subsidies and tax credits did the IRA offer",  # "and" joins nouns, not questions
        "what did the CHIPS act fund? and why?",  # "and why?" is too short to stand alone
        "奥巴马 特朗普 拜登各自的口号分别叫啥",  # spaces between names, not clauses
        "芯片法拨了多少钱？",
    ],
)
def test_one_question_is_not_cut(question: str) -> None:
    assert question_parts(question) == []


def test_at_most_max_parts() -> None:
    question = "? ".join(f"what happened in year number {n}" for n in range(6))
    assert len(question_parts(question)) == MAX_PARTS


def test_each_part_adds_its_own_sentence_and_the_switch_turns_it_off(assistant):
    # two facts from two sentences of the paper: the 390 亿 manufacturing incentives and the 7500 EV subsidy
    question = "芯片法给制造激励计划拨了多少钱？通胀削减法对买新能源车最多补贴多少？"
    on = assistant.ask(question)
    assert "390" in on.answer and "7500" in on.answer
    cited = {c.footnote_id for c in on.citations}
    assert {"p4-fn2", "p4-fn3"} <= cited  # each part keeps its own footnote
    from citeqa.qa.assistant import Assistant

    off = Assistant(assistant.settings.replace(decompose=False)).ask(question)
    assert "7500" in off.answer and "390" not in off.answer

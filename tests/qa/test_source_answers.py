"""A question only a stored cited source answers is answered from it (issue 10); the paper stays primary.

The source copy is an invented text (tests/fixtures/sources/chip_workforce.txt) added through the real
`citeqa sources add` for a work the paper cites (p. 68 fn 4), after the Assistant was opened (`sourced` fixture).
"""

from __future__ import annotations

import json

from citeqa.qa.answer import format_answer
from citeqa.qa.answerers.from_sources import paper_clearly_weaker

CITE = (
    "source of p. 68 fn 4 — Semiconductor Industry Association, 'Chipping Away: Assessing and Addressing the Labor "
    "Market Gap Facing the U.S. Semiconductor Industry', para 4"
)
PAPER_QUESTIONS = (
    "《芯片与科学法》为半导体制造拨款多少？",
    "What local-content threshold does USMCA set for cars?",
    "美国制造业劳动力缺口有多大？",
    "How many skilled technical jobs will the US add by 2030?",
)


def test_before_the_add_the_question_is_refused(sourced) -> None:
    assert not sourced.before.answered and "Forward" in sourced.before.refusal_reason


def test_a_question_only_the_source_answers_is_answered_from_it(sourced) -> None:
    # the Assistant opened before the add: it noticed the new source pool by itself
    answer = sourced.assistant.ask(sourced.question)
    assert answer.answered and answer.from_source
    assert "2,350 military veterans" in answer.answer and answer.answer.rstrip().endswith("[1]")
    (citation,) = answer.citations
    assert (citation.kind, citation.source_id, citation.footnote_ids) == ("source", sourced.work, ["p19-fn4"])
    assert (citation.footnote_id, citation.printed_page, citation.number) == ("p19-fn4", 68, 4)
    assert citation.locator == "para 4" and citation.cite == CITE
    assert citation.url.startswith("https://www.semiconductors.org/") and citation.source_check is None
    assert answer.quote_id == f"{sourced.work}:3" and answer.highlight == [citation.quote]

    text = format_answer(answer)
    assert f"[1] {CITE} <{citation.url}>" in text and "Source passage:" in text
    data = json.loads(json.dumps(answer.to_dict()))
    (cited,) = data["citations"]
    assert cited["kind"] == "source" and cited["cite"] == CITE and cited["footnote_ids"] == ["p19-fn4"]
    assert {"marker", "footnote_id", "page", "printed_page", "number", "text", "url", "quote"} <= set(cited)


def test_a_chinese_question_about_the_source_gets_the_chinese_notice(sourced) -> None:
    # (the shorter "Fab Forward 计划招募了多少名退伍军人？" scores 0.247 against the passage: refused, below 0.25)
    answer = sourced.assistant.ask("Fab Forward 计划为芯片工厂招募了多少名退伍军人？")
    assert answer.answered and answer.from_source, answer.refusal_reason
    assert answer.answer.startswith("本文没有说明这一点") and "2,350" in answer.answer


def test_questions_the_paper_answers_are_unchanged_by_the_source(sourced, assistant) -> None:
    with_source = sourced.assistant
    for question in PAPER_QUESTIONS:
        plain, sourced_answer = assistant.ask(question).to_dict(), with_source.ask(question).to_dict()
        assert sourced_answer["answered"] and all(c["kind"] != "source" for c in sourced_answer["citations"])
        for d in (plain, sourced_answer):
            d.pop("timings_ms")
            d["evidence"] = [e for e in d["evidence"] if e["kind"] != "source"]
            for c in d["citations"]:  # a footnote whose work is stored also shows what the work says
                c.pop("source_check")
        assert sourced_answer == plain, question


def test_unrelated_questions_and_names_the_source_lacks_are_still_refused(sourced) -> None:
    for question in (
        "Who won the football world cup in 2018?",
        "How many veterans did Samsung recruit under Fab Forward?",  # the source never names Samsung
        "How many veterans did the Fab Forward programme recruit in 2019?",  # nor that year
        "What did the author say about the Fab Forward programme?",  # only the paper says what its author says
    ):
        answer = sourced.assistant.ask(question)
        assert not answer.answered and not answer.from_source, question


def test_the_paper_is_clearly_weaker_only_when_it_lacks_the_figure_asked_for() -> None:
    source = ["Plants recruited 2,350 veterans in 2022."]
    assert paper_clearly_weaker(
        "How many veterans were recruited?", ["美国制造业长期受劳动力短缺问题困扰。"], source, 0.3, 0.4
    )
    # the paper states a figure: it answers, however similar the source is
    assert not paper_clearly_weaker(
        "How many workers are missing?", ["制造业劳动力缺口为 62.7 万人。"], source, 0.3, 0.4
    )
    # the source passage is less similar than the paper's best passage
    assert not paper_clearly_weaker("How many veterans were recruited?", ["劳动力短缺。"], source, 0.5, 0.4)
    # no figure asked for, or none in the source sentence
    assert not paper_clearly_weaker("Why do veterans join?", ["劳动力短缺。"], source, 0.3, 0.4)
    assert not paper_clearly_weaker("How many veterans?", ["劳动力短缺。"], ["Veterans joined."], 0.3, 0.4)

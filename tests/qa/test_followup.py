"""Follow-up condensation: deterministic rules, no models."""

from __future__ import annotations

import pytest

from citeqa.qa.followup import condense, find_subjects

IMPORTS_EN = "How much did US imports from Mexico grow from 2021 to 2022?"
IMPORTS_ZH = "美国从墨西哥进口增长了多少？"


@pytest.mark.parametrize(
    ("previous", "message", "expected"),
    [
        (IMPORTS_EN, "and what about Canada?", "How much did US imports from Canada grow from 2021 to 2022?"),
        (IMPORTS_EN, "Canada?", "How much did US imports from Canada grow from 2021 to 2022?"),
        (IMPORTS_EN, "How about Vietnam", "How much did US imports from Vietnam grow from 2021 to 2022?"),
        # a Chinese follow-up to an English question: the name is written in the previous question's language
        (IMPORTS_EN, "那加拿大呢？", "How much did US imports from Canada grow from 2021 to 2022?"),
        (IMPORTS_ZH, "那加拿大呢？", "美国从加拿大进口增长了多少？"),
        (IMPORTS_ZH, "and Canada?", "美国从加拿大进口增长了多少？"),
        ("What did the CHIPS Act fund?", "and the IRA?", "What did the Inflation Reduction Act fund?"),
        (
            "What did the Biden administration do on tariffs?",
            "and Trump?",
            "What did the Trump administration do on tariffs?",
        ),
        ("拜登政府推出了哪些法案？", "特朗普呢？", "特朗普政府推出了哪些法案？"),
        ("What did the US import from China in 2022?", "and in 2021?", "What did the US import from China in 2021?"),
    ],
)
def test_substitute_swaps_the_subject_of_the_same_kind(previous: str, message: str, expected: str) -> None:
    result = condense(message, previous)
    assert result.rule == "substitute"
    assert result.question == expected
    assert result.topic == expected  # the next follow-up builds on the condensed question
    assert result.is_followup


def test_chained_followups_build_on_the_condensed_question() -> None:
    first = condense("and what about Canada?", IMPORTS_EN)
    second = condense("and Vietnam?", first.topic)
    assert second.question == "How much did US imports from Vietnam grow from 2021 to 2022?"


def test_year_range_is_not_swapped_but_appended() -> None:
    result = condense("and in 2019?", IMPORTS_EN)
    assert result.rule == "append"
    assert result.question == f"{IMPORTS_EN} and in 2019?"


def test_new_subject_without_counterpart_is_appended() -> None:
    result = condense("What about Mexico?", "What did the CHIPS Act fund?")
    assert result.rule == "append"
    assert result.question == "What did the CHIPS Act fund? What about Mexico?"


@pytest.mark.parametrize(
    ("previous", "message", "expected"),
    [
        ("What did the CHIPS Act fund?", "when was it signed?", "when was it signed? (What did the CHIPS Act fund?)"),
        ("What did the CHIPS Act fund?", "why?", "why? (What did the CHIPS Act fund?)"),
        ("《芯片与科学法》拨款多少？", "它什么时候签署的？", "它什么时候签署的？（《芯片与科学法》拨款多少？）"),
        ("《芯片与科学法》拨款多少？", "为什么？", "为什么？（《芯片与科学法》拨款多少？）"),
    ],
)
def test_context_rule_keeps_the_topic(previous: str, message: str, expected: str) -> None:
    result = condense(message, previous)
    assert result.rule == "context"
    assert result.question == expected
    assert result.topic == previous  # "why?" then "when?" do not nest brackets


@pytest.mark.parametrize(
    ("previous", "message"),
    [
        (None, "and what about Canada?"),  # nothing to follow up on
        ("", "那加拿大呢？"),
        ("What did the CHIPS Act fund?", "What is the main conclusion of this paper?"),  # "this paper" is no anaphor
        ("What did the CHIPS Act fund?", "What is the IRA?"),  # its own subject, no cue: a new question
        ("x", "其他国家的情况如何？"),  # 其他 is not 其
        ("What did the CHIPS Act fund?", "<script>alert(1)</script>"),  # short, but no question word
        ("What did the CHIPS Act fund?", "thanks!"),
        (
            "What did the CHIPS Act fund?",
            "and what does the paper conclude about the effect of tariffs on manufacturing employment since 2018?",
        ),  # long: a question of its own
    ],
)
def test_standalone_messages_pass_unchanged(previous: str | None, message: str) -> None:
    result = condense(message, previous)
    assert result.rule == "standalone"
    assert result.question == message
    assert not result.is_followup


def test_whitespace_is_collapsed_and_empty_stays_empty() -> None:
    assert condense("  and   Canada? ", IMPORTS_EN).message == "and Canada?"
    empty = condense("   ", IMPORTS_EN)
    assert empty.question == "" and empty.rule == "standalone"


def test_find_subjects_prefers_longest_match_and_respects_case() -> None:
    found = find_subjects("美国—墨西哥—加拿大协定 and the US, but us; IRA not ira; 2022年")
    kinds = [(m.subject.kind, m.subject.en) for m in found]
    # the agreement swallows the country names inside it; lower-case "us"/"ira" are ordinary words
    assert kinds == [
        ("law", "the USMCA"),
        ("place", "the United States"),
        ("law", "the Inflation Reduction Act"),
        ("year", "2022"),
    ]


def test_markup_in_a_followup_is_carried_as_text() -> None:
    # condensation never interprets markup; escaping is the view's job
    result = condense("<b>and Canada?</b>", IMPORTS_EN)
    assert result.rule == "standalone"
    assert result.question == "<b>and Canada?</b>"

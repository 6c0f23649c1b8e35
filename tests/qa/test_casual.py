"""Casual English rewriting: abbreviations, short years and quarters written out; names and Chinese left alone."""

from __future__ import annotations

import pytest

from citeqa.qa.casual import expand_casual, expand_casual_chinese

GLOSSARY = {"《通胀削减法》": "Inflation Reduction Act (IRA)", "行政令": "executive order"}


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("mfg jobs in sept '23", "manufacturing jobs in September 2023"),
        ("biden's buy american EO", "biden's buy american executive order"),
        ("dems vs gop", "Democrats versus Republicans"),
        ("jobs lost in 2000-09", "jobs lost in 2000-2009"),
        ("share in q1 2023", "share in first quarter 2023"),
        ("what did the bls say", "what did the Bureau of Labor Statistics say"),
        ("r&d money w/ the chips act", "research and development money with the chips act"),
    ],
)
def test_abbreviations_and_short_years_are_written_out(typed: str, written: str) -> None:
    assert expand_casual(typed, GLOSSARY) == written


def test_known_acronyms_quotes_and_ordinary_words_stay() -> None:
    # IRA is the glossary's own acronym; 'buy american' is a quote, not a year; "decade" is not "dec"
    question = "did the IRA's 'buy american' rule last a decade, 5-10 years, or 50%?"
    assert expand_casual(question, GLOSSARY) == question


def test_a_range_of_percentages_is_not_a_year_range() -> None:
    assert expand_casual("from 2019-20 %", GLOSSARY) == "from 2019-20 %"


@pytest.mark.parametrize(
    ("typed", "written"),
    [
        ("23年上半年进口", "2023年上半年进口"),
        ("24年大选", "2024年大选"),
        ("19年的时候", "2019年的时候"),
        ("川普说要取消补贴", "特朗普说要取消补贴"),
    ],
)
def test_chinese_short_years_and_colloquial_names_are_written_out(typed: str, written: str) -> None:
    assert expand_casual_chinese(typed) == written


@pytest.mark.parametrize("typed", ["近30年来", "过去10年", "20年间", "80年代", "2023年", "3.5年"])
def test_counted_years_decades_and_full_years_stay(typed: str) -> None:
    assert expand_casual_chinese(typed) == typed

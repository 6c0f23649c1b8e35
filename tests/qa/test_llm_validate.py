"""The validation of a model's reply, on replies written here (no model needed)."""

from __future__ import annotations

import pytest

from citeqa.qa.llm.prompts import SENTINEL
from citeqa.qa.llm.validate import is_sentinel, split_sentences, validate

EVIDENCE = [
    "比如，《芯片与科学法》拨款 390 亿美元设立“制造激励计划”。",
    "汽车零部件的 75% 须在北美生产，工人时薪不低于 16 美元。",
]
GLOSSARY = {"《芯片与科学法》": "CHIPS and Science Act"}


def failed(reply: str) -> list[str]:
    return [f.split(":")[0] for f in validate(reply, EVIDENCE, GLOSSARY).failures]


def test_sentences_keep_abbreviations_decimals_and_page_references_whole() -> None:
    reply = "The U.S. Congress gave $39.0 billion, see p. 53 [1]. The threshold is 75 percent.[2]\n[1]"
    assert [(s.text, s.markers) for s in split_sentences(reply)] == [
        ("The U.S. Congress gave $39.0 billion, see p. 53.", [1]),
        ("The threshold is 75 percent.", [2, 1]),
    ]


def test_chinese_sentences_and_full_width_markers() -> None:
    sentences = split_sentences("拨款390亿美元【1】。比例为75%［2］。")
    assert [s.markers for s in sentences] == [[1], [2]]


@pytest.mark.parametrize(
    ("reply", "problems"),
    [
        ("The CHIPS and Science Act appropriated $39 billion [1].", []),
        ("美国拨款 390 亿美元[1]。", []),
        ("75 percent of parts must be made in North America [2].", []),
        ("Workers must earn at least $16 an hour [2].", []),
        ("It appropriated $39 billion [2].", ["figures_backed"]),  # right figure, wrong evidence item
        ("It appropriated $3.9 billion [1].", ["figures_backed"]),
        ("It appropriated $39 billion [1]. Workers earn more.", ["every_sentence_cited"]),
        ("It appropriated $39 billion [4].", ["markers_in_range", "figures_backed"]),
        ("It is called the “CHIPS and Science Act” [1].", []),  # the glossary's English for a name in [1]
        ("It is called the “Chips Dominance Act” [1].", ["quotes_verbatim"]),
        ("《芯片法案》拨款 390 亿美元[1]。", ["quotes_verbatim"]),
        ("Two programmes were funded [1].", []),  # small bare counts are not demanded verbatim
        ("", ["answer_present"]),
    ],
)
def test_checks(reply: str, problems: list[str]) -> None:
    assert failed(reply) == problems


def test_sentinel_alone_and_not_inside_an_answer() -> None:
    assert is_sentinel(f" {SENTINEL}. ", SENTINEL)
    assert is_sentinel(f"{SENTINEL} [1]", SENTINEL)
    assert not is_sentinel(f"It appropriated $39 billion [1]. {SENTINEL}", SENTINEL)

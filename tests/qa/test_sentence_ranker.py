"""The answer-sentence ranker: its features, the rules as weights, the shipped learned model and its training."""

from __future__ import annotations

import json
import logging

import numpy as np
import pytest

from citeqa.qa.sentence_ranker import (
    FEATURES,
    CandidateSentence,
    LearnedRanker,
    feature_matrix,
    model_path,
    rule_scores,
    tokens,
)

FIGURE = "《芯片与科学法》拨款 390 亿美元设立“制造激励计划”。"
TOPIC = "美国政府推行产业立法，推动制造业回流。"


def _candidate(text: str, cosine: float, rank: int = 0, **kw) -> CandidateSentence:
    fields = {"index": 1, "passage_cosine": 0.5, "reference": False, "note": False, "marked": False} | kw
    return CandidateSentence(text, cosine, rank, **fields)


def _column(x: np.ndarray, name: str) -> np.ndarray:
    return x[:, FEATURES.index(name)]


def test_features_say_what_the_question_wants_and_what_each_sentence_holds():
    question = "芯片法拨款多少"
    x = feature_matrix(question, tokens(question), set(), False, [_candidate(FIGURE, 0.6), _candidate(TOPIC, 0.4)])
    assert x.shape == (2, len(FEATURES))
    assert list(_column(x, "type_match")) == [1.0, 0.0]  # "多少" wants a figure: only the first holds one
    assert list(_column(x, "type_missing")) == [0.0, 1.0]
    assert list(_column(x, "cosine_gap")) == pytest.approx([0.0, 0.2])
    assert _column(x, "zh").tolist() == [1.0, 1.0]
    assert feature_matrix(question, set(), set(), False, []).shape == (0, len(FEATURES))


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        # dated inside the named term, dated outside it, named outright, dated across two terms (neither)
        ("拜登任内制造业建设支出涨了多少", [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]]),
        (
            "how much did factory construction spending grow under biden",
            [[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, 0.0]],
        ),
        ("制造业建设支出涨了多少", [[0.0, 0.0]] * 4),  # no president named: both features off
    ],
)
def test_a_named_presidents_term_matches_sentences_dated_inside_it(question, expected):
    sentences = [
        "2021 年 1 月至 2023 年 9 月，制造业建设支出增长了 2.61 倍。",
        "2012 年，制造业建设支出低速增长。",
        "拜登政府宣布了新的计划。",
        "从 2009 年 1 月至 2021 年 1 月，美国制造业建设支出低速增长。",
    ]
    x = feature_matrix(question, tokens(question), set(), False, [_candidate(t, 0.5) for t in sentences])
    assert np.column_stack([_column(x, "term_match"), _column(x, "term_mismatch")]).tolist() == expected


def test_the_rules_are_the_former_formula_as_weights():
    question = "which act appropriated 390 for chips"
    q_tokens = tokens(question)
    x = feature_matrix(question, q_tokens, {"390"}, False, [_candidate(FIGURE, 0.5, rank=1, reference=True)])
    overlap = len(q_tokens & tokens(FIGURE)) / len(q_tokens)
    expected = 0.5 + 0.5 * overlap + 0.15 * 1.0 + 0.04 / 2 - 0.25
    assert rule_scores(x)[0] == pytest.approx(expected)


@pytest.fixture(scope="module")
def shipped(settings) -> LearnedRanker:
    return LearnedRanker.load(model_path(settings.corpus_path))


def test_the_shipped_ranker_loads_and_counts_a_missing_answer_type_against_a_sentence(shipped):
    assert shipped.features == FEATURES
    question = "how much did the chips act appropriate"
    a, b = _candidate(FIGURE, 0.45), _candidate(TOPIC, 0.45)
    x = feature_matrix(question, tokens(question), set(), False, [a, b])
    scores = shipped.scores(x)
    assert np.isfinite(scores).all()
    assert scores[0] > scores[1]  # same similarity; only the first holds the figure asked for


def test_a_ranker_trained_on_other_features_is_refused(tmp_path):
    data = {
        "features": ["cosine"],
        "means": [0.0],
        "scales": [1.0],
        "coefficients": [1.0],
        "intercept": 0.0,
    }
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match="other features"):
        LearnedRanker.load(path)


@pytest.mark.parametrize("broken", ["scales", "coefficients"])
def test_a_ranker_with_zero_scales_or_non_finite_numbers_is_refused(tmp_path, shipped, broken):
    data = {
        "features": list(shipped.features),
        "means": shipped.means.tolist(),
        "scales": shipped.scales.tolist(),
        "coefficients": shipped.coefficients.tolist(),
        "intercept": shipped.intercept,
    }
    data[broken] = [0.0 if broken == "scales" else float("nan")] * len(FEATURES)
    path = tmp_path / "ranker.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ValueError, match=r"non-finite numbers or zero scales"):
        LearnedRanker.load(path)


@pytest.mark.parametrize("content", [None, "{not json"])
def test_a_missing_or_corrupt_ranker_file_falls_back_to_the_rules_with_a_warning(settings, tmp_path, caplog, content):
    from citeqa.qa.answerers.extractive import ExtractiveAnswerer

    (tmp_path / "models").mkdir()
    if content is not None:
        (tmp_path / "models" / "sentence_ranker.json").write_text(content, encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        assert ExtractiveAnswerer._load_ranker(settings.replace(corpus_dir=tmp_path)) is None
    assert "the rules rank sentences" in caplog.text


@pytest.mark.parametrize("selection", ["rules", "learned"])
def test_both_selections_answer_with_citations(assistant, selection):
    from citeqa.qa.answer import detect_language
    from citeqa.qa.answerers.extractive import ExtractiveAnswerer

    answerer = ExtractiveAnswerer(assistant.retriever, assistant.settings.replace(answer_selection=selection))
    assert (answerer.sentence_ranker is not None) == (selection == "learned")
    question = "what local-content threshold does USMCA set for cars"
    answer = answerer.answer(question, detect_language(question), assistant.retriever.retrieve(question))
    assert answer.answered and answer.citations
    assert "75%" in answer.answer


def test_the_training_script_writes_a_ranker_and_restores_the_answerer(assistant, tmp_path):
    from citeqa.qa.train_sentence_ranker import main

    ranker_before = assistant.answerer.sentence_ranker
    out, doc = tmp_path / "ranker.json", tmp_path / "selection.md"
    argv = ["--sets", "gold,blind-a", "--limit", "5", "--out", str(out), "--doc", str(doc)]
    assert main(argv, assistant) == 0
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES)
    assert set(data["report"]["leave_one_set_out"]) == {"gold", "blind-a"}
    assert data["report"]["n_positive"] >= 1
    assert LearnedRanker.load(out).features == FEATURES
    assert "| blind-a |" in doc.read_text(encoding="utf-8")
    # the recording wrapper and the fold rankers are gone: the shared assistant answers as before
    assert "candidate_features" not in vars(assistant.answerer)
    assert assistant.answerer.sentence_ranker is ranker_before

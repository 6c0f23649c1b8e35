"""The answerability model: shipped file, refusals of off-topic questions, casual questions answered, the
low-confidence notice, the ablation switch, and the training script end to end (real models)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from citeqa.qa.answer import NOT_COVERED
from citeqa.qa.answerability import (
    FEATURES,
    LOW_CONFIDENCE_NOTICE,
    AnswerabilityModel,
    judge,
    model_path,
)

OFF_TOPIC = [
    ("who won the 2018 world cup", "en"),
    ("how do i make sourdough bread rise more", "en"),
    ("what's the capital of australia", "en"),
    ("李白是哪个朝代的诗人？", "zh"),
    ("怎么给猫剪指甲", "zh"),
]


@pytest.fixture(scope="module")
def model(settings) -> AnswerabilityModel:
    return AnswerabilityModel.load(model_path(settings.corpus_path))


@pytest.fixture(scope="module")
def modelled(assistant):
    """An assistant whose answerer uses the model (answerability = on; the default is off, see the issue note)."""
    from citeqa.qa.answerers.extractive import ExtractiveAnswerer

    answerer = ExtractiveAnswerer(assistant.retriever, assistant.settings.replace(answerability="on"))

    def ask(question: str):
        from citeqa.qa.answer import detect_language

        return answerer.answer(question, detect_language(question), assistant.retriever.retrieve(question))

    return ask


def test_the_shipped_model_loads_and_gives_probabilities(model, modelled):
    assert model.features == FEATURES
    assert 0.0 < model.t_refuse <= model.t_high < 1.0
    assert model.report["leave_one_set_out"]["per_set"]  # the report travels with the model
    # questions the similarity floor refuses never reach the model (answerability None); the others get a probability
    probabilities = [modelled(q).answerability for q, _ in OFF_TOPIC]
    answerable = modelled("what local-content threshold does USMCA set").answerability
    assert answerable is not None and 0.0 <= answerable <= 1.0
    assert all(0.0 <= p <= 1.0 for p in probabilities if p is not None)
    extreme = {f: 1e6 for f in FEATURES}
    assert 0.0 <= model.probability(extreme) <= 1.0  # clipped, no overflow


@pytest.mark.parametrize("question, language", OFF_TOPIC)
def test_plainly_off_topic_questions_score_low_and_are_refused(modelled, model, question, language):
    a = modelled(question)
    # refused by the similarity floor (nothing in the paper resembles it) or by the model
    assert not a.answered and a.answer.startswith(NOT_COVERED[language])
    assert a.refusal_reason.startswith("no passage is similar enough") or (
        a.answerability is not None and a.answerability < model.t_refuse and "answerability" in a.refusal_reason
    )
    assert a.citations == []
    if a.answerability is not None:
        assert a.confidence in {"high", "medium"}


@pytest.mark.parametrize(
    "question, expected",
    [
        ("usmca local content rule for cars?", "75%"),
        ("how much did the chips act give for the manufacturing incentives program", "390"),
        ("通胀削减法买新能源车最多补多少钱", "7500"),
    ],
)
def test_casually_worded_answerable_questions_are_answered(modelled, model, question, expected):
    a = modelled(question)
    assert a.answered, (a.answerability, a.refusal_reason)
    assert a.answerability is not None and a.answerability >= model.t_refuse
    assert expected in a.answer.replace(" ", "")


@pytest.mark.parametrize(
    "question, language",
    [("what local-content threshold does USMCA set", "en"), ("美国《通胀削减法》规定的电动汽车税收抵免是多少？", "zh")],
)
def test_low_confidence_answers_carry_the_notice_and_count_as_answered(assistant, model, question, language):
    from citeqa.qa.answerers.extractive import ExtractiveAnswerer

    # a model whose whole range is the low band: every answer is a low-confidence one
    answerer = ExtractiveAnswerer(assistant.retriever, assistant.settings.replace(answerability="on"))
    answerer.answerability = dataclasses.replace(model, t_refuse=0.0, t_high=1.0)
    a = answerer.answer(question, language, assistant.retriever.retrieve(question))
    assert a.answered and a.confidence == "low"
    lines = a.answer.splitlines()
    assert lines[0] == LOW_CONFIDENCE_NOTICE[language] and len(lines) > 1
    # and above t_high the same answer is a plain, high-confidence one
    answerer.answerability = dataclasses.replace(model, t_refuse=0.0, t_high=0.0)
    b = answerer.answer(question, language, assistant.retriever.retrieve(question))
    assert b.answered and b.confidence == "high" and not b.answer.startswith(LOW_CONFIDENCE_NOTICE[language])


def test_answerability_off_is_the_hard_rules(assistant):
    from citeqa.qa.answerers.extractive import ExtractiveAnswerer

    rules = ExtractiveAnswerer(assistant.retriever, assistant.settings)  # the default: the rules
    assert rules.answerability is None
    question = "How much did Samsung invest in its Texas chip plant?"
    a = rules.answer(question, "en", assistant.retriever.retrieve(question))
    assert not a.answered and a.refusal_reason.startswith("the paper never mentions Samsung")
    assert a.answerability is None


def test_the_refusal_names_what_drove_it():
    model = AnswerabilityModel(
        features=("usem3_top", "missing_names"),
        means=np.zeros(2),
        scales=np.ones(2),
        coefficients=np.array([1.0, -3.0]),
        intercept=0.0,
        t_refuse=0.5,
        t_high=0.8,
        report={},
    )
    verdict = judge(model, {"usem3_top": 0.2, "missing_names": 1.0}, {"missing_names": ["Samsung"]})
    assert verdict.refuse and verdict.reason.endswith("the paper never mentions Samsung")
    assert "(answerability 0.06)" in verdict.reason
    # similarity drove this one: no names in the reason
    verdict = judge(model, {"usem3_top": -2.0, "missing_names": 0.0}, {"missing_names": []})
    assert verdict.refuse and "never mentions" not in verdict.reason
    assert not judge(model, {"usem3_top": 3.0, "missing_names": 0.0}, {}).refuse


def test_the_training_script_writes_a_valid_model(assistant, tmp_path):
    from citeqa.qa.train_answerability import main

    out, doc = tmp_path / "model.json", tmp_path / "answerability.md"
    assert (
        main(["--sets", "gold,blind-a,blind-b", "--limit", "4", "--out", str(out), "--doc", str(doc)], assistant) == 0
    )
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["features"] == list(FEATURES) and data["report"]["n"] == 24
    assert set(data["report"]["leave_one_set_out"]["per_set"]) <= {"gold", "blind-a", "blind-b"}
    loaded = AnswerabilityModel.load(out)
    assert 0.0 <= loaded.t_refuse <= loaded.t_high <= 1.0
    text = doc.read_text(encoding="utf-8")
    assert "Leave-one-set-out" in text and "| blind-a |" in text

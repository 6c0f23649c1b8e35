"""The chat's llm path: the model's text streams in, then the validated card (or the extractive one) replaces it.
The model is the scripted server of tests/llm_stub.py (a stub: a real model cannot fail validation on cue)."""

from __future__ import annotations

import copy

import pytest
from llm_stub import Reply, StubServer

from citeqa.app.ui import ChatService
from citeqa.qa.answerers.llm import LlmAnswerer

QUESTION = "How much did the CHIPS and Science Act appropriate for the manufacturing incentives program?"


@pytest.fixture()
def streaming(assistant):
    with StubServer() as srv:
        llm = copy.copy(assistant)  # shares the loaded index and models; only the answerer differs
        llm.settings = assistant.settings.replace(answerer="llm", llm_url=srv.url + "/v1")
        llm.answerer = LlmAnswerer(assistant.retriever, llm.settings)
        yield ChatService(llm), srv


def test_text_streams_then_the_validated_card_replaces_it(streaming) -> None:
    service, srv = streaming
    srv.stub.script(Reply("The act appropriated $39 billion for manufacturing incentives [1].", pieces=6))
    updates = list(service.respond_stream(QUESTION, None))
    partial = [u[1][-1]["content"] for u in updates[:-1]]
    assert partial and all("cq-streaming" in p for p in partial)
    final = updates[-1][1][-1]["content"]
    assert "cq-streaming" not in final and "$39 billion" in final and "footnote 2" in final.lower()
    assert len(updates[-1][2]["messages"]) == 2  # the session keeps the question and the final card only


def test_failed_validation_shows_the_extractive_answer_and_why(streaming) -> None:
    service, srv = streaming
    srv.stub.script("It gave $70 billion [1].", "It gave $70 billion [1].")
    final = list(service.respond_stream(QUESTION, None))[-1][1][-1]["content"]
    shown, _, notes = final.partition('cq-meta">Note:')
    assert "$70 billion" not in shown and "390 亿美元" in shown  # the extractive answer, not the model's
    assert "llm answer failed validation" in notes and "extractive answer shown" in notes


def test_bad_input_is_worded_like_the_plain_chat(streaming) -> None:
    service, _ = streaming
    updates = list(service.respond_stream("x" * 100_000, None))
    assert len(updates) == 1 and "too long" in updates[0][1][-1]["content"]

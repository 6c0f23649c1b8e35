"""The llm answerer with a real model on a real server: the packaged Gemma-3-270M GGUF served by llama.cpp
(xllamacpp) on 127.0.0.1. A base model of 270M parameters mostly writes invalid answers, so these tests assert the
contract, not quality: the request round-trips, streaming arrives in pieces, and whatever the model writes, nothing
invalid reaches `answer`/`citations`."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys

import pytest

from citeqa.qa.answer import detect_language
from citeqa.qa.answerers.llm import LlmAnswerer

pytestmark = pytest.mark.llm

QUESTIONS = [
    "How much did the CHIPS and Science Act appropriate for the manufacturing incentives program?",
    "《通胀削减法》对购买新能源汽车的补贴最高是多少？",
]
OUTCOMES = ("llm:", "extractive (llm fallback)")


def citeqa(*args: str, max_tokens: int = 48) -> subprocess.CompletedProcess:
    """The real entry point, with short replies (a base model rarely stops by itself)."""
    env = {**os.environ, "CITEQA_LLM_MAX_TOKENS": str(max_tokens), "CITEQA_LLM_TIMEOUT_S": "120"}
    return subprocess.run(
        [sys.executable, "-m", "citeqa.cli", *args], capture_output=True, text=True, timeout=600, env=env
    )


def _check_contract(answer, evidence_footnotes: set[str]) -> None:
    assert answer.answerer.startswith(OUTCOMES) or answer.answerer == "extractive", answer.answerer
    if answer.answerer.startswith("llm:") and answer.answered:
        assert answer.validation and all(c["ok"] for c in answer.validation if not c["check"].startswith("repair"))
        assert {c.footnote_id for c in answer.citations} <= evidence_footnotes
    if answer.answerer == "extractive (llm fallback)":
        assert answer.warnings[-1].endswith("extractive answer shown")
        assert "llm unavailable" not in answer.warnings[-1], answer.warnings  # the real server did answer


@pytest.mark.parametrize("question", QUESTIONS)
def test_real_model_round_trip_and_stream(assistant, gemma_server, question: str) -> None:
    settings = assistant.settings.replace(
        answerer="llm", llm_url=gemma_server.base_url, llm_max_tokens=48, llm_timeout_s=120
    )
    answerer = LlmAnswerer(assistant.retriever, settings)
    pieces: list[str] = []
    retrieval = assistant.retriever.retrieve(question)
    answer = answerer.answer(question, detect_language(question), retrieval, on_delta=pieces.append)
    assert len(pieces) > 1  # streamed, not one block
    footnotes = {f for e in answer.evidence for f in [e.id, *e.footnote_ids] if "-fn" in f}
    _check_contract(answer, footnotes)


def test_cli_json_with_a_real_model(assistant, gemma_server) -> None:
    out = citeqa("ask", "--json", "--answerer", "llm", "--llm-url", gemma_server.base_url, QUESTIONS[0])
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answerer"].startswith(OUTCOMES)
    assert data["validation"], "the model's reply was validated"
    if data["answerer"] == "extractive (llm fallback)":
        assert "llm unavailable" not in data["warnings"][-1]


def test_cli_serves_a_gguf_file_itself(assistant, gemma_gguf) -> None:
    """--llm-gguf: citeqa starts llama.cpp on 127.0.0.1 itself, answers, and leaves no server behind."""
    out = citeqa("ask", "--json", "--answerer", "llm", "--llm-gguf", str(gemma_gguf), QUESTIONS[0], max_tokens=32)
    assert out.returncode == 0, out.stderr
    assert "LLM server ready at http://127.0.0.1:" in out.stderr
    data = json.loads(out.stdout)
    assert data["answerer"].startswith(OUTCOMES) and "llm unavailable" not in " ".join(data["warnings"])
    port = int(re.search(r"ready at http://127\.0\.0\.1:(\d+)", out.stderr).group(1))
    with socket.socket() as probe:  # the server citeqa started is gone with it
        assert probe.connect_ex(("127.0.0.1", port)) != 0


def test_not_a_gguf_file_is_one_line(tmp_path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"PK\x03\x04 not a model")
    out = citeqa("ask", "--answerer", "llm", "--llm-gguf", str(fake), "what is USMCA")
    assert out.returncode != 0 and "is not a GGUF file" in out.stderr and "Traceback" not in out.stderr
    assert len(out.stderr.strip().splitlines()) <= 3

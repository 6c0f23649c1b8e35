"""`citeqa ask|eval --answerer llm` through the real entry point, against the scripted model server (a stub: see
tests/llm_stub.py for why)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from llm_stub import StubServer
from test_cli_ask import run

VALID = "The CHIPS and Science Act appropriated $39 billion for the manufacturing incentives program [1]."
QUESTION = "How much did the CHIPS and Science Act appropriate for the manufacturing incentives program?"


@pytest.fixture(scope="module", autouse=True)
def built(assistant):
    return assistant


@pytest.fixture()
def server():
    with StubServer() as srv:
        yield srv


def test_ask_json_with_the_llm_answerer(server) -> None:
    server.stub.script(VALID)
    out = run("ask", "--json", "--answerer", "llm", "--llm-url", server.url + "/v1", QUESTION)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answerer"] == "llm:stub-model" and data["answered"]
    assert [c["footnote_id"] for c in data["citations"]] == ["p4-fn2"]
    assert {c["check"] for c in data["validation"]} >= {"markers_in_range", "figures_backed"}


def test_batch_reuses_one_connection(server) -> None:
    server.stub.script(VALID, VALID, VALID)
    out = run("ask", "--jsonl", "-", "--answerer", "llm", "--llm-url", server.url + "/v1", stdin=f"{QUESTION}\n" * 3)
    assert out.returncode == 0, out.stderr
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert [a["answerer"] for a in answers] == ["llm:stub-model"] * 3
    assert len(server.stub.client_ports) == 3 and len(set(server.stub.client_ports)) == 1


def test_unreachable_model_server_still_answers(server) -> None:
    url = server.url + "/v1"
    server.__exit__()  # the server is gone: the URL refuses connections
    out = run("ask", "--json", "--answerer", "llm", "--llm-url", url, QUESTION)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["answerer"] == "extractive (llm fallback)" and data["answered"]
    assert data["warnings"][-1].startswith("llm unavailable") and "Traceback" not in out.stderr


def test_llm_without_a_url_is_a_setting_error() -> None:
    out = run("ask", "--answerer", "llm", QUESTION)
    assert out.returncode == 2 and "answerer llm needs llm_url" in out.stderr and "Traceback" not in out.stderr


def test_eval_reports_llm_metrics_and_never_the_key(server, tmp_path: Path) -> None:
    gold = tmp_path / "gold.jsonl"
    item = {
        "id": "t1",
        "question": QUESTION,
        "language": "en",
        "kind": "fact",
        "evidence": ["拨款 390 亿美元"],
        "footnotes": ["p4-fn2"],
        "key_facts": [["$39 billion", "390 亿"]],
    }
    gold.write_text(json.dumps(item) + "\n" + json.dumps({**item, "id": "t2"}) + "\n", encoding="utf-8")
    server.stub.script(VALID, "It gave $50 billion [1].", "It gave $50 billion [1].")
    env = {"CITEQA_LLM_API_KEY": "sk-never-written-42"}
    out = run(
        "eval",
        "--gold",
        str(gold),
        "--out",
        str(tmp_path / "out"),
        "--answerer",
        "llm",
        "--llm-url",
        server.url + "/v1",
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert "llm answers: 1 of 2 written by the model" in out.stdout
    assert "fallback rate 0.5 (figures_backed 1)" in out.stdout
    results = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert results["llm"]["citation_recall"] is not None and results["llm"]["figure_faithfulness"] == 1.0
    for path in (tmp_path / "out").iterdir():
        assert "sk-never-written" not in path.read_text(encoding="utf-8", errors="replace")

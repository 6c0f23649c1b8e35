"""`citeqa ask` through the real entry point (a subprocess), on the session's real index."""

import json
import subprocess
import sys

import pytest

SCHEMA_TOP = {"question", "answered", "answer", "language", "citations", "evidence", "timings_ms"}
CITATION_KEYS = {"marker", "footnote_id", "page", "printed_page", "number", "text", "url", "quote"}
EVIDENCE_KEYS = {"rank", "kind", "id", "page", "text", "score"}


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "citeqa.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module", autouse=True)
def built(assistant):
    """The session fixture has built the index the subprocesses reuse (CITEQA_INDEX_DIR)."""
    return assistant


def test_ask_json_schema():
    out = run("ask", "--json", "what local-content threshold does USMCA set")
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert set(data) >= SCHEMA_TOP
    assert data["answered"] is True
    assert all(set(c) >= CITATION_KEYS for c in data["citations"])
    assert all(set(e) >= EVIDENCE_KEYS for e in data["evidence"])
    assert {e["kind"] for e in data["evidence"]} <= {"paragraph", "footnote", "source"}
    assert [e["rank"] for e in data["evidence"]] == list(range(1, len(data["evidence"]) + 1))
    assert "Traceback" not in out.stderr


def test_ask_human_output():
    out = run("ask", "《芯片与科学法》拨款多少设立制造激励计划？")
    assert out.returncode == 0
    assert "DEBUG" not in out.stdout + out.stderr  # libraries' debug logging stays out of the user's terminal
    assert "390 亿美元" in out.stdout
    assert "p. 53, footnote 2:" in out.stdout


def test_jsonl_keeps_outputs_aligned_with_inputs():
    lines = [
        "what local-content threshold does USMCA set",
        '{"question": "《通胀削减法》对购买新能源汽车的补贴最高多少？"}',
        "{broken json",
        '{"q": "no question key"}',
        '{"question": "   "}',
        "How do volcanoes form under the ocean?",
    ]
    out = run("ask", "--jsonl", "-", stdin="\n".join(lines) + "\n")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert rows[0]["answered"] is True
    assert "7500" in rows[1]["answer"]
    assert "error" in rows[2] and "JSON" in rows[2]["error"]
    assert "error" in rows[3]
    assert "empty" in rows[4]["error"]
    assert rows[5]["answered"] is False


@pytest.mark.parametrize(
    "question, message",
    [("   ", "empty"), ("x" * 100_000, "too long")],
)
def test_bad_questions_exit_2_with_one_line(question, message):
    out = run("ask", question)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error:") and message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
    assert "Traceback" not in out.stderr


def test_missing_jsonl_file_is_a_clear_error(tmp_path):
    out = run("ask", "--jsonl", str(tmp_path / "nope.jsonl"))
    assert out.returncode == 3
    assert out.stderr.startswith("error:") and "Traceback" not in out.stderr


def test_bad_setting_is_a_clear_error():
    out = run("ask", "--embedders", "gpt4", "hello")
    assert out.returncode == 2
    assert "embedders must be" in out.stderr

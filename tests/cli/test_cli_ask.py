"""`citeqa ask` through the real entry point (a subprocess), on the session's real index."""

import json
import os
import subprocess
import sys

import pytest

SCHEMA_TOP = {"question", "answered", "answer", "language", "citations", "evidence", "timings_ms"}
CITATION_KEYS = {"marker", "footnote_id", "page", "printed_page", "number", "text", "url", "quote"}
EVIDENCE_KEYS = {"rank", "kind", "id", "page", "text", "score"}


def run(*args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "citeqa.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
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


def run_bytes(*args: str, stdin: bytes) -> subprocess.CompletedProcess:
    """The CLI with raw bytes on a strict UTF-8 stdin (what a UTF-8 locale gives)."""
    env = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": "utf-8:strict"}
    return subprocess.run(
        [sys.executable, "-m", "citeqa.cli", *args], input=stdin, capture_output=True, env=env, timeout=300
    )


def test_jsonl_one_output_per_input_line_numbered_by_input_line(tmp_path):
    """A lone surrogate, an invalid byte, blank lines and an over-long question each cost their own line only."""
    lines = [
        b"what local-content threshold does USMCA set",  # 1
        b"",  # 2 blank: skipped but counted
        b'{"question": "\\ud800"}',  # 3 a lone surrogate: used to end the whole batch (rc 2)
        b"   ",  # 4 blank
        b"bad byte \xff here",  # 5 not UTF-8: used to give no output at all
        '{"question": "《通胀削减法》对购买新能源汽车的补贴最高多少？"}'.encode(),  # 6
        b'{"question": "' + b"x" * 5000 + b'"}',  # 7 too long: the echo is a short prefix
        b"How do volcanoes form under the ocean?",  # 8
    ]
    data = b"\n".join(lines) + b"\n"
    for out in (run_bytes("ask", "--jsonl", "-", stdin=data), _run_file(tmp_path, data)):
        assert out.returncode == 0, out.stderr
        assert b"Traceback" not in out.stderr
        rows = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
        assert [r["line"] for r in rows] == [1, 3, 5, 6, 7, 8]
        by_line = {r["line"]: r for r in rows}
        assert by_line[1]["answered"] is True
        assert "error" in by_line[3]
        assert "error" in by_line[5] and "UTF-8" in by_line[5]["error"]
        assert "7500" in by_line[6]["answer"]
        assert "too long" in by_line[7]["error"] and len(json.dumps(by_line[7])) < 600
        assert by_line[8]["answered"] is False


def _run_file(tmp_path, data: bytes) -> subprocess.CompletedProcess:
    path = tmp_path / "questions.jsonl"
    path.write_bytes(data)
    return run_bytes("ask", "--jsonl", str(path), stdin=b"")


def test_jsonl_does_not_echo_a_huge_rejected_input():
    """5 MB of NUL used to come back as 30 MB of \\u0000 escapes (20 MB in -> 126 MB out)."""
    data = b"\x00" * 5_000_000 + b"\n" + b"what local-content threshold does USMCA set\n"
    out = run_bytes("ask", "--jsonl", "-", stdin=data)
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.decode("utf-8").splitlines()]
    assert [r["line"] for r in rows] == [1, 2]
    # at most a 200-character echo, each NUL written as a 6-byte \u0000 escape
    assert "error" in rows[0] and len(out.stdout.splitlines()[0]) < 200 * 6 + 200
    assert rows[1]["answered"] is True


def test_python_dash_m_citeqa_is_the_command():
    out = subprocess.run([sys.executable, "-m", "citeqa", "--help"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.startswith("usage: citeqa")

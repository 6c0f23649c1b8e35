"""The `Assistant` facade: open (or build) the index once, then retrieve and hand the evidence to an answerer."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from citeqa.index.backends import BackendError
from citeqa.index.store import LoadedIndex, Progress, current_build, ensure_index, open_index
from citeqa.qa.answer import Answer, clean_question, detect_language
from citeqa.qa.answerers import Answerer, make_answerer
from citeqa.qa.casual import expand_casual, expand_casual_chinese
from citeqa.qa.english import load_glossary
from citeqa.qa.retrieve import Retriever
from citeqa.settings import Settings, load_settings

# --------------------------------------------------------------------------- facade


class Assistant:
    """Load (or build) the index and models once, then answer questions in milliseconds."""

    def __init__(
        self,
        settings: Settings | None = None,
        progress: Progress | None = None,
        answerer: Callable[[Retriever, Settings], Answerer] | None = None,
    ) -> None:
        self.settings = settings or load_settings()
        self._make_answerer = answerer or make_answerer
        self._source_checks: dict[str, dict[str, Any]] | None = None  # footnote id -> what its stored source says
        self._load(ensure_index(self.settings, progress) if progress else ensure_index(self.settings))
        self._checked_at = self._sources_checked_at = time.monotonic()

    def _load(self, index: LoadedIndex) -> None:
        if self.settings.chroma_url and self.settings.vector_search == "memory":
            index.warm()  # one read of the vectors: questions then need the server only for the build pointer
        self.retriever = Retriever(index, self.settings)
        self._glossary = load_glossary(self.settings.corpus_path / "glossary.json")
        self.answerer = self._make_answerer(self.retriever, self.settings)
        # the first query pays for lazy model and Chroma initialisation (~1 s): pay it at start-up instead
        self.retriever.retrieve("美国制造业回流 manufacturing reshoring")

    def _attach_source_checks(self, answer: Answer) -> None:
        """Each cited footnote whose work is stored gets what the work says (the claim check's verdict and its best
        passage). The check of every reference footnote runs once, on the first answer that needs it (~1-2 s)."""
        if not self.retriever.has_sources or not answer.citations:
            return
        if self._source_checks is None:
            from citeqa.verify.sources_check import check_footnotes

            self._source_checks = {}
            for row in check_footnotes(self.settings).rows:
                if row.verdict in ("not_fetched", "unavailable") or not row.passages:
                    continue  # no copy of the work read: nothing the source says to show
                best = row.passages[0]
                self._source_checks[row.footnote_id] = {
                    "verdict": row.verdict,
                    "reason": row.reason,
                    "passage": best.get("text", ""),
                    "locator": best.get("locator", ""),
                    "source_id": best.get("source_id", ""),
                    "figures_compared": row.figures_compared(),
                }
        for citation in answer.citations:
            if citation.kind != "source":  # a source citation is the source itself: nothing to check it against
                citation.source_check = self._source_checks.get(citation.footnote_id)

    def _follow_sources(self) -> list[str]:
        """A fetch or add since the source pool was read (this process's app, the CLI, another replica): reload the
        source pool only. Embedded: one stat() per question; server mode: the pointer, at most every chroma_poll_s."""
        now = time.monotonic()
        if self.settings.chroma_url and now - self._sources_checked_at < self.settings.chroma_poll_s:
            return []
        self._sources_checked_at = now
        try:
            if self.retriever.refresh_sources():
                self._source_checks = None  # verdicts depend on the copies: check again when next needed
        except BackendError as exc:
            return [f"{exc}; answered with the source copies loaded earlier"]
        return []

    def _follow_published_build(self) -> list[str]:
        """Server mode: switch to a newly published build (checked at most every `chroma_poll_s`). While the server
        is unreachable, questions are answered from the vectors already in memory, with a warning."""
        if not self.settings.chroma_url or time.monotonic() - self._checked_at < self.settings.chroma_poll_s:
            return []
        self._checked_at = time.monotonic()
        try:
            build = current_build(self.settings, self.retriever.index.backend)
            if build and build != self.retriever.index.build:
                self._load(open_index(self.settings))
        except BackendError as exc:
            if self.settings.vector_search != "memory":
                raise
            return [f"{exc}; answered from the build loaded earlier ({self.retriever.index.build})"]
        return []

    @property
    def corpus(self) -> Any:
        return self.retriever.index.corpus

    def ask(self, question: str, on_delta: Callable[[str], None] | None = None) -> Answer:
        """Answer one question; an answerer that streams (llm) hands its text to `on_delta` as it comes."""
        started, cpu_started = time.perf_counter(), time.thread_time()
        text, warnings = clean_question(question, self.settings.max_question_chars)
        # a server that did not answer for the build is not asked about the source pool as well
        warnings += self._follow_published_build() or self._follow_sources()
        language = detect_language(text)
        # casual English ("mfg jobs in sept '23") is written out before retrieval, scope checks and answering
        query = text
        if language == "en" and self.settings.casual_english:
            query = expand_casual(text, self._glossary)
        elif language == "zh" and self.settings.casual_chinese:
            query = expand_casual_chinese(text)
        retrieval = self.retriever.retrieve(query)
        retrieved, cpu_retrieved = time.perf_counter(), time.thread_time()
        if on_delta is not None and getattr(self.answerer, "name", "") == "llm":
            answer = self.answerer.answer(query, language, retrieval, on_delta=on_delta)  # type: ignore[call-arg]
        else:
            answer = self.answerer.answer(query, language, retrieval)
        answer.question = text
        done, cpu_done = time.perf_counter(), time.thread_time()
        self._attach_source_checks(answer)
        answer.warnings = warnings + answer.warnings
        answer.answerer = answer.answerer or self.answerer.name
        answer.timings_ms = {
            **answer.timings_ms,  # an answerer's own stages (llm, validate)
            "retrieve": round((retrieved - started) * 1000, 2),
            "answer": round((done - retrieved) * 1000, 2),
            "total": round((done - started) * 1000, 2),
            # this thread's CPU: the query embedding runs in the embedder threads (see citeqa.cputime)
            "retrieve_cpu": round((cpu_retrieved - cpu_started) * 1000, 2),
            "answer_cpu": round((cpu_done - cpu_retrieved) * 1000, 2),
        }
        return answer


_DEFAULT: dict[Settings, Assistant] = {}


def ask(question: str, settings: Settings | None = None) -> Answer:
    """One-call Python API: `citeqa.qa.answer.ask("what local-content threshold does USMCA set")`."""
    settings = settings or load_settings()
    if settings not in _DEFAULT:
        _DEFAULT[settings] = Assistant(settings)
    return _DEFAULT[settings].ask(question)


__all__ = ["Assistant", "ask"]

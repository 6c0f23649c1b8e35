"""Answerers: turn a question and its retrieved evidence into an `Answer`.

The seam: anything with `answer(question, language, retrieval) -> Answer` is an answerer. `make_answerer` builds
the one the `answerer` setting names; an `Assistant` also accepts one directly (tests plug a second one in).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from citeqa.qa.answer import Answer
    from citeqa.qa.retrieve import Retrieval, Retriever
    from citeqa.settings import Settings


class Answerer(Protocol):
    name: str

    def answer(self, question: str, language: str, retrieval: Retrieval) -> Answer: ...


def make_answerer(retriever: Retriever, settings: Settings) -> Answerer:
    """The answerer the settings name (validated by Settings)."""
    if settings.answerer == "extractive":
        from citeqa.qa.answerers.extractive import ExtractiveAnswerer

        return ExtractiveAnswerer(retriever, settings)
    if settings.answerer == "llm":
        from citeqa.qa.answerers.llm import LlmAnswerer

        return LlmAnswerer(retriever, settings)
    raise ValueError(f"unknown answerer {settings.answerer!r}")


__all__ = ["Answerer", "make_answerer"]

"""The seams a second implementation plugs into: answerer, vector backend, pools (issue 9)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from citeqa.index.pools import PAPER_POOLS, POOLS, pool_of
from citeqa.qa.answer import Answer
from citeqa.qa.answerers import make_answerer
from citeqa.qa.answerers.extractive import ExtractiveAnswerer
from citeqa.qa.assistant import Assistant
from citeqa.qa.retrieve import Retrieval, Retriever


class TopPassageAnswerer:
    """A second answerer: quotes the best evidence item verbatim (what an LLM answerer's fallback might do)."""

    name = "top-passage"

    def __init__(self, retriever: Retriever, settings: Any) -> None:
        self.calls = 0

    def answer(self, question: str, language: str, retrieval: Retrieval) -> Answer:
        self.calls += 1
        top = retrieval.hits[0].unit
        return Answer(question, True, top.text, language, quote=top.text, quote_id=top.id, confidence="low")


def test_the_setting_picks_the_extractive_answerer(assistant):
    answerer = make_answerer(assistant.retriever, assistant.settings)
    assert isinstance(answerer, ExtractiveAnswerer) and answerer.name == "extractive"
    answer = assistant.ask("《芯片与科学法》拨款多少设立制造激励计划？")
    assert answer.answerer == "extractive" and answer.confidence in {"high", "medium", "low"}


def test_a_second_answerer_plugs_into_the_assistant(settings, assistant):
    other = Assistant(settings, answerer=TopPassageAnswerer)
    question = "what local-content threshold does USMCA set"
    got = other.ask(question)
    assert other.answerer.calls == 1
    assert got.answerer == "top-passage" and got.confidence == "low"
    # same retrieval, different answerer: the quote is the top evidence of the default assistant's retrieval
    assert got.quote_id == assistant.retriever.retrieve(question).hits[0].unit.id
    assert got.timings_ms["total"] > 0


class NumpyBackend:
    """A second vector backend: plain arrays in memory, filled from another backend."""

    location = "memory"

    def __init__(self, source: Any, collections: list[str]) -> None:
        self.data = {name: source.vectors(name) for name in collections}
        self.queries = 0

    def add(self, collection: str, ids: list[str], vectors: np.ndarray, texts: list[str], metadata: list[Any]) -> None:
        self.data[collection] = (list(ids), np.asarray(vectors, dtype=np.float32))

    def count(self, collection: str) -> int:
        return len(self.data[collection][0])

    def vectors(self, collection: str) -> tuple[list[str], np.ndarray]:
        return self.data[collection]

    def query(self, collection: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        self.queries += 1
        ids, matrix = self.data[collection]
        sims = matrix @ vector
        order = np.argsort(-sims, kind="stable")[:k]
        return [(ids[i], float(sims[i])) for i in order]

    def close(self) -> None:
        return None


def test_a_second_vector_backend_gives_the_same_evidence(assistant):
    from citeqa.index.store import collection_name

    index = assistant.retriever.index
    names = [collection_name(p.name, e) for p in PAPER_POOLS for e in index.manifest["embedders"]]
    backend = NumpyBackend(index.backend, names)
    swapped = replace(index, backend=backend, _vectors={})
    for mode in ("chroma", "memory"):
        settings = assistant.settings.replace(vector_search=mode)
        ours, theirs = Retriever(index, settings), Retriever(swapped, settings)
        for q in ("what local-content threshold does USMCA set", "美国制造业回流面临哪些制约因素？"):
            assert [h.unit.id for h in theirs.retrieve(q).hits] == [h.unit.id for h in ours.retrieve(q).hits]
    assert backend.queries > 0  # vector_search = "chroma" went through the backend's own query


def test_pools_partition_the_units(assistant):
    units = assistant.retriever.index.units
    owned = [u.id for pool in POOLS for u in pool.units(units)]
    assert sorted(owned) == sorted(u.id for u in units)  # every unit in exactly one pool
    assert {pool_of(u.kind).name for u in units} == {p.name for p in PAPER_POOLS}
    assert all(p.k(assistant.settings) >= 1 for p in POOLS)
    manifest_units = assistant.retriever.index.manifest["units"]
    assert manifest_units == {p.name: len(p.units(units)) for p in PAPER_POOLS}

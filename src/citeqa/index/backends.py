"""Vector backends: where the vectors and their metadata live and how they are queried.

The seam: `VectorBackend`. Today one implementation, embedded Chroma (`PersistentClient` on a folder of the
index); a Chroma server (`HttpClient`) plugs in behind the same methods. We always pass our own vectors: Chroma
would otherwise download its ONNX model to embed documents or query texts itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np


class BackendError(RuntimeError):
    """The vector store cannot be opened or read."""


class VectorBackend(Protocol):
    location: str  # a folder or a URL, for messages

    def add(
        self, collection: str, ids: list[str], vectors: np.ndarray, texts: list[str], metadata: list[dict[str, Any]]
    ) -> None: ...

    def count(self, collection: str) -> int: ...

    def vectors(self, collection: str) -> tuple[list[str], np.ndarray]: ...

    def query(self, collection: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]: ...

    def close(self) -> None: ...


class ChromaBackend:
    """Any Chroma client: collections with cosine space, filled through llama-index's ChromaVectorStore."""

    def __init__(self, client: Any, location: str) -> None:
        self.client = client
        self.location = location

    def add(
        self, collection: str, ids: list[str], vectors: np.ndarray, texts: list[str], metadata: list[dict[str, Any]]
    ) -> None:
        from llama_index.core.schema import TextNode
        from llama_index.vector_stores.chroma import ChromaVectorStore

        target = self.client.get_or_create_collection(collection, metadata={"hnsw:space": "cosine"})
        nodes = [
            TextNode(id_=i, text=t, embedding=v.tolist(), metadata=m)
            for i, t, v, m in zip(ids, texts, vectors, metadata, strict=True)
        ]
        ChromaVectorStore(chroma_collection=target).add(nodes)

    def count(self, collection: str) -> int:
        return int(self.client.get_collection(collection).count())

    def vectors(self, collection: str) -> tuple[list[str], np.ndarray]:
        data = self.client.get_collection(collection).get(include=["embeddings"])
        return list(data["ids"]), np.asarray(data["embeddings"], dtype=np.float32)

    def query(self, collection: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        target = self.client.get_collection(collection)
        n = min(k, target.count())
        result = target.query(query_embeddings=vector.reshape(1, -1), n_results=n, include=["distances"])
        return [(uid, 1.0 - dist) for uid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

    def close(self) -> None:
        return None


_EMBEDDED: dict[str, Any] = {}


class EmbeddedChroma(ChromaBackend):
    """A Chroma `PersistentClient` on a folder: one client per folder per process (Chroma refuses a second one
    with other settings)."""

    def __init__(self, path: Path) -> None:
        key = str(path.resolve())
        if key not in _EMBEDDED:
            import chromadb
            from chromadb.config import Settings as ChromaSettings

            _EMBEDDED[key] = chromadb.PersistentClient(
                path=key, settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True)
            )
        super().__init__(_EMBEDDED[key], key)

    def close(self) -> None:
        _EMBEDDED.pop(self.location, None)


__all__ = ["BackendError", "ChromaBackend", "EmbeddedChroma", "VectorBackend"]

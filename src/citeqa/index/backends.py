"""Vector backends: where the vectors and their metadata live and how they are queried.

The seam: `VectorBackend`. Today one implementation, embedded Chroma (`PersistentClient` on a folder of the
index); a Chroma server (`HttpClient`) plugs in behind the same methods. We always pass our own vectors: Chroma
would otherwise download its ONNX model to embed documents or query texts itself.
"""

from __future__ import annotations

import json

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

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

    def records(self, collection: str) -> tuple[list[str], np.ndarray, list[str], list[dict[str, Any]]]: ...

    def delete(self, collection: str, where: dict[str, Any]) -> None: ...

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

        with self.failures():
            target = self.client.get_or_create_collection(collection, metadata={"hnsw:space": "cosine"})
            nodes = [
                TextNode(id_=i, text=t, embedding=v.tolist(), metadata=m)
                for i, t, v, m in zip(ids, texts, vectors, metadata, strict=True)
            ]
            ChromaVectorStore(chroma_collection=target).add(nodes)

    def count(self, collection: str) -> int:
        with self.failures():
            return int(self.client.get_collection(collection).count())

    def vectors(self, collection: str) -> tuple[list[str], np.ndarray]:
        with self.failures():
            data = self.client.get_collection(collection).get(include=["embeddings"])
        return list(data["ids"]), np.asarray(data["embeddings"], dtype=np.float32)

    def query(self, collection: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        with self.failures():
            target = self.client.get_collection(collection)
            n = min(k, target.count())
            result = target.query(query_embeddings=vector.reshape(1, -1), n_results=n, include=["distances"])
        return [(uid, 1.0 - dist) for uid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

    def records(self, collection: str) -> tuple[list[str], np.ndarray, list[str], list[dict[str, Any]]]:
        """Ids, vectors, texts and metadata of a collection (empty when it does not exist yet)."""
        try:
            target = self.client.get_collection(collection)
        except Exception:  # chromadb raises NotFoundError or ValueError depending on the version
            return [], np.zeros((0, 0), dtype=np.float32), [], []
        data = target.get(include=["embeddings", "documents", "metadatas"])
        vectors = np.asarray(data["embeddings"], dtype=np.float32)
        return list(data["ids"]), vectors, list(data["documents"]), [dict(m or {}) for m in data["metadatas"]]

    def delete(self, collection: str, where: dict[str, Any]) -> None:
        """Drop the entries whose metadata match `where` (one source's chunks when it is refreshed)."""
        target = self.client.get_or_create_collection(collection, metadata={"hnsw:space": "cosine"})
        target.delete(where=where)

    @contextmanager
    def failures(self) -> Iterator[None]:
        """Any client, network or storage failure becomes one line naming the store."""
        try:
            yield
        except BackendError:
            raise
        except Exception as exc:
            raise BackendError(f"the vector store at {self.location} failed: {_reason(exc)}") from exc

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


class ChromaServer(ChromaBackend):
    """A running Chroma server (`chroma run`) through `chromadb.HttpClient`. Every call is bounded by `timeout_s`:
    chromadb's client has no timeout of its own, so a server that accepts connections and never answers would hang
    the caller."""

    def __init__(self, url: str, timeout_s: float = 10.0) -> None:
        import chromadb
        import httpx
        from chromadb.config import Settings as ChromaSettings

        parts = urlsplit(url)
        self.url = url.rstrip("/")
        # chromadb's HttpClient makes requests without a timeout while it is being created: probe first, bounded
        try:
            httpx.get(f"{self.url}/api/v2/heartbeat", timeout=httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0)))
        except httpx.HTTPError as exc:
            raise BackendError(f"cannot reach the Chroma server at {self.url}: {_reason(exc)}") from exc
        try:
            client = chromadb.HttpClient(
                host=parts.hostname or "127.0.0.1",
                port=parts.port or (443 if parts.scheme == "https" else 8000),
                ssl=parts.scheme == "https",
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        except Exception as exc:  # the client checks the server's version on creation
            raise BackendError(f"cannot reach the Chroma server at {self.url}: {_reason(exc)}") from exc
        # reach into the client's httpx session: the only place a timeout can be set (chromadb 1.5)
        session = getattr(getattr(client, "_server", None), "_session", None)
        if session is not None:
            session.timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, 2.0))
        super().__init__(client, self.url)
        self.heartbeat()

    def heartbeat(self) -> float:
        """Round-trip time in ms; BackendError naming the URL when the server does not answer."""
        started = time.perf_counter()
        try:
            self.client.heartbeat()
        except Exception as exc:
            raise BackendError(f"the Chroma server at {self.url} does not answer: {_reason(exc)}") from exc
        return (time.perf_counter() - started) * 1000

    def collections(self) -> list[str]:
        return [c if isinstance(c, str) else c.name for c in self.client.list_collections()]

    def read_json_record(self, collection: str, record_id: str) -> dict[str, Any] | None:
        """One record's JSON document (a published pointer), or None when the collection or record is absent."""
        from chromadb.errors import NotFoundError

        with self.failures():
            try:
                pointer = self.client.get_collection(collection)
            except NotFoundError:
                return None
            record = pointer.get(ids=[record_id], include=["documents"])
        return json.loads(record["documents"][0]) if record["ids"] else None

    def drop(self, collection: str) -> None:
        """Delete a whole collection (an old build's)."""
        self.client.delete_collection(collection)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{exc.__class__.__name__}{': ' + text[:200] if text else ''}"


__all__ = ["BackendError", "ChromaBackend", "ChromaServer", "EmbeddedChroma", "VectorBackend"]

"""The source pool on a Chroma server (`chroma_url`), published like the paper's builds so every replica answers
from the same stored copies of the cited works.

`citeqa sources fetch|add` and the app's fetch update the local staging pool under index/sources/ as in embedded
mode (only changed sources are embedded), then copy its collection to the server as
`citeqa-sources-<stamp>-source-usem3` and only then switch the one record of `citeqa-sources-current` to it (the
manifest travels in that record). A publish killed half-way leaves the old pool current. Replicas compare the
record's stamp with the pool they hold (at most every `chroma_poll_s`) and reload only the source pool when it
changed. The previous published pool is kept (a replica may still be reading it); older ones are deleted.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from citeqa.index.backends import ChromaServer, EmbeddedChroma

SOURCES_PREFIX = "citeqa-sources-"  # the paper builds' garbage collection leaves these to this module
SOURCES_POINTER = "citeqa-sources-current"
POINTER_ID = "current"
BATCH = 1000  # records per request: bounded request bodies


@dataclass(frozen=True)
class PublishedSources:
    stamp: str
    collection: str  # the pool's collection on the server
    manifest: dict[str, Any]  # index/sources/manifest.json as published
    digest: str  # sha256 of the manifest: a re-publish of the same pool is skipped
    previous: str = ""


def manifest_digest(manifest: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(manifest, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()


def read_sources_pointer(server: ChromaServer) -> PublishedSources | None:
    """The source pool readers should use, or None when none was published."""
    data = server.read_json_record(SOURCES_POINTER, POINTER_ID)
    if data is None:
        return None
    return PublishedSources(
        data["stamp"], data["collection"], data["manifest"], data["digest"], data.get("previous", "")
    )


def publish_sources(
    server: ChromaServer, local: EmbeddedChroma, collection: str, manifest: dict[str, Any]
) -> PublishedSources:
    """Copy the local pool's collection to the server, then point readers at it (the last step)."""
    digest = manifest_digest(manifest)
    old = read_sources_pointer(server)
    if old is not None and old.digest == digest:
        return old  # the server already holds this pool
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 1_000_000}"
    target_name = f"{SOURCES_PREFIX}{stamp}-{collection}"
    ids, vectors, texts, metadata = local.records(collection)
    with server.failures():
        target = server.client.get_or_create_collection(target_name, metadata={"hnsw:space": "cosine"})
        for start in range(0, len(ids), BATCH):
            end = start + BATCH
            target.add(
                ids=ids[start:end],
                embeddings=np.asarray(vectors[start:end], dtype=np.float32),
                documents=texts[start:end],
                metadatas=metadata[start:end],
            )
        published = PublishedSources(stamp, target_name, manifest, digest, old.collection if old else "")
        pointer = server.client.get_or_create_collection(SOURCES_POINTER)
        document = {
            "stamp": stamp,
            "collection": target_name,
            "manifest": manifest,
            "digest": digest,
            "previous": published.previous,
        }
        pointer.upsert(
            ids=[POINTER_ID],
            embeddings=np.zeros((1, 1), dtype=np.float32),
            documents=[json.dumps(document, ensure_ascii=False)],
        )
        for name in server.collections():
            if name.startswith(SOURCES_PREFIX) and name not in (SOURCES_POINTER, target_name, published.previous):
                server.drop(name)
    return published


def published_records(
    server: ChromaServer, published: PublishedSources
) -> tuple[list[str], np.ndarray, list[str], list[dict[str, Any]]]:
    """Ids, vectors, texts and metadata of the published pool."""
    with server.failures():
        return server.records(published.collection)


__all__ = [
    "SOURCES_POINTER",
    "SOURCES_PREFIX",
    "PublishedSources",
    "manifest_digest",
    "publish_sources",
    "published_records",
    "read_sources_pointer",
]

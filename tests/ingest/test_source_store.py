"""SourceStore: atomic copies of cited works; failures never overwrite a stored copy; ids cannot escape the store."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from citeqa.ingest import source_store as store_mod
from citeqa.ingest.extract import extract
from citeqa.ingest.fetch import FetchPolicy, FetchResult, HostThrottle, RobotsCache, fetch
from citeqa.ingest.source_store import (
    AddedDocument,
    InvalidSourceId,
    SourceStore,
    SourceStoreError,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
SID = "src-9a5e48"
PAGE_V1 = (FIXTURES / "factory_jobs.html").read_bytes()
PAGE_V2 = (FIXTURES / "figure_contradiction.html").read_bytes()


def live(body: bytes, url: str = "https://institute.example/outlook") -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url + "?ref=1",
        via="live",
        status=200,
        content_type="text/html; charset=utf-8",
        body=body,
        fetched_at="2026-01-02T03:04:05+00:00",
    )


@pytest.fixture
def store(tmp_path: Path) -> SourceStore:
    return SourceStore(tmp_path / "corpus" / "sources")


def test_store_a_fetched_page(store: SourceStore) -> None:
    result = live(PAGE_V1)
    extracted = extract(result.body, result.content_type)
    state = store.store(SID, result, extracted, "live")
    directory = store.root / SID
    assert sorted(p.name for p in directory.iterdir()) == ["meta.json", "original.html", "text.json"]
    assert (directory / "original.html").read_bytes() == PAGE_V1
    meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
    assert {k: meta[k] for k in ("url", "final_url", "via", "status", "content_type", "fetched_at", "state")} == {
        "url": result.url,
        "final_url": result.final_url,
        "via": "live",
        "status": 200,
        "content_type": "text/html; charset=utf-8",
        "fetched_at": "2026-01-02T03:04:05+00:00",
        "state": "fetched",
    }
    assert meta["sha256"] == hashlib.sha256(PAGE_V1).hexdigest() and meta["bytes"] == len(PAGE_V1)
    assert (meta["extractor"], meta["extractor_version"]) == (extracted.extractor, extracted.extractor_version)
    assert (state.state, state.sha256, state.via, state.status) == ("fetched", meta["sha256"], "live", 200)
    text = store.load_text(SID)
    assert text.segments == extracted.segments and text.title == extracted.title
    assert text.segments[1].locator == "section 2 “Where the money went”, para 2"


def test_store_an_archived_copy(store: SourceStore) -> None:
    result = live(PAGE_V1)
    result.via, result.live_status, result.archive_timestamp = "archive", 404, "20231101000000"
    result.final_url = "https://web.archive.org/web/20231101000000id_/https://institute.example/outlook"
    store.store(SID, result, extract(result.body, result.content_type), "archive")
    meta = store.load_meta(SID)
    assert (meta["via"], meta["live_status"], meta["archive_timestamp"]) == ("archive", 404, "20231101000000")
    assert store.state(SID).via == "archive"


def test_store_user_added_bytes(store: SourceStore) -> None:
    notes = (FIXTURES / "notes.txt").read_bytes()
    added = AddedDocument(notes, "text/plain", url="https://plant.example/notes", filename="notes.txt")
    state = store.store(SID, added, extract(notes, "text/plain"), "added")
    assert (state.state, state.via, state.status) == ("added", "added", None)
    assert (store.root / SID / "original.txt").read_bytes() == notes
    assert store.load_meta(SID)["filename"] == "notes.txt"
    other = "src-14931e"
    assert store.store(other, notes, extract(notes, "")).state == "added"  # bare bytes count as added


def test_store_rejects_inconsistent_input(store: SourceStore) -> None:
    extracted = extract(PAGE_V1, "text/html")
    with pytest.raises(ValueError, match="contradicts"):
        store.store(SID, live(PAGE_V1), extracted, "archive")
    with pytest.raises(ValueError, match="record_failure"):
        store.store(SID, FetchResult(url="https://x.example", ok=False, reason="HTTP 404"), extracted)
    with pytest.raises(ValueError, match="via='added'"):
        store.store(SID, AddedDocument(PAGE_V1), extracted, "live")
    assert store.state(SID).state == "not_fetched"


def test_failure_without_a_copy(store: SourceStore) -> None:
    assert store.state(SID).state == "not_fetched"
    failed = FetchResult(
        url="https://gone.example/r", ok=False, status=404, reason="HTTP 404 Not Found; no archived copy"
    )
    state = store.record_failure(SID, failed)
    assert (state.state, state.status, state.reason) == ("failed", 404, "HTTP 404 Not Found; no archived copy")
    assert state.when
    assert [p.name for p in (store.root / SID).iterdir()] == ["last_failure.json"]
    again = store.record_failure(SID, "timed out (read)\nwith a second line", when="2026-02-01T00:00:00+00:00")
    assert again.reason == "timed out (read) with a second line"  # always one line
    assert again.when == "2026-02-01T00:00:00+00:00" and again.last_failure["count"] == 2
    with pytest.raises(SourceStoreError, match="no stored copy"):
        store.load_text(SID)


def test_failure_never_touches_a_stored_copy(store: SourceStore) -> None:
    store.store(SID, live(PAGE_V1), extract(PAGE_V1, "text/html"))
    before = store.load_text(SID)
    state = store.record_failure(SID, "HTTP 503 Service Unavailable (after 3 attempts)", status=503)
    assert state.state == "fetched" and state.sha256 == hashlib.sha256(PAGE_V1).hexdigest()
    assert state.last_failure["reason"].startswith("HTTP 503") and state.last_failure["status"] == 503
    assert (store.root / SID / "original.html").read_bytes() == PAGE_V1
    assert store.load_text(SID) == before


def test_refetch_replaces_the_copy_and_clears_the_failure(store: SourceStore) -> None:
    store.store(SID, live(PAGE_V1), extract(PAGE_V1, "text/html"))
    store.record_failure(SID, "timed out", status=None)
    state = store.store(SID, live(PAGE_V2), extract(PAGE_V2, "text/html"))
    assert state.sha256 == hashlib.sha256(PAGE_V2).hexdigest() and state.last_failure is None
    assert (store.root / SID / "original.html").read_bytes() == PAGE_V2
    assert any("Figure 2" in s.text for s in store.load_text(SID).segments)
    assert [p.name for p in store.root.iterdir() if not p.name.endswith(".lock")] == [SID]  # no temp/old dirs


def test_crash_while_writing_keeps_the_old_copy(store: SourceStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.store(SID, live(PAGE_V1), extract(PAGE_V1, "text/html"))
    real = store_mod._write_synced

    def disk_full_on_meta(path: Path, data: bytes) -> None:
        if path.name == "meta.json":
            raise OSError(28, "No space left on device")
        real(path, data)

    monkeypatch.setattr(store_mod, "_write_synced", disk_full_on_meta)
    with pytest.raises(OSError, match="No space"):
        store.store(SID, live(PAGE_V2), extract(PAGE_V2, "text/html"))
    assert store.state(SID).sha256 == hashlib.sha256(PAGE_V1).hexdigest()
    assert (store.root / SID / "original.html").read_bytes() == PAGE_V1
    assert not list(store.root.glob(".tmp-*"))


def test_failed_swap_rolls_back(store: SourceStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.store(SID, live(PAGE_V1), extract(PAGE_V1, "text/html"))
    real_rename = os.rename

    def rename(src: str | Path, dst: str | Path) -> None:
        if Path(src).name.startswith(".tmp-"):
            raise OSError(5, "I/O error")
        real_rename(src, dst)

    monkeypatch.setattr(store_mod.os, "rename", rename)
    with pytest.raises(OSError, match="I/O error"):
        store.store(SID, live(PAGE_V2), extract(PAGE_V2, "text/html"))
    monkeypatch.setattr(store_mod.os, "rename", real_rename)
    assert (store.root / SID / "original.html").read_bytes() == PAGE_V1
    assert store.state(SID).state == "fetched"


def test_copy_caught_mid_swap_is_still_readable_and_recovered(store: SourceStore) -> None:
    store.store(SID, live(PAGE_V1), extract(PAGE_V1, "text/html"))
    # what a crash between the two renames leaves: the old copy moved aside, the new one still a temp dir
    os.rename(store.root / SID, store.root / f".old-{SID}-deadbeef0000")
    (store.root / f".tmp-{SID}-cafe00000000").mkdir()
    assert store.state(SID).state == "fetched"
    assert store.load_text(SID).segments
    store.record_failure(SID, "timed out")  # the next writer restores the copy first
    assert (store.root / SID / "original.html").read_bytes() == PAGE_V1
    assert sorted(p.name for p in store.root.iterdir() if not p.name.endswith(".lock")) == [SID]


@pytest.mark.parametrize(
    "bad",
    ["../etc", "src-../../x", "src-9a5e48/../../evil", "src-9A5E48", "src-9a5e48\n", "src-abc", "", "src-9a5e48 "],
)
def test_hostile_ids_are_rejected(store: SourceStore, tmp_path: Path, bad: str) -> None:
    extracted = extract(PAGE_V1, "text/html")
    for call in (
        lambda: store.store(bad, live(PAGE_V1), extracted),
        lambda: store.state(bad),
        lambda: store.load_text(bad),
        lambda: store.record_failure(bad, "x"),
    ):
        with pytest.raises(InvalidSourceId):
            call()
    assert not (tmp_path / "etc").exists() and not (tmp_path / "evil").exists()
    assert not store.root.exists() or not any(store.root.iterdir())


def test_fetch_extract_store_end_to_end(store: SourceStore) -> None:
    server = HTTPServer(host="127.0.0.1", port=0)
    server.no_handler_status_code = 404
    server.start()
    try:
        server.expect_request("/zh").respond_with_data(
            (FIXTURES / "zh_gbk.html").read_bytes(), content_type="text/html"
        )
        server.expect_request("/wayback/available").respond_with_json({"archived_snapshots": {}})
        policy = FetchPolicy(
            allow_private_hosts=True, per_host_delay_s=0, backoff_s=0.01, archive_url=server.url_for("/").rstrip("/")
        )
        good = fetch(server.url_for("/zh"), policy, throttle=HostThrottle(), robots=RobotsCache())
        store.store(SID, good, extract(good.body, good.content_type, good.final_url))
        dead = fetch(server.url_for("/missing"), policy, throttle=HostThrottle(), robots=RobotsCache())
        store.record_failure("src-14931e", dead)
    finally:
        server.clear()
        server.stop()
    text = store.load_text(SID)
    assert text.charset == "gb18030" and any("镕铸厂" in s.text for s in text.segments)
    failed = store.state("src-14931e")
    assert (failed.state, failed.status) == ("failed", 404) and "no archived copy" in failed.reason
    assert store.ids() == ["src-14931e", SID]

"""Getting the cited works into corpus/sources/: fetch the footnotes' URLs or add a copy the user has.

The CLI (`citeqa sources`) and anything else that acquires sources go through here, so a fetched and an added copy
are extracted and stored the same way, and a failure is recorded beside (never over) a stored copy.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from citeqa.ingest.bibliography import Source
from citeqa.ingest.extract import ExtractError, extract
from citeqa.ingest.fetch import FetchPolicy, FetchResult, HostThrottle, RobotsCache, fetch, make_client
from citeqa.ingest.source_store import AddedDocument, SourceState, SourceStore, check_source_id
from citeqa.settings import Settings

Outcome = Literal["stored", "kept", "failed", "skipped"]
Progress = Callable[[str, float], None]
STORED_STATES = frozenset({"fetched", "added"})


class UnknownSource(ValueError):
    """An id that names no work of the bibliography."""


@dataclass
class Attempt:
    """What one work's fetch (or add) came to."""

    source_id: str
    outcome: Outcome  # stored: a new copy; kept: a copy was already there; failed; skipped: no URL
    state: SourceState
    reason: str = ""


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The fetcher's policy from the settings: one timeout bounds each request, three bound a whole URL."""
    timeout = settings.fetch_timeout_s
    return FetchPolicy(
        connect_timeout_s=min(5.0, timeout),
        read_timeout_s=timeout,
        max_bytes=settings.fetch_max_bytes,
        retries=settings.fetch_retries,
        backoff_s=min(0.5, timeout),
        per_host_delay_s=settings.fetch_delay_s,
        respect_robots=settings.respect_robots,
        allow_private_hosts=settings.allow_private_hosts,
        archive_url=settings.archive_url,
        total_deadline_s=3 * timeout,
    )


def source_store(settings: Settings) -> SourceStore:
    return SourceStore(settings.sources_path)


def select(sources: list[Source], ids: Iterable[str]) -> list[Source]:
    """The works named by `ids` in the order given; UnknownSource for an id the bibliography lacks."""
    by_id = {s.id: s for s in sources}
    chosen = []
    for source_id in ids:
        check_source_id(source_id)
        if source_id not in by_id:
            raise UnknownSource(f"no cited work has the id {source_id} (see `citeqa sources list`)")
        chosen.append(by_id[source_id])
    return chosen


def _store_fetched(store: SourceStore, source_id: str, result: FetchResult) -> tuple[Outcome, str]:
    try:
        extracted = extract(result.body, result.content_type, result.final_url or result.url)
    except ExtractError as exc:  # a page with no text is a failure like a 404: recorded, the old copy kept
        store.record_failure(source_id, f"no text: {exc}", status=result.status, url=result.url)
        return "failed", f"no text: {exc}"
    store.store(source_id, result, extracted)
    return "stored", ""


def fetch_sources(
    works: list[Source],
    settings: Settings,
    *,
    refresh: bool = False,
    progress: Progress | None = None,
) -> list[Attempt]:
    """Fetch each work's URL into the store; a stored copy is kept unless `refresh`, and never lost to a failure."""
    store = source_store(settings)
    policy = fetch_policy(settings)
    throttle, robots = HostThrottle(), RobotsCache()
    attempts: list[Attempt] = []
    with make_client(policy) as client:
        for n, work in enumerate(works):
            if progress:
                progress(f"fetching {work.id} ({n + 1}/{len(works)})", n / max(len(works), 1))
            state = store.state(work.id)
            if not work.url:
                attempts.append(Attempt(work.id, "skipped", state, "no URL in the footnote"))
                continue
            if state.state in STORED_STATES and not refresh:
                attempts.append(Attempt(work.id, "kept", state))
                continue
            result = fetch(work.url, policy, client=client, throttle=throttle, robots=robots)
            if result.ok:
                outcome, reason = _store_fetched(store, work.id, result)
            else:
                store.record_failure(work.id, result)
                outcome, reason = "failed", result.reason
            attempts.append(Attempt(work.id, outcome, store.state(work.id), reason))
    if progress:
        progress("fetched", 1.0)
    return attempts


_CONTENT_TYPES = {".pdf": "application/pdf", ".html": "text/html", ".htm": "text/html", ".txt": "text/plain"}


def add_source(work: Source, path_or_url: str, settings: Settings) -> Attempt:
    """Store a copy the user supplies (a local PDF/HTML/text file, or a URL fetched now) with via="added"."""
    store = source_store(settings)
    if path_or_url.startswith(("http://", "https://")):
        result = fetch(path_or_url, fetch_policy(settings))
        if not result.ok:
            # the user named this copy: a failure to get it is theirs to see, the stored copy stays as it was
            return Attempt(work.id, "failed", store.state(work.id), result.reason)
        doc = AddedDocument(body=result.body, content_type=result.content_type, url=path_or_url)
    else:
        path = Path(path_or_url)
        try:
            body = path.read_bytes()
        except OSError as exc:
            raise FileNotFoundError(f"cannot read {path}: {exc.strerror or exc}") from exc
        kind = _CONTENT_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] or ""
        doc = AddedDocument(body=body, content_type=kind, url=work.url, filename=path.name)
    if not doc.body:
        return Attempt(work.id, "failed", store.state(work.id), "the document is empty (0 bytes)")
    try:
        extracted = extract(doc.body, doc.content_type, doc.url)
    except ExtractError as exc:
        return Attempt(work.id, "failed", store.state(work.id), f"no text: {exc}")
    return Attempt(work.id, "stored", store.store(work.id, doc, extracted))


__all__ = [
    "Attempt",
    "UnknownSource",
    "add_source",
    "fetch_policy",
    "fetch_sources",
    "select",
    "source_store",
]

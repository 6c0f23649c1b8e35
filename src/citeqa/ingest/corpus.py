"""Write and read the derived corpus/ folder: paper JSON, bibliography JSON, BibTeX, CSL-JSON."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citeqa.ingest.bibliography import Source, build_bibliography, to_bibtex, to_csl_json
from citeqa.ingest.paper import Paper, PaperError, load_paper

PAPER_FILE = "paper.json"
BIB_FILE = "bibliography.json"
BIBTEX_FILE = "bibliography.bib"
CSL_FILE = "bibliography.csl.json"


class CorpusError(RuntimeError):
    """corpus/ is missing or unreadable."""


@dataclass
class Corpus:
    paper: Paper
    sources: list[Source]

    def source_for_footnote(self, footnote_id: str) -> list[Source]:
        return [s for s in self.sources if footnote_id in s.footnotes]


def _dumps(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"


def render_corpus(paper: Paper) -> dict[str, str]:
    """All corpus files as text, deterministic for a given paper."""
    sources = build_bibliography(paper)
    return {
        PAPER_FILE: _dumps(paper.to_dict()),
        BIB_FILE: _dumps([s.to_dict() for s in sources]),
        BIBTEX_FILE: to_bibtex(sources),
        CSL_FILE: _dumps(to_csl_json(sources)),
    }


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def build_corpus(seed: Path, corpus_dir: Path) -> Corpus:
    """Parse the seed (text or PDF) and write corpus files; nothing is written unless parsing succeeds."""
    paper = load_paper(seed)
    files = render_corpus(paper)
    try:
        corpus_dir.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            _atomic_write(corpus_dir / name, text)
    except OSError as exc:
        raise CorpusError(f"cannot write the corpus to {corpus_dir}: {exc.strerror or exc}") from exc
    return Corpus(paper, build_bibliography(paper))


def load_corpus(corpus_dir: Path) -> Corpus:
    try:
        paper = Paper.from_dict(json.loads((corpus_dir / PAPER_FILE).read_text(encoding="utf-8")))
        raw_sources = json.loads((corpus_dir / BIB_FILE).read_text(encoding="utf-8"))
        sources = [Source(**s) for s in raw_sources]
    except FileNotFoundError as exc:
        raise CorpusError(f"{exc.filename} is missing; run `citeqa corpus build`") from exc
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise CorpusError(f"corpus in {corpus_dir} is unreadable ({exc}); run `citeqa corpus build`") from exc
    return Corpus(paper, sources)


def corpus_hash(corpus_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in (PAPER_FILE, BIB_FILE):
        digest.update((corpus_dir / name).read_bytes())
    return digest.hexdigest()[:16]


__all__ = [
    "Corpus",
    "CorpusError",
    "PaperError",
    "build_corpus",
    "corpus_hash",
    "load_corpus",
    "render_corpus",
]

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


def _current_umask() -> int:
    """The process umask (Linux reports it in /proc; elsewhere set it and restore it)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _atomic_write(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file 0600 whatever the umask: give it the mode a plain open() would
        os.fchmod(fd, 0o666 & ~_current_umask())
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


def _read_json(path: Path, shape: type) -> Any:
    """A corpus JSON file of the given top-level shape, or a CorpusError that names the file in one line."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise CorpusError(f"{path} is missing; run `citeqa corpus build`") from exc
    except OSError as exc:
        raise CorpusError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:  # a ValueError: caught here so it is not taken for bad user input
        raise CorpusError(f"{path} is unreadable (not UTF-8 text); run `citeqa corpus build`") from exc
    except json.JSONDecodeError as exc:
        raise CorpusError(f"{path} is unreadable (not JSON: {exc.msg}); run `citeqa corpus build`") from exc
    if not isinstance(data, shape):
        found = type(data).__name__
        raise CorpusError(f"{path} is unreadable (a JSON {found}, not the expected shape); run `citeqa corpus build`")
    return data


def load_corpus(corpus_dir: Path) -> Corpus:
    paper_path, bib_path = corpus_dir / PAPER_FILE, corpus_dir / BIB_FILE
    raw_paper = _read_json(paper_path, dict)
    raw_sources = _read_json(bib_path, list)
    # a file of the right shape with wrong fields is as unreadable as garbage: say which file
    try:
        paper = Paper.from_dict(raw_paper)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorpusError(f"{paper_path} is unreadable ({exc!r}); run `citeqa corpus build`") from exc
    try:
        sources = [Source(**s) for s in raw_sources]
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise CorpusError(f"{bib_path} is unreadable ({exc!r}); run `citeqa corpus build`") from exc
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

